#pragma once
// The read-ahead pipeline of key order: one span of rows, ordered by the plan
// (apply/key_order/plan.hpp), applied range by range and chunk by chunk while the work
// around each chunk runs on the other core.
//
// While a range of rows is applied, the next range is gathered from the file (read again,
// each row wanted packed into an arena: apply/key_order/record_codec.hpp). Within a range,
// three chunks turn: while one is applied, the next one's rows are decoded, mapped and their
// actions read ahead (store::KeyOrder::read_ahead, through the store's second connection),
// and the result and error lines of the one before are written as a sorted run
// (apply/key_order/line_runs.hpp). At the end of the span the runs are merged back into file
// order. Rows are applied and counted on the calling thread only, in key order.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string_view>
#include <vector>

#include "apply/apply_file.hpp"
#include "apply/key_order/plan.hpp"
#include "apply/pending_rows.hpp"
#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "ledger/rules.hpp"
#include "store/store.hpp"
#include "util/opened_file.hpp"

namespace actiondrop::apply::key_order {

// Where a span's rows are read again.
struct SpanSource {
    const util::OpenedFile& file;
    const batch::Limits& limits;
    std::size_t span_start = 0;  // data rows of the file before the span
};

// What the batch run does with each row, on the calling thread and in key order.
struct RowSteps {
    // Applies the row to the transaction.
    std::function<ledger::RowResult(Pending&)> apply;
    // Counts its result; the problem of a rejected row.
    std::function<std::optional<RowProblem>(ledger::RowResult&, const batch::Record&)> count;
    // After each chunk, when set: rows of the span done, of `of`.
    std::function<void(std::size_t done, std::size_t of)> progress;
};

struct PipelineSizes {
    std::size_t range_rows = 1 << 18;  // rows gathered per reading of the file
    std::size_t chunk_rows = 2'500;  // rows applied between two writes (also 4 MiB of held_bytes())
};

// Applies the span's rows in `order` through `steps`, and writes their lines to `results` and
// `errors` in file order, through the spool file `runs_file`. Returns the first
// `problems_wanted` problems of the span, by line.
std::vector<RowProblem> apply_span(store::BatchTransaction& tx, std::string_view account_id,
                                   const batch::Layout& layout, const SpanSource& source,
                                   const SpanOrder& order, const PipelineSizes& sizes,
                                   const RowSteps& steps, const std::filesystem::path& runs_file,
                                   std::size_t problems_wanted, std::ostream& results,
                                   std::ostream& errors);

}  // namespace actiondrop::apply::key_order
