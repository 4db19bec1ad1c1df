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
