// Two appliers of one ledger at once (two services sharing an inbox, or a service and the
// CLI; here two stores on two threads): the same content is applied once whatever the names,
// and each applier keeps a batch of its own (README.md, "How a file is applied exactly once").
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "apply/apply_file.hpp"
#include "apply_test_support.hpp"
#include "store/open_store.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using apply::testing::catalog;
using apply::testing::file_request;
using apply::testing::kNow;
using store::testing::TempDir;

namespace {

const std::string kRows =
    "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n"
    "C-1,19816,P-77,O-1,2026-03-09T10:00:00Z,10.00\r\n"
    "C-2,19816,P-77,O-2,2026-03-09T10:00:00Z,20.00\r\n";

struct Race {
    apply::ApplyResult first, second;
};

// `first` is applied on one store and held inside its write transaction, with every row
// applied, while `second` is applied on another store of the same ledger: the second reaches
// its own turn to write only once the first has committed.
Race race(const std::string& first_name, const std::string& second_name) {
    TempDir dir;
    auto one = store::testing::migrated_store(dir.url());
    one->save_catalog(catalog());
    auto two = store::open_store(dir.url());
    auto req_one = file_request(dir.path(), first_name, batch::FileType::Conversions, kRows);
    auto req_two =
        file_request(dir.path() / "again", second_name, batch::FileType::Conversions, kRows);
    std::promise<void> inside;
    bool signalled = false;
    req_one.progress = [&](std::int64_t done, std::int64_t total) {
        if (done != total || signalled) return;
        signalled = true;
        inside.set_value();
        // Time for the other applier to make its checks and wait for its turn.
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
    };
    Race r;
    std::thread applier(
        [&] { r.first = apply::apply_file(*one, catalog(), req_one, [] { return kNow; }); });
    inside.get_future().wait();
    r.second = apply::apply_file(*two, catalog(), req_two, [] { return kNow; });
    applier.join();
    CHECK(one->action("1000", "C-1"));
    CHECK(one->history("1000", "C-1").size() == 1);  // created once
    return r;
}

}  // namespace

TEST_CASE("concurrent: the same content under another name, applied meanwhile, is DUPLICATE_FILE") {
    const Race r = race("first.csv", "second.csv");
    CHECK(r.first.status == "COMPLETE");
    CHECK(r.second.status == "REJECTED");
    CHECK(r.second.error_code == "DUPLICATE_FILE");
    CHECK(r.second.error_message.find(r.first.batch_id) != std::string::npos);
    CHECK(r.second.batch_id != r.first.batch_id);
}

TEST_CASE("concurrent: the same file applied twice at once gets two batches, one of them applied") {
    const Race r = race("same.csv", "same.csv");
    CHECK(r.first.status == "COMPLETE");
    CHECK(r.second.status == "REJECTED");
    CHECK(r.second.error_code == "DUPLICATE_FILE");
    // Not the first's batch resumed while it was alive: each applier's answers and spool
    // are its own.
    CHECK(r.second.batch_id != r.first.batch_id);
}

// An instance that died while it applied a file left its record undecided; the file is still
// in that instance's claims, and the instance applies it when it runs again (docs/ingest.md,
// "Arrival order").
TEST_CASE("arrival order: a file waits for an earlier file of its account that is not applied") {
    TempDir dir;
    auto s = store::testing::migrated_store(dir.url());
    s->save_catalog(catalog());
    auto now = [] { return kNow; };
    store::BatchRecord dead = store::testing::sample_record("B-early", "1000", "ee");
    dead.attempts = 1;
    dead.claim = true;
    s->put_batch(dead);

    auto early =
        file_request(dir.path() / "early", "early.csv", batch::FileType::Conversions, kRows);
    early.batch_id = "B-early";
    const std::string later_rows =
        "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n"
        "C-3,19816,P-77,O-3,2026-03-09T10:00:00Z,30.00\r\n";
    auto later =
        file_request(dir.path() / "later", "later.csv", batch::FileType::Conversions, later_rows);
    later.batch_id = "B-later";
    CHECK_THROWS_WITH_AS(apply::apply_file(*s, catalog(), later, now),
                         doctest::Contains("waits for batch B-early"), apply::EarlierFileFirst);
    CHECK_FALSE(s->action("1000", "C-3"));
    CHECK(s->find_batch("B-later")->state == store::BatchState::Claimed);

    // A command-line run is refused too, and leaves no record behind; the claim is marked as
    // one, which the command line's record is not.
    CHECK(s->find_batch("B-later")->claim);
    auto by_hand =
        file_request(dir.path() / "hand", "hand.csv", batch::FileType::Conversions, later_rows);
    CHECK_THROWS_AS(apply::apply_file(*s, catalog(), by_hand, now), apply::EarlierFileFirst);
    CHECK(s->list_batches("1000").size() == 2);
    // A dry run changes nothing, and waits for nothing.
    auto dry = by_hand;
    dry.dry_run = true;
    CHECK(apply::apply_file(*s, catalog(), dry, now).status == "COMPLETE");

    // The earlier file goes first: the later record does not hold it back.
    CHECK(apply::apply_file(*s, catalog(), early, now).status == "COMPLETE");
    CHECK(apply::apply_file(*s, catalog(), later, now).status == "COMPLETE");
    CHECK(s->action("1000", "C-3"));
    CHECK(s->find_batch("B-later")->attempts == 2);  // the waiting attempt counted here

    // A command-line run that died holds nothing back: nobody would run it again.
    store::BatchRecord killed = store::testing::sample_record("X-killed", "1000", "ff");
    s->put_batch(killed);
    auto last = file_request(dir.path() / "last", "last.csv", batch::FileType::Conversions,
                             "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n"
                             "C-4,19816,P-77,O-4,2026-03-09T10:00:00Z,40.00\r\n");
    last.batch_id = "B-last";
    CHECK(apply::apply_file(*s, catalog(), last, now).status == "COMPLETE");
}
