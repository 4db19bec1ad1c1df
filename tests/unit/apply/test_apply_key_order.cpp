// Modification rows applied in the store's key order give exactly the results, files,
// actions and histories of the same rows applied in file order.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "apply/apply_file.hpp"
#include "apply_test_support.hpp"
#include "config/catalog_file.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
namespace fs = std::filesystem;
using actiondrop::testing::read;
using actiondrop::testing::TempDir;
using actiondrop::testing::write;
using apply::testing::catalog;
using apply::testing::kNow;

namespace {

// A batch store that reports which way the rows were fetched.
class Watched final : public store::Store {
public:
    explicit Watched(std::unique_ptr<store::Store> inner) : inner_(std::move(inner)) {}
    int key_prefetches = 0;
    std::atomic<int> read_aheads = 0;  // answered by the store
    bool without_read_ahead = false;   // as a store that cannot read ahead

    class Tx final : public store::BatchTransaction, public store::KeyOrder {
    public:
        Tx(std::unique_ptr<store::BatchTransaction> inner, Watched& watched)
            : inner_(std::move(inner)), watched_(watched) {}
        ledger::Action* find(std::string_view a, std::string_view id) override {
            return inner_->find(a, id);
        }
        ledger::Action* find_by_order(std::string_view a, std::string_view o,
                                      std::string_view t) override {
            return inner_->find_by_order(a, o, t);
        }
        ledger::Action* latest_for_customer(std::string_view a, std::string_view t,
                                            std::string_view c) override {
            return inner_->latest_for_customer(a, t, c);
        }
        std::vector<ledger::Action*> children(std::string_view a, std::string_view p) override {
            return inner_->children(a, p);
        }
        ledger::CapTotals cap_totals(std::string_view a, std::string_view p, std::string_view c,
                                     ledger::Instant f, ledger::Instant t) override {
            return inner_->cap_totals(a, p, c, f, t);
        }
        void changed(ledger::Action& action, ledger::HistoryEntry e) override {
            inner_->changed(action, std::move(e));
        }
        ledger::Action& created(ledger::Action action, ledger::HistoryEntry e) override {
            return inner_->created(std::move(action), std::move(e));
        }
        std::int64_t funds_balance(std::string_view a) override { return inner_->funds_balance(a); }
        void transferred(ledger::Transfer t) override { inner_->transferred(std::move(t)); }
        store::KeyOrder* key_order() override {
            return inner_->key_order() != nullptr ? this : nullptr;
        }
        void prefetch(std::string_view a, std::vector<std::string_view> ids) override {
            inner_->key_order()->prefetch(a, std::move(ids));
        }
        std::vector<std::optional<ActionKey>> action_keys(
            std::string_view a, const std::vector<std::string_view>& ids) override {
            return inner_->key_order()->action_keys(a, ids);
        }
        std::unique_ptr<ReadAhead> read_ahead(std::string_view a,
                                              const std::vector<std::int64_t>& keys) override {
            if (watched_.without_read_ahead) return nullptr;
            auto ahead = inner_->key_order()->read_ahead(a, keys);
            if (ahead) ++watched_.read_aheads;
            return ahead;
        }
        void prefetch_keys(std::string_view a, const std::vector<std::int64_t>& keys,
                           std::unique_ptr<ReadAhead> ahead) override {
            ++watched_.key_prefetches;
            inner_->key_order()->prefetch_keys(a, keys, std::move(ahead));
        }
        void flush() override { inner_->flush(); }
        void commit(const store::BatchRecord& r,
                    const std::vector<store::BatchOutput>& o) override {
            inner_->commit(r, o);
        }
        void rollback() override { inner_->rollback(); }

    private:
        std::unique_ptr<store::BatchTransaction> inner_;
        Watched& watched_;
    };

    int migrate() override { return inner_->migrate(); }
    ledger::Catalog load_catalog() override { return inner_->load_catalog(); }
    void save_catalog(const ledger::Catalog& c) override { inner_->save_catalog(c); }
    std::optional<store::BatchRecord> find_batch(std::string_view id) override {
        return inner_->find_batch(id);
    }
    std::optional<store::BatchRecord> find_complete_batch(std::string_view a,
                                                          std::string_view s) override {
        return inner_->find_complete_batch(a, s);
    }
    std::optional<store::BatchRecord> find_open_batch(std::string_view a,
                                                      std::string_view s) override {
        return inner_->find_open_batch(a, s);
    }
    std::optional<store::BatchRecord> find_earlier_open_batch(std::string_view a,
                                                              std::string_view b) override {
        return inner_->find_earlier_open_batch(a, b);
    }
    std::vector<store::BatchRecord> list_batches(std::optional<std::string_view> a) override {
        return inner_->list_batches(a);
    }
    bool hold_batch(std::string_view id) override { return inner_->hold_batch(id); }
    void release_batch(std::string_view id) override { inner_->release_batch(id); }
    void put_batch(const store::BatchRecord& r) override { inner_->put_batch(r); }
    std::vector<std::pair<std::string, std::string>> batch_outputs(std::string_view id) override {
        return inner_->batch_outputs(id);
    }
    bool claim_pull(const store::PullRecord& r) override { return inner_->claim_pull(r); }
    std::optional<store::PullRecord> find_pull(std::string_view i, std::string_view p,
                                               std::int64_t s, std::int64_t m) override {
        return inner_->find_pull(i, p, s, m);
    }
    std::vector<store::PullRecord> open_pulls(std::string_view i, std::string_view o) override {
        return inner_->open_pulls(i, o);
    }
    void put_pull(const store::PullRecord& r) override { inner_->put_pull(r); }
    void forget_pull(const store::PullRecord& r) override { inner_->forget_pull(r); }
    std::size_t renew_pulls(std::string_view i, std::string_view o,
                            std::chrono::milliseconds l) override {
        return inner_->renew_pulls(i, o, l);
    }
    std::vector<store::TakenPull> take_over_pulls(std::string_view i, std::string_view o,
                                                  std::chrono::milliseconds l) override {
        return inner_->take_over_pulls(i, o, l);
    }
    std::unique_ptr<store::BatchTransaction> begin_batch(std::string_view id) override {
        return std::make_unique<Tx>(inner_->begin_batch(id), *this);
    }
    std::optional<ledger::Action> action(std::string_view a, std::string_view id) override {
        return inner_->action(a, id);
    }
    std::vector<ledger::HistoryEntry> history(std::string_view a, std::string_view id) override {
        return inner_->history(a, id);
    }
    void for_each_action(std::string_view a,
                         const std::function<void(const ledger::Action&)>& fn) override {
        inner_->for_each_action(a, fn);
    }

private:
    std::unique_ptr<store::Store> inner_;
};

// A ledger of `count` actions K001.. (every fourth with two items), plus, with `child`, an
// action K900 whose parent is K005.
struct Seed {
    int count;
    bool child;
};

void seed(const std::string& url, const fs::path& work, const Seed& seeded) {
    const int count = seeded.count;
    const bool child = seeded.child;
    std::string csv =
        "ActionId,ActionTrackerId,PartnerId,OrderId,CustomerId,EventDate,Amount,ParentActionId,"
        "Sku1,Quantity1,"
        "Amount1,Category1,Sku2,Quantity2,Amount2,Category2\r\n";
    for (int i = 1; i <= count; ++i) {
        char id[16];
        std::snprintf(id, sizeof id, "K%03d", i);
        if (i % 4 == 0)
            csv += std::string(id) + ",19816,P-77,O" + id + ",CU" + id +
                   ",2026-03-05T10:00:00Z,,,TV,1," + std::to_string(200 + i) +
                   ".00,electronics,BAG,2,60.00,outdoor\r\n";
        else
            csv += std::string(id) + ",19816,P-77,O" + id + ",CU" + id + ",2026-03-05T10:00:00Z," +
                   std::to_string(100 + i) + ".00,,,,,,,,,\r\n";
    }
    if (child) csv += "K900,19818,P-77,OK900,CUK005,2026-03-06T10:00:00Z,19.99,K005,,,,,,,,\r\n";
    write(work / "seed.csv", csv);
    auto s = store::open_store(url);
    s->migrate();
    apply::ApplyRequest req;
    req.file = work / "seed.csv";
    req.account_id = "1000";
    req.type = batch::FileType::Conversions;
    req.outbox = work / "seed-out";
    req.spool = work / "seed-spool";
    fs::create_directories(req.outbox);
    auto r = apply::apply_file(*s, catalog(), req, [] { return kNow - std::chrono::hours(1); });
    REQUIRE(r.status == "COMPLETE");
    REQUIRE(r.rejected == 0);
}

// Rows of every kind, in a scrambled order, several naming the same action.
std::string modifications(int count, int rows, bool with_order_reference) {
    std::mt19937 rng(7);
    std::string csv =
        "ActionId,OrderId,ActionTrackerId,Amount,Reason,DispositionCode,Sku1,Quantity1\r\n";
    for (int r = 0; r < rows; ++r) {
        char id[8];
        std::snprintf(id, sizeof id, "K%03d",
                      static_cast<int>(rng() % static_cast<unsigned>(count)) + 1);
        switch (rng() % 12) {
            case 0:
                csv += "Z" + std::string(id + 1) + ",,,10.00,ORDER_UPDATE,,,\r\n";
                break;
            case 1:
                csv += std::string(id) + ",,,1e3,ORDER_UPDATE,,,\r\n";
                break;
            case 2:
                csv += std::string(id) + ",,,,CONS_FRAUD,,,\r\n";
                break;
            case 3:
                csv += std::string(id) + ",,,,RESET,,,\r\n";
                break;
            case 4:
                csv += std::string(id) + ",,,,,STAY_COMPLETE,,\r\n";
                break;
            case 5:
                csv += std::string(id) + ",,,,ORDER_UPDATE,,BAG,1\r\n";
                break;
            case 6:
                csv += std::string(id) + ",,,0,ORDER_UPDATE,,,\r\n";
                break;
            case 7:
                csv += std::string(id) + ",OX,,5.00,ORDER_UPDATE,,,\r\n";
                break;
            case 8:
                csv += ",,,5.00,ORDER_UPDATE,,,\r\n";
                break;
            default:
                csv += std::string(id) + ",,," + std::to_string(50 + rng() % 40) +
                       ".25,ORDER_UPDATE,,,\r\n";
        }
        if (with_order_reference && r == rows / 2)
            csv += ",O" + std::string(id) + ",19816,77.00,ORDER_UPDATE,,,\r\n";
    }
    return csv;
}

struct Outcome {
    apply::ApplyResult result;
    std::string results, errors;
    std::vector<std::string> actions;  // every action and its history, as text
    int key_prefetches = 0;
    int read_aheads = 0;
};

std::string describe(const ledger::Action& a) {
    std::ostringstream out;
    out << a.action_id << ' ' << a.key << ' ' << a.amount << ' ' << a.payout << ' '
        << static_cast<int>(a.status) << ' ' << static_cast<int>(a.finance_status) << ' '
        << a.modification_count << ' ' << a.customer_status << ' ' << a.contract_id << ' '
        << a.contract_version.time_since_epoch().count() << ' '
        << a.locking_date.time_since_epoch().count() << ' '
        << a.clearing_date.time_since_epoch().count() << ' ' << a.outside_terms;
    for (const auto& item : a.items)
        out << " [" << item.sku << ' ' << item.quantity << ' ' << item.amount << ']';
    return out.str();
}

// Applies `csv` to a ledger of its own, seeded with `base`: the runs of a test start from
// equal ledgers on any store.
Outcome apply_copy(const Seed& base, const fs::path& work, const std::string& name,
                   const std::string& csv, bool key_order, std::size_t key_order_rows,
                   std::size_t key_chunk_rows = 4'000, bool read_ahead = true) {
    fs::create_directories(work / name);
    const store::testing::StoreLocation location(work / name);
    seed(location.url(), work / name, base);
    write(work / name / "mods.csv", csv);
    Watched s(store::open_store(location.url()));
    s.without_read_ahead = !read_ahead;
    apply::ApplyRequest req;
    req.file = work / name / "mods.csv";
    req.account_id = "1000";
    req.outbox = work / name / "out";
    req.spool = work / name / "spool";
    req.key_order = key_order;
    req.key_order_rows = key_order_rows;
    req.key_chunk_rows = key_chunk_rows;
    fs::create_directories(req.outbox);
    Outcome o;
    o.result = apply::apply_file(s, catalog(), req, [] { return kNow; });
    o.results = read(req.outbox / "result_mods.csv");
    o.errors = read(req.outbox / "errors_mods.csv");
    o.key_prefetches = s.key_prefetches;
    o.read_aheads = s.read_aheads;
    s.for_each_action("1000", [&](const ledger::Action& a) { o.actions.push_back(describe(a)); });
    for (std::string& text : o.actions) {
        const std::string id = text.substr(0, text.find(' '));
        for (const auto& e : s.history("1000", id))
            text += "\n  " + std::to_string(e.line) + ' ' +
                    std::to_string(static_cast<int>(e.operation)) + ' ' + e.reason + ' ' +
                    std::to_string(e.old_amount) + ' ' + std::to_string(e.new_amount) + ' ' +
                    std::to_string(e.old_payout) + ' ' + std::to_string(e.new_payout) + ' ' +
                    e.note;
    }
    return o;
}

void check_same(const Outcome& key, const Outcome& file) {
    CHECK(key.result.status == file.result.status);
    CHECK(key.result.total == file.result.total);
    CHECK(key.result.applied == file.result.applied);
    CHECK(key.result.rejected == file.result.rejected);
    CHECK(key.result.error_counts == file.result.error_counts);
    REQUIRE(key.result.first_problems.size() == file.result.first_problems.size());
    for (std::size_t i = 0; i < key.result.first_problems.size(); ++i) {
        CHECK(key.result.first_problems[i].line == file.result.first_problems[i].line);
        CHECK(key.result.first_problems[i].code == file.result.first_problems[i].code);
        CHECK(key.result.first_problems[i].message == file.result.first_problems[i].message);
    }
    CHECK(key.results == file.results);
    CHECK(key.errors == file.errors);
    CHECK(key.actions == file.actions);
}

}  // namespace

TEST_CASE("rows applied in key order, in spans and ranges, give the results of file order") {
    TempDir dir;
    const Seed base{80, false};
    const std::string csv = modifications(80, 230, false);
    // Ranges of 6 rows, spans of 24: ten spans, each read once per range.
    auto key = apply_copy(base, dir.path(), "key", csv, true, 6);
    auto file = apply_copy(base, dir.path(), "file", csv, false, 6);
    CHECK(key.key_prefetches > 0);
    CHECK(file.key_prefetches == 0);
    CHECK(file.result.applied > 50);
    CHECK(file.result.rejected > 50);
    CHECK(file.result.first_problems.size() == 20);
    check_same(key, file);
    // One span of one range.
    auto whole = apply_copy(base, dir.path(), "whole", csv, true, 1 << 18);
    CHECK(whole.key_prefetches > 0);
    check_same(whole, file);
}

TEST_CASE("actions read ahead while the chunk before is applied are the ones that chunk left") {
    TempDir dir;
    const Seed base{80, false};
    // 400 rows on 80 actions: most actions have rows in several spans, and rows of one action
    // often straddle two chunks of 3 rows, so the later chunk reads them ahead before the
    // earlier one has written them.
    const std::string csv = modifications(80, 400, false);
    auto file = apply_copy(base, dir.path(), "file", csv, false, 1 << 18);
    for (std::size_t chunk : {1, 3, 7}) {
        CAPTURE(chunk);
        auto key =
            apply_copy(base, dir.path(), "key" + std::to_string(chunk), csv, true, 30, chunk);
        CHECK(key.key_prefetches > 0);
        CHECK(key.read_aheads > 0);
        check_same(key, file);
    }
    auto whole = apply_copy(base, dir.path(), "whole", csv, true, 1 << 18, 3);
    check_same(whole, file);
    // A store that cannot read ahead: the batch reads every action itself.
    auto alone = apply_copy(base, dir.path(), "alone", csv, true, 30, 3, false);
    CHECK(alone.key_prefetches > 0);
    CHECK(alone.read_aheads == 0);
    check_same(alone, file);
}

TEST_CASE("a row found by its order id keeps the rest of the file in file order") {
    TempDir dir;
    const Seed base{40, false};
    const std::string csv = modifications(40, 120, true);
    auto key = apply_copy(base, dir.path(), "key", csv, true, 8);
    auto file = apply_copy(base, dir.path(), "file", csv, false, 8);
    CHECK(key.key_prefetches > 0);  // the spans before that row
    check_same(key, file);
}

TEST_CASE(
    "an action with children keeps its span in file order, so that reversals cascade as in the "
    "file") {
    TempDir dir;
    const Seed base{10, true};
    // The child changes, its parent is reversed (reversing the child), then the child is
    // changed again: in key order the child's rows would come after the reversal.
    const std::string csv =
        "ActionId,Amount,Reason\r\nK900,15.00,ORDER_UPDATE\r\nK002,50.00,ORDER_UPDATE\r\nK005,,"
        "CONS_FRAUD\r\n"
        "K900,12.00,ORDER_UPDATE\r\n";
    auto key = apply_copy(base, dir.path(), "key", csv, true, 1 << 18);
    auto file = apply_copy(base, dir.path(), "file", csv, false, 1 << 18);
    CHECK(key.key_prefetches == 0);
    CHECK(file.result.applied == 3);
    CHECK(file.result.error_counts == std::map<std::string, std::int64_t>{{"ACTION_REVERSED", 1}});
    check_same(key, file);
}

TEST_CASE(
    "a file error found while reading rows in key order rejects the file and changes nothing") {
    TempDir dir;
    const Seed base{20, false};
    std::string csv = modifications(20, 40, false) + "K003,\"5.00,ORDER_UPDATE,,,,,\r\n";
    auto key = apply_copy(base, dir.path(), "key", csv, true, 4);
    auto file = apply_copy(base, dir.path(), "file", csv, false, 4);
    CHECK(key.result.status == "REJECTED");
    CHECK(key.result.error_code == "MALFORMED_CSV");
    CHECK(key.result.error_code == file.result.error_code);
    CHECK(key.result.error_message == file.result.error_message);
    CHECK(key.actions == file.actions);
}
