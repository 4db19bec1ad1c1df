#pragma once
// The key-order plan: which rows of a modification file may be applied grouped by the
// store's key, and in what order.
//
// A row reaches only its footprint (ledger/footprint.hpp): the action it names and, when it
// reverses it, that action's descendants. So when every row of a span that may reach the
// ledger names its action by ActionId and none of these actions has children, applying the
// rows grouped by the store's key, each action's rows still in file order, gives every row
// the result it has in file order, while the store reads and writes each of its pages once
// rather than once per chunk (README.md, "How a file is applied exactly once"). A span that
// is not so, or a store without a key order, is applied in file order.
//
// A span is read once here to find the keys; its rows are then gathered again range by range
// of keys (apply/key_order/pipeline.hpp).
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "store/store.hpp"

namespace actiondrop::apply::key_order {

// The key of a row that cannot reach a stored action (unmapped, naming no action,
// or no such action): such rows touch nothing and go first.
constexpr std::int64_t no_action = std::numeric_limits<std::int64_t>::min();

// A span holds this many ranges of rows (PipelineSizes::range_rows each).
constexpr std::size_t span_ranges = 4;

struct Keyed {
    std::int64_t key;
    std::uint32_t row;    // in the span, from 0
    std::uint32_t bytes;  // of the row's fields, to bound a range's memory
};

struct SpanKeys {
    enum class Order { Key, File };
    Order order = Order::Key;
    std::vector<Keyed> keyed;                    // Order::Key: each row read, in file order
    bool at_end = false;                         // the file ended within the span
    std::optional<batch::FileError> file_error;  // the file is refused as a whole
};

// Reads up to `most` data rows (fewer once their ActionIds hold 32 MiB) and finds the key of
// the action each one names, asking the store (store::KeyOrder::action_keys) in id order.
// Order::File when a row may reach the ledger otherwise than through the ActionId of an
// action without children, or when the store has no key order: then nothing of the span is
// used and the rows are applied in file order from its start.
SpanKeys find_keys(store::BatchTransaction& tx, std::string_view account_id,
                   batch::CsvReader& reader, const batch::Layout& layout, std::size_t most);

// The span's rows sorted by key (rows of one key in file order), and cut into ranges of at
// most `range_rows` rows and 12 MiB of fields, each gathered and applied in turn.
struct SpanOrder {
    std::vector<std::uint32_t> rank;  // by row in the span: its place in key order
    std::vector<std::int64_t> keys;   // by place: the key of the row's action
    std::vector<std::size_t> ranges;  // where each range of places starts, then the end
    std::size_t size() const { return keys.size(); }
};
SpanOrder order_span(std::vector<Keyed> keyed, std::size_t range_rows);

}  // namespace actiondrop::apply::key_order
