#include "apply/key_order/pipeline.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <string>

#include "apply/key_order/line_runs.hpp"
#include "apply/key_order/record_codec.hpp"
#include "apply/key_order/rereading.hpp"
#include "apply/key_order/string_out.hpp"
#include "apply/row_report.hpp"
#include "util/arena.hpp"

namespace actiondrop::apply::key_order {
namespace {

// Rows applied between two writes close also at this many held_bytes(); three chunks are in
// memory at once.
constexpr std::size_t chunk_bytes = 4 << 20;

// A range's rows, compactly, in key order.
struct Gathered {
    util::Arena records;
    std::vector<const char*> rows;      // by place in the range
    std::vector<std::uint32_t> row_of;  // by place in the range: the row in the span
};

// Rows between two writes: while one is applied, the next one's rows are decoded and its
// actions read ahead, and the lines of the one before are written.
struct Chunk {
    // A slot more, made when a chunk first needs it: a span of a few rows makes a few.
    void grow() {
        pending.emplace_back();
        rows.emplace_back();
        file_rows.push_back(0);
    }
    std::vector<Pending> pending;
    std::vector<ledger::RowResult> rows;
    std::vector<std::uint32_t> file_rows;
    SlotBytes held;
    std::vector<std::int64_t> keys;  // of the actions its rows name
    std::unique_ptr<store::KeyOrder::ReadAhead> ahead;
    std::size_t size = 0;
};

}  // namespace

std::vector<RowProblem> apply_span(store::BatchTransaction& tx, std::string_view account_id,
                                   const batch::Layout& layout, const SpanSource& source,
                                   const SpanOrder& order, const PipelineSizes& sizes,
                                   const RowSteps& steps, const std::filesystem::path& runs_file,
                                   std::size_t problems_wanted, std::ostream& results,
                                   std::ostream& errors) {
    // A span goes by key only when the store has a key order (plan.hpp); without one the
    // rows are read as they come.
    store::KeyOrder* const key_order = tx.key_order();
    const std::size_t count = order.size();
    const std::vector<std::uint32_t>& rank = order.rank;
    const std::vector<std::int64_t>& keys = order.keys;
    const std::vector<std::size_t>& ranges = order.ranges;

    LineRuns runs(runs_file, chunk_bytes);
    std::map<std::int64_t, RowProblem> problems;  // the span's first ones, by line
    Gathered gathered[2];
    // The rows of places [from, to), read again from the file.
    auto gather = [&](Gathered& g, std::size_t from, std::size_t to) {
        g.records.clear();
        g.rows.assign(to - from, nullptr);
        g.row_of.assign(to - from, 0);
        Rereading file(source.file, source.limits, source.span_start);
        batch::Record record;
        std::string encoded;
        std::size_t missing = to - from;
        for (std::size_t row = 0; row < count && missing > 0; ++row) {
            if (!file.next(record)) Rereading::changed();
            const std::uint32_t place = rank[row];
            if (place < from || place >= to) continue;
            encode_record(record, encoded);
            char* bytes = g.records.allocate(encoded.size());
            std::memcpy(bytes, encoded.data(), encoded.size());
            g.rows[place - from] = bytes;
            g.row_of[place - from] = static_cast<std::uint32_t>(row);
            --missing;
        }
    };
    const Gathered* range = nullptr;  // the range being applied
    const std::size_t chunk_rows = std::max<std::size_t>(sizes.chunk_rows, 1);
    Chunk chunks[3];
    std::size_t lo = 0, hi = 0;  // the range being applied, in places
    // The chunk of rows from place `first`, up to chunk_rows or chunk_bytes: decoded, mapped,
    // and their actions read ahead. Its slots are free: its lines were written.
    auto prepare = [&](Chunk& c, std::size_t first) {
        auto empty = [&c](std::size_t i) {
            c.pending[i] = Pending{};
            c.rows[i] = ledger::RowResult{};
        };
        c.held.release_large(empty);
        const std::size_t most = std::min(chunk_rows, hi - first);
        c.size = 0;
        c.keys.clear();
        while (c.size < most && c.held.total() < chunk_bytes) {
            const std::size_t i = c.size++;
            if (i == c.pending.size()) c.grow();
            Pending& pending = c.pending[i];
            decode_record(range->rows[first + i - lo], pending.record);
            pending.modification = layout.modification(pending.record);
            c.file_rows[i] = range->row_of[first + i - lo];
            if (keys[first + i] != no_action) c.keys.push_back(keys[first + i]);
            c.held.refilled(i, pending.record);
        }
        c.held.release_from(c.size, empty);
        c.ahead =
            c.keys.empty() || !key_order ? nullptr : key_order->read_ahead(account_id, c.keys);
    };
    StringOut result_line, error_line;
    auto write_chunk = [&](Chunk& c) {
        for (std::size_t i = 0; i < c.size; ++i) {
            result_line.text().clear();
            error_line.text().clear();
            write_lines(c.rows[i], c.pending[i].record, layout, result_line, error_line);
            runs.add(c.file_rows[i], result_line.text(), error_line.text());
        }
        runs.end_run();
    };
    // Declared after what they use: destroyed (and waited for) first.
    std::future<void> writing, preparing, gathering;
    std::size_t done = 0, turn = 0;
    gather(gathered[0], ranges[0], ranges[1]);
    for (std::size_t r = 0; r + 1 < ranges.size(); ++r) {
        if (gathering.valid()) gathering.get();
        lo = ranges[r];
        hi = ranges[r + 1];
        range = &gathered[r % 2];
        if (r + 2 < ranges.size())
            gathering = std::async(std::launch::async, gather, std::ref(gathered[(r + 1) % 2]),
                                   ranges[r + 1], ranges[r + 2]);
        prepare(chunks[turn % 3], lo);
        for (std::size_t first = lo; first < hi;) {
            if (preparing.valid()) preparing.get();
            Chunk& chunk = chunks[turn % 3];
            const std::size_t next = first + chunk.size;
            // The next chunk is neither this one nor the one whose lines may still be written.
            if (next < hi)
                preparing =
                    std::async(std::launch::async, prepare, std::ref(chunks[(turn + 1) % 3]), next);
            ++turn;
            if (!chunk.keys.empty() && key_order)
                key_order->prefetch_keys(account_id, chunk.keys, std::move(chunk.ahead));
            for (std::size_t i = 0; i < chunk.size; ++i) {
                chunk.rows[i] = steps.apply(chunk.pending[i]);
                auto problem = steps.count(chunk.rows[i], chunk.pending[i].record);
                if (problem && problems_wanted > 0 &&
                    (problems.size() < problems_wanted ||
                     problem->line < problems.rbegin()->first)) {
                    problems.emplace(problem->line, kept_problem(std::move(*problem)));
                    if (problems.size() > problems_wanted)
                        problems.erase(std::prev(problems.end()));
                }
            }
            tx.flush();
            if (writing.valid()) writing.get();  // the other chunk's lines: it is free again
            writing = std::async(std::launch::async, write_chunk, std::ref(chunk));
            done += chunk.size;
            first = next;
            if (steps.progress) steps.progress(done, count);
        }
    }
    if (writing.valid()) writing.get();
    runs.merge(results, errors);
    std::vector<RowProblem> first;
    for (auto& [line, problem] : problems) first.push_back(std::move(problem));
    return first;
}

}  // namespace actiondrop::apply::key_order
