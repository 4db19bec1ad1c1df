// The life cycle's money in the SQLite store (store/lifecycle_ledger.hpp, docs/lifecycle.md),
// where the test reads the SQLite file itself: issued invoices that never change, the
// migrations to versions 5 and 8, the rows of a set-based run compared to the byte, and the
// run entries that are no rows.
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/time.hpp"
#include "lifecycle/queue_order.hpp"
#include "lifecycle/run.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "store_lifecycle_support.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
using ledger::FinanceStatus;
using ledger::Status;

TEST_CASE("an issued invoice and its lines never change") {
    TempDir dir;
    auto s = migrated_store("sqlite:" + dir.db());
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
        auto s = migrated_store("sqlite:" + dir.db());
        add_actions(*s, {january("A1", "P-77", 10000)}, "20260301T000000Z-aaaaaaaaaaaa");
    }
    const std::string history_before = operations(*open_store(dir.db()), "A1");
    {
        // The ledger as version 4 kept it.
        sqlite::Database db(dir.db());
        db.exec("BEGIN;");
        db.exec(kSqliteBackToVersion7);
        db.exec(R"sql(
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE transfers;
DROP TABLE funds_entries;
ALTER TABLE actions DROP COLUMN cleared_at;
ALTER TABLE actions DROP COLUMN invoice_id;
ALTER TABLE sftp_pulls DROP COLUMN owner;
ALTER TABLE sftp_pulls DROP COLUMN lease_until;
UPDATE schema_version SET version = 4;
COMMIT;
)sql");
        CHECK(sqlite::schema_version(db) == 4);
    }
    CHECK(sqlite::latest_schema_version() == 11);
    auto s = open_store(dir.db());
    CHECK(s->migrate() == 11);
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
    dump(
        "h.entry_id,h.action_seq,h.at,b.batch_id,h.line,h.operation,h.reason,h.old_amount,"
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

}  // namespace

// The set-based run (run_lifecycle) against the decisions of lifecycle::decide_run carried
// out one by one (load_book, apply_run): the same decisions, and the same rows to the byte,
// history entry ids and their order included, over the queue's edge cases.
TEST_CASE("a set-based run writes the rows the decisions carried out one by one write") {
    TempDir set_dir, one_dir;
    auto set_store = migrated_store("sqlite:" + set_dir.db());
    auto one_store = migrated_store("sqlite:" + one_dir.db());
    LifecycleLedger& set_life = *set_store->lifecycle_ledger();
    LifecycleLedger& one_life = *one_store->lifecycle_ledger();
    const ledger::Account acct = new_york();

    const std::vector<ledger::Action> actions = queue_edge_cases();
    for (Store* s : {set_store.get(), one_store.get()})
        add_actions(*s, actions, "20260301T000000Z-aaaaaaaaaaaa");

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
    for (LifecycleLedger* l : {&set_life, &one_life})
        l->deposit("1000", 8000, at("2026-03-01T00:00:00Z"), "");
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
    for (LifecycleLedger* l : {&set_life, &one_life})
        l->deposit("1000", 200, at("2026-03-25T00:00:00Z"), "");
    d = both("2026-03-31T12:00:00Z");
    CHECK(d.locks.size() == 1);
    REQUIRE(d.clearing.clears.size() == 2);
    CHECK(d.clearing.clears[1].action_id == "C0");
    CHECK(d.clearing.clears[0].was_overdue);
    CHECK(d.clearing.clears[0].cleared_at == at("2026-03-31T12:00:00Z"));
    REQUIRE(d.clearing.overdue.size() == 1);
    CHECK_FALSE(d.clearing.overdue[0].first_time);
    // Enough for everything, and an invoice date has come: one invoice of what cleared.
    for (LifecycleLedger* l : {&set_life, &one_life})
        l->deposit("1000", 10000, at("2026-04-02T00:00:00Z"), "");
    d = both("2026-04-25T12:00:00Z");
    CHECK(d.clearing.overdue.empty());
    CHECK(d.invoices.size() == 1);
    d = both("2026-06-02T12:00:00Z");
    CHECK(d.invoices.size() == 2);
    d = both("2026-06-02T12:00:00Z");
    CHECK(d.changes_nothing());
}

// A run whose clear takes nothing and makes nothing overdue updates the actions with a
// statement of its own (only the locks): the same rows as decisions carried out one by one,
// outside terms kept outside terms.
TEST_CASE("a run that only locks writes the rows the decisions carried out one by one write") {
    TempDir set_dir, one_dir;
    auto set_store = migrated_store("sqlite:" + set_dir.db());
    auto one_store = migrated_store("sqlite:" + one_dir.db());
    for (Store* s : {set_store.get(), one_store.get()})
        add_actions(*s, queue_edge_cases(), "20260301T000000Z-aaaaaaaaaaaa");
    // Before every clearing date: nine actions lock (NOTYET not yet), none is due.
    const auto now = at("2026-03-05T00:00:00Z");
    LifecycleLedger& one_life = *one_store->lifecycle_ledger();
    const auto expected = lifecycle::decide_run(new_york(), one_life.load_book("1000", now), now);
    one_life.apply_run("1000", expected);
    const auto d = set_store->lifecycle_ledger()->run_lifecycle(new_york(), now);
    CHECK(d == expected);
    CHECK(d.locked == 9);
    CHECK(d.clearing.cleared + d.clearing.newly_overdue == 0);
    CHECK(set_store->action("1000", "OUT")->finance_status == FinanceStatus::OutsideTerms);
    CHECK(set_store->action("1000", "A9")->finance_status == FinanceStatus::Due);
    CHECK(tables(set_dir.db()) == tables(one_dir.db()));
}

// The LOCK entries take a range of ids from the counter and are no rows; the later entries
// are rows with ids from the counter: when the counter runs ahead of the table (ids handed
// out and never written), the run's entries must still follow every entry there is, in the
// order decided, and the next batch's follow them.
TEST_CASE("a run's history entries follow every entry there is, also with the counter ahead") {
    TempDir dir;
    auto s = migrated_store("sqlite:" + dir.db());
    LifecycleLedger& life = *s->lifecycle_ledger();
    add_actions(
        *s, {january("A1", "P-77", 10000), january("A2", "P-77", 8000), january("A3", "P-99", 0)},
        "20260301T000000Z-aaaaaaaaaaaa");
    life.deposit("1000", 10000, at("2026-03-01T00:00:00Z"), "");
    {
        sqlite::Database db(dir.db());
        db.exec("UPDATE counters SET value = value + 50 WHERE name = 'history_entry'");
    }
    const auto d = life.run_lifecycle(new_york(), at("2026-04-02T00:00:00Z"));
    CHECK(d.locked == 3);
    CHECK(d.clearing.cleared == 1);
    CHECK(d.clearing.newly_overdue == 2);
    REQUIRE(d.invoices.size() == 1);
    add_actions(*s, {january("A4", "P-77", 500)}, "20260402T000000Z-bbbbbbbbbbbb");

    sqlite::Database db(dir.db());
    std::string operations_in_order;
    sqlite::Statement q = db.prepare("SELECT operation FROM history ORDER BY entry_id");
    while (q.step()) operations_in_order += std::string(q.text_at(0)) + " ";
    CHECK(operations_in_order ==
          "CREATE CREATE CREATE LOCK LOCK LOCK CLEAR OVERDUE OVERDUE INVOICE CREATE ");
    sqlite::Statement counter = db.prepare(
        "SELECT (SELECT value FROM counters WHERE name = 'history_entry') > max(entry_id) FROM "
        "history");
    REQUIRE(counter.step());
    CHECK(counter.int64_at(0) == 1);
    CHECK(operations(*s, "A2") == "CREATE LOCK OVERDUE");
}

namespace {

// An entry as text, every field the store keeps.
std::string entry_text(const ledger::HistoryEntry& e) {
    return std::to_string(e.at.time_since_epoch().count()) + '|' + e.batch_id + '|' +
           std::to_string(e.line) + '|' + std::string(ledger::operation_name(e.operation)) + '|' +
           e.reason + '|' + std::to_string(e.old_amount) + '|' + std::to_string(e.new_amount) +
           '|' + std::to_string(e.old_payout) + '|' + std::to_string(e.new_payout) + '|' +
           std::string(ledger::status_name(e.old_status)) + '|' +
           std::string(ledger::status_name(e.new_status)) + '|' + e.contract_id + '|' +
           (e.contract_version ? std::to_string(e.contract_version->time_since_epoch().count())
                               : "NULL") +
           '|' + e.note;
}

// The same fields of an action's rows in the view `history`, in the order an action's history
// is read (time, then entry id).
std::vector<std::string> view_entries(const std::string& path, std::string_view action_id) {
    sqlite::Database db(path);
    sqlite::Statement q = db.prepare(
        "SELECT h.at || '|' || b.batch_id || '|' || h.line || '|' || h.operation || '|' || "
        "h.reason || '|' || h.old_amount || '|' || h.new_amount || '|' || h.old_payout || '|' || "
        "h.new_payout || '|' || h.old_status || '|' || h.new_status || '|' || h.contract_id || "
        "'|' || coalesce(h.contract_version, 'NULL') || '|' || h.note FROM history h JOIN "
        "history_batches b ON b.id = h.batch JOIN actions a ON a.seq = h.action_seq WHERE "
        "a.action_id = ?1 ORDER BY h.at, h.entry_id");
    q.bind_text(1, action_id);
    std::vector<std::string> out;
    while (q.step()) out.emplace_back(q.text_at(0));
    return out;
}

std::string sqlite_text(const std::string& path, const char* sql) {
    sqlite::Database db(path);
    sqlite::Statement q = db.prepare(sql);
    REQUIRE(q.step());
    return std::string(q.text_at(0));
}

std::int64_t sqlite_number(const std::string& path, const char* sql) {
    return std::stoll(sqlite_text(path, sql));
}

}  // namespace

// A run's LOCK, CLEAR and OVERDUE entries are no rows in SQLite (docs/lifecycle.md, "A run's
// entries in SQLite"): an action's history (its own query) and the view `history` (what an
// auditor and `store copy` read) compute them apart, and must agree field for field and in
// order, also where a LOCK and a CLEAR fall at the same instant, and for an action made
// overdue by one run and cleared by another.
TEST_CASE("an action's history reads its run entries where and as the view history shows them") {
    TempDir dir;
    auto s = migrated_store("sqlite:" + dir.db());
    LifecycleLedger& life = *s->lifecycle_ledger();
    std::vector<ledger::Action> actions = queue_edge_cases();
    ledger::Action tie = january("TIE", "P-99", 700);
    tie.clearing_date = tie.locking_date;  // locked and cleared at the same instant
    actions.push_back(tie);
    add_actions(*s, actions, "20260301T000000Z-aaaaaaaaaaaa");
    life.deposit("1000", 8700, at("2026-03-01T00:00:00Z"), "");
    for (const char* when : {"2026-03-23T12:00:00Z", "2026-03-31T12:00:00Z"})
        life.run_lifecycle(new_york(), at(when));
    life.deposit("1000", 10000, at("2026-04-02T00:00:00Z"), "");
    REQUIRE(life.run_lifecycle(new_york(), at("2026-04-25T12:00:00Z")).invoices.size() == 1);

    CHECK(operations(*s, "TIE") == "CREATE LOCK CLEAR INVOICE");
    CHECK(operations(*s, "NOTYET") == "CREATE LOCK CLEAR");
    CHECK(operations(*s, "C1") == "CREATE LOCK OVERDUE CLEAR");
    for (const ledger::Action& a : actions) {
        CAPTURE(a.action_id);
        std::vector<std::string> read;
        for (const auto& e : s->history("1000", a.action_id)) read.push_back(entry_text(e));
        CHECK(read == view_entries(dir.db(), a.action_id));
    }
    // Three runs, each one row and no entry row; the view's ids are unique and the counter is
    // past them.
    CHECK(sqlite_number(dir.db(),
                        "SELECT count(*) FROM history_rows WHERE operation IN "
                        "('LOCK', 'CLEAR', 'OVERDUE')") == 0);
    CHECK(sqlite_text(dir.db(),
                      "SELECT group_concat(locks || '/' || clears || '/' || overdues, "
                      "' ') FROM lifecycle_runs") == "10/5/3 1/0/0 0/4/0");
    CHECK(sqlite_text(dir.db(),
                      "SELECT group_concat(operation || ' ' || n, ', ') FROM (SELECT "
                      "operation, count(*) AS n FROM history GROUP BY operation ORDER "
                      "BY operation)") == "CLEAR 9, CREATE 11, INVOICE 5, LOCK 11, OVERDUE 3");
    CHECK(sqlite_number(dir.db(), "SELECT count(*) - count(DISTINCT entry_id) FROM history") == 0);
    CHECK(sqlite_number(dir.db(),
                        "SELECT (SELECT value FROM counters WHERE name = "
                        "'history_entry') > max(entry_id) FROM history") == 1);
}

namespace {

// The ledger of the migration tests: A1 (50.00), which locks on 28 February and clears on
// 21 March, and A2 (30.00), which locks on 10 April and clears on 21 May.
void add_a1_and_later_a2(Store& s) {
    ledger::Action later = january("A2", "P-77", 3000);
    later.locking_date = at("2026-04-10T04:00:00Z");
    later.clearing_date = at("2026-05-21T04:00:00Z");
    add_actions(s, {january("A1", "P-77", 5000), later}, "20260301T000000Z-aaaaaaaaaaaa");
}

}  // namespace

// Version 8 keeps the entries written as rows before it; the runs after it write a run's row
// instead, and an action's history reads both kinds the same.
TEST_CASE("the migration to version 8 keeps the run entries written as rows") {
    TempDir dir;
    {
        auto s = migrated_store("sqlite:" + dir.db());
        add_a1_and_later_a2(*s);
        // Decisions carried out one by one write their LOCK entries as rows, as runs did
        // before version 8.
        LifecycleLedger& life = *s->lifecycle_ledger();
        const auto now = at("2026-03-05T00:00:00Z");
        const auto d = lifecycle::decide_run(new_york(), life.load_book("1000", now), now);
        REQUIRE(d.locks.size() == 1);
        life.apply_run("1000", d);
    }
    const std::string a1_before = operations(*open_store(dir.db()), "A1");
    CHECK(a1_before == "CREATE LOCK");
    {
        sqlite::Database db(dir.db());
        db.exec("BEGIN;");
        db.exec(kSqliteBackToVersion7);
        db.exec("UPDATE schema_version SET version = 7; COMMIT;");
        CHECK(sqlite::schema_version(db) == 7);
    }
    auto s = open_store(dir.db());
    CHECK(s->migrate() == 11);
    CHECK(operations(*s, "A1") == a1_before);
    // A1 is due and there are no funds: overdue.
    s->lifecycle_ledger()->run_lifecycle(new_york(), at("2026-04-11T00:00:00Z"));
    CHECK(operations(*s, "A2") == "CREATE LOCK");
    CHECK(operations(*s, "A1") == a1_before + " OVERDUE");
    CHECK(sqlite_number(dir.db(), "SELECT count(*) FROM history_rows WHERE operation = 'LOCK'") ==
          1);
    CHECK(sqlite_number(dir.db(), "SELECT count(*) FROM lifecycle_runs") == 1);
    CHECK(sqlite_text(dir.db(),
                      "SELECT group_concat(operation, ' ') FROM (SELECT operation "
                      "FROM history ORDER BY entry_id)") == "CREATE CREATE LOCK LOCK OVERDUE");
}

// Version 9 keeps the clearing debits written as rows before it; the runs after it record
// their debits in their row, and the funds entries read both kinds in one order of ids.
TEST_CASE("the migration to version 9 keeps the clearing debits written as rows") {
    TempDir dir;
    {
        auto s = migrated_store("sqlite:" + dir.db());
        add_a1_and_later_a2(*s);
        // Decisions carried out one by one write A1's debit as a row, as runs did before
        // version 9.
        LifecycleLedger& life = *s->lifecycle_ledger();
        life.deposit("1000", 6000, at("2026-03-01T00:00:00Z"), "first");
        const auto now = at("2026-04-11T00:00:00Z");
        const auto d = lifecycle::decide_run(new_york(), life.load_book("1000", now), now);
        REQUIRE(d.clearing.clears.size() == 1);
        life.apply_run("1000", d);
    }
    {
        sqlite::Database db(dir.db());
        db.exec("BEGIN;");
        db.exec(kSqliteBackToVersion8);
        db.exec("UPDATE schema_version SET version = 8; COMMIT;");
        CHECK(sqlite::schema_version(db) == 8);
        CHECK(sqlite_number(dir.db(),
                            "SELECT count(*) FROM funds_entries WHERE kind = 'CLEARING'") == 1);
    }
    auto s = open_store(dir.db());
    CHECK(s->migrate() == 11);
    LifecycleLedger& life = *s->lifecycle_ledger();
    CHECK(life.balance("1000") == 1000);
    life.deposit("1000", 2500, at("2026-05-01T00:00:00Z"), "second");
    // A2 clears in a run: its debit is no row, and the deposit after the run takes the id
    // after the run's range.
    CHECK(life.run_lifecycle(new_york(), at("2026-05-22T00:00:00Z")).clearing.cleared == 1);
    life.deposit("1000", 700, at("2026-05-23T00:00:00Z"), "third");
    CHECK(sqlite_number(dir.db(), "SELECT count(*) FROM funds_rows WHERE kind = 'CLEARING'") == 1);
    CHECK(sqlite_text(dir.db(),
                      "SELECT group_concat(id || ':' || kind || ':' || amount || ':' || "
                      "reference, ' ') FROM (SELECT * FROM funds_entries ORDER BY id)") ==
          "1:DEPOSIT:6000:first 2:CLEARING:5000:A1 3:DEPOSIT:2500:second 4:CLEARING:3000:A2 "
          "5:DEPOSIT:700:third");
    CHECK(life.balance("1000") == 1200);
    std::vector<std::string> kinds;
    for (const ledger::FundsEntry& e : life.funds_entries("1000"))
        kinds.push_back(std::string(ledger::funds_entry_kind_name(e.kind)));
    CHECK(kinds ==
          std::vector<std::string>{"DEPOSIT", "CLEARING", "DEPOSIT", "CLEARING", "DEPOSIT"});
}

// The same over random ledgers: ids that sort differently as bytes and as text, 0 payouts,
// actions outside terms, clearing dates on the locking date, deposits between runs. At each
// run the set-based store must write, to the byte and through the view, what the decisions
// carried out one by one write as rows, and each action's own query must read what the view
// shows. A failure names its seed.
//
// Each ledger three times: the clear's queue put in order in the program's memory; sorted by
// SQLite, as a queue too large for that memory is; and with the memory running out part of
// the way through the queue (one piece's rows and 64 bytes of ids), given up and sorted by
// SQLite.
TEST_CASE(
    "over random ledgers, a set-based run writes the rows the decisions carried out one by one "
    "write") {
    const std::size_t queue_memory[] = {sqlite::SqliteStore::kQueueMemory, 0,
                                        lifecycle::QueueOrder::kPieceRows * 40 + 64};
    for (unsigned seed = 1; seed <= 75; ++seed) {
        const std::size_t memory = queue_memory[(seed - 1) / 25];
        CAPTURE(seed);
        CAPTURE(memory);
        std::mt19937 rng((seed - 1) % 25 + 1);
        const auto pick = [&](int lo, int hi) {
            return std::uniform_int_distribution<int>(lo, hi)(rng);
        };
        std::vector<ledger::Action> actions;
        std::set<std::string> ids;
        const int n = pick(3, 40);
        while (static_cast<int>(actions.size()) < n) {
            static constexpr const char* kPrefixes[] = {"A", "a", "B", "Z", "A1"};
            std::string id = std::string(kPrefixes[pick(0, 4)]) + std::to_string(pick(0, 30));
            if (!ids.insert(id).second) continue;
            ledger::Action a =
                january(id, pick(0, 1) ? "P-77" : "P-99", pick(0, 4) ? pick(1, 5000) : 0);
            a.locking_date = at("2026-02-20T05:00:00Z") + std::chrono::days(pick(0, 30));
            a.clearing_date = a.locking_date + std::chrono::days(pick(0, 3) ? pick(0, 40) : 0);
            if (pick(0, 9) == 0) {
                a.finance_status = FinanceStatus::OutsideTerms;
                a.payout = 0;
            }
            actions.push_back(std::move(a));
        }
        TempDir set_dir, one_dir;
        auto set_store = migrated_store("sqlite:" + set_dir.db());
        auto one_store = migrated_store("sqlite:" + one_dir.db());
        LifecycleLedger& set_life = *set_store->lifecycle_ledger();
        LifecycleLedger& one_life = *one_store->lifecycle_ledger();
        dynamic_cast<sqlite::SqliteStore&>(*set_store).set_queue_memory(memory);
        for (Store* s : {set_store.get(), one_store.get()})
            add_actions(*s, actions, "20260301T000000Z-aaaaaaaaaaaa");

        std::vector<int> days;
        for (int i = 0; i < 5; ++i) days.push_back(pick(0, 130));
        std::sort(days.begin(), days.end());
        for (const int day : days) {
            const auto now = at("2026-02-25T12:00:00Z") + std::chrono::days(day);
            if (const int deposit = pick(0, 2) ? pick(0, 6000) : 0; deposit > 0)
                for (LifecycleLedger* l : {&set_life, &one_life})
                    l->deposit("1000", deposit, now, "");
            const auto expected =
                lifecycle::decide_run(new_york(), one_life.load_book("1000", now), now);
            one_life.apply_run("1000", expected);
            CHECK(set_life.run_lifecycle(new_york(), now) == expected);
            CHECK(tables(set_dir.db()) == tables(one_dir.db()));
            // The balance without the debits' rows is the balance with them, and the sum of
            // the entries the view shows.
            CHECK(set_life.balance("1000") == one_life.balance("1000"));
            CHECK(set_life.funds_entries("1000") == one_life.funds_entries("1000"));
            CHECK(set_life.balance("1000") ==
                  sqlite_number(set_dir.db(),
                                "SELECT coalesce(sum(CASE kind WHEN 'DEPOSIT' THEN "
                                "amount ELSE -amount END), 0) FROM funds_entries"));
        }
        CHECK(sqlite_number(set_dir.db(),
                            "SELECT count(*) FROM funds_rows WHERE kind = 'CLEARING'") == 0);
        for (const ledger::Action& a : actions) {
            CAPTURE(a.action_id);
            std::vector<std::string> read;
            for (const auto& e : set_store->history("1000", a.action_id))
                read.push_back(entry_text(e));
            CHECK(read == view_entries(set_dir.db(), a.action_id));
        }
    }
}
