#include <doctest/doctest.h>
#include <fmt/format.h>

#include <set>

#include "config/catalog_file.hpp"
#include "ingest/service.hpp"
#include "ledger/time.hpp"
#include "test_ingest_fixtures.hpp"
#include "util/name_rules.hpp"

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
    std::vector<std::string> problems, taken, failed, made, waiting;
    ServiceEvents events() {
        ServiceEvents e;
        e.made_inbox_folder = [this](const config::InboxConfig& inbox) {
            made.push_back(inbox.name);
        };
        e.inbox_problem = [this](const config::InboxConfig&, const std::string& what) {
            problems.push_back(what);
        };
        e.taken = [this](const config::InboxConfig&, const Claim& c, const Outcome& o,
                         std::chrono::milliseconds) {
            taken.push_back(c.file_name + ":" + o.status);
        };
        e.failed = [this](const config::InboxConfig&, const Claim& c, const std::string&,
                          std::chrono::seconds) { failed.push_back(c.file_name); };
        e.waiting = [this](const config::InboxConfig&, const Claim& c, const std::string& what) {
            waiting.push_back(c.file_name + ": " + what);
        };
        return e;
    }
};

const auto never = [] { return false; };

ledger::Instant wall_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// A migrated SQLite ledger in `tmp` with the end-to-end tests' catalog.
std::unique_ptr<store::Store> ledger_with_catalog(const TempDir& tmp) {
    auto store = store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    store->migrate();
    auto catalog =
        config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
    REQUIRE(catalog);
    store->save_catalog(*catalog);
    return store;
}

// The state folder, made as actiondropd makes it at its start.
fs::path state_of(const TempDir& tmp) {
    fs::create_directories(tmp.path() / "state");
    return tmp.path() / "state";
}

std::size_t count_actions(store::Store& store) {
    std::size_t n = 0;
    store.for_each_action("1000", [&](const ledger::Action&) { ++n; });
    return n;
}

}  // namespace

TEST_CASE(
    "ingest: files wait while the inbox's account is not in the catalog, and flow once it is "
    "loaded") {
    TempDir tmp;
    auto store = store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    store->migrate();
    Recorder rec;
    Service service(*store, {state_of(tmp)}, wall_now, rec.events());
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    CHECK(service.folders() == std::vector<fs::path>{cfg.local()->path});
    write(cfg.local()->path / "a.csv", conversion_file("W-1"));

    const SteadyTime t0 = std::chrono::steady_clock::now();
    auto next = service.run_once(t0, never);
    CHECK(next <= t0 + 300ms);  // wakes when a.csv may have settled
    service.run_once(t0 + 1s, never);
    service.run_once(t0 + 2s, never);
    REQUIRE(rec.problems.size() == 1);  // reported once, not at every sweep
    CHECK(rec.problems[0].find("account 1000 is not in the catalog") != std::string::npos);
    CHECK(fs::exists(cfg.local()->path / "a.csv"));  // not claimed

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
    auto store = ledger_with_catalog(tmp);
    Recorder rec;
    Service service(*store, {state_of(tmp)}, wall_now, rec.events());
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    write(cfg.local()->path / "a.csv", conversion_file("X-1"));
    write(cfg.local()->path / "b.csv", conversion_file("X-2"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    service.run_once(t0, never);
    int asked = 0;
    service.run_once(t0 + 1s, [&] { return ++asked > 1; });  // stop after the first file
    CHECK(rec.taken.size() == 1);
    CHECK(fs::exists(cfg.local()->path / "b.csv") != fs::exists(cfg.local()->path / "a.csv"));
}

TEST_CASE(
    "ingest: a stop request abandons the file being applied, and the next round applies it once") {
    TempDir tmp;
    auto store = ledger_with_catalog(tmp);
    Recorder rec;
    std::vector<std::string> abandoned;
    auto events = rec.events();
    events.abandoned = [&](const config::InboxConfig&, const Claim& c) {
        abandoned.push_back(c.file_name);
    };
    Service service(*store, {state_of(tmp)}, wall_now, events);
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    // Two progress steps of 20,000 rows: the stop arrives at the first.
    std::string big = conversion_file("Y-0");
    const auto row = big.substr(big.find("\r\n") + 2);
    for (int i = 1; i < 40'001; ++i) {
        auto line = row;
        for (auto at = line.find("Y-0"); at != std::string::npos; at = line.find("Y-0", at + 1))
            line.replace(at, 3, "Y-" + std::to_string(i));
        big += line;
    }
    write(cfg.local()->path / "big.csv", big);
    write(cfg.local()->path / "small.csv", conversion_file("Y-small"));

    const SteadyTime t0 = std::chrono::steady_clock::now();
    service.run_once(t0, never);
    int asked = 0;
    auto next = service.run_once(t0 + 1s, never, [&] { return ++asked == 1; });
    CHECK(next == t0 + 1s);  // the round ended at once
    CHECK(abandoned.size() == 1);
    CHECK(rec.taken.empty());
    CHECK(rec.failed.empty());
    CHECK(service.claims_waiting() == 1);
    CHECK(count_actions(*store) == 0);
    CHECK(fs::exists(cfg.local()->path / (abandoned[0] == "big.csv" ? "small.csv" : "big.csv")));

    service.run_once(t0 + 2s, never, [] { return false; });
    CHECK(rec.taken.size() == 2);
    CHECK(rec.taken[0] == abandoned[0] + ":COMPLETE");  // the abandoned claim first
    CHECK(service.claims_waiting() == 0);
    CHECK(count_actions(*store) == 40'002);
    CHECK(fs::is_empty(claims_folder({tmp.path() / "state"}, "drop")));
    for (const auto& b : store->list_batches("1000")) {
        CHECK(b.status == "COMPLETE");
        CHECK(b.attempts == 1);
    }
}

TEST_CASE("ingest: retries wait longer after each failure, up to five minutes") {
    CHECK(retry_delay(1) == 1s);
    CHECK(retry_delay(2) == 2s);
    CHECK(retry_delay(3) == 4s);
    CHECK(retry_delay(20) == 300s);
}

namespace {

// A service of one conversions inbox of account 1000 on a fresh ledger with the test catalog.
struct Served {
    TempDir tmp;
    std::unique_ptr<store::Store> store =
        store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    Recorder rec;
    config::InboxConfig cfg = local_inbox(tmp.path());
    Service service;

    Served()
        : service(
              *store, {state_of(tmp)},
              [] {
                  return std::chrono::floor<std::chrono::milliseconds>(
                      std::chrono::system_clock::now());
              },
              (store->migrate(), rec.events())) {
        auto catalog =
            config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
        REQUIRE(catalog);
        store->save_catalog(*catalog);
        service.set_inboxes({cfg}, 200ms);
    }
    fs::path inbox() const { return cfg.local()->path; }

    // Serves a second inbox, "b" of the same account, beside the first, with turns of one
    // file per inbox and round; returns its config.
    config::InboxConfig add_second_inbox() {
        auto other = local_inbox(tmp.path() / "b");
        other.name = "b";
        service.set_inboxes({cfg, other}, 200ms);
        service.set_turn(0ms);
        return other;
    }
};

}  // namespace

TEST_CASE("ingest: a file waiting for a retry holds back the later files of its inbox") {
    Served s;
    // The outbox is a file: the receipt cannot be written, so a.csv fails before its commit.
    fs::remove_all(s.cfg.outbox);
    write(s.cfg.outbox, "not a folder");
    write(s.inbox() / "a.csv", conversion_file("R-1"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    s.service.run_once(t0 + 1s, never);
    REQUIRE(s.rec.failed == std::vector<std::string>{"a.csv"});

    // b.csv, uploaded later, settles while a.csv waits (and fails again when it is due).
    write(s.inbox() / "b.csv", conversion_file("R-2"));
    s.service.run_once(t0 + 1100ms, never);
    s.service.run_once(t0 + 1500ms, never);
    CHECK(fs::exists(s.inbox() / "b.csv"));  // not claimed: it waits behind a.csv
    CHECK(s.rec.taken.empty());
    CHECK(s.service.claims_waiting() == 1);

    fs::remove(s.cfg.outbox);  // mended
    fs::create_directories(s.cfg.outbox);
    s.service.run_once(t0 + 10s, never);  // a.csv is due: it goes first
    CHECK(s.rec.taken == std::vector<std::string>{"a.csv:COMPLETE", "b.csv:COMPLETE"});
}

TEST_CASE(
    "ingest: a file waits for an earlier file of its account that another instance left "
    "undecided, and its waits count no attempt") {
    Served s;
    // The record an instance that died while it applied a file left behind; the file waits in
    // that instance's claims for its next start (docs/ingest.md, "Arrival order").
    store::BatchRecord dead;
    dead.batch_id = "B-dead";
    dead.account_id = "1000";
    dead.inbox = "elsewhere";
    dead.file_name = "p3.csv";
    dead.sha256 = "ee";
    dead.type = "conversions";
    dead.attempts = 1;
    dead.claim = true;
    s.store->put_batch(dead);
    write(s.inbox() / "a.csv", conversion_file("O-1"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    for (auto at : {1000ms, 2500ms, 5000ms, 10000ms, 20000ms, 31000ms})
        s.service.run_once(t0 + at, never);
    // Said once, as a wait and not a failure, however often it is tried again.
    REQUIRE(s.rec.waiting.size() == 1);
    CHECK(
        s.rec.waiting[0].starts_with("a.csv: waits for batch B-dead (file 'p3.csv', inbox "
                                     "elsewhere"));
    CHECK(s.rec.failed.empty());
    CHECK(s.rec.taken.empty());  // not quarantined, for all its tries
    CHECK_FALSE(s.store->action("1000", "O-1"));
    auto mine = s.store->list_batches("1000").back();
    CHECK(mine.file_name == "a.csv");
    CHECK(mine.attempts == 0);
    CHECK(s.service.claims_waiting() == 1);

    // The other instance comes back and applies its file: this one follows.
    dead.state = store::BatchState::Applied;
    dead.status = "COMPLETE";
    s.store->put_batch(dead);
    s.service.run_once(t0 + 60s, never);
    CHECK(s.rec.taken == std::vector<std::string>{"a.csv:COMPLETE"});
    CHECK(s.store->action("1000", "O-1"));
}

TEST_CASE("ingest: files that keep failing hold their account's life cycle for a while only") {
    // An uploader can make each of a chain of files fail (a write lease held on each made the
    // service's open fail until the file was quarantined); that must not put off the
    // account's runs, and its partners' money, for as long as the chain goes on.
    Served s;
    s.service.set_files_left_wait(5s);
    fs::remove_all(s.cfg.outbox);  // a file: every attempt fails before its commit
    write(s.cfg.outbox, "not a folder");
    write(s.inbox() / "a.csv", conversion_file("R-1"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    s.service.run_once(t0 + 1s, never);
    REQUIRE(s.rec.failed == std::vector<std::string>{"a.csv"});
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    s.service.run_once(t0 + 4s, never);  // fails again
    CHECK(s.rec.failed.size() == 2);
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    s.service.run_once(t0 + 7s, never);  // held since t0 + 1s: 6 s > 5 s
    CHECK(s.service.accounts_with_unfinished_files().empty());
    CHECK(s.service.claims_waiting() == 1);  // the file still waits for its retry
    fs::remove(s.cfg.outbox);                // mended
    fs::create_directories(s.cfg.outbox);
    s.service.run_once(t0 + 60s, never);
    CHECK(s.rec.taken == std::vector<std::string>{"a.csv:COMPLETE"});
    CHECK(s.service.accounts_with_unfinished_files().empty());
}

TEST_CASE(
    "ingest: an inbox full of files takes turns with the others, which never wait for all "
    "of them") {
    Served s;
    const config::InboxConfig other = s.add_second_inbox();
    for (int i = 1; i <= 4; ++i)
        write(s.inbox() / fmt::format("a{}.csv", i), conversion_file(fmt::format("T-A{}", i)));
    write(other.local()->path / "b1.csv", conversion_file("T-B1"));

    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    // The first inbox's turn ends after one file, the second inbox gets its turn, and the
    // next round is due at once, as files are left.
    CHECK(s.service.run_once(t0 + 1s, never) <= t0 + 1s);
    CHECK(s.rec.taken == std::vector<std::string>{"a1.csv:COMPLETE", "b1.csv:COMPLETE"});
    // The account's life cycle waits for the files its turn left, as for a claim unfinished.
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    CHECK(s.service.run_once(t0 + 1s, never) <= t0 + 1s);
    s.service.run_once(t0 + 1s, never);
    // Nothing left after the last: the next round waits for the sweep interval.
    CHECK(s.service.run_once(t0 + 1s, never) == t0 + 1s + 200ms);
    CHECK(s.service.accounts_with_unfinished_files().empty());
    CHECK(s.rec.taken == std::vector<std::string>{"a1.csv:COMPLETE", "b1.csv:COMPLETE",
                                                  "a2.csv:COMPLETE", "a3.csv:COMPLETE",
                                                  "a4.csv:COMPLETE"});
}

TEST_CASE(
    "ingest: names too long to answer are set aside in the inbox's turn, and the other inboxes "
    "do not wait for all of them") {
    // Each is renamed out and its folder synced: tens of thousands of them, made in a second,
    // once held every other inbox, the life cycle and the watchdog's ping for a minute or more.
    Served s;
    const config::InboxConfig other = s.add_second_inbox();
    const std::string too_long(util::max_name_bytes, 'n');
    for (int i = 1; i <= 4; ++i) write(s.inbox() / fmt::format("{}{}.csv", too_long, i), "x");
    write(other.local()->path / "b1.csv", conversion_file("T-B1"));
    auto left = [&] {
        return std::distance(fs::directory_iterator(s.inbox()), fs::directory_iterator());
    };

    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);  // seen; they settle
    CHECK(left() == 4);
    // Names left: the next round is due at once; and b1.csv does not wait for the rest.
    CHECK(s.service.run_once(t0 + 1s, never) <= t0 + 1s);
    CHECK(s.rec.taken == std::vector<std::string>{"b1.csv:COMPLETE"});
    CHECK(left() == 3);
    s.service.run_once(t0 + 1s, never);
    CHECK(s.service.run_once(t0 + 1s, never) <= t0 + 1s);  // one left
    s.service.run_once(t0 + 1s, never);
    CHECK(left() == 0);
    CHECK(s.service.run_once(t0 + 1s, never) == t0 + 1s + 200ms);  // none left
    // A stop request ends the setting aside at once too.
    for (int i = 1; i <= 3; ++i) write(s.inbox() / fmt::format("{}{}.csv", too_long, i), "x");
    s.service.set_turn(1h);
    s.service.run_once(t0 + 2s, never);
    s.service.run_once(t0 + 3s, [] { return true; });
    CHECK(left() == 3);
}

TEST_CASE(
    "ingest: an account whose turns keep leaving files holds its life cycle for a while "
    "only") {
    // An uploader that never stops must not put off its account's runs, and with them its
    // partners' clearing and invoices, for good.
    Served s;
    s.service.set_turn(0ms);            // one file per round
    s.service.set_files_left_wait(5s);  // the daemon's: its lifecycle interval
    auto upload = [&](int from, int to) {
        for (int i = from; i <= to; ++i)
            write(s.inbox() / fmt::format("a{:02}.csv", i),
                  conversion_file(fmt::format("T-A{}", i)));
    };
    upload(1, 3);
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);  // seen; they settle
    s.service.run_once(t0 + 1s, never);
    REQUIRE(s.rec.taken.size() == 1);
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    upload(4, 6);  // files keep coming: each round leaves some
    s.service.run_once(t0 + 5s, never);
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    s.service.run_once(t0 + 7s, never);
    CHECK(s.service.accounts_with_unfinished_files().empty());  // left since t0 + 1s: 6 s > 5 s
    CHECK(s.service.run_once(t0 + 7s, never) <= t0 + 7s);       // its files still go on at once
    CHECK(s.service.accounts_with_unfinished_files().empty());
    // Once a round takes all its files the wait starts again from the next one that leaves some.
    while (s.rec.taken.size() < 6) s.service.run_once(t0 + 7s, never);
    s.service.run_once(t0 + 7s, never);
    upload(7, 8);
    s.service.run_once(t0 + 8s, never);
    s.service.run_once(t0 + 9s, never);
    CHECK(s.rec.taken.size() == 7);
    CHECK(s.service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
}

TEST_CASE("ingest: claims left from before a start take turns with the other inboxes too") {
    TempDir tmp;
    auto store = ledger_with_catalog(tmp);
    const fs::path left = state_of(tmp) / "claims" / "drop";
    fs::create_directories(left);
    for (int i = 1; i <= 3; ++i)
        write(left / fmt::format("20261201T000000Z-00000000000{}_l{}.csv", i, i),
              conversion_file(fmt::format("T-L{}", i)));
    Recorder rec;
    Service service(*store, {tmp.path() / "state"}, wall_now, rec.events());
    service.set_turn(0ms);
    auto cfg = local_inbox(tmp.path());
    auto other = local_inbox(tmp.path() / "b");
    other.name = "b";
    service.set_inboxes({cfg, other}, 200ms);
    write(other.local()->path / "b1.csv", conversion_file("T-B1"));

    const SteadyTime t0 = std::chrono::steady_clock::now();
    CHECK(service.run_once(t0, never) <= t0);  // one claim's turn; b1.csv not settled yet
    CHECK(rec.taken == std::vector<std::string>{"l1.csv:COMPLETE"});
    CHECK(service.accounts_with_unfinished_files() == std::set<std::string>{"1000"});
    service.run_once(t0 + 1s, never);
    CHECK(rec.taken ==
          std::vector<std::string>{"l1.csv:COMPLETE", "l2.csv:COMPLETE", "b1.csv:COMPLETE"});
    service.run_once(t0 + 1s, never);
    CHECK(rec.taken.size() == 4);
    CHECK(rec.taken.back() == "l3.csv:COMPLETE");
    CHECK(service.claims_waiting() == 0);
}

TEST_CASE("ingest: claims that fail are tried again with a growing delay, not at every round") {
    Served s;
    s.service.run_once(std::chrono::steady_clock::now(), never);  // the claims folder is made
    // The claims folder replaced by a file: every claim fails, as on a full state folder.
    fs::remove_all(claims(s.tmp.path()));
    write(claims(s.tmp.path()), "not a folder");
    write(s.inbox() / "a.csv", conversion_file("F-1"));
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    s.service.run_once(t0 + 1s, never);  // settled: the claim fails
    REQUIRE(s.rec.problems.size() == 1);
    CHECK(s.rec.problems[0].find("claimed again in 1 s") != std::string::npos);
    auto next = s.service.run_once(t0 + 1100ms, never);
    s.service.run_once(t0 + 1500ms, never);
    CHECK(s.rec.problems.size() == 1);  // not tried again before its time
    CHECK(next <= t0 + 2s);
    s.service.run_once(t0 + 2s, never);
    REQUIRE(s.rec.problems.size() == 2);
    CHECK(s.rec.problems[1].find("claimed again in 2 s") != std::string::npos);

    fs::remove(claims(s.tmp.path()));  // mended
    fs::create_directories(claims(s.tmp.path()));
    s.service.run_once(t0 + 4s, never);
    CHECK(s.rec.taken == std::vector<std::string>{"a.csv:COMPLETE"});
    CHECK(fs::exists(s.cfg.outbox / "a.csv_summary.json"));
}

TEST_CASE("ingest: nothing the service does makes a state folder that is gone again") {
    // docs/ingest.md, "The state folder gone": its folders would land on the disk beneath a
    // mount point and be lost when the disk comes back.
    TempDir tmp;
    auto store = ledger_with_catalog(tmp);
    Recorder rec;
    const fs::path state = tmp.path() / "state";
    Service service(*store, {state}, wall_now, rec.events());
    auto cfg = local_inbox(tmp.path());
    service.set_inboxes({cfg}, 200ms);
    const SteadyTime t0 = std::chrono::steady_clock::now();

    // An inbox first served while the state folder is gone: its claims folder is not made.
    service.run_once(t0, never);
    CHECK_FALSE(fs::exists(state));
    REQUIRE_FALSE(rec.problems.empty());
    CHECK(rec.problems.back().find(state.string() + " is gone") != std::string::npos);

    // Served once the folder is there; then it goes, and a name that must be set aside into
    // STATE_DIR/failed/ waits for it.
    fs::create_directory(state);
    service.run_once(t0 + 1s, never);
    CHECK(fs::is_directory(state / "claims" / cfg.name));
    fs::remove_all(state);
    const std::string long_name = std::string(230, 'n') + ".csv";
    write(cfg.local()->path / long_name, conversion_file("S-1"));
    service.run_once(t0 + 2s, never);
    service.run_once(t0 + 3s, never);
    CHECK_FALSE(fs::exists(state));
    CHECK(fs::exists(cfg.local()->path / long_name));
    CHECK(rec.problems.back().find(state.string() + " is gone") != std::string::npos);

    // Back: the name is set aside.
    fs::create_directory(state);
    service.run_once(t0 + 4s, never);
    CHECK_FALSE(fs::exists(cfg.local()->path / long_name));
    CHECK_FALSE(fs::is_empty(state / "failed" / cfg.name));
}

TEST_CASE("ingest: the store's problem is cleared by a later failure that the store answered") {
    // /healthz names the store while a claim failed on it, and no longer once a claim got past
    // it, whether that claim then succeeded or failed on something else (README.md, "The
    // service": `store:`).
    Served s;
    const fs::path ledger = s.tmp.path() / "ledger.db";
    write(s.inbox() / "a.csv", conversion_file("S-1"));
    fs::rename(ledger, s.tmp.path() / "ledger.away");  // noticed before the commit
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    s.service.run_once(t0 + 1s, never);
    REQUIRE(s.rec.failed == std::vector<std::string>{"a.csv"});
    CHECK(s.service.store_problem().find("moved or deleted") != std::string::npos);

    // The ledger back, the outbox a file: the claim fails again, past the store.
    fs::rename(s.tmp.path() / "ledger.away", ledger);
    fs::remove_all(s.cfg.outbox);
    write(s.cfg.outbox, "not a folder");
    s.service.run_once(t0 + 3s, never);
    REQUIRE(s.rec.failed.size() == 2);
    CHECK(s.service.store_problem().empty());

    fs::remove(s.cfg.outbox);  // mended
    fs::create_directories(s.cfg.outbox);
    s.service.run_once(t0 + 10s, never);
    CHECK(s.rec.taken == std::vector<std::string>{"a.csv:COMPLETE"});
    CHECK(s.service.store_problem().empty());
    CHECK(count_actions(*s.store) == 1);
}

TEST_CASE("ingest: a done marker that cannot be removed keeps no claim waiting") {
    // The file is claimed first: a marker the uploader made a folder (with something in it)
    // is reported, and the claim is taken at once, not left in the claims folder until the
    // next start (docs/ingest.md, "Sweep").
    Served s;
    s.cfg.done_file = true;
    s.service.set_inboxes({s.cfg}, 200ms);
    write(s.inbox() / "d.csv", conversion_file("D-1"));
    fs::create_directories(s.inbox() / "d.csv.done" / "inside");
    write(s.inbox() / "e.csv", conversion_file("D-2"));
    fs::create_directories(s.inbox() / "e.csv.done");  // an empty folder is removed
    const SteadyTime t0 = std::chrono::steady_clock::now();
    s.service.run_once(t0, never);
    s.service.run_once(t0 + 1s, never);
    CHECK(s.rec.taken == std::vector<std::string>{"d.csv:COMPLETE", "e.csv:COMPLETE"});
    CHECK(s.rec.failed.empty());
    REQUIRE(s.rec.problems.size() == 1);
    CHECK(s.rec.problems[0].find("cannot remove the done marker") != std::string::npos);
    CHECK(s.rec.problems[0].find("d.csv.done") != std::string::npos);
    CHECK_FALSE(fs::exists(s.inbox() / "e.csv.done"));
    CHECK(count_actions(*s.store) == 2);
    CHECK(fs::is_empty(claims(s.tmp.path())));
}

TEST_CASE("ingest: an inbox folder that was not there is made, and said") {
    // A path mistyped in the config would otherwise wait for uploads that never come, with
    // nothing in the log (docs/ingest.md, "Sweep").
    Served s;
    auto typo = s.cfg;
    typo.name = "typo";
    typo.source = config::LocalSource{s.tmp.path() / "in-typo"};
    typo.outbox = s.tmp.path() / "out-typo";
    REQUIRE(s.rec.made == std::vector<std::string>{"drop"});  // the fixture made none
    s.rec.made.clear();
    s.service.set_inboxes({s.cfg, typo}, 200ms);
    s.service.run_once(std::chrono::steady_clock::now(), never);
    CHECK(fs::is_directory(s.tmp.path() / "in-typo"));
    CHECK(s.rec.made == std::vector<std::string>{"typo"});
    s.service.run_once(std::chrono::steady_clock::now(), never);
    CHECK(s.rec.made.size() == 1);  // said once
}

TEST_CASE("ingest: claims of an inbox the config no longer names are said until it is back") {
    // An inbox removed by a reload (or before a restart) while one of its files was claimed
    // leaves that claim in the state folder, unanswered until an inbox of that name is
    // served again (docs/ingest.md, "Claims"); the sysadmin has to hear of it.
    Served s;
    const fs::path state = s.tmp.path() / "state";
    const fs::path left = state / "claims" / "gone";
    fs::create_directories(left);
    write(left / "20261201T000000Z-000000000001_a.csv", conversion_file("U-1"));
    write(left / "20261201T000000Z-000000000002_b.csv", conversion_file("U-2"));
    write(left / ".own.20261201T000000Z-000000000002_b.csv", "a copy, not a claim");
    const fs::path pulled = state / "pull" / "gone-pull" / ".processing";
    fs::create_directories(pulled);
    write(pulled / "20261201T000000Z-000000000003_c.csv", conversion_file("U-3"));
    fs::create_directories(state / "claims" / "empty");
    write(claims(s.tmp.path()) / "20261201T000000Z-000000000004_d.csv", conversion_file("U-4"));

    auto unserved = s.service.unserved_claims();
    REQUIRE(unserved.size() == 2);
    CHECK(unserved[0].inbox == "gone");
    CHECK(unserved[0].folder == left);
    CHECK(unserved[0].files == 2);
    CHECK(unserved[1].inbox == "gone-pull");
    CHECK(unserved[1].folder == pulled);
    CHECK(unserved[1].files == 1);

    auto back = local_inbox(s.tmp.path() / "gone");
    back.name = "gone";
    s.service.set_inboxes({s.cfg, back}, 200ms);
    unserved = s.service.unserved_claims();
    REQUIRE(unserved.size() == 1);
    CHECK(unserved[0].inbox == "gone-pull");
    s.service.run_once(std::chrono::steady_clock::now(), never);
    s.service.run_once(std::chrono::steady_clock::now(), never);
    CHECK(s.store->action("1000", "U-1"));
    CHECK(s.store->action("1000", "U-2"));
}
