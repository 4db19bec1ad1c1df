// The life cycle's money in the store, on every store (store/lifecycle_ledger.hpp,
// docs/lifecycle.md): the worked example carried out in the tables, decisions applied twice,
// the balance as the sum of the entries. What SQLite alone promises is in
// test_store_lifecycle_sqlite.cpp.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/time.hpp"
#include "lifecycle/run.hpp"
#include "store_lifecycle_support.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
using ledger::FinanceStatus;
using ledger::Operation;
using ledger::Status;

namespace {

std::int64_t sum_of(const std::vector<ledger::FundsEntry>& entries) {
    return std::accumulate(entries.begin(), entries.end(), std::int64_t{0},
                           [](std::int64_t sum, const auto& e) { return sum + e.signed_amount(); });
}

// Everything a run may change, as text, to compare before and after.
std::string snapshot(Store& s) {
    LifecycleLedger& life = *s.lifecycle_ledger();
    std::string out;
    s.for_each_action("1000", [&](const ledger::Action& a) {
        out += a.action_id + " " + std::string(ledger::status_name(a.status)) + " " +
               std::string(ledger::finance_status_name(a.finance_status)) + " " +
               (a.cleared_at ? ledger::format_instant(*a.cleared_at) : "-") + " " + a.invoice_id +
               " [" + operations(s, a.action_id) + "]\n";
    });
    for (const auto& e : life.funds_entries("1000"))
        out += std::string(ledger::funds_entry_kind_name(e.kind)) + " " + std::to_string(e.amount) +
               " " + ledger::format_instant(e.at) + " " + e.reference + "\n";
    for (const auto& inv : life.invoices("1000")) {
        out += inv.invoice_id + " " + std::to_string(inv.total) + ":";
        for (const auto& l : inv.lines) out += " " + l.id;
        out += "\n";
    }
    return out + "balance " + std::to_string(life.balance("1000"));
}

}  // namespace

TEST_CASE("the worked example of docs/lifecycle.md, carried out in the store") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    REQUIRE(s->lifecycle_ledger() != nullptr);
    LifecycleLedger& life = *s->lifecycle_ledger();
    const ledger::Account acct = new_york();
    add_actions(
        *s, {january("A1", "P-77", 10000), january("A2", "P-77", 8000), january("A3", "P-99", 0)},
        "20260301T000000Z-aaaaaaaaaaaa");
    CHECK(life.deposit("1000", 15000, at("2026-03-01T00:00:00Z"), "opening") == 15000);

    auto d = life.run_lifecycle(acct, at("2026-03-22T12:00:00Z"));
    CHECK(d.locks.size() == 3);
    CHECK(d.clearing.clears.size() == 1);
    CHECK(d.clearing.overdue.size() == 2);
    CHECK(d.invoices.empty());
    CHECK(life.balance("1000") == 5000);
    auto a1 = s->action("1000", "A1");
    REQUIRE(a1);
    CHECK(a1->finance_status == FinanceStatus::Cleared);
    CHECK(a1->cleared_at == at("2026-03-21T04:00:00Z"));
    CHECK(s->action("1000", "A2")->finance_status == FinanceStatus::Overdue);
    CHECK(s->action("1000", "A3")->finance_status == FinanceStatus::Overdue);
    CHECK(operations(*s, "A2") == "CREATE LOCK OVERDUE");
    const auto a2_history = s->history("1000", "A2");
    CHECK(a2_history[1].at == at("2026-02-28T05:00:00Z"));
    CHECK(a2_history[1].old_status == Status::Pending);
    CHECK(a2_history[1].new_status == Status::Approved);
    CHECK(a2_history[2].at == at("2026-03-21T04:00:00Z"));

    CHECK(life.deposit("1000", 10000, at("2026-03-25T12:00:00Z"), "top-up") == 15000);
    d = life.run_lifecycle(acct, at("2026-04-01T12:00:00Z"));
    CHECK(d.clearing.clears.size() == 2);
    REQUIRE(d.invoices.size() == 1);
    CHECK(d.invoices[0].invoice_id == "INV-1000-20260401-P-77");
    CHECK(life.balance("1000") == 7000);
    CHECK(s->action("1000", "A2")->cleared_at == at("2026-04-01T12:00:00Z"));

    d = life.run_lifecycle(acct, at("2026-05-01T04:00:00Z"));
    CHECK(d.invoices.size() == 2);
    const auto invoices = life.invoices("1000");
    REQUIRE(invoices.size() == 3);
    CHECK(invoices[0].invoice_id == "INV-1000-20260401-P-77");
    CHECK(invoices[0].total == 10000);
    CHECK(invoices[0].currency == ledger::find_currency("USD"));
    CHECK(invoices[1].invoice_id == "INV-1000-20260501-P-77");
    CHECK(invoices[2].invoice_id == "INV-1000-20260501-P-99");
    for (const auto& inv : invoices) {
        std::int64_t lines = 0;
        for (const auto& l : inv.lines) {
            lines += l.payout;
            auto a = s->action("1000", l.id);
            REQUIRE(a);
            CHECK(a->invoice_id == inv.invoice_id);
            CHECK(a->finance_status == FinanceStatus::Invoiced);
            CHECK(a->payout == l.payout);
        }
        CHECK(inv.total == lines);
        auto again = life.invoice(inv.invoice_id);
        REQUIRE(again);
        CHECK(*again == inv);
    }
    CHECK(operations(*s, "A2") == "CREATE LOCK OVERDUE CLEAR INVOICE");
    CHECK(s->history("1000", "A2").back().reason == "INV-1000-20260501-P-77");
    CHECK_FALSE(life.invoice("INV-nosuch"));

    const auto entries = life.funds_entries("1000");
    REQUIRE(entries.size() == 4);  // two deposits, two debits; A3's 0 payout makes none
    CHECK(entries[1].kind == ledger::FundsEntry::Kind::Clearing);
    CHECK(entries[1].reference == "A1");
    CHECK(entries[1].at == at("2026-03-21T04:00:00Z"));
    CHECK(entries[2].reference == "top-up");
    CHECK(sum_of(entries) == life.balance("1000"));
    CHECK(life.balance("1000") == 7000);

    const std::string before = snapshot(*s);
    CHECK(life.run_lifecycle(acct, at("2026-05-01T04:00:00Z")).changes_nothing());
    CHECK(snapshot(*s) == before);
}

TEST_CASE("the store records whose invoice files were written, each once, by account") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    LifecycleLedger& life = *s->lifecycle_ledger();
    add_actions(*s, {january("A1", "P-77", 10000), january("A2", "P-99", 8000)},
                "20260301T000000Z-aaaaaaaaaaaa");
    REQUIRE(life.deposit("1000", 20000, at("2026-03-01T00:00:00Z"), "opening"));
    REQUIRE(life.run_lifecycle(new_york(), at("2026-04-01T12:00:00Z")).invoices.size() == 2);
    const std::string p77 = "INV-1000-20260401-P-77", p99 = "INV-1000-20260401-P-99";
    using Ids = std::vector<std::string>;
    CHECK(life.invoices_without_files("1000") == Ids{p77, p99});

    life.record_invoice_files(std::vector<std::string>{p99}, at("2026-04-01T12:00:01Z"));
    CHECK(life.invoices_without_files("1000") == Ids{p77});
    // Again, with another: the first stays as it was, nothing fails.
    life.record_invoice_files(std::vector<std::string>{p77, p99}, at("2026-04-02T00:00:00Z"));
    CHECK(life.invoices_without_files("1000").empty());
    life.record_invoice_files({}, at("2026-04-02T00:00:00Z"));
    CHECK(life.invoices_without_files("2000").empty());
    // Only an issued invoice can be recorded.
    CHECK_THROWS_AS(life.record_invoice_files(std::vector<std::string>{"INV-nosuch"},
                                              at("2026-04-02T00:00:00Z")),
                    StoreError);
    CHECK(life.invoices_without_files("1000").empty());
}

TEST_CASE("the same decisions applied twice change nothing the second time") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    LifecycleLedger& life = *s->lifecycle_ledger();
    const ledger::Account acct = new_york();
    add_actions(*s,
                {january("A1", "P-77", 10000), january("A2", "P-77", 8000),
                 january("A3", "P-99", 0), january("A4", "P-99", 300)},
                "20260301T000000Z-aaaaaaaaaaaa");
    life.deposit("1000", 10300, at("2026-03-01T00:00:00Z"), "");
    const auto now = at("2026-04-02T00:00:00Z");
    const auto d = lifecycle::decide_run(acct, life.load_book("1000", now), now);
    CHECK(d.clearing.clears.size() == 1);  // A1; A2 is not covered, A3 and A4 wait behind it
    life.apply_run("1000", d);
    const std::string once = snapshot(*s);
    life.apply_run("1000", d);
    CHECK(snapshot(*s) == once);
    CHECK(sum_of(life.funds_entries("1000")) == life.balance("1000"));
    CHECK(life.balance("1000") == 300);

    // The store's book after the run is the book in memory after lifecycle::apply_run.
    auto memory = life.load_book("1000", now);
    CHECK(lifecycle::decide_run(acct, memory, now).changes_nothing());
}

namespace {

// Keeps what a run hands over, in the order handed over.
struct Collected final : lifecycle::DecisionSink {
    std::vector<lifecycle::Lock> locks;
    std::vector<lifecycle::Clear> clears;
    std::vector<lifecycle::Overdue> overdues;
    std::string order;  // L, C, O per decision
    void locked(const lifecycle::Lock& l) override { locks.push_back(l), order += 'L'; }
    void cleared(const lifecycle::Clear& c) override { clears.push_back(c), order += 'C'; }
    void overdue(const lifecycle::Overdue& o) override { overdues.push_back(o), order += 'O'; }
};

}  // namespace

TEST_CASE("a run with a sink hands each decision over in order and keeps only the counts") {
    // Two stores with the same ledger: one run keeps its decisions, the other hands them over.
    TempDir kept_dir, sink_dir;
    auto kept_store = migrated_store(kept_dir.url());
    auto sink_store = migrated_store(sink_dir.url());
    const ledger::Account acct = new_york();
    for (Store* s : {kept_store.get(), sink_store.get()}) {
        add_actions(*s,
                    {january("A1", "P-77", 10000), january("A2", "P-77", 8000),
                     january("A3", "P-99", 0), january("A4", "P-99", 300)},
                    "20260301T000000Z-aaaaaaaaaaaa");
        s->lifecycle_ledger()->deposit("1000", 10300, at("2026-03-01T00:00:00Z"), "");
    }
    LifecycleLedger& kept_life = *kept_store->lifecycle_ledger();
    LifecycleLedger& sink_life = *sink_store->lifecycle_ledger();

    for (const char* when :
         {"2026-04-02T00:00:00Z", "2026-04-02T00:00:00Z", "2026-05-02T00:00:00Z"}) {
        CAPTURE(when);
        const auto kept = kept_life.run_lifecycle(acct, at(when));
        Collected sink;
        const auto counted = sink_life.run_lifecycle(acct, at(when), &sink);
        CHECK(sink.locks == kept.locks);
        CHECK(sink.clears == kept.clearing.clears);
        CHECK(sink.overdues == kept.clearing.overdue);
        CHECK(sink.order == std::string(kept.locks.size(), 'L') +
                                std::string(kept.clearing.clears.size(), 'C') +
                                std::string(kept.clearing.overdue.size(), 'O'));
        CHECK(counted.locks.empty());
        CHECK(counted.clearing.clears.empty());
        CHECK(counted.clearing.overdue.empty());
        CHECK(counted.clearing.debits.empty());
        CHECK(counted.locked == kept.locks.size());
        CHECK(counted.clearing.cleared == kept.clearing.clears.size());
        CHECK(counted.clearing.left_overdue == kept.clearing.overdue.size());
        CHECK(counted.clearing.newly_overdue == kept.clearing.newly_overdue);
        CHECK(counted.clearing.overdue_amount() == kept.clearing.overdue_amount());
        CHECK(counted.clearing.balance_after == kept.clearing.balance_after);
        CHECK(counted.invoices == kept.invoices);
        CHECK(counted.changes_nothing() == kept.changes_nothing());
        CHECK(snapshot(*sink_store) == snapshot(*kept_store));
    }
    // The first run locked 4, cleared A1 and left 3 overdue (A2 not covered); the second, at the
    // same time, changed nothing and reported the 3 again; the third invoiced A1.
    const auto again = kept_life.run_lifecycle(acct, at("2026-05-02T00:00:00Z"));
    CHECK(again.locked == 0);
    CHECK(again.clearing.left_overdue == 3);
    CHECK(again.clearing.newly_overdue == 0);
    CHECK(again.clearing.overdue_amount() == 8300);
}

TEST_CASE("decisions that no longer fit the ledger change nothing at all") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    LifecycleLedger& life = *s->lifecycle_ledger();
    const ledger::Account acct = new_york();
    add_actions(*s, {january("A1", "P-77", 10000)}, "20260301T000000Z-aaaaaaaaaaaa");
    life.deposit("1000", 10000, at("2026-03-01T00:00:00Z"), "");
    const auto now = at("2026-04-02T00:00:00Z");
    auto d = lifecycle::decide_run(acct, life.load_book("1000", now), now);
    REQUIRE(d.invoices.size() == 1);
    const std::string before = snapshot(*s);
    // An invoice line that is not the action's payout: the lock and the clear before it in
    // the same transaction are rolled back with it.
    auto wrong = d;
    wrong.invoices[0].lines[0].payout = 99;
    CHECK_THROWS_AS(life.apply_run("1000", wrong), StoreError);
    CHECK(snapshot(*s) == before);
    // Decisions made on a balance the account does not have.
    auto book = life.load_book("1000", now);
    book.balance = 20000;
    add_actions(*s, {january("A2", "P-77", 10000)}, "20260302T000000Z-bbbbbbbbbbbb");
    book = life.load_book("1000", now);
    book.balance = 20000;
    const auto greedy = lifecycle::decide_run(acct, book, now);
    REQUIRE(greedy.clearing.clears.size() == 2);
    const std::string before_greedy = snapshot(*s);
    CHECK_THROWS_AS(life.apply_run("1000", greedy), StoreError);
    CHECK(snapshot(*s) == before_greedy);
    life.apply_run("1000", d);
    CHECK(s->action("1000", "A1")->finance_status == FinanceStatus::Invoiced);
}

TEST_CASE("deposits add to the balance, which is the sum of the entries") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    LifecycleLedger& life = *s->lifecycle_ledger();
    CHECK(life.balance("1000") == 0);
    CHECK(life.funds_entries("1000").empty());
    CHECK(life.deposit("1000", 1, at("2026-03-01T00:00:00Z"), "a") == 1);
    CHECK(life.deposit("1000", 250, at("2026-03-02T00:00:00Z"), "b") == 251);
    CHECK(life.deposit("2000", 7, at("2026-03-02T00:00:00Z"), "") == 7);
    CHECK(life.deposit("1000", INT64_MAX, at("2026-03-03T00:00:00Z"), "too much") == std::nullopt);
    const auto entries = life.funds_entries("1000");
    REQUIRE(entries.size() == 2);
    CHECK(entries[1].reference == "b");
    CHECK(entries[1].at == at("2026-03-02T00:00:00Z"));
    CHECK(sum_of(entries) == 251);
    CHECK(life.balance("1000") == 251);
    CHECK(life.balance("2000") == 7);
}

namespace {

// An action's history as text, every field of every entry, in the store's order.
std::string history_text(Store& s, std::string_view id) {
    std::string out;
    for (const ledger::HistoryEntry& e : s.history("1000", id))
        out += std::string(ledger::operation_name(e.operation)) + " " +
               ledger::format_instant(e.at) + " [" + e.batch_id + "] " + std::to_string(e.line) +
               " " + e.reason + " " + std::to_string(e.old_amount) + ">" +
               std::to_string(e.new_amount) + " " + std::to_string(e.old_payout) + ">" +
               std::to_string(e.new_payout) + " " + std::string(ledger::status_name(e.old_status)) +
               ">" + std::string(ledger::status_name(e.new_status)) + " " + e.contract_id + " " +
               (e.contract_version ? ledger::format_instant(*e.contract_version) : "-") + " " +
               e.note + "\n";
    return out;
}

}  // namespace

namespace {

// Two stores with the same actions: one runs the life cycle set-based (run_lifecycle), the
// other carries lifecycle::decide_run's decisions out one by one (load_book, apply_run).
struct TwoStores {
    TempDir set_dir, one_dir;
    std::unique_ptr<Store> set_store = migrated_store(set_dir.url());
    std::unique_ptr<Store> one_store = migrated_store(one_dir.url());
    LifecycleLedger& set_life = *set_store->lifecycle_ledger();
    LifecycleLedger& one_life = *one_store->lifecycle_ledger();
    const ledger::Account acct = new_york();
    std::vector<std::string> ids;

    explicit TwoStores(const std::vector<ledger::Action>& actions) {
        for (const auto& a : actions) ids.push_back(a.action_id);
        for (Store* s : {set_store.get(), one_store.get()})
            add_actions(*s, actions, "20260301T000000Z-aaaaaaaaaaaa");
    }
    void deposit(std::int64_t amount, std::string_view when, std::string_view reference) {
        for (LifecycleLedger* l : {&set_life, &one_life})
            l->deposit("1000", amount, at(when), reference);
    }
    // A run at `when` on both: the same decisions, ledger, funds and history entries.
    lifecycle::RunDecisions both(std::string_view when) {
        CAPTURE(when);
        const auto now = at(when);
        const auto expected = lifecycle::decide_run(acct, one_life.load_book("1000", now), now);
        one_life.apply_run("1000", expected);
        CHECK(set_life.run_lifecycle(acct, now) == expected);
        CHECK(snapshot(*set_store) == snapshot(*one_store));
        for (const std::string& id : ids) {
            CAPTURE(id);
            CHECK(history_text(*set_store, id) == history_text(*one_store, id));
        }
        return expected;
    }
};

}  // namespace

// The store's own run (run_lifecycle, set-based) against lifecycle::decide_run's decisions
// carried out one by one (load_book, apply_run) on a second store: the same decisions, the
// same ledger and funds, and the same history entries, field for field, over the queue's edge
// cases: ties on the clearing date ordered by id bytewise ("A10" < "A9" < "B" < "a"), 0
// payouts on both sides of the first uncovered action, an action outside terms, one that locks
// only at a later run, and overdue actions cleared by a later run at its own time.
TEST_CASE("a store's run writes what the decisions carried out one by one write") {
    TwoStores t(queue_edge_cases());
    t.deposit(8000, "2026-03-01T00:00:00Z", "opening");
    // 80.00 covers Z0, A10, A9 and B; "a" is the first one not covered; C0 and C1 wait behind it.
    CHECK(t.both("2026-03-23T12:00:00Z").clearing.overdue.size() == 3);
    t.both("2026-03-23T12:00:00Z");
    t.deposit(200, "2026-03-25T00:00:00Z", "top-up");
    CHECK(t.both("2026-03-31T12:00:00Z").clearing.clears.size() == 2);  // "a" and C0, at the run
    t.deposit(10000, "2026-04-15T00:00:00Z", "more");
    CHECK(t.both("2026-06-02T12:00:00Z").invoices.size() >= 1);
    CHECK(operations(*t.set_store, "C1") == "CREATE LOCK OVERDUE CLEAR");  // cleared at the run
    CHECK(operations(*t.set_store, "A10") == "CREATE LOCK CLEAR INVOICE");
}

// A run at an earlier time than a run before it (lifecycle run --now in the past) takes only
// what was due at its own time: an action the later run found overdue is not cleared before
// its clearing date, so no CLEAR entry or debit is dated before the action was due
// (docs/lifecycle.md, "Clear"). The store's set-based run and the decisions carried out one by
// one agree on it.
TEST_CASE("a run at an earlier time does not clear an overdue action before it was due") {
    TwoStores t({january("X1", "P-77", 1500)});
    CHECK(t.both("2026-03-21T04:00:00Z").clearing.overdue.size() == 1);  // no funds
    t.deposit(10000, "2026-03-21T05:00:00Z", "top-up");
    CHECK(t.both("2026-03-10T00:00:00Z").clearing.clears.empty());
    CHECK(t.set_store->action("1000", "X1")->finance_status == FinanceStatus::Overdue);
    CHECK(t.set_life.balance("1000") == 10000);
    CHECK(t.both("2026-03-22T00:00:00Z").clearing.clears.size() == 1);
    const auto x1 = t.set_store->action("1000", "X1");
    CHECK(x1->finance_status == FinanceStatus::Cleared);
    CHECK(*x1->cleared_at == at("2026-03-22T00:00:00Z"));
    CHECK(operations(*t.set_store, "X1") == "CREATE LOCK OVERDUE CLEAR");
    CHECK(t.set_life.balance("1000") == 8500);
}

namespace {

// At a run's first decision, a deposit from another connection of the same ledger, given
// time to land before the run goes on (as `actiondrop funds deposit` beside the service).
struct DepositMeanwhile final : lifecycle::DecisionSink {
    explicit DepositMeanwhile(std::string url) : url_(std::move(url)) {}
    ~DepositMeanwhile() override { finish(); }
    void locked(const lifecycle::Lock&) override { start(); }
    void cleared(const lifecycle::Clear&) override { start(); }
    void overdue(const lifecycle::Overdue&) override { start(); }
    std::optional<std::int64_t> finish() {
        if (depositor_.joinable()) depositor_.join();
        return balance_after_;
    }

private:
    void start() {
        if (depositor_.joinable()) return;
        depositor_ = std::thread([this] {
            auto other = open_store(url_);
            balance_after_ = other->lifecycle_ledger()->deposit(
                "1000", 500, at("2026-03-22T12:00:00Z"), "meanwhile");
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    }
    std::string url_;
    std::thread depositor_;
    std::optional<std::int64_t> balance_after_;
};

}  // namespace

TEST_CASE("a deposit made while a run decides waits for the run, which is carried out") {
    TempDir dir;
    auto s = migrated_store(dir.url());
    LifecycleLedger& life = *s->lifecycle_ledger();
    add_actions(
        *s, {january("A1", "P-77", 10000), january("A2", "P-77", 8000), january("A3", "P-99", 0)},
        "20260301T000000Z-aaaaaaaaaaaa");
    REQUIRE(life.deposit("1000", 15000, at("2026-03-01T00:00:00Z"), "opening") == 15000);

    DepositMeanwhile deposit(dir.url());
    lifecycle::RunDecisions d;
    CHECK_NOTHROW(d = life.run_lifecycle(new_york(), at("2026-03-22T12:00:00Z"), &deposit));
    CHECK(deposit.finish() == 5500);  // after the run's clearing debit of 10000
    CHECK(d.clearing.cleared == 1);
    CHECK(s->action("1000", "A1")->finance_status == FinanceStatus::Cleared);
    CHECK(life.balance("1000") == 5500);
    CHECK(sum_of(life.funds_entries("1000")) == life.balance("1000"));
}
