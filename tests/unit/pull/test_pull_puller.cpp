// The generic puller against an in-memory server (fake_remote.hpp) and a real SQLite store:
// when a file is taken, that it is taken once, what becomes of the original, how answers are
// put, and how failures are waited out. No sshd: what the protocol does is in
// test_pull_sftp_*.cpp.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>

#include "apply/delivery.hpp"
#include "fake_remote.hpp"
#include "pull/puller.hpp"
#include "test_pull_fixtures.hpp"
#include "util/name_rules.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;
using namespace actiondrop::pull;
using actiondrop::pull::testing::FakeRemote;
using actiondrop::pull::testing::FakeServer;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;
using namespace std::chrono_literals;

namespace {

ledger::Instant wall_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

struct Problem {
    std::string what;
    std::chrono::seconds retry_in;
};

// One pull inbox on a FakeRemote, its state in a temporary folder, its store migrated.
struct Rig {
    FakeRemote remote;
    TempDir local;
    config::InboxConfig inbox;
    std::string store_url;
    PullTiming timing;
    apply::Clock clock = wall_now;
    std::mutex mutex;
    std::vector<Problem> problems;
    std::vector<std::string> alerts, infos, skipped;

    Rig() {
        inbox.name = "fake";
        inbox.account = "1000";
        // Any kind pulled from a server will do: the puller reads only its RemoteSource.
        config::SftpSource source;
        source.folder = "/in";
        source.result_folder = "/out";
        source.poll_interval = 50ms;
        inbox.source = source;
        inbox.pattern = "*.csv";
        inbox.settle = 300ms;
        timing.keepalive = 200ms;
        store_url = "sqlite:" + (local.path() / "ledger.db").string();
        store::open_store(store_url)->migrate();
    }

    config::RemoteSource& source() { return std::get<config::SftpSource>(inbox.source); }

    std::unique_ptr<Puller> start() {
        PullEvents events;
        events.problem = [this](const config::InboxConfig&, const std::string& what,
                                std::chrono::seconds retry_in) {
            std::lock_guard lock(mutex);
            problems.push_back({what, retry_in});
        };
        events.alert = [this](const config::InboxConfig&, bool raised, const std::string& what) {
            std::lock_guard lock(mutex);
            alerts.push_back((raised ? "raised: " : "cleared: ") + what);
        };
        events.info = [this](const config::InboxConfig&, const std::string& what) {
            std::lock_guard lock(mutex);
            infos.push_back(what);
        };
        events.skipped = [this](const config::InboxConfig&, const std::string& name,
                                const std::string& why) {
            std::lock_guard lock(mutex);
            skipped.push_back(name + ": " + why);
        };
        return std::make_unique<Puller>(
            inbox, std::make_unique<FakeServer>(remote), local.path() / "state",
            [url = store_url] { return store::open_store(url); }, clock, events, timing);
    }

    fs::path spool() const { return pull_spool(local.path() / "state", inbox.name); }

    std::vector<fs::path> claims() const {
        std::vector<fs::path> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(spool() / ".processing", ec))
            out.push_back(e.path());
        return out;
    }

    std::vector<store::PullRecord> open_pulls() {
        return store::open_store(store_url)->open_pulls(inbox.name,
                                                        pull_owner(local.path() / "state"));
    }

    std::vector<Problem> problems_seen() {
        std::lock_guard lock(mutex);
        return problems;
    }
    std::vector<std::string> infos_seen() {
        std::lock_guard lock(mutex);
        return infos;
    }
    bool info_mentions(const std::string& text) {
        std::lock_guard lock(mutex);
        return std::any_of(infos.begin(), infos.end(),
                           [&](const std::string& i) { return i.find(text) != std::string::npos; });
    }
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

// What the service does with a downloaded file: takes it away and stages its answers.
void apply_locally(Rig& rig, const fs::path& claim, const std::string& name) {
    write(rig.spool() / ".outbox" / ("result_" + name), "result of " + name + "\n");
    write(rig.spool() / ".outbox" / (name + "_summary.json"), "{}\n");
    fs::remove(claim);
}

const std::string csv = "OrderId,Amount\n1,10.00\n";

}  // namespace

TEST_CASE("a file is taken once its size and mtime stayed the same for settle") {
    Rig rig;
    rig.inbox.settle = 600ms;
    rig.remote.put("/in/a.csv", "OrderId,Amount\n", 100);
    rig.remote.put("/in/notes.txt", "not ours\n");
    auto puller = rig.start();
    const auto started = std::chrono::steady_clock::now();
    // Grows, then only its mtime moves: each change starts the wait again.
    for (int i = 0; i < 4; ++i) {
        std::this_thread::sleep_for(200ms);
        rig.remote.put("/in/a.csv", "OrderId,Amount\n" + std::to_string(i) + ",1.00\n", 100 + i);
        CHECK(rig.claims().empty());
    }
    std::this_thread::sleep_for(200ms);
    rig.remote.put("/in/a.csv", "OrderId,Amount\n3,1.00\n", 200);  // same size, new mtime
    std::this_thread::sleep_for(300ms);
    CHECK(rig.claims().empty());
    CHECK(puller->oldest_waiting());
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(std::chrono::steady_clock::now() - started >= 1500ms);
    CHECK(read(rig.claims().front()) == "OrderId,Amount\n3,1.00\n");
    CHECK(rig.claims().front().filename().string().ends_with("_a.csv"));
    CHECK(rig.remote.count("download /in/notes.txt") == 0);
    CHECK(rig.remote.count("download ") == 1);
    CHECK(eventually([&] { return !puller->oldest_waiting(); }));
}

TEST_CASE("with done_file a file waits for NAME.done, which is removed once it is pulled") {
    Rig rig;
    rig.inbox.done_file = true;
    rig.remote.put("/in/a.csv", csv);
    auto puller = rig.start();
    std::this_thread::sleep_for(800ms);  // well past settle: without its marker it waits
    CHECK(rig.claims().empty());
    rig.remote.put("/in/a.csv.done", "");
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(eventually([&] { return !rig.remote.exists("/in/a.csv.done"); }));
    CHECK(rig.remote.exists("/in/a.csv"));
}

TEST_CASE("with done_file a file that changes while it is read keeps its marker and comes again") {
    // The marker is the advertiser's word that the file is complete; dropping the download
    // and the marker would leave a file that never settles again.
    Rig rig;
    rig.inbox.done_file = true;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.put("/in/a.csv.done", "");
    rig.remote.with([](FakeRemote& r) { r.changing_reads = 1; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == csv);
    CHECK(rig.remote.count("download /in/a.csv") == 2);
    CHECK(eventually([&] { return !rig.remote.exists("/in/a.csv.done"); }));
}

TEST_CASE("a name too long to answer is reported once and left, and the other files flow") {
    // The answers' names are up to 43 bytes longer (docs/ingest.md, "Names"): such a file
    // could be applied but never answered, and its local copy's name may not even be valid.
    Rig rig;
    const std::string long_name = std::string(util::max_name_bytes - 3, 'x') + ".csv";
    rig.remote.put("/in/" + long_name, csv);
    rig.remote.put("/in/good.csv", csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(rig.claims().front().filename().string().ends_with("_good.csv"));
    puller->poll_now();
    std::this_thread::sleep_for(300ms);
    CHECK(rig.remote.count("download /in/x") == 0);
    std::lock_guard lock(rig.mutex);
    CHECK(std::count_if(rig.skipped.begin(), rig.skipped.end(), [&](const std::string& s) {
              return s.starts_with(long_name + ": a name of 213 bytes");
          }) == 1);
}

TEST_CASE("a file is pulled once, across a restart on the same store, and its answers put") {
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.put("/out/result_a.csv", "an old answer\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    REQUIRE(eventually([&] {
        auto pulls = rig.open_pulls();
        return pulls.size() == 1 && pulls[0].state == "fetched";
    }));
    CHECK(puller->files_pulled() == 1);

    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    REQUIRE(eventually([&] { return fs::is_empty(rig.spool() / ".outbox"); }));
    CHECK(rig.remote.bytes("/out/result_a.csv") == "result of a.csv\n");  // the old one replaced
    CHECK(rig.remote.bytes("/out/a.csv_summary.json") == "{}\n");
    CHECK(rig.remote.bytes("/in/a.csv") == csv);  // the original left alone

    // Each answer was written under a hidden name in the result folder, the old one removed,
    // and then renamed into place; the summary last.
    std::vector<std::string> puts;
    for (const auto& op : rig.remote.ops())
        if (op.starts_with("write_new ") || op.starts_with("rename ") ||
            op.starts_with("remove /out/"))
            puts.push_back(op);
    REQUIRE(puts.size() == 6);
    const auto hidden = puts[0].substr(std::string("write_new ").size());
    CHECK(hidden.starts_with("/out/.result_a.csv."));
    CHECK(hidden.ends_with(".tmp"));
    CHECK(puts[1] == "remove /out/result_a.csv");
    CHECK(puts[2] == "rename " + hidden + " /out/result_a.csv");
    CHECK(puts[3].starts_with("write_new /out/.a.csv_summary.json."));
    CHECK(puts[4] == "remove /out/a.csv_summary.json");  // none there: NotFound is fine
    CHECK(puts[5].starts_with("rename /out/.a.csv_summary.json."));
    CHECK(puts[5].ends_with(" /out/a.csv_summary.json"));

    // Polled again and again, and by a new puller after a restart: never taken twice.
    std::this_thread::sleep_for(500ms);
    puller.reset();
    puller = rig.start();
    std::this_thread::sleep_for(800ms);
    CHECK(rig.claims().empty());
    CHECK(puller->files_pulled() == 0);
    CHECK(rig.remote.count("download ") == 1);

    // Another file of the same name (another size or mtime) is a new file.
    rig.remote.put("/in/a.csv", csv + "2,20.00\n", 1'700'000'100);
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(rig.remote.count("download ") == 2);
}

TEST_CASE("answers marked stale are removed from the result folder before the new ones go") {
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.put("/out/result_a.csv", "the answer of an earlier a.csv\n");
    rig.remote.put("/out/errors_a.csv", "its errors\n");
    rig.remote.put("/out/result_b.csv", "another name's answer\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    REQUIRE(eventually([&] {
        auto pulls = rig.open_pulls();
        return pulls.size() == 1 && pulls[0].state == "fetched";
    }));
    // The service rejected the new a.csv as a whole: a summary, and the marks its delivery
    // leaves in the staging outbox (apply/delivery.hpp).
    write(rig.spool() / ".outbox" / "a.csv_summary.json", "{\"status\": \"REJECTED\"}\n");
    write(rig.spool() / ".outbox" / apply::stale_mark("result_a.csv"), "");
    write(rig.spool() / ".outbox" / apply::stale_mark("errors_a.csv"), "");
    fs::remove(rig.claims().front());
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    REQUIRE(eventually([&] { return fs::is_empty(rig.spool() / ".outbox"); }));
    CHECK_FALSE(rig.remote.exists("/out/result_a.csv"));
    CHECK_FALSE(rig.remote.exists("/out/errors_a.csv"));
    CHECK(rig.remote.bytes("/out/result_b.csv") == "another name's answer\n");
    CHECK(rig.remote.bytes("/out/a.csv_summary.json") == "{\"status\": \"REJECTED\"}\n");
    // Removed before the summary went up: whoever sees the summary sees no older answer.
    const auto ops = rig.remote.ops();
    auto at = [&](const std::string& op) { return std::find(ops.begin(), ops.end(), op); };
    auto summary = std::find_if(ops.begin(), ops.end(), [](const std::string& op) {
        return op.starts_with("rename ") && op.ends_with(" /out/a.csv_summary.json");
    });
    REQUIRE(summary != ops.end());
    CHECK(at("remove /out/result_a.csv") < summary);
    CHECK(at("remove /out/errors_a.csv") < summary);
}

TEST_CASE("files pulled within one second are claimed in the order they came to the server") {
    // The service applies an inbox's claims in the order of their names (the batch id first),
    // so that order must be the server's (mtime, then name), whatever the random part says.
    Rig rig;
    const ledger::Instant second = std::chrono::floor<std::chrono::seconds>(wall_now());
    rig.clock = [second] { return second; };  // every claim made within the same second
    constexpr int files = 40;
    for (int i = 0; i < files; ++i)  // names in the reverse order of their times
        rig.remote.put(fmt::format("/in/{:02}.csv", files - i), csv, 1'700'000'000 + i);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == files; }));
    auto claims = rig.claims();
    std::sort(claims.begin(), claims.end());
    std::vector<std::string> order, expected;
    for (const auto& c : claims) order.push_back(c.filename().string().substr(30));
    for (int i = 0; i < files; ++i) expected.push_back(fmt::format("{:02}.csv", files - i));
    CHECK(order == expected);
}

TEST_CASE("delete_after_pull claims the original by rename and deletes it once applied") {
    Rig rig;
    rig.source().delete_after_pull = true;
    rig.remote.put("/in/a.csv", csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK_FALSE(rig.remote.exists("/in/a.csv"));
    auto open = rig.open_pulls();
    REQUIRE(open.size() == 1);
    CHECK(open[0].remote_path.starts_with("/in/.processing/"));
    CHECK(rig.remote.exists(open[0].remote_path));

    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK_FALSE(rig.remote.exists(open[0].remote_path));
}

TEST_CASE("archive_folder receives the original once applied") {
    Rig rig;
    rig.source().archive_folder = "/done";
    rig.remote.put("/in/a.csv", csv);
    rig.remote.put("/done/a.csv", "archived before\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(rig.remote.exists("/in/a.csv"));  // not before it is applied
    const auto claim = rig.claims().front();
    apply_locally(rig, claim, "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK_FALSE(rig.remote.exists("/in/a.csv"));
    // The name was taken in the archive: the file goes there under its claim's name.
    CHECK(rig.remote.bytes("/done/a.csv") == "archived before\n");
    CHECK(rig.remote.bytes("/done/" + claim.filename().string()) == csv);
}

TEST_CASE("a refused claim rename leaves the file where it is until the server allows it") {
    Rig rig;
    rig.source().delete_after_pull = true;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.refuse_rename.insert("/in/a.csv"); });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.info_mentions("cannot claim a.csv"); }));
    std::this_thread::sleep_for(300ms);
    CHECK(rig.claims().empty());
    // The claim was forgotten. Each poll claims the file again before its rename is refused,
    // so the journal may hold that claim for a moment: what must not happen is that it stays.
    CHECK(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK(rig.remote.exists("/in/a.csv"));
    CHECK(rig.remote.connections() == 1);  // a refusal is no reason to reconnect

    rig.remote.with([](FakeRemote& r) { r.refuse_rename.clear(); });
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == csv);
    CHECK(rig.remote.count("download ") == 1);
}

TEST_CASE("a claim rename that the server answers without doing is claimed once, and said") {
    // A server that answers RNFR/RNTO with success and leaves the file had it claimed again
    // at every settle, each claim kept for ever and tried at every poll.
    Rig rig;
    rig.source().delete_after_pull = true;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.lying_rename.insert("/in/a.csv"); });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.info_mentions("cannot claim a.csv"); }));
    CHECK(rig.info_mentions("is not there"));
    for (int i = 0; i < 5; ++i) {
        puller->poll_now();
        std::this_thread::sleep_for(100ms);
    }
    CHECK(rig.remote.count("rename /in/a.csv") == 1);  // not claimed again while unchanged
    CHECK(rig.open_pulls().empty());
    CHECK(rig.claims().empty());
    CHECK(rig.remote.count("download ") == 0);
    CHECK(rig.remote.exists("/in/a.csv"));

    // Once the server renames, a new upload of the name is claimed as usual.
    rig.remote.with([](FakeRemote& r) { r.lying_rename.clear(); });
    rig.remote.put("/in/a.csv", csv + "2,20.00\n", 1'700'000'100);
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
}

TEST_CASE("a listing that fails is reported once and files flow again when it works") {
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.list_failures = 1'000'000; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.count("list /in") >= 5; }));
    auto problems = rig.problems_seen();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].what == "cannot list /in: listing /in failed");
    CHECK(rig.remote.connections() == 1);

    rig.remote.with([](FakeRemote& r) { r.list_failures = 0; });
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    problems = rig.problems_seen();
    REQUIRE(problems.size() == 2);
    CHECK(problems[1].what.empty());  // the problem ended
}

TEST_CASE("a read failing mid-file reconnects and takes the file once, whole") {
    Rig rig;
    rig.timing.first_retry = 1s;
    std::string big = "OrderId,Amount\n";
    for (int i = 0; i < 1000; ++i) big += std::to_string(i) + ",1.00\n";
    rig.remote.put("/in/a.csv", big);
    rig.remote.with([](FakeRemote& r) { r.read_failures = 1; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == big);
    CHECK(rig.remote.count("download ") == 2);
    CHECK(rig.remote.connections() == 2);
    CHECK(fs::is_empty(rig.spool() / ".download"));  // no partial copy left behind
    // The problem ends with the poll that took the file, just after the claim is made.
    REQUIRE(eventually([&] { return rig.problems_seen().size() == 2; }));
    const auto problems = rig.problems_seen();
    CHECK(problems[0].what == "connection lost reading /in/a.csv");
    CHECK(problems[0].retry_in >= 1s);
    CHECK(problems[1].what.empty());
    REQUIRE(rig.open_pulls().size() == 1);  // one claim, downloaded again

    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    std::this_thread::sleep_for(300ms);
    CHECK(rig.claims().empty());
    CHECK(rig.remote.count("download ") == 2);
}

TEST_CASE("a stop cuts a download from a silent server at once, and the next start takes it") {
    // The client's silence timeout (here 5 s, 30 s in the service) must not hold a stop:
    // the service promises to exit well within systemd's stop timeout.
    Rig rig;
    std::string big = "OrderId,Amount\n";
    for (int i = 0; i < 1000; ++i) big += std::to_string(i) + ",1.00\n";
    rig.remote.put("/in/a.csv", big);
    rig.remote.with([](FakeRemote& r) { r.stalled_reads = 1; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.count("stalled /in/a.csv") == 1; }));
    const auto asked = std::chrono::steady_clock::now();
    puller->stop();
    CHECK(std::chrono::steady_clock::now() - asked < 2s);
    CHECK(rig.remote.count("interrupt") == 1);
    CHECK(rig.problems_seen().empty());  // our own cut is no problem of the server's
    CHECK(rig.claims().empty());
    REQUIRE(rig.open_pulls().size() == 1);  // the claim stays for the next start
    puller.reset();

    puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == big);
    CHECK(rig.remote.count("download /in/a.csv") == 2);
}

TEST_CASE("refused credentials back off for long, and a changed key file ends the wait") {
    Rig rig;
    rig.timing.first_auth_retry = 3600s;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.refuse_auth = true; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return !rig.problems_seen().empty(); }));
    std::this_thread::sleep_for(1s);  // twenty poll intervals: no retry storm
    CHECK(rig.remote.connections() == 1);
    auto problems = rig.problems_seen();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].what == "credentials refused");
    CHECK(problems[0].retry_in == 3600s);
    CHECK_FALSE(puller->connected());

    // The operator fixes the key: its file changes, and the inbox tries again at once.
    rig.remote.with([](FakeRemote& r) {
        r.refuse_auth = false;
        r.trust = "2";
    });
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }, 5s));
    CHECK(rig.remote.connections() == 2);
}

TEST_CASE("an untrusted server raises an alert and is not tried again until trust changes") {
    Rig rig;
    rig.timing.first_retry = 1s;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.untrusted = true; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->host_key_alert(); }));
    std::this_thread::sleep_for(1500ms);  // longer than any reconnect delay
    CHECK(rig.remote.connections() == 1);
    {
        std::lock_guard lock(rig.mutex);
        CHECK(rig.alerts == std::vector<std::string>{"raised: not the server we know"});
        REQUIRE(rig.problems.size() == 1);
        CHECK(rig.problems[0].retry_in == 0s);
    }
    rig.remote.with([](FakeRemote& r) {
        r.untrusted = false;
        r.trust = "2";
    });
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }, 5s));
    CHECK_FALSE(puller->host_key_alert());
    std::lock_guard lock(rig.mutex);
    CHECK(rig.alerts.back() == "cleared: trust changed");
}

TEST_CASE("a server that refuses connections is retried with a growing delay") {
    Rig rig;
    rig.timing.first_retry = 1s;
    rig.remote.with([](FakeRemote& r) { r.down = true; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.connections() >= 2; }, 5s));
    std::this_thread::sleep_for(500ms);
    CHECK(rig.remote.connections() <= 3);  // 1 s, then 2 s (each ±20%)
    auto problems = rig.problems_seen();
    REQUIRE(problems.size() >= 2);
    CHECK(problems[0].what == "connection refused");
    CHECK(problems[1].retry_in >= problems[0].retry_in);
}

TEST_CASE("a server that drops every connection after the login is retried with a growing delay") {
    // A login that works does not end the problem: the poll after it must work too. Else a
    // server that accepts the login and drops the listing is logged into again every second,
    // for ever, with a line that the problem ended between two that it began.
    Rig rig;
    rig.timing.first_retry = 1s;
    rig.remote.with([](FakeRemote& r) {
        r.list_failures = 1'000'000;
        r.list_error = RemoteErrorKind::Lost;
    });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.connections() >= 3; }, 8s));
    std::this_thread::sleep_for(1500ms);
    CHECK(rig.remote.connections() <= 4);  // 1 s, 2 s, then 4 s (each ±20%); not one a second
    auto problems = rig.problems_seen();
    REQUIRE(problems.size() >= 2);
    for (const auto& p : problems) CHECK_FALSE(p.what.empty());  // never said to have ended
    CHECK(problems.back().retry_in > problems.front().retry_in);

    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.list_failures = 0; });
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }, 20s));  // the next try: 4 or 8 s
    // The problem ended once a poll worked (that poll made the claim, then returned).
    CHECK(eventually([&] { return rig.problems_seen().back().what.empty(); }));
}

TEST_CASE("a file listed over max_file_bytes is answered TOO_LARGE without being downloaded") {
    Rig rig;
    rig.inbox.limits.max_file_bytes = 10;
    rig.remote.put("/in/big.csv", csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.exists("/out/big.csv_summary.json"); }));
    CHECK(rig.remote.count("download ") == 0);
    CHECK(rig.remote.bytes("/out/big.csv_summary.json").find("TOO_LARGE") != std::string::npos);
    CHECK(rig.remote.exists("/out/receipt_big.csv.txt"));
    CHECK(rig.claims().empty());
}

// FTP's LIST has no standard form: a line its parser cannot read is never guessed at, and
// is reported once however many polls see it, while the files around it flow.
TEST_CASE("a listing line that cannot be read is reported once and the other files flow") {
    Rig rig;
    rig.remote.unreadable = {"?rw-r--r-- 1 0 0 4 Dec 04 21:04 odd.csv"};
    rig.remote.put("/in/a.csv", csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    std::this_thread::sleep_for(300ms);  // several more polls
    std::lock_guard lock(rig.mutex);
    REQUIRE(rig.skipped.size() == 1);
    CHECK(rig.skipped[0] ==
          "?rw-r--r-- 1 0 0 4 Dec 04 21:04 odd.csv: a listing line that cannot be read; skipped");
}

TEST_CASE(
    "skipped lines are logged once each and at most so many an hour, however many new ones "
    "each poll lists") {
    Rig rig;
    rig.timing.skips_logged = 100;
    auto lines = [](const std::string& tag, int n) {
        std::vector<std::string> out;
        for (int i = 0; i < n; ++i) out.push_back(tag + std::to_string(i) + std::string(300, 'x'));
        return out;
    };
    rig.remote.unreadable = lines("garbage A", 150);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.info_mentions("are not logged one by one"); }));
    std::this_thread::sleep_for(300ms);  // several more polls
    {
        std::lock_guard lock(rig.mutex);
        CHECK(rig.skipped.size() == 100);
        REQUIRE_FALSE(rig.skipped.empty());
        CHECK(rig.skipped[0].size() < 300);  // the line's first bytes name it
    }
    // The server lists other lines at each poll: none of them is logged within the hour.
    for (const char* tag : {"garbage B", "garbage C", "garbage D"}) {
        rig.remote.with([&](FakeRemote& r) { r.unreadable = lines(tag, 150); });
        REQUIRE(eventually([&] { return rig.remote.count("list /in") > 0; }));
        const int listed = rig.remote.count("list /in");
        REQUIRE(eventually([&] { return rig.remote.count("list /in") > listed + 1; }));
    }
    std::lock_guard lock(rig.mutex);
    CHECK(rig.skipped.size() == 100);
    CHECK(std::count_if(rig.infos.begin(), rig.infos.end(), [](const std::string& i) {
              return i.find("are not logged one by one") != std::string::npos;
          }) == 1);
}

TEST_CASE("what a server says reaches the log with its control characters escaped") {
    Rig rig;
    rig.remote.list_failures = 1;
    rig.remote.list_reply = ": 550 \x1b[2J\x1b[31mPWNED\x07\b\b";
    auto puller = rig.start();
    REQUIRE(eventually([&] { return !rig.problems_seen().empty(); }));
    const std::string what = rig.problems_seen().front().what;
    CHECK(what.find('\x1b') == std::string::npos);
    CHECK(what.find('\x07') == std::string::npos);
    CHECK(what.ends_with(": 550 \\x1b[2J\\x1b[31mPWNED\\x07\\x08\\x08"));
}

TEST_CASE("names seen in a listing cut short are forgotten once they are no longer listed") {
    Rig rig;
    rig.timing.list_budget = 3;
    rig.inbox.settle = 60s;  // nothing is taken: the names only wait
    for (const char* name : {"a", "b", "c", "d"})
        rig.remote.put(fmt::format("/in/{}.csv", name), csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->oldest_waiting().has_value(); }));
    const auto first = *puller->oldest_waiting();
    CHECK(eventually([&] { return rig.info_mentions("the listing of /in was cut at 3 entries"); }));
    // A server that lists new names at each poll, more than the budget each time.
    rig.remote.with([&](FakeRemote& r) {
        r.files.clear();
        for (const char* name : {"w", "x", "y", "z"})
            r.files[fmt::format("/in/{}.csv", name)] = {csv, 1'700'000'000};
    });
    CHECK(eventually([&] {
        const auto oldest = puller->oldest_waiting();
        return oldest && *oldest > first;
    }));
}

TEST_CASE("a file that every download finds changed keeps its first sighting, and is said once") {
    // A server whose SIZE or data keep disagreeing with its listing: the file settles again
    // before each try, for ever, and nothing of it is applied.
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.with([](FakeRemote& r) { r.changing_reads = 1000; });
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->oldest_waiting().has_value(); }));
    const auto first = *puller->oldest_waiting();
    REQUIRE(eventually([&] { return rig.remote.count("download /in/a.csv") >= 5; }));
    REQUIRE(puller->oldest_waiting());
    CHECK(*puller->oldest_waiting() == first);  // the age gauge keeps growing
    const std::string said = "/in/a.csv was not taken 3 times in a row (";
    CHECK(rig.info_mentions(said));
    int times = 0;
    for (const auto& info : rig.infos_seen()) times += info.find(said) != std::string::npos;
    CHECK(times == 1);
    CHECK(rig.claims().empty());
}

TEST_CASE("a file the server once says is not there settles again and is taken") {
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.vanish_once.insert("/in/a.csv");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(rig.remote.count("download /in/a.csv") == 2);
}

TEST_CASE("a stop gives up a connection being made, however slowly the server answers") {
    Rig rig;
    rig.remote.slow_connect = 20s;
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.remote.connections() == 1; }));
    const auto asked = std::chrono::steady_clock::now();
    puller->stop();
    CHECK(std::chrono::steady_clock::now() - asked < 2s);
}

TEST_CASE("a pull another service took is left to it: not downloaded again, not finished here") {
    // Two services share the store and the pull inbox (docs/postgres.md, "Instances"); the
    // other one claimed a.csv and is downloading it.
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    rig.remote.put("/in/b.csv", csv);
    store::PullRecord theirs;
    theirs.inbox = rig.inbox.name;
    theirs.remote_path = "/in/a.csv";
    theirs.size = static_cast<std::int64_t>(csv.size());
    theirs.mtime = 1'700'000'000;
    theirs.file_name = "a.csv";
    theirs.claim = "20260101T000000Z-000000000000_a.csv";
    theirs.state = "claimed";
    theirs.claimed_at = wall_now();
    theirs.owner = "other-host:/var/lib/actiondrop/b";
    REQUIRE(store::open_store(rig.store_url)->claim_pull(theirs));

    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));  // b.csv, ours
    std::this_thread::sleep_for(800ms);                             // several polls
    CHECK(rig.claims().size() == 1);
    CHECK(rig.remote.count("download /in/a.csv") == 0);
    CHECK(rig.remote.count("download /in/b.csv") == 1);
    auto stored = store::open_store(rig.store_url)
                      ->find_pull(rig.inbox.name, "/in/a.csv", theirs.size, theirs.mtime);
    REQUIRE(stored);
    CHECK(stored->state == "claimed");
    CHECK(stored->owner == theirs.owner);
    // Ours carry this service's name.
    auto ours = rig.open_pulls();
    REQUIRE(ours.size() == 1);
    CHECK(ours[0].file_name == "b.csv");
    CHECK(ours[0].owner == pull_owner(rig.local.path() / "state"));
}

namespace {

// A pull of /in/a.csv that another service took and whose lease has ended: its copy was in
// that service's spool.
store::PullRecord dead_services_pull(Rig& rig, const std::string& state,
                                     const std::string& path = "/in/a.csv") {
    store::PullRecord theirs;
    theirs.inbox = rig.inbox.name;
    theirs.remote_path = path;
    theirs.size = static_cast<std::int64_t>(csv.size());
    theirs.mtime = 1'700'000'000;
    theirs.file_name = "a.csv";
    theirs.claim = "20260101T000000Z-000000000000_a.csv";
    theirs.state = state;
    theirs.claimed_at = wall_now();
    theirs.owner = "dead-host:/var/lib/actiondrop/b";
    theirs.lease = 1ms;
    REQUIRE(store::open_store(rig.store_url)->claim_pull(theirs));
    std::this_thread::sleep_for(20ms);
    return theirs;
}

}  // namespace

TEST_CASE(
    "a pull whose owner's lease ended is downloaded again under its batch id and finished here") {
    Rig rig;
    rig.remote.put("/in/a.csv", csv);
    const auto theirs = dead_services_pull(rig, "fetched");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    // The same claim name, so the same batch id: whichever service commits first, once.
    CHECK(rig.claims().front().filename() == theirs.claim);
    CHECK(read(rig.claims().front()) == csv);
    CHECK(rig.info_mentions(
        "took over /in/a.csv from dead-host:/var/lib/actiondrop/b, whose lease ended: "
        "it is downloaded again as batch 20260101T000000Z-000000000000"));
    auto ours = rig.open_pulls();
    REQUIRE(ours.size() == 1);
    CHECK(ours[0].owner == pull_owner(rig.local.path() / "state"));
    apply_locally(rig, rig.claims().front(), "a.csv");
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK(rig.remote.bytes("/out/result_a.csv") == "result of a.csv\n");
    CHECK(rig.remote.count("download /in/a.csv") == 1);
    CHECK(rig.remote.exists("/in/a.csv"));  // left, as configured
}

TEST_CASE(
    "a taken-over pull whose batch was committed is answered from the store, not downloaded") {
    Rig rig;
    rig.source().delete_after_pull = true;
    // Claimed on the server too, by the rename into `.processing/`.
    const std::string claimed = "/in/.processing/20260101T000000Z-000000000000_a.csv";
    rig.remote.put(claimed, csv);
    const auto theirs = dead_services_pull(rig, "fetched", claimed);
    {
        // The other service committed the batch and died before its answers were uploaded.
        auto s = store::open_store(rig.store_url);
        store::BatchRecord done;
        done.batch_id = "20260101T000000Z-000000000000";
        done.account_id = "1000";
        done.inbox = rig.inbox.name;
        done.file_name = "a.csv";
        done.type = "modifications";
        done.state = store::BatchState::Delivered;
        done.status = "COMPLETE";
        done.received_at = wall_now();
        write(rig.local.path() / "result", "the stored answer\n");
        auto tx = s->begin_batch(done.batch_id);
        tx->commit(done, {{"result_a.csv", rig.local.path() / "result"}});
    }
    auto puller = rig.start();
    REQUIRE(eventually([&] { return !rig.remote.exists(claimed); }));  // deleted, as configured
    CHECK(
        eventually([&] { return rig.remote.bytes("/out/result_a.csv") == "the stored answer\n"; }));
    CHECK(rig.open_pulls().empty());
    CHECK(rig.remote.count("download ") == 0);
    CHECK(rig.claims().empty());
    CHECK(
        rig.info_mentions("batch 20260101T000000Z-000000000000 was committed (COMPLETE); its "
                          "answers are sent again"));
}

TEST_CASE(
    "a running service renews its leases, and once it stops another service takes its pulls over") {
    Rig rig;
    rig.timing.lease = 300ms;
    rig.remote.put("/in/a.csv", csv);
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));  // downloaded, not applied
    auto other = store::open_store(rig.store_url);
    for (int i = 0; i < 4; ++i) {  // twice the lease and more
        std::this_thread::sleep_for(250ms);
        CHECK(other->take_over_pulls(rig.inbox.name, "h2:/b", 60s).empty());
    }
    puller.reset();  // the service dies
    std::this_thread::sleep_for(400ms);
    auto taken = other->take_over_pulls(rig.inbox.name, "h2:/b", 60s);
    REQUIRE(taken.size() == 1);
    CHECK(taken[0].record.remote_path == "/in/a.csv");
    CHECK(taken[0].from == pull_owner(rig.local.path() / "state"));
}
