#include <doctest/doctest.h>

#include "config/catalog_file.hpp"
#include "ingest/service.hpp"
#include "ledger/time.hpp"
#include "test_ingest_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string conversion_file(const std::string& id) {
    auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() - 48h);
    return "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n" + id +
           ",19816,P-77,O-" + id + "," +
           ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day)) +
           ",100.00\r\n";
}

struct Recorder {
    std::vector<std::string> problems, taken, failed;
    ServiceEvents events() {
        ServiceEvents e;
        e.inbox_problem = [this](const config::InboxConfig&, const std::string& what) {
            problems.push_back(what);
        };
        e.taken = [this](const config::InboxConfig&, const Claim& c, const Outcome& o,
                         std::chrono::milliseconds) {
            taken.push_back(c.file_name + ":" + o.status);
        };
        e.failed = [this](const config::InboxConfig&, const Claim& c, const std::string&,
                          std::chrono::seconds) { failed.push_back(c.file_name); };
        return e;
    }
};

const auto never = [] { return false; };

}  // namespace

TEST_CASE(
    "ingest: files wait while the inbox's account is not in the catalog, and flow once it is "
    "loaded") {
    TempDir tmp;
    auto store = store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    store->migrate();
    Recorder rec;
    Service service(
        *store, {tmp.path() / "state"},
        [] {
            return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
        },
        rec.events());
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    CHECK(service.folders() == std::vector<fs::path>{cfg.path});
    write(cfg.path / "a.csv", conversion_file("W-1"));

    const SteadyTime t0 = std::chrono::steady_clock::now();
    auto next = service.run_once(t0, never);
    CHECK(next <= t0 + 300ms);  // wakes when a.csv may have settled
    service.run_once(t0 + 1s, never);
    service.run_once(t0 + 2s, never);
    REQUIRE(rec.problems.size() == 1);  // reported once, not at every sweep
    CHECK(rec.problems[0].find("account 1000 is not in the catalog") != std::string::npos);
    CHECK(fs::exists(cfg.path / "a.csv"));  // not claimed

    auto catalog =
        config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
    REQUIRE(catalog);
    store->save_catalog(*catalog);
    service.run_once(t0 + 3s, never);
    CHECK(rec.taken == std::vector<std::string>{"a.csv:COMPLETE"});
    CHECK(service.files_taken() == 1);
    CHECK(store->action("1000", "W-1"));
}

TEST_CASE("ingest: a stop request leaves ready files in the inbox for the next start") {
    TempDir tmp;
    auto store = store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    store->migrate();
    auto catalog =
        config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
    REQUIRE(catalog);
    store->save_catalog(*catalog);
    Recorder rec;
    Service service(
        *store, {tmp.path() / "state"},
        [] {
            return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
        },
        rec.events());
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    write(cfg.path / "a.csv", conversion_file("X-1"));
    write(cfg.path / "b.csv", conversion_file("X-2"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    service.run_once(t0, never);
    int asked = 0;
    service.run_once(t0 + 1s, [&] { return ++asked > 1; });  // stop after the first file
    CHECK(rec.taken.size() == 1);
    CHECK(fs::exists(cfg.path / "b.csv") != fs::exists(cfg.path / "a.csv"));
}

TEST_CASE("ingest: retries wait longer after each failure, up to five minutes") {
    CHECK(retry_delay(1) == 1s);
    CHECK(retry_delay(2) == 2s);
    CHECK(retry_delay(3) == 4s);
    CHECK(retry_delay(20) == 300s);
}
