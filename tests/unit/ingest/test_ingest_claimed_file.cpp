#include <doctest/doctest.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "config/catalog_file.hpp"
#include "ingest/claimed_file.hpp"
#include "ledger/time.hpp"
#include "test_ingest_fixtures.hpp"
#include "util/sha256.hpp"

using namespace actiondrop;
using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
namespace fs = std::filesystem;

namespace {

// A migrated store, the e2e catalog, and an inbox with one claimed conversions file.
struct Fixture {
    TempDir tmp;
    std::unique_ptr<store::Store> store =
        store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    ledger::Catalog catalog;
    config::InboxConfig cfg = local_inbox(tmp.path());
    LocalInbox inbox{cfg, claims(tmp.path())};
    Folders folders{tmp.path() / "state"};
    apply::Clock clock = [] {
        return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    };

    Fixture() {
        store->migrate();
        auto read =
            config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
        REQUIRE(read);
        catalog = *read;
    }
    Claim drop(const std::string& name, const std::string& bytes) {
        write(cfg.local()->path / name, bytes);
        auto c = inbox.claim(name);
        REQUIRE(c);
        return *c;
    }
    static std::string conversions(const std::string& id) {
        auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() -
                                                         std::chrono::hours(48));
        return "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n" + id +
               ",19816,P-77,O-" + id + "," +
               ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day)) +
               ",100.00\r\n";
    }
    // `rows` conversions PREFIX-0, PREFIX-1 … of 10.00 each.
    static std::string many_conversions(const std::string& prefix, int rows) {
        auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() -
                                                         std::chrono::hours(48));
        const auto when =
            ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day));
        std::string bytes = "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n";
        for (int i = 0; i < rows; ++i)
            bytes += fmt::format("{0}-{1},19816,P-77,O-{0}-{1},{2},10.00\r\n", prefix, i, when);
        return bytes;
    }
};

nlohmann::json summary(const fs::path& outbox, const std::string& name) {
    return nlohmann::json::parse(read(outbox / (name + "_summary.json")));
}

}  // namespace

TEST_CASE("ingest: a COMPLETE file is answered and its original archived under its UTC date") {
    Fixture f;
    auto bytes = Fixture::conversions("K-1");
    auto claim = f.drop("k.csv", bytes);
    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "COMPLETE");
    CHECK(out.applied == 1);
    auto record = f.store->find_batch(out.batch_id);
    REQUIRE(record);
    CHECK(record->state == store::BatchState::Archived);
    CHECK(record->inbox == "drop");
    CHECK(record->file_name == "k.csv");
    CHECK(out.kept_at ==
          archive_path(f.folders, "drop", *record->completed_at, out.batch_id, "k.csv"));
    CHECK(read(out.kept_at) == bytes);
    CHECK_FALSE(fs::exists(claim.path));
    CHECK(summary(f.cfg.outbox, "k.csv")["status"] == "COMPLETE");
    CHECK(fs::exists(f.cfg.outbox / "result_k.csv"));
    CHECK(f.store->action("1000", "K-1"));
}

TEST_CASE("ingest: the archive path uses the UTC date") {
    Folders folders{"/state"};
    auto t = ledger::parse_instant("2026-03-31T23:30:00-05:00", ledger::find_time_zone("UTC"));
    REQUIRE(t);
    CHECK(archive_path(folders, "acme", *t, "B1", "x.csv") ==
          fs::path("/state/archive/acme/2026/04/01/B1_x.csv"));
    CHECK(failed_path(folders, "acme", "B1", "x.csv") == fs::path("/state/failed/acme/B1_x.csv"));
}

TEST_CASE("ingest: a file rejected as a whole goes to failed/ and the journal says failed") {
    Fixture f;
    auto claim = f.drop("empty.csv", "");
    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "REJECTED");
    CHECK(out.error_code == "EMPTY_FILE");
    CHECK(out.kept_at == failed_path(f.folders, "drop", out.batch_id, "empty.csv"));
    CHECK(fs::exists(out.kept_at));
    CHECK(f.store->find_batch(out.batch_id)->state == store::BatchState::Failed);
}

TEST_CASE(
    "ingest: content whose processing died three times is quarantined with a REJECTED summary") {
    Fixture f;
    auto bytes = Fixture::conversions("Q-1");
    auto claim = f.drop("q.csv", bytes);
    // The journal as three crashed attempts left it: claimed, no status.
    store::BatchRecord open;
    open.batch_id = claim.batch_id;  // the claim's own batch
    open.account_id = "1000";
    open.inbox = "drop";
    open.file_name = "q.csv";
    open.sha256 = util::digest_file(claim.path).sha256;
    open.size = static_cast<std::int64_t>(bytes.size());
    open.type = "conversions";
    open.state = store::BatchState::Claimed;
    open.received_at = f.clock();
    open.attempts = max_attempts;
    f.store->put_batch(open);

    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.quarantined);
    CHECK(out.status == "REJECTED");
    CHECK(out.error_code == "QUARANTINED");
    CHECK(out.batch_id == open.batch_id);
    auto s = summary(f.cfg.outbox, "q.csv");
    CHECK(s["status"] == "REJECTED");
    CHECK(s["error_code"] == "QUARANTINED");
    CHECK(read(failed_path(f.folders, "drop", open.batch_id, "q.csv")) == bytes);
    auto record = f.store->find_batch(open.batch_id);
    CHECK(record->state == store::BatchState::Quarantined);
    CHECK(record->status == "REJECTED");
    CHECK_FALSE(f.store->action("1000", "Q-1"));  // nothing applied
}

TEST_CASE(
    "ingest: two crashed attempts are not yet a quarantine, and the third try applies the file") {
    Fixture f;
    auto claim = f.drop("r.csv", Fixture::conversions("R-1"));
    store::BatchRecord open;
    open.batch_id = claim.batch_id;  // the claim's own batch
    open.account_id = "1000";
    open.inbox = "drop";
    open.file_name = "r.csv";
    open.sha256 = util::digest_file(claim.path).sha256;
    open.type = "conversions";
    open.state = store::BatchState::Claimed;
    open.received_at = f.clock();
    open.attempts = max_attempts - 1;
    f.store->put_batch(open);
    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "COMPLETE");
    CHECK(out.batch_id == open.batch_id);  // the open batch resumed
    CHECK(f.store->find_batch(open.batch_id)->attempts == max_attempts);
}

TEST_CASE(
    "ingest: a recovered claim whose batch was already delivered is only archived, never applied "
    "again") {
    Fixture f;
    auto bytes = Fixture::conversions("S-1");
    auto claim = f.drop("s.csv", bytes);
    auto first = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    REQUIRE(first.status == "COMPLETE");
    // As if the daemon died after delivering, before the original was moved.
    auto record = *f.store->find_batch(first.batch_id);
    record.state = store::BatchState::Delivered;
    f.store->put_batch(record);
    fs::rename(first.kept_at, claim.path);
    claim.recovered = true;
    auto batches_before = f.store->list_batches("1000").size();

    auto again = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(again.batch_id == first.batch_id);
    CHECK(again.status == "COMPLETE");
    CHECK(read(again.kept_at) == bytes);
    CHECK(f.store->list_batches("1000").size() == batches_before);
    CHECK(f.store->find_batch(first.batch_id)->state == store::BatchState::Archived);
    CHECK(summary(f.cfg.outbox, "s.csv")["status"] ==
          "COMPLETE");  // not overwritten by a DUPLICATE_FILE
}

TEST_CASE("ingest: the same content dropped again is DUPLICATE_FILE and set aside in failed/") {
    Fixture f;
    auto bytes = Fixture::conversions("T-1");
    auto first = take_claim(*f.store, f.catalog, f.cfg, f.drop("t.csv", bytes), f.folders, f.clock);
    REQUIRE(first.status == "COMPLETE");
    auto second =
        take_claim(*f.store, f.catalog, f.cfg, f.drop("t2.csv", bytes), f.folders, f.clock);
    CHECK(second.status == "REJECTED");
    CHECK(second.error_code == "DUPLICATE_FILE");
    CHECK(fs::exists(failed_path(f.folders, "drop", second.batch_id, "t2.csv")));
}

TEST_CASE("ingest: a failure of the machine does not count towards a quarantine") {
    Fixture f;
    auto claim = f.drop("u.csv", Fixture::conversions("U-1"));
    // The receipt cannot be written: a folder is in its place.
    fs::create_directories(f.cfg.outbox / "receipt_u.csv.txt");
    CHECK_THROWS_AS(take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock),
                    std::system_error);
    auto open = f.store->find_open_batch("1000", util::digest_file(claim.path).sha256);
    REQUIRE(open);
    CHECK(open->attempts == 0);
    CHECK(fs::exists(claim.path));  // still claimed, to be tried again

    fs::remove(f.cfg.outbox / "receipt_u.csv.txt");
    claim.recovered = true;
    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "COMPLETE");
    CHECK(out.batch_id == open->batch_id);
    CHECK(f.store->action("1000", "U-1"));
}

TEST_CASE("ingest: a stop request rolls the file back and does not count towards a quarantine") {
    Fixture f;
    // More rows than one progress step (20,000), so that the stop lands mid-file.
    auto claim = f.drop("v.csv", Fixture::many_conversions("V", 20'500));
    const auto sha256 = util::digest_file(claim.path).sha256;
    const auto stop = [] { throw StopRequested{}; };

    for (int i = 0; i < max_attempts + 1; ++i) {
        CHECK_THROWS_AS(
            take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock, {stop, {}, {}}),
            StopRequested);
        CHECK(fs::exists(claim.path));                // still claimed
        CHECK_FALSE(f.store->action("1000", "V-0"));  // the first 20,000 rows rolled back
        auto open = f.store->find_open_batch("1000", sha256);
        REQUIRE(open);
        CHECK(open->attempts == 0);
        claim.recovered = true;
    }
    CHECK_FALSE(fs::exists(f.cfg.outbox / "result_v.csv"));
    CHECK(fs::is_empty(f.folders.state_dir / "spool"));

    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "COMPLETE");
    CHECK(out.applied == 20'500);
    CHECK_FALSE(out.quarantined);
    CHECK(f.store->find_batch(out.batch_id)->attempts == 1);
    CHECK(f.store->list_batches("1000").size() == 1);  // the open batch resumed, not a second one
}

TEST_CASE(
    "ingest: a claim whose journal already says archived (a crash before the move) is only "
    "archived") {
    Fixture f;
    auto bytes = Fixture::conversions("W-1");
    auto claim = f.drop("w.csv", bytes);
    auto first = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    REQUIRE(first.status == "COMPLETE");
    REQUIRE(f.store->find_batch(first.batch_id)->state == store::BatchState::Archived);
    // As if the daemon died after the journal's last record, before the original moved.
    fs::rename(first.kept_at, claim.path);
    claim.recovered = true;

    auto again = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(again.batch_id == first.batch_id);
    CHECK(again.kept_at == first.kept_at);
    CHECK(read(again.kept_at) == bytes);
    CHECK_FALSE(fs::exists(claim.path));
    CHECK(f.store->list_batches("1000").size() == 1);
    CHECK(summary(f.cfg.outbox, "w.csv")["status"] == "COMPLETE");

    // The same bytes uploaded again under the same name, retried after a failure, are a
    // new upload: their batch's original is already in its place.
    auto retried = f.drop("w.csv", bytes);
    retried.recovered = true;
    auto duplicate = take_claim(*f.store, f.catalog, f.cfg, retried, f.folders, f.clock);
    CHECK(duplicate.status == "REJECTED");
    CHECK(duplicate.error_code == "DUPLICATE_FILE");
    CHECK(fs::exists(first.kept_at));
}

TEST_CASE("ingest: an inbox's record limits reach the reader of its files") {
    Fixture f;
    f.cfg.limits.max_fields = 5;
    auto out = take_claim(*f.store, f.catalog, f.cfg,
                          f.drop("wide.csv", Fixture::conversions("WIDE-1")), f.folders, f.clock);
    CHECK(out.error_code == "TOO_MANY_FIELDS");
    f.cfg.limits.max_fields = 2'000;
    f.cfg.limits.max_record_bytes = 40;
    out = take_claim(*f.store, f.catalog, f.cfg, f.drop("long.csv", Fixture::conversions("LONG-1")),
                     f.folders, f.clock);
    CHECK(out.error_code == "RECORD_TOO_LONG");
}

// A service that dies while it copies or hashes a large file (seconds, for one of gigabytes)
// must leave the file's place in its account's order behind, or a later file of the account
// is applied first by another instance (docs/ingest.md, "Arrival order"): the record is
// written once the file is opened and checked, before a byte of it is read.
TEST_CASE("ingest: a claim's record is written when its file is opened, before it is read") {
    Fixture f;
    const std::string bytes = Fixture::many_conversions("W", 20'000);
    auto claim = f.drop("p3.csv", bytes);
    struct Died {};
    const auto die = [] { throw Died{}; };
    CHECK_THROWS_AS(
        take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock, {{}, {}, die}), Died);
    auto mine = f.store->find_batch(claim.batch_id);
    REQUIRE(mine);
    CHECK(mine->claim);
    CHECK(mine->status.empty());
    CHECK(mine->state == store::BatchState::Claimed);
    CHECK(mine->attempts == 0);
    CHECK(mine->file_name == "p3.csv");
    CHECK(mine->size == static_cast<std::int64_t>(bytes.size()));

    // A later file of the account, taken meanwhile (by another instance), waits for it.
    auto later = f.drop("p4.csv", Fixture::conversions("W-LATER"));
    CHECK_THROWS_AS(take_claim(*f.store, f.catalog, f.cfg, later, f.folders, f.clock),
                    apply::EarlierFileFirst);
    CHECK_FALSE(f.store->action("1000", "W-LATER"));
    CHECK(f.store->find_batch(later.batch_id)->attempts == 0);

    // The service comes back: its file goes first, then the later one.
    claim.recovered = true;
    auto out = take_claim(*f.store, f.catalog, f.cfg, claim, f.folders, f.clock);
    CHECK(out.status == "COMPLETE");
    CHECK(f.store->find_batch(claim.batch_id)->attempts == 1);
    later.recovered = true;
    CHECK(take_claim(*f.store, f.catalog, f.cfg, later, f.folders, f.clock).status == "COMPLETE");
    CHECK(f.store->list_batches("1000").size() == 2);
}
