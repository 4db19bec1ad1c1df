// The daemon's lifecycle runs (ingest/lifecycle_schedule.hpp; docs/lifecycle.md, "The
// daemon's schedule" and "Invoices in the outboxes"), on a SQLite store with the demo catalog.
// The wall clock given to the schedule is months ahead, so that actions created now lock,
// clear and are invoiced.
#include <doctest/doctest.h>

#include "config/catalog_file.hpp"
#include "ingest/invoice_files.hpp"
#include "ingest/lifecycle_schedule.hpp"
#include "ingest/service.hpp"
#include "ledger/time.hpp"
#include "store/sqlite/sqlite.hpp"
#include "test_ingest_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const auto never = [] { return false; };

ledger::Instant wall_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

std::unique_ptr<store::Store> demo_store(const TempDir& tmp) {
    auto store = store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    store->migrate();
    auto catalog = config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / ".." / ".." / "etc" /
                                             "catalog.yaml");  // accounts 1000 and 2000
    REQUIRE(catalog);
    store->save_catalog(*catalog);
    return store;
}

struct Recorder {
    std::vector<std::string> ran, deferred, failed;
    std::vector<std::size_t> invoices, files;
    std::vector<std::string> file_errors;
    bool file_errors_expected = false;
    int finished = 0;
    LifecycleEvents events() {
        LifecycleEvents e;
        e.ran = [this](const ledger::Account& a, const lifecycle::RunDecisions& d,
                       std::size_t written, const std::string& error, std::chrono::milliseconds) {
            ran.push_back(a.id);
            invoices.push_back(d.invoices.size());
            files.push_back(written);
            if (file_errors_expected)
                file_errors.push_back(error);
            else
                CHECK(error.empty());
        };
        e.deferred = [this](const std::string& account) { deferred.push_back(account); };
        e.failed = [this](const std::string& account, const std::string&) {
            failed.push_back(account);
        };
        e.finished = [this](std::chrono::system_clock::time_point, std::chrono::duration<double>) {
            ++finished;
        };
        return e;
    }
};

using Names = std::vector<std::string>;

// A store with the demo catalog, served by a service of one conversions inbox of account
// 1000 that asks for invoices.
struct Uploads {
    TempDir tmp;
    std::unique_ptr<store::Store> store = demo_store(tmp);
    Service service{*store,
                    {(fs::create_directories(tmp.path() / "state"), tmp.path() / "state")},
                    wall_now,
                    {}};
    config::InboxConfig conversions = [this] {
        auto inbox = local_inbox(tmp.path());
        inbox.send_invoices = true;
        service.set_inboxes({inbox}, 200ms);
        return inbox;
    }();

    // 1000.00 of funds for account 1000, and the config of a schedule for the inbox.
    config::ServiceConfig funded_config() {
        REQUIRE(store->lifecycle_ledger()->deposit("1000", 1000'00, wall_now(), "opening"));
        config::ServiceConfig cfg;
        cfg.state_dir = tmp.path() / "state";
        cfg.inboxes = {conversions};
        return cfg;
    }

    // Action `id` of partner P-77, 100.00, dated two days ago, through the inbox.
    void upload(const std::string& id, SteadyTime at) {
        const auto day =
            std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() - 48h);
        write(conversions.local()->path / (id + ".csv"),
              "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n" + id +
                  ",19816,P-77,O-" + id + "," +
                  ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day)) +
                  ",100.00\r\n");
        service.run_once(at, never);  // seen; taken once it has settled
        service.run_once(at + 1s, never);
        REQUIRE(store->action("1000", id));
    }
};

}  // namespace

TEST_CASE(
    "lifecycle schedule: every account when due, one with an unfinished file waits for it, and a "
    "stop is taken between accounts") {
    TempDir tmp;
    auto store = demo_store(tmp);
    Recorder rec;
    LifecycleSchedule schedule(*store, wall_now, rec.events());
    config::ServiceConfig cfg;
    cfg.state_dir = tmp.path() / "state";
    fs::create_directories(cfg.state_dir);  // as actiondropd makes it at its start
    cfg.lifecycle_interval = 1min;
    schedule.set_config(cfg);

    const SteadyTime t0 = std::chrono::steady_clock::now();
    CHECK(schedule.next_due(t0) <= t0);  // the first run at once
    CHECK(schedule.run_due(t0, {"1000"}, never));
    CHECK(rec.ran == Names{"2000"});
    CHECK(rec.deferred == Names{"1000"});
    CHECK(rec.finished == 1);
    CHECK(schedule.next_due(t0) <= t0 + 1s);  // looked at again soon
    CHECK(schedule.run_due(t0 + 1s, {"1000"}, never));
    CHECK(rec.ran == Names{"2000"});       // its file is still not finished
    CHECK(rec.deferred == Names{"1000"});  // and it is told once
    CHECK(schedule.run_due(t0 + 2s, {}, never));
    CHECK(rec.ran == Names{"2000", "1000"});  // the file is done: it runs
    CHECK(rec.finished == 1);
    CHECK(schedule.next_due(t0 + 2s) == t0 + 1min);
    CHECK(schedule.run_due(t0 + 30s, {}, never));
    CHECK(rec.ran.size() == 2);  // not due yet

    // A stop after the first account: the second waits for the next call, which ends the cycle.
    int asked = 0;
    const auto stop_after_one = [&] { return asked++ >= 1; };
    CHECK_FALSE(schedule.run_due(t0 + 1min, {}, stop_after_one));
    CHECK(rec.ran == Names{"2000", "1000", "1000"});
    CHECK(rec.finished == 1);
    CHECK(schedule.next_due(t0 + 1min) == t0 + 1min);
    CHECK(schedule.run_due(t0 + 1min, {}, never));
    CHECK(rec.ran == Names{"2000", "1000", "1000", "2000"});
    CHECK(rec.finished == 2);
    CHECK(rec.failed.empty());
}

TEST_CASE(
    "lifecycle schedule: an issued invoice goes to its account's send_invoices outboxes and the "
    "record once, and after a restart only one without a record is written") {
    TempDir tmp;
    auto store = demo_store(tmp);
    // One action of account 1000 through the service, and funds for it.
    fs::create_directories(tmp.path() / "state");  // as actiondropd makes it at its start
    Service service(*store, {tmp.path() / "state"}, wall_now, {});
    auto conversions = local_inbox(tmp.path());
    service.set_inboxes({conversions}, 200ms);
    const auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() - 48h);
    write(conversions.local()->path / "a.csv",
          "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\nS-1,19816,P-77,O-1," +
              ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day)) +
              ",100.00\r\n");
    const SteadyTime t0 = std::chrono::steady_clock::now();
    service.run_once(t0, never);  // seen; taken once it has settled
    service.run_once(t0 + 1s, never);
    REQUIRE(store->action("1000", "S-1"));
    store::LifecycleLedger& ledger = *store->lifecycle_ledger();
    REQUIRE(ledger.deposit("1000", 100'00, wall_now(), "opening"));

    config::ServiceConfig cfg;
    cfg.state_dir = tmp.path() / "state";
    auto sends = conversions;  // an outbox of account 1000 that asks for invoices
    sends.name = "sends";
    sends.source = config::LocalSource{tmp.path() / "in2"};
    sends.outbox = tmp.path() / "out2";
    sends.send_invoices = true;
    auto other = sends;  // one of account 2000: gets none of 1000's
    other.name = "other";
    other.account = "2000";
    other.source = config::LocalSource{tmp.path() / "in3"};
    other.outbox = tmp.path() / "out3";
    cfg.inboxes = {conversions, sends, other};
    const auto to = invoice_destinations(cfg, "1000", StateFolder::wait_for);
    CHECK(to.record == tmp.path() / "state" / "invoices" / "1000");
    CHECK(to.outboxes == std::vector<fs::path>{tmp.path() / "out2"});
    CHECK(to.state_dir == tmp.path() / "state");
    CHECK(invoice_destinations(cfg, "1000", StateFolder::make).state_dir.empty());

    const auto later = [] { return wall_now() + std::chrono::days(200); };
    Recorder rec;
    LifecycleSchedule schedule(*store, later, rec.events());
    schedule.set_config(cfg);
    CHECK(schedule.run_due(t0, {}, never));
    REQUIRE(rec.ran == Names{"1000", "2000"});
    REQUIRE(rec.invoices[0] == 1);
    CHECK(rec.files[0] == 1);
    const auto stored = ledger.invoices("1000");
    REQUIRE(stored.size() == 1);
    const std::string id = stored[0].invoice_id;
    std::string json;  // with CRLF line ends, as every file the service sends
    for (const char c : invoice_json(stored[0]).dump(2) + "\n")
        json += c == '\n' ? "\r\n" : std::string(1, c);
    for (const fs::path& folder : {to.record, tmp.path() / "out2"}) {
        CHECK(read(folder / ("invoice_" + id + ".json")) == json);
        CHECK(read(folder / ("invoice_" + id + ".csv")) == invoice_csv(stored[0]));
        CHECK(std::distance(fs::directory_iterator(folder), fs::directory_iterator()) == 2);
    }
    CHECK_FALSE(fs::exists(tmp.path() / "out" / ("invoice_" + id + ".json")));
    CHECK_FALSE(fs::exists(tmp.path() / "out3"));

    // The next cycle issues nothing and writes nothing.
    CHECK(schedule.run_due(t0 + 2min, {}, never));
    CHECK(rec.files[2] == 0);

    // A restart: the partner took the outbox copy; it is not written again.
    fs::remove(tmp.path() / "out2" / ("invoice_" + id + ".json"));
    fs::remove(tmp.path() / "out2" / ("invoice_" + id + ".csv"));
    {
        Recorder again;
        LifecycleSchedule restarted(*store, later, again.events());
        restarted.set_config(cfg);
        CHECK(restarted.run_due(t0, {}, never));
        CHECK(again.files[0] == 0);
        CHECK(fs::is_empty(tmp.path() / "out2"));
    }
    // Nor by another service sharing the store, whose state folder has no record: the
    // store's record says the files were written.
    CHECK(ledger.invoices_without_files("1000").empty());
    {
        auto elsewhere = cfg;
        elsewhere.state_dir = tmp.path() / "state2";
        fs::create_directories(elsewhere.state_dir);
        Recorder other;
        LifecycleSchedule other_service(*store, later, other.events());
        other_service.set_config(elsewhere);
        CHECK(other_service.run_due(t0, {}, never));
        CHECK(other.files[0] == 0);
        CHECK(fs::is_empty(tmp.path() / "out2"));
    }
    // The store's record gone as well as the state folder's, as a process stopped between the
    // commit and the files leaves it.
    auto forget_written = [&] {
        fs::remove(to.record / ("invoice_" + id + ".json"));
        fs::remove(to.record / ("invoice_" + id + ".csv"));
        store::sqlite::Database db((tmp.path() / "ledger.db").string());
        db.exec("DELETE FROM invoice_files");
    };
    // A restart after a process stopped between the commit and the files: written then.
    forget_written();
    Recorder third;
    LifecycleSchedule restarted(*store, later, third.events());
    restarted.set_config(cfg);
    CHECK(restarted.run_due(t0, {}, never));
    CHECK(third.files[0] == 1);
    CHECK(read(to.record / ("invoice_" + id + ".json")) == json);
    CHECK(read(tmp.path() / "out2" / ("invoice_" + id + ".json")) == json);

    CHECK(ledger.invoices_without_files("1000").empty());

    // An outbox that cannot be written: the invoice is named, its record is not written, and
    // the next run looks for it again and writes it once the outbox is back.
    forget_written();
    fs::remove_all(tmp.path() / "out2");
    write(tmp.path() / "out2", "a file where the outbox was");
    Recorder fourth;
    fourth.file_errors_expected = true;
    LifecycleSchedule blocked(*store, later, fourth.events());
    blocked.set_config(cfg);
    CHECK(blocked.run_due(t0, {}, never));
    REQUIRE(fourth.file_errors.size() == 2);  // both accounts ran
    CHECK(fourth.files[0] == 0);
    CHECK(fourth.file_errors[0].starts_with("the files of 1 invoice were not written: "));
    CHECK(fourth.file_errors[0].find("out2") != std::string::npos);
    CHECK(fourth.file_errors[1].empty());
    CHECK_FALSE(fs::exists(to.record / ("invoice_" + id + ".json")));
    fs::remove(tmp.path() / "out2");
    CHECK(blocked.run_due(t0 + 2min, {}, never));
    CHECK(fourth.files[2] == 1);
    CHECK(fourth.file_errors[2].empty());
    CHECK(read(to.record / ("invoice_" + id + ".json")) == json);
    CHECK(read(tmp.path() / "out2" / ("invoice_" + id + ".json")) == json);

    // The state folder gone: the record is not made again in a new one (docs/ingest.md, "The
    // state folder gone"), and the invoice waits for it, for the outbox too: written there
    // without its record, it would be written there again at every run.
    fs::remove_all(tmp.path() / "state");
    fs::remove(tmp.path() / "out2" / ("invoice_" + id + ".json"));
    fs::remove(tmp.path() / "out2" / ("invoice_" + id + ".csv"));
    Recorder fifth;
    fifth.file_errors_expected = true;
    LifecycleSchedule stateless(*store, later, fifth.events());
    stateless.set_config(cfg);
    CHECK(stateless.run_due(t0, {}, never));
    REQUIRE_FALSE(fifth.file_errors.empty());
    CHECK(fifth.file_errors[0].find("is gone") != std::string::npos);
    CHECK_FALSE(fs::exists(tmp.path() / "state"));
    CHECK(fs::is_empty(tmp.path() / "out2"));
}

TEST_CASE(
    "lifecycle schedule: a catalog that cannot be read is a failed cycle, not a run, and the next "
    "interval tries again") {
    TempDir tmp;
    auto store = demo_store(tmp);
    const auto catalog = store->load_catalog();
    {
        store::sqlite::Database db((tmp.path() / "ledger.db").string());
        db.exec("UPDATE catalog_accounts SET document = 'not an account'");
    }
    Recorder rec;
    LifecycleSchedule schedule(*store, wall_now, rec.events());
    config::ServiceConfig cfg;
    cfg.state_dir = tmp.path() / "state";
    fs::create_directories(cfg.state_dir);  // as actiondropd makes it at its start
    cfg.lifecycle_interval = 1min;
    schedule.set_config(cfg);

    const SteadyTime t0 = std::chrono::steady_clock::now();
    CHECK(schedule.run_due(t0, {}, never));
    CHECK(rec.failed == Names{""});  // the catalog's failure, of no account
    CHECK(rec.ran.empty());
    CHECK(rec.finished == 0);  // no run to count: the last-run gauge keeps its time
    CHECK(schedule.next_due(t0) == t0 + 1min);
    CHECK(schedule.run_due(t0 + 30s, {}, never));
    CHECK(rec.failed.size() == 1);  // not tried again before the interval

    store->save_catalog(catalog);
    CHECK(schedule.run_due(t0 + 1min, {}, never));
    CHECK(rec.ran == Names{"1000", "2000"});
    CHECK(rec.finished == 1);
}

TEST_CASE(
    "lifecycle schedule: after a run that failed, the next one writes the invoices that any "
    "committed without their files") {
    // A run whose COMMIT reached the server but whose answer was lost (the connection cut at
    // that moment) is reported as failed though its invoices are stored: the next run must
    // look for their files, not only write those it issues itself.
    Uploads u;
    auto& [tmp, store, service, conversions] = u;
    const SteadyTime t0 = std::chrono::steady_clock::now();
    u.upload("L-1", t0);
    store::LifecycleLedger& ledger = *store->lifecycle_ledger();
    config::ServiceConfig cfg = u.funded_config();
    ledger::Instant at = wall_now();
    Recorder rec;
    LifecycleSchedule schedule(
        *store, [&] { return at; }, rec.events());
    schedule.set_config(cfg);
    CHECK(schedule.run_due(t0, {}, never));  // nothing due yet; the account's files checked
    REQUIRE(rec.ran == Names{"1000", "2000"});

    // The run whose answer was lost: committed, L-1 invoiced, no files.
    const auto catalog = store->load_catalog();
    const ledger::Instant later = wall_now() + std::chrono::days(200);
    REQUIRE(ledger.run_lifecycle(*catalog.account("1000"), later).invoices.size() == 1);
    const std::string id = ledger.invoices("1000").at(0).invoice_id;
    // The schedule saw it fail: the next run it tries fails too (L-2 would lock).
    u.upload("L-2", t0 + 10s);
    {
        store::sqlite::Database db((tmp.path() / "ledger.db").string());
        db.exec(
            "CREATE TRIGGER lost BEFORE INSERT ON lifecycle_runs "
            "BEGIN SELECT RAISE(ABORT, 'server closed the connection unexpectedly'); END");
    }
    at = later;
    CHECK(schedule.run_due(t0 + 2min, {}, never));
    REQUIRE(rec.failed == Names{"1000"});
    {
        store::sqlite::Database db((tmp.path() / "ledger.db").string());
        db.exec("DROP TRIGGER lost");
    }
    // The next run changes nothing, but writes the invoice's files.
    at = wall_now();
    CHECK(schedule.run_due(t0 + 4min, {}, never));
    REQUIRE(rec.ran.size() == 5);  // 1000 and 2000, 2000 (1000 failed), 1000 and 2000
    CHECK(rec.ran[3] == "1000");
    CHECK(rec.files[3] == 1);
    CHECK(fs::exists(conversions.outbox / ("invoice_" + id + ".json")));
    CHECK(ledger.invoices_without_files("1000").empty());
}

TEST_CASE(
    "lifecycle schedule: invoices that another process committed without their files are "
    "written after a while, unless that process writes them") {
    // A process lost for good between a run's commit and its files (a `lifecycle run` killed,
    // an instance whose host is gone) left invoices that no running service would write.
    Uploads u;
    auto& [tmp, store, service, conversions] = u;
    const SteadyTime t0 = std::chrono::steady_clock::now();
    u.upload("W-1", t0);
    store::LifecycleLedger& ledger = *store->lifecycle_ledger();
    config::ServiceConfig cfg = u.funded_config();
    cfg.lifecycle_interval = 1s;  // every call below is a cycle: 1000, then 2000
    Recorder rec;
    LifecycleSchedule schedule(*store, wall_now, rec.events());
    schedule.set_config(cfg);
    CHECK(schedule.run_due(t0, {}, never));  // nothing due yet; the account's files checked
    const auto catalog = store->load_catalog();
    const auto json_of = [&](const std::string& id) {
        return conversions.outbox / ("invoice_" + id + ".json");
    };

    // The other process's run: committed, W-1 invoiced, no files.
    const ledger::Instant later = wall_now() + std::chrono::days(200);
    REQUIRE(ledger.run_lifecycle(*catalog.account("1000"), later).invoices.size() == 1);
    const std::string lost = ledger.invoices("1000").at(0).invoice_id;
    // Not at once, nor before the grace has passed since the schedule first saw it: that
    // process may be writing them.
    CHECK(schedule.run_due(t0 + 1min, {}, never));
    CHECK(schedule.run_due(t0 + 2min, {}, never));
    CHECK(schedule.run_due(t0 + 1min + LifecycleSchedule::files_grace - 1s, {}, never));
    CHECK_FALSE(fs::exists(json_of(lost)));
    CHECK(ledger.invoices_without_files("1000") == Names{lost});
    // Then written, once.
    CHECK(schedule.run_due(t0 + 1min + LifecycleSchedule::files_grace, {}, never));
    REQUIRE(rec.files.size() == 10);
    CHECK(rec.files[8] == 1);
    CHECK(fs::exists(json_of(lost)));
    CHECK(ledger.invoices_without_files("1000").empty());
    fs::remove(json_of(lost));
    CHECK(schedule.run_due(t0 + 2 * LifecycleSchedule::files_grace + 1min, {}, never));
    CHECK(rec.files[10] == 0);
    CHECK_FALSE(fs::exists(json_of(lost)));

    // One whose process writes its files within the grace (from a state folder of its own) is
    // not written again, though its partner has taken the outbox copy.
    u.upload("W-2", t0 + 20min);
    REQUIRE(ledger.run_lifecycle(*catalog.account("1000"), later + std::chrono::days(40))
                .invoices.size() == 1);
    auto elsewhere = cfg;
    elsewhere.state_dir = tmp.path() / "state2";
    const auto other_to = invoice_destinations(elsewhere, "1000", StateFolder::make);
    const auto other_files = write_missing_invoice_files(ledger, other_to, "1000", wall_now());
    REQUIRE(other_files.written == 1);
    CHECK(schedule.run_due(t0 + 21min, {}, never));  // first seen, if it were not written
    const std::string sent = ledger.invoices("1000").at(1).invoice_id;
    fs::remove(json_of(sent));
    CHECK(schedule.run_due(t0 + 21min + LifecycleSchedule::files_grace, {}, never));
    CHECK(schedule.run_due(t0 + 22min + 2 * LifecycleSchedule::files_grace, {}, never));
    CHECK_FALSE(fs::exists(json_of(sent)));
    CHECK(rec.files[rec.files.size() - 2] == 0);
    CHECK(rec.failed.empty());
}
