#include <doctest/doctest.h>

#include "ledger/time.hpp"
#include "store/catalog_codec.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
namespace fs = std::filesystem;

TEST_CASE("migrate creates the schema once and is idempotent") {
    TempDir dir;
    auto store = open_store("sqlite:" + dir.db());
    const int version = store->migrate();
    CHECK(version == sqlite::latest_schema_version());
    CHECK(version >= 1);
    CHECK(store->migrate() == version);
    store.reset();
    // A second program opening the same file finds it up to date.
    CHECK(open_store(dir.db())->migrate() == version);
    sqlite::Database db(dir.db());
    CHECK(sqlite::schema_version(db) == version);
}

TEST_CASE("a database of a newer schema is refused") {
    TempDir dir;
    migrated_store("sqlite:" + dir.db());
    {
        sqlite::Database db(dir.db());
        db.exec("UPDATE schema_version SET version = 999");
    }
    auto store = open_store(dir.db());
    CHECK_THROWS_AS(store->migrate(), StoreError);
}

TEST_CASE("the connection runs in WAL mode with foreign keys") {
    TempDir dir;
    sqlite::Database db(dir.db());
    sqlite::Use mode(db.cached("PRAGMA journal_mode"));
    REQUIRE(mode->step());
    CHECK(mode->text_at(0) == "wal");
    sqlite::Use fk(db.cached("PRAGMA foreign_keys"));
    REQUIRE(fk->step());
    CHECK(fk->int64_at(0) == 1);
    sqlite::Use sync(db.cached("PRAGMA synchronous"));
    REQUIRE(sync->step());
    CHECK(sync->int64_at(0) == 2);  // FULL
}

TEST_CASE("an unwritable or unsupported store is a StoreError") {
    TempDir dir;
    CHECK_THROWS_AS(open_store((dir.path() / "missing" / "folder" / "ledger.db").string()),
                    StoreError);
    CHECK_THROWS_AS(open_store("sqlite:" + dir.path().string()), StoreError);  // a folder
    CHECK_THROWS_AS(open_store("postgresql://user@host/db"), StoreError);
    CHECK_THROWS_AS(open_store("sqlite:"), StoreError);
    // The URL forms name the same file.
    migrated_store("sqlite:" + dir.db());
    CHECK(open_store("sqlite://" + dir.db())->migrate() == sqlite::latest_schema_version());
}

TEST_CASE("the catalog is saved and loaded whole, replacing the previous one") {
    TempDir dir;
    auto store = migrated_store("sqlite:" + dir.db());
    CHECK(store->load_catalog().accounts.empty());

    ledger::Catalog catalog;
    ledger::Account acme;
    acme.id = "1000";
    acme.name = "Acme";
    acme.currency = ledger::find_currency("USD");
    acme.timezone_name = "Europe/Berlin";
    acme.timezone = ledger::find_time_zone("Europe/Berlin");
    acme.partners["P-77"] = ledger::Partner{"P-77", "Trail Blog"};
    catalog.accounts["1000"] = acme;
    ledger::Account other = acme;
    other.id = "2000";
    other.name = "Other";
    catalog.accounts["2000"] = other;
    catalog.fx_rates = {{"EUR", "USD", {10850000000, 10}, store::parse_day("2026-01-01")},
                        {"EUR", "USD", {1090, 3}, store::parse_day("2026-02-01")},
                        {"JPY", "USD", {67, 4}, store::parse_day("2025-12-31")}};
    store->save_catalog(catalog);

    ledger::Catalog loaded = open_store(dir.db())->load_catalog();
    REQUIRE(loaded.accounts.size() == 2);
    CHECK(loaded.accounts.at("1000").name == "Acme");
    CHECK(loaded.accounts.at("1000").timezone == acme.timezone);
    CHECK(loaded.accounts.at("1000").currency == acme.currency);
    CHECK(loaded.accounts.at("2000").partners.at("P-77").name == "Trail Blog");
    REQUIRE(loaded.fx_rates.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(loaded.fx_rates[i].currency == catalog.fx_rates[i].currency);
        CHECK(loaded.fx_rates[i].account_currency == catalog.fx_rates[i].account_currency);
        CHECK(loaded.fx_rates[i].rate == catalog.fx_rates[i].rate);
        CHECK(loaded.fx_rates[i].effective_from == catalog.fx_rates[i].effective_from);
    }

    catalog.accounts.erase("2000");
    catalog.fx_rates.pop_back();
    store->save_catalog(catalog);
    loaded = store->load_catalog();
    CHECK(loaded.accounts.size() == 1);
    CHECK(loaded.fx_rates.size() == 2);
}

TEST_CASE("journal records are upserted and found by content") {
    TempDir dir;
    auto store = migrated_store("sqlite:" + dir.db());
    BatchRecord first = sample_record("B-1", "1000", "aa11");
    first.attempts = 1;
    store->put_batch(first);
    CHECK(store->find_open_batch("1000", "aa11")->batch_id == "B-1");
    CHECK_FALSE(store->find_complete_batch("1000", "aa11"));
    CHECK_FALSE(store->find_open_batch("2000", "aa11"));  // content is scoped to the account

    first.state = store::BatchState::Applied;
    first.status = "COMPLETE";
    first.completed_at = at_ms(1'768'600'005'000);
    first.total = 10;
    first.applied = 9;
    first.rejected = 1;
    first.error_counts_json = R"({"ACTION_LOCKED":1})";
    store->put_batch(first);
    CHECK_FALSE(store->find_open_batch("1000", "aa11"));
    auto complete = store->find_complete_batch("1000", "aa11");
    REQUIRE(complete);
    CHECK(complete->batch_id == "B-1");
    CHECK(complete->inbox == "acme-drop");
    CHECK(complete->file_name == "mods.csv");
    CHECK(complete->size == 1234);
    CHECK(complete->type == "modifications");
    CHECK(complete->state == store::BatchState::Applied);
    CHECK(complete->received_at == first.received_at);
    CHECK(complete->completed_at == first.completed_at);
    CHECK(complete->attempts == 1);
    CHECK(complete->total == 10);
    CHECK(complete->applied == 9);
    CHECK(complete->rejected == 1);
    CHECK(complete->error_counts_json == first.error_counts_json);
    CHECK_FALSE(complete->error_line);

    BatchRecord rejected = sample_record("B-2", "1000", "bb22");
    rejected.status = "REJECTED";
    rejected.state = store::BatchState::Failed;
    rejected.error_code = "MALFORMED_CSV";
    rejected.error_message = "bare CR on line 3";
    rejected.error_line = 3;
    rejected.received_at = at_ms(1'768'700'000'000);
    store->put_batch(rejected);
    CHECK_FALSE(store->find_complete_batch("1000", "bb22"));  // only COMPLETE makes a duplicate
    CHECK_FALSE(store->find_open_batch("1000", "bb22"));
    auto found = store->find_batch("B-2");
    REQUIRE(found);
    CHECK(found->error_code == "MALFORMED_CSV");
    CHECK(found->error_message == "bare CR on line 3");
    CHECK(found->error_line == 3);
    CHECK_FALSE(found->completed_at);

    store->put_batch(sample_record("B-3", "2000", "cc33"));
    CHECK_FALSE(store->find_batch("B-9"));
    auto all = store->list_batches(std::nullopt);
    REQUIRE(all.size() == 3);
    CHECK(all[0].batch_id == "B-1");
    auto of_1000 = store->list_batches(std::string_view("1000"));
    REQUIRE(of_1000.size() == 2);
    CHECK(of_1000[1].batch_id == "B-2");
}

TEST_CASE("outputs are stored with the commit and read back in order, also large ones") {
    TempDir dir;
    auto store = migrated_store("sqlite:" + dir.db());
    BatchRecord record = sample_record("B-1", "1000", "aa11");
    store->put_batch(record);

    std::string big(5 * 1024 * 1024 + 123, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7919) % 251);
    write_file(dir.path() / "result.csv", big);
    write_file(dir.path() / "errors.csv", "Line,ErrorCode\r\n");
    write_file(dir.path() / "empty.json", "");

    auto tx = store->begin_batch("B-1");
    tx->commit(record, {{"result_mods.csv", dir.path() / "result.csv"},
                        {"errors_mods.csv", dir.path() / "errors.csv"},
                        {"mods.csv_summary.json", dir.path() / "empty.json"}});

    auto outputs = open_store(dir.db())->batch_outputs("B-1");
    REQUIRE(outputs.size() == 3);
    CHECK(outputs[0].first == "result_mods.csv");
    CHECK(outputs[0].second == big);
    CHECK(outputs[1].first == "errors_mods.csv");
    CHECK(outputs[1].second == "Line,ErrorCode\r\n");
    CHECK(outputs[2].second.empty());
    CHECK(store->batch_outputs("B-2").empty());

    // A later commit with outputs replaces them; one without keeps them.
    auto again = store->begin_batch("B-1");
    again->commit(record, {});
    CHECK(store->batch_outputs("B-1").size() == 3);
    auto replace = store->begin_batch("B-1");
    replace->commit(record, {{"result_mods.csv", dir.path() / "errors.csv"}});
    outputs = store->batch_outputs("B-1");
    REQUIRE(outputs.size() == 1);
    CHECK(outputs[0].second == "Line,ErrorCode\r\n");

    // Once decided, the batch is never committed again, and its outputs stay.
    record.state = store::BatchState::Applied;
    record.status = "COMPLETE";
    store->begin_batch("B-1")->commit(record, {});
    auto late = store->begin_batch("B-1");
    CHECK_THROWS_AS(late->commit(record, {{"result_mods.csv", dir.path() / "result.csv"}}),
                    store::BatchCommittedElsewhere);
    late.reset();
    REQUIRE(store->batch_outputs("B-1").size() == 1);
    CHECK(store->batch_outputs("B-1")[0].second == "Line,ErrorCode\r\n");
}

TEST_CASE("a missing output file fails the commit and leaves nothing behind") {
    TempDir dir;
    auto store = migrated_store("sqlite:" + dir.db());
    auto tx = store->begin_batch("B-1");
    tx->created(sample_action("1000", "A-1"), sample_entry(ledger::Operation::Create, 2, 1));
    CHECK_THROWS_AS(
        tx->commit(sample_record("B-1", "1000", "aa"), {{"result_x.csv", dir.path() / "nope.csv"}}),
        StoreError);
    tx.reset();
    CHECK_FALSE(store->find_batch("B-1"));
    CHECK_FALSE(store->action("1000", "A-1"));
}

TEST_CASE("a ledger file moved or replaced under an open store commits nothing until it is back") {
    // docs/architecture.md, "The ledger file": SQLite keeps writing the inode it opened, so a
    // commit into a file that is no longer at the ledger's path would be lost with it.
    TempDir dir;
    auto store = migrated_store("sqlite:" + dir.db());
    const fs::path db = dir.db(), away = dir.path() / "moved.db";
    BatchRecord record = sample_record("B-1", "1000", "aa11");
    store->put_batch(record);
    {
        auto tx = store->begin_batch("B-1");
        tx->created(sample_action("1000", "A-1"), sample_entry(ledger::Operation::Create, 2, 1));
        fs::rename(db, away);
        try {
            tx->commit(record, {});
            FAIL("a batch committed into a ledger that is no longer at its path");
        } catch (const StoreError& e) {
            CHECK(std::string(e.what()).find(db.string()) != std::string::npos);
            CHECK(std::string(e.what()).find("moved or deleted") != std::string::npos);
        }
    }
    CHECK(store->problem().find("moved or deleted") != std::string::npos);
    CHECK_THROWS_AS(store->begin_batch("B-1"), StoreError);  // before any of its work
    CHECK_THROWS_AS(store->put_batch(sample_record("B-2", "1000", "bb22")), StoreError);
    // Its write-ahead log is still at the path: no other opener makes an empty ledger there,
    // which would make SQLite remove the log and the commits in it.
    REQUIRE(fs::exists(db.string() + "-wal"));
    CHECK_THROWS_AS(open_store("sqlite:" + db.string()), StoreError);
    CHECK_FALSE(fs::exists(db));
    CHECK(fs::exists(db.string() + "-wal"));
    // Another file put at the path is not the ledger either.
    write_file(db, "");
    CHECK_THROWS_AS(store->put_batch(sample_record("B-2", "1000", "bb22")), StoreError);
    CHECK(store->problem().find("another file") != std::string::npos);
    fs::remove(db);
    // Back where it was: commits go on, and nothing of the refused ones was kept.
    fs::rename(away, db);
    CHECK(store->problem().empty());
    CHECK_FALSE(store->action("1000", "A-1"));
    auto tx = store->begin_batch("B-1");
    tx->created(sample_action("1000", "A-1"), sample_entry(ledger::Operation::Create, 2, 1));
    tx->commit(record, {});
    CHECK(open_store(db.string())->action("1000", "A-1"));
}

namespace {

std::string describe(const ledger::HistoryEntry& e) {
    return e.action_id + ' ' + std::to_string(e.at.time_since_epoch().count()) + ' ' + e.batch_id +
           ' ' + std::to_string(e.line) + ' ' + std::to_string(static_cast<int>(e.operation)) +
           ' ' + e.reason + ' ' + std::to_string(e.old_amount) + ' ' +
           std::to_string(e.new_amount) + ' ' + std::to_string(e.old_payout) + ' ' +
           std::to_string(e.new_payout) + ' ' + std::to_string(static_cast<int>(e.old_status)) +
           ' ' + std::to_string(static_cast<int>(e.new_status)) + ' ' + e.contract_id + ' ' +
           (e.contract_version ? std::to_string(e.contract_version->time_since_epoch().count())
                               : "-") +
           ' ' + e.note;
}

std::vector<std::string> history_of(Store& store, const std::string& action_id) {
    std::vector<std::string> lines;
    for (const auto& e : store.history("1000", action_id)) lines.push_back(describe(e));
    return lines;
}

}  // namespace

TEST_CASE("history written under schema version 2 reads the same after the move to batch numbers") {
    TempDir dir;
    {
        auto s = migrated_store("sqlite:" + dir.db());
        auto tx = s->begin_batch("20260101T000000Z-aaaaaaaaaaaa");
        ledger::HistoryEntry created =
            sample_entry(ledger::Operation::Create, 2, 1'768'600'000'000);
        created.batch_id = "20260101T000000Z-aaaaaaaaaaaa";
        ledger::Action& a = tx->created(sample_action("1000", "A-1"), created);
        tx->created(sample_action("1000", "A-2"), created);
        ledger::HistoryEntry modified =
            sample_entry(ledger::Operation::Modify, 3, 1'768'600'000'001);
        modified.batch_id = "20260101T000000Z-aaaaaaaaaaaa";
        modified.contract_version.reset();
        tx->changed(a, modified);
        tx->commit(sample_record("20260101T000000Z-aaaaaaaaaaaa", "1000", "aa"), {});
        auto tx2 = s->begin_batch("20260102T000000Z-bbbbbbbbbbbb");
        ledger::Action* again = tx2->find("1000", "A-1");
        REQUIRE(again != nullptr);
        ledger::HistoryEntry approved =
            sample_entry(ledger::Operation::Approve, 5, 1'768'700'000'000);
        approved.batch_id = "20260102T000000Z-bbbbbbbbbbbb";
        approved.note = "";
        tx2->changed(*again, approved);
        tx2->commit(sample_record("20260102T000000Z-bbbbbbbbbbbb", "1000", "bb"), {});
    }
    const auto want_1 = history_of(*open_store(dir.db()), "A-1");
    const auto want_2 = history_of(*open_store(dir.db()), "A-2");
    REQUIRE(want_1.size() == 3);
    REQUIRE(want_2.size() == 1);
    {
        // The same ledger as version 2 kept it: the batch id's text in every entry.
        sqlite::Database db(dir.db());
        db.exec("BEGIN;");
        db.exec(kSqliteBackToVersion7);
        db.exec(R"sql(
CREATE TABLE history_v2 (
    entry_id INTEGER PRIMARY KEY, action_seq INTEGER NOT NULL, at INTEGER NOT NULL,
    batch_id TEXT NOT NULL, line INTEGER NOT NULL, operation TEXT NOT NULL, reason TEXT NOT NULL,
    old_amount INTEGER NOT NULL, new_amount INTEGER NOT NULL, old_payout INTEGER NOT NULL,
    new_payout INTEGER NOT NULL, old_status TEXT NOT NULL, new_status TEXT NOT NULL,
    contract_id TEXT NOT NULL, contract_version INTEGER, note TEXT NOT NULL);
INSERT INTO history_v2 SELECT h.entry_id, h.action_seq, h.at, b.batch_id, h.line, h.operation,
    h.reason, h.old_amount, h.new_amount, h.old_payout, h.new_payout, h.old_status, h.new_status,
    h.contract_id, h.contract_version, h.note FROM history h JOIN history_batches b ON b.id = h.batch;
DROP TABLE history;
DROP TABLE history_batches;
ALTER TABLE history_v2 RENAME TO history;
CREATE INDEX history_by_action ON history (action_seq);
ALTER TABLE batches DROP COLUMN delivery_failures;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE transfers;
DROP TABLE funds_entries;
ALTER TABLE actions DROP COLUMN cleared_at;
ALTER TABLE actions DROP COLUMN invoice_id;
ALTER TABLE sftp_pulls DROP COLUMN owner;
ALTER TABLE sftp_pulls DROP COLUMN lease_until;
UPDATE schema_version SET version = 2;
COMMIT;
)sql");
        CHECK(sqlite::schema_version(db) == 2);
    }
    auto s = open_store(dir.db());
    CHECK(s->migrate() == sqlite::latest_schema_version());
    CHECK(history_of(*s, "A-1") == want_1);
    CHECK(history_of(*s, "A-2") == want_2);
    {
        sqlite::Database db(dir.db());
        sqlite::Use q(db.cached("SELECT count(*), min(batch), max(batch) FROM history"));
        REQUIRE(q->step());
        CHECK(q->int64_at(0) == 4);
        CHECK(q->int64_at(1) == 1);
        CHECK(q->int64_at(2) == 2);
    }
    // Entries written after the move name their batch too.
    auto tx = s->begin_batch("20260103T000000Z-cccccccccccc");
    ledger::Action* a2 = tx->find("1000", "A-2");
    REQUIRE(a2 != nullptr);
    ledger::HistoryEntry reversed = sample_entry(ledger::Operation::Reverse, 7, 1'768'800'000'000);
    reversed.batch_id = "20260103T000000Z-cccccccccccc";
    tx->changed(*a2, reversed);
    tx->commit(sample_record("20260103T000000Z-cccccccccccc", "1000", "cc"), {});
    const auto now_2 = history_of(*s, "A-2");
    REQUIRE(now_2.size() == 2);
    CHECK(now_2[0] == want_2[0]);
    CHECK(now_2[1].find(" 20260103T000000Z-cccccccccccc 7 ") != std::string::npos);
}

TEST_CASE(
    "the migration to version 6 keeps the pulls, each of no owner, which any service finishes") {
    TempDir dir;
    {
        auto s = migrated_store(dir.db());
        PullRecord r;
        r.inbox = "acme-pull";
        r.remote_path = "/in/a.csv";
        r.size = 10;
        r.mtime = 20;
        r.file_name = "a.csv";
        r.claim = "c_a.csv";
        r.state = "fetched";
        r.claimed_at = at_ms(1'000);
        r.owner = "host:/state";
        REQUIRE(s->claim_pull(r));
        sqlite::Database db(dir.db());
        db.exec((std::string("BEGIN; ") + kSqliteBackToVersion7 +
                 " ALTER TABLE sftp_pulls DROP COLUMN owner; ALTER TABLE sftp_pulls DROP COLUMN "
                 "lease_until; UPDATE schema_version SET version = 5; COMMIT;")
                    .c_str());
    }
    auto s = open_store(dir.db());
    CHECK(s->migrate() == sqlite::latest_schema_version());
    auto open = s->open_pulls("acme-pull", "another-host:/elsewhere");
    REQUIRE(open.size() == 1);
    CHECK(open[0].remote_path == "/in/a.csv");
    CHECK(open[0].owner.empty());
    CHECK(open[0].state == "fetched");
}
