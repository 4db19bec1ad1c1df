// The life cycle's money in the SQLite store (store/lifecycle_ledger.hpp, docs/lifecycle.md):
// the worked example carried out in the tables, decisions applied twice, the balance as the
// sum of the entries, issued invoices that never change, and the migration to version 5.
#include <doctest/doctest.h>

#include <numeric>
#include <string>
#include <vector>

#include "ledger/time.hpp"
#include "lifecycle/run.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
using ledger::FinanceStatus;
using ledger::Operation;
using ledger::Status;

namespace {

ledger::Instant at(std::string_view text) {
    auto t = ledger::parse_instant(text, nullptr);
    REQUIRE(t);
    return *t;
}

ledger::Account new_york() {
    ledger::Account a;
    a.id = "1000";
    a.name = "Acme Outdoor";
    a.currency = ledger::find_currency("USD");
    a.timezone_name = "America/New_York";
    a.timezone = ledger::find_time_zone("America/New_York");
    a.invoice_calendar.monthly_on_day = 1;
    return a;
}

// The worked example's January actions: lock on 28 February 05:00Z, clear on 21 March 04:00Z.
ledger::Action january(std::string id, std::string partner, std::int64_t payout) {
    ledger::Action a = sample_action("1000", std::move(id));
    a.partner_id = std::move(partner);
    a.payout = payout;
    a.outside_terms = false;
    a.currency = ledger::find_currency("USD");
    a.event_date = at("2026-01-15T12:00:00Z");
    a.locking_date = at("2026-02-28T05:00:00Z");
    a.clearing_date = at("2026-03-21T04:00:00Z");
    return a;
}

void add_actions(Store& s, std::vector<ledger::Action> actions, std::string batch_id) {
    auto tx = s.begin_batch(batch_id);
    for (auto& a : actions) {
        ledger::HistoryEntry created = sample_entry(Operation::Create, 2, 1'768'600'000'000);
        created.batch_id = batch_id;
        tx->created(std::move(a), created);
    }
    tx->commit(sample_record(batch_id, "1000", batch_id.substr(batch_id.size() - 2)), {});
}

std::string operations(Store& s, std::string_view id) {
    std::string out;
    for (const auto& h : s.history("1000", id))
        out += (out.empty() ? "" : " ") + std::string(ledger::operation_name(h.operation));
    return out;
}

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
    auto s = migrated_store(dir.db());
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

TEST_CASE("the same decisions applied twice change nothing the second time") {
    TempDir dir;
    auto s = migrated_store(dir.db());
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

TEST_CASE("decisions that no longer fit the ledger change nothing at all") {
    TempDir dir;
    auto s = migrated_store(dir.db());
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
    auto s = migrated_store(dir.db());
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

TEST_CASE("an issued invoice and its lines never change") {
    TempDir dir;
    auto s = migrated_store(dir.db());
    LifecycleLedger& life = *s->lifecycle_ledger();
    add_actions(*s, {january("A1", "P-77", 10000)}, "20260301T000000Z-aaaaaaaaaaaa");
    life.deposit("1000", 10000, at("2026-03-01T00:00:00Z"), "");
    REQUIRE(life.run_lifecycle(new_york(), at("2026-04-02T00:00:00Z")).invoices.size() == 1);
    sqlite::Database db(dir.db());
    CHECK_THROWS_AS(db.exec("UPDATE invoices SET total = 1"), StoreError);
    CHECK_THROWS_AS(db.exec("DELETE FROM invoices"), StoreError);
    CHECK_THROWS_AS(db.exec("UPDATE invoice_lines SET payout = 1"), StoreError);
    CHECK_THROWS_AS(db.exec("DELETE FROM invoice_lines"), StoreError);
    CHECK(life.invoices("1000").at(0).total == 10000);
}

TEST_CASE("the migration to version 5 keeps the actions and their history") {
    TempDir dir;
    {
        auto s = migrated_store(dir.db());
        add_actions(*s, {january("A1", "P-77", 10000)}, "20260301T000000Z-aaaaaaaaaaaa");
    }
    const std::string history_before = operations(*open_store(dir.db()), "A1");
    {
        // The ledger as version 4 kept it.
        sqlite::Database db(dir.db());
        db.exec(R"sql(
BEGIN;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE transfers;
DROP TABLE funds_entries;
ALTER TABLE actions DROP COLUMN cleared_at;
ALTER TABLE actions DROP COLUMN invoice_id;
UPDATE schema_version SET version = 4;
COMMIT;
)sql");
        CHECK(sqlite::schema_version(db) == 4);
    }
    CHECK(sqlite::latest_schema_version() == 5);
    auto s = open_store(dir.db());
    CHECK(s->migrate() == 5);
    auto a = s->action("1000", "A1");
    REQUIRE(a);
    CHECK(a->payout == 10000);
    CHECK(a->status == Status::Pending);
    CHECK_FALSE(a->cleared_at);
    CHECK(a->invoice_id.empty());
    CHECK(operations(*s, "A1") == history_before);
    LifecycleLedger& life = *s->lifecycle_ledger();
    CHECK(life.balance("1000") == 0);
    life.deposit("1000", 10000, at("2026-03-01T00:00:00Z"), "");
    CHECK(life.run_lifecycle(new_york(), at("2026-04-02T00:00:00Z")).invoices.size() == 1);
    CHECK(s->action("1000", "A1")->invoice_id == "INV-1000-20260401-P-77");
}

namespace {

// Every row a run may write, as text: the actions' lifecycle columns, the history entries
// whole (id, time, batch, note...), the funds entries and the invoices with their lines.
std::string tables(const std::string& path) {
    sqlite::Database db(path);
    std::string out;
    // quote() of each column, so that NULL and '' differ.
    const auto dump = [&](std::string_view columns, std::string_view rest) {
        std::string row;
        std::size_t from = 0;
        while (from <= columns.size()) {
            std::size_t comma = columns.find(',', from);
            if (comma == std::string_view::npos) comma = columns.size();
            row += std::string(row.empty() ? "" : " || '|' || ") + "quote(" +
                   std::string(columns.substr(from, comma - from)) + ")";
            from = comma + 1;
        }
        sqlite::Statement q = db.prepare("SELECT " + row + " " + std::string(rest));
        while (q.step()) out += std::string(q.text_at(0)) + "\n";
        out += "--\n";
    };
    dump("seq,action_id,status,finance_status,payout,cleared_at,invoice_id",
         "FROM actions ORDER BY seq");
    dump("h.entry_id,h.action_seq,h.at,b.batch_id,h.line,h.operation,h.reason,h.old_amount,"
         "h.new_amount,h.old_payout,h.new_payout,h.old_status,h.new_status,h.contract_id,"
         "h.contract_version,h.note",
         "FROM history h JOIN history_batches b ON b.id = h.batch ORDER BY h.entry_id");
    dump("id,account_id,kind,amount,at,reference,item", "FROM funds_entries ORDER BY id");
    dump("invoice_id,partner_id,invoice_date,local_date,total",
         "FROM invoices ORDER BY invoice_id");
    dump("invoice_id,ord,kind,item,id,event_date,cleared_at,payout",
         "FROM invoice_lines ORDER BY invoice_id, ord");
    return out;
}

ledger::Action queued(std::string id, std::int64_t payout, std::string_view clearing) {
    ledger::Action a = january(std::move(id), "P-77", payout);
    a.clearing_date = at(clearing);
    return a;
}

}  // namespace

// The set-based run (run_lifecycle) against the decisions of lifecycle::decide_run carried
// out one by one (load_book, apply_run): the same decisions, and the same rows to the byte,
// history entry ids and their order included, over the queue's edge cases.
TEST_CASE("a set-based run writes the rows the decisions carried out one by one write") {
    TempDir set_dir, one_dir;
    auto set_store = migrated_store(set_dir.db());
    auto one_store = migrated_store(one_dir.db());
    LifecycleLedger& set_life = *set_store->lifecycle_ledger();
    LifecycleLedger& one_life = *one_store->lifecycle_ledger();
    const ledger::Account acct = new_york();

    // Ties on the clearing date go by action id, bytewise: "A10" < "A9" < "B" < "a". A 0
    // payout behind the first uncovered action is overdue with it; one ahead of it clears
    // without a debit.
    std::vector<ledger::Action> actions{
        queued("a", 100, "2026-03-21T04:00:00Z"),   queued("A9", 3000, "2026-03-21T04:00:00Z"),
        queued("B", 0, "2026-03-21T04:00:00Z"),     queued("A10", 5000, "2026-03-21T04:00:00Z"),
        queued("Z0", 0, "2026-03-20T04:00:00Z"),    queued("C1", 4000, "2026-03-22T04:00:00Z"),
        queued("C0", 0, "2026-03-22T04:00:00Z"),    queued("LATE", 100, "2026-05-21T04:00:00Z"),
        queued("OUT", 0, "2026-03-21T04:00:00Z"),   queued("NOTYET", 100, "2026-04-21T04:00:00Z")};
    actions[8].finance_status = FinanceStatus::OutsideTerms;  // locks outside terms, never due
    actions[9].locking_date = at("2026-03-30T04:00:00Z");      // locks only at the second run
    for (Store* s : {set_store.get(), one_store.get()}) add_actions(*s, actions, "20260301T000000Z-aaaaaaaaaaaa");

    const auto both = [&](std::string_view when) {
        const auto now = at(when);
        const auto expected = lifecycle::decide_run(acct, one_life.load_book("1000", now), now);
        one_life.apply_run("1000", expected);
        const auto d = set_life.run_lifecycle(acct, now);
        CHECK(d == expected);
        CHECK(tables(set_dir.db()) == tables(one_dir.db()));
        return d;
    };
    // 80.00: Z0 (0.00), A10 (50.00) and A9 (30.00) clear; "B" (0.00) clears at no cost; "a"
    // (1.00) is the first one not covered; C0 (0.00) and C1 after it are overdue.
    for (LifecycleLedger* l : {&set_life, &one_life}) l->deposit("1000", 8000, at("2026-03-01T00:00:00Z"), "");
    auto d = both("2026-03-23T12:00:00Z");
    CHECK(d.locks.size() == 9);
    CHECK(d.clearing.clears.size() == 4);
    CHECK(d.clearing.overdue.size() == 3);
    CHECK(d.clearing.overdue[0].action_id == "a");
    CHECK(d.clearing.overdue[1].action_id == "C0");
    CHECK(set_store->action("1000", "B")->finance_status == FinanceStatus::Cleared);
    CHECK(set_store->action("1000", "OUT")->finance_status == FinanceStatus::OutsideTerms);
    CHECK(set_store->action("1000", "LATE")->finance_status == FinanceStatus::Due);
    CHECK(set_store->action("1000", "NOTYET")->status == Status::Pending);
    // The same time again changes nothing; still overdue is only reported.
    d = both("2026-03-23T12:00:00Z");
    CHECK(d.changes_nothing());
    CHECK(d.clearing.overdue.size() == 3);
    // Enough for "a" and C0 (0.00, ahead of C1 by id), not for C1: the two clear at this
    // run's time.
    for (LifecycleLedger* l : {&set_life, &one_life}) l->deposit("1000", 200, at("2026-03-25T00:00:00Z"), "");
    d = both("2026-03-31T12:00:00Z");
    CHECK(d.locks.size() == 1);
    REQUIRE(d.clearing.clears.size() == 2);
    CHECK(d.clearing.clears[1].action_id == "C0");
    CHECK(d.clearing.clears[0].was_overdue);
    CHECK(d.clearing.clears[0].cleared_at == at("2026-03-31T12:00:00Z"));
    REQUIRE(d.clearing.overdue.size() == 1);
    CHECK_FALSE(d.clearing.overdue[0].first_time);
    // Enough for everything, and an invoice date has come: one invoice of what cleared.
    for (LifecycleLedger* l : {&set_life, &one_life}) l->deposit("1000", 10000, at("2026-04-02T00:00:00Z"), "");
    d = both("2026-04-25T12:00:00Z");
    CHECK(d.clearing.overdue.empty());
    CHECK(d.invoices.size() == 1);
    d = both("2026-06-02T12:00:00Z");
    CHECK(d.invoices.size() == 2);
    d = both("2026-06-02T12:00:00Z");
    CHECK(d.changes_nothing());
}
