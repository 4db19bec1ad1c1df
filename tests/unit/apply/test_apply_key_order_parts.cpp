// The parts of key order on their own: the record codec, the line runs merged back into row
// order, and the plan's order of a span. tests/unit/apply/test_apply_key_order.cpp checks
// them together, through apply_file(), against file order.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "apply/key_order/line_runs.hpp"
#include "apply/key_order/plan.hpp"
#include "apply/key_order/record_codec.hpp"
#include "apply/key_order/string_out.hpp"
#include "batch/layout.hpp"
#include "store/store.hpp"

using namespace actiondrop;
using namespace actiondrop::apply::key_order;
namespace fs = std::filesystem;

TEST_CASE("key order codec: varints round-trip, edge values included, in the fewest bytes") {
    const std::uint64_t values[] = {0,
                                    1,
                                    0x7f,
                                    0x80,
                                    0x3fff,
                                    0x4000,
                                    0xffffffff,
                                    0x100000000,
                                    std::numeric_limits<std::int64_t>::max(),
                                    std::numeric_limits<std::uint64_t>::max()};
    const std::size_t sizes[] = {1, 1, 1, 2, 2, 3, 5, 5, 9, 10};
    std::string all;
    for (std::size_t i = 0; i < std::size(values); ++i) {
        std::string one;
        put_varint(one, values[i]);
        CHECK(one.size() == sizes[i]);
        all += one;
    }
    const char* p = all.data();
    for (std::uint64_t value : values) CHECK(get_varint(p) == value);
    CHECK(p == all.data() + all.size());
}

TEST_CASE("key order codec: records round-trip, reusing the strings of the record decoded into") {
    std::vector<batch::Record> records{
        {2, {"A-1", "", "80.00", "ORDER_UPDATE"}},
        {0, {}},    // no fields
        {7, {""}},  // one empty field
        {std::numeric_limits<std::int64_t>::max(),
         {std::string(200, 'x'), std::string("a\0b\r\n\"", 6)}},
        {3, {std::string(70'000, 'y'), "\xC3\xA9t\xC3\xA9"}},  // a field longer than 2 varint bytes
    };
    batch::Record into{99, {"left", "over", "from", "before", "and", "more"}};
    std::string encoded;
    for (const batch::Record& record : records) {
        encode_record(record, encoded);
        decode_record(encoded.data(), into);
        CHECK(into.line == record.line);
        CHECK(into.fields == record.fields);
    }
    // encode_record starts afresh.
    encode_record(records[0], encoded);
    const std::string first = encoded;
    encode_record(records[0], encoded);
    CHECK(encoded == first);
}

namespace {
struct TempFile {
    fs::path path =
        fs::temp_directory_path() / ("actiondrop_line_runs_" + std::to_string(::getpid()));
    ~TempFile() { fs::remove(path); }
};
}  // namespace

TEST_CASE("line runs: rows added in any order come back in row order, lines and errors apart") {
    TempFile spool;
    std::vector<std::uint32_t> rows(5000);
    for (std::uint32_t i = 0; i < rows.size(); ++i) rows[i] = i;
    std::mt19937 rng(20261204);
    std::shuffle(rows.begin(), rows.end(), rng);
    std::ostringstream results, errors, want_results, want_errors;
    {
        LineRuns runs(spool.path, 1 << 10);
        CHECK(fs::exists(spool.path));
        // Runs of varied sizes, one row longer than the merge buffer and than keep_bytes.
        std::size_t at = 0;
        for (std::size_t run = 1; at < rows.size(); ++run) {
            for (std::size_t i = 0; i < run * 7 && at < rows.size(); ++i, ++at) {
                const std::uint32_t row = rows[at];
                std::string result =
                    "r" + std::to_string(row) + (row == 77 ? std::string(40'000, '.') : "") + "\n";
                std::string error = row % 3 == 0 ? "e" + std::to_string(row) + "\n" : "";
                runs.add(row, result, error);
            }
            runs.end_run();
        }
        runs.end_run();  // nothing added: no run
        CHECK(runs.runs() > 30);
        runs.merge(results, errors);
    }
    CHECK_FALSE(fs::exists(spool.path));  // the spool file goes with the runs
    for (std::uint32_t row = 0; row < rows.size(); ++row) {
        want_results << "r" << row << (row == 77 ? std::string(40'000, '.') : "") << "\n";
        if (row % 3 == 0) want_errors << "e" << row << "\n";
    }
    CHECK(results.str() == want_results.str());
    CHECK(errors.str() == want_errors.str());
}

TEST_CASE("line runs: rows left in the last run are merged too, and no rows give no lines") {
    TempFile spool;
    std::ostringstream results, errors;
    {
        LineRuns runs(spool.path, 1 << 20);
        runs.merge(results, errors);
    }
    CHECK(results.str().empty());
    {
        LineRuns runs(spool.path, 1 << 20);
        runs.add(2, "c\n", "");
        runs.add(0, "a\n", "A\n");
        runs.end_run();
        runs.add(1, "b\n", "B\n");  // merge() ends this run itself
        runs.merge(results, errors);
    }
    CHECK(results.str() == "a\nb\nc\n");
    CHECK(errors.str() == "A\nB\n");
}

TEST_CASE("string out: writes land in text(), which clearing keeps reusable") {
    StringOut out;
    out << "abc" << 12 << ',';
    out.write("xyz", 3);
    CHECK(out.text() == "abc12,xyz");
    out.text().clear();
    out << 'q';
    CHECK(out.text() == "q");
}

TEST_CASE("key order plan: a span sorted by key, rows of one key in file order, cut into ranges") {
    // Rows 0..5 with keys; no_action rows go first.
    std::vector<Keyed> keyed{{30, 0, 10}, {10, 1, 10}, {no_action, 2, 10},
                             {10, 3, 10}, {20, 4, 10}, {30, 5, 10}};
    const SpanOrder order = order_span(keyed, 2);
    CHECK(order.size() == 6);
    CHECK(order.keys == std::vector<std::int64_t>{no_action, 10, 10, 20, 30, 30});
    CHECK(order.rank == std::vector<std::uint32_t>{4, 1, 0, 2, 3, 5});
    CHECK(order.ranges == std::vector<std::size_t>{0, 2, 4, 6});
    // A range also closes at 12 MiB of fields, never empty.
    std::vector<Keyed> big{{1, 0, 8u << 20}, {2, 1, 8u << 20}, {3, 2, 20u << 20}, {4, 3, 1}};
    CHECK(order_span(big, 100).ranges == std::vector<std::size_t>{0, 1, 2, 3, 4});
    CHECK(order_span({}, 4).ranges == std::vector<std::size_t>{0, 0});
}

namespace {

// A transaction that only answers action_keys(), from a map: id -> (key, has children).
class KeysOnly final : public store::BatchTransaction, public store::KeyOrder {
public:
    std::map<std::string, ActionKey, std::less<>> known;
    bool has_key_order = true;
    int asked = 0;

    store::KeyOrder* key_order() override { return has_key_order ? this : nullptr; }
    void prefetch(std::string_view, std::vector<std::string_view>) override {}
    std::unique_ptr<ReadAhead> read_ahead(std::string_view,
                                          const std::vector<std::int64_t>&) override {
        return nullptr;
    }
    void prefetch_keys(std::string_view, const std::vector<std::int64_t>&,
                       std::unique_ptr<ReadAhead>) override {}
    std::vector<std::optional<ActionKey>> action_keys(
        std::string_view, const std::vector<std::string_view>& ids) override {
        std::vector<std::optional<ActionKey>> out;
        for (std::string_view id : ids) {
            ++asked;
            auto it = known.find(id);
            out.push_back(it == known.end() ? std::nullopt : std::optional<ActionKey>(it->second));
        }
        return out;
    }
    ledger::Action* find(std::string_view, std::string_view) override { return nullptr; }
    ledger::Action* find_by_order(std::string_view, std::string_view, std::string_view) override {
        return nullptr;
    }
    ledger::Action* latest_for_customer(std::string_view, std::string_view,
                                        std::string_view) override {
        return nullptr;
    }
    std::vector<ledger::Action*> children(std::string_view, std::string_view) override {
        return {};
    }
    ledger::CapTotals cap_totals(std::string_view, std::string_view, std::string_view,
                                 ledger::Instant, ledger::Instant) override {
        return {};
    }
    void changed(ledger::Action&, ledger::HistoryEntry) override {}
    ledger::Action& created(ledger::Action, ledger::HistoryEntry) override {
        throw std::logic_error("created");
    }
    std::int64_t funds_balance(std::string_view) override {
        throw std::logic_error("funds_balance");
    }
    void transferred(ledger::Transfer) override { throw std::logic_error("transferred"); }
    void flush() override {}
    void commit(const store::BatchRecord&, const std::vector<store::BatchOutput>&) override {}
    void rollback() override {}
};

struct PlanCase {
    KeysOnly tx;
    std::istringstream in;
    batch::CsvReader reader;
    batch::Layout layout;

    explicit PlanCase(std::string rows)
        : in("ActionId,OrderId,ActionTrackerId,Amount,Reason\r\n" + rows),
          reader(in, batch::Limits{}),
          layout(header()) {
        tx.known["A1"] = {10, false};
        tx.known["A2"] = {5, false};
        tx.known["P1"] = {7, true};  // has children
    }
    batch::Layout header() {
        batch::Record record;
        REQUIRE(*reader.next(record));
        return *batch::Layout::parse(batch::FileType::Modifications, record);
    }
    SpanKeys find(std::size_t most = 100) { return find_keys(tx, "1000", reader, layout, most); }
};

}  // namespace

TEST_CASE("key order plan: rows named by ActionId get their action's key, others touch nothing") {
    PlanCase c(
        "A1,,,80.00,ORDER_UPDATE\r\n"
        "Z9,,,80.00,ORDER_UPDATE\r\n"  // no such action
        ",,,80.00,ORDER_UPDATE\r\n"    // no ActionId nor order: refused before any lookup
        "A2,,,1e3,ORDER_UPDATE\r\n"    // refused later, still looked up
        "A1,,,0,ORDER_UPDATE\r\n");
    const SpanKeys span = c.find();
    REQUIRE(span.order == SpanKeys::Order::Key);
    CHECK(span.at_end);
    CHECK_FALSE(span.file_error);
    REQUIRE(span.keyed.size() == 5);
    const std::int64_t want[] = {10, no_action, no_action, 5, 10};
    for (std::uint32_t i = 0; i < 5; ++i) {
        CHECK(span.keyed[i].row == i);
        CHECK(span.keyed[i].key == want[i]);
        CHECK(span.keyed[i].bytes > 16);
    }
    CHECK(c.tx.asked == 4);
}

TEST_CASE("key order plan: a span closes at `most` rows and the next one goes on from there") {
    PlanCase c("A1,,,80.00,ORDER_UPDATE\r\nA2,,,80.00,ORDER_UPDATE\r\nA1,,,70.00,ORDER_UPDATE\r\n");
    const SpanKeys first = c.find(2);
    CHECK(first.order == SpanKeys::Order::Key);
    CHECK_FALSE(first.at_end);
    CHECK(first.keyed.size() == 2);
    const SpanKeys second = c.find(2);
    CHECK(second.at_end);
    REQUIRE(second.keyed.size() == 1);
    CHECK(second.keyed[0].key == 10);
}

TEST_CASE("key order plan: file order when a row may reach beyond an action without children") {
    SUBCASE("an action with children: a reversal would reach them") {
        PlanCase c("A1,,,80.00,ORDER_UPDATE\r\nP1,,,80.00,ORDER_UPDATE\r\n");
        const SpanKeys span = c.find();
        CHECK(span.order == SpanKeys::Order::File);
        CHECK(span.keyed.empty());
    }
    SUBCASE("a row found by its order") {
        PlanCase c("A1,,,80.00,ORDER_UPDATE\r\n,O-1,19816,80.00,ORDER_UPDATE\r\n");
        CHECK(c.find().order == SpanKeys::Order::File);
        CHECK(c.tx.asked == 0);
    }
    SUBCASE("a store without a key order") {
        PlanCase c("A1,,,80.00,ORDER_UPDATE\r\n");
        c.tx.has_key_order = false;
        CHECK(c.find().order == SpanKeys::Order::File);
    }
    SUBCASE("a file refused as a whole says why") {
        PlanCase c("A1,,,80.00,ORDER_UPDATE\r\nA2,\"unclosed\r\n");
        const SpanKeys span = c.find();
        CHECK(span.order == SpanKeys::Order::File);
        CHECK(span.file_error.has_value());
    }
}
