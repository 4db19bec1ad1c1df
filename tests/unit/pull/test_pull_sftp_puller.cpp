// The puller on SFTP (pull::server_for) against a real OpenSSH sshd on 127.0.0.1
// (sshd_fixture.hpp) and a real SQLite store: what is pulled, when, and what becomes of the
// remote original.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "pull/puller.hpp"
#include "pull/server_for.hpp"
#include "pull/sftp/sftp_session.hpp"
#include "sshd_fixture.hpp"
#include "test_pull_fixtures.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;
using namespace actiondrop::pull;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::SshServer;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;
using namespace std::chrono_literals;

namespace {

ledger::Instant wall_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// One pull inbox on `server`, its state in `local`, its store migrated.
struct Rig {
    SshServer& server;
    TempDir local;
    config::InboxConfig inbox;
    std::string store_url;
    std::mutex mutex;
    std::vector<std::string> problems, alerts;

    explicit Rig(SshServer& s) : server(s) {
        fs::create_directories(server.files() / "in");
        fs::create_directories(server.files() / "out");
        inbox.name = "pull";
        inbox.account = "1000";
        config::SftpSource sftp;
        sftp.host = "127.0.0.1";
        sftp.port = server.port();
        sftp.user = "root";
        sftp.identity_file = server.client_key();
        sftp.known_hosts = server.known_hosts();
        sftp.folder = (server.files() / "in").string();
        sftp.result_folder = (server.files() / "out").string();
        sftp.poll_interval = 100ms;
        inbox.source = sftp;
        inbox.pattern = "*.csv";
        inbox.settle = 300ms;
        store_url = "sqlite:" + (local.path() / "ledger.db").string();
        store::open_store(store_url)->migrate();
    }

    config::SftpSource& sftp() { return std::get<config::SftpSource>(inbox.source); }

    std::unique_ptr<Puller> start() {
        PullEvents events;
        events.problem = [this](const config::InboxConfig&, const std::string& what,
                                std::chrono::seconds) {
            std::lock_guard lock(mutex);
            problems.push_back(what);
        };
        events.alert = [this](const config::InboxConfig&, bool raised, const std::string& what) {
            std::lock_guard lock(mutex);
            alerts.push_back((raised ? "raised: " : "cleared: ") + what);
        };
        PullTiming timing;
        timing.keepalive = 200ms;
        return std::make_unique<Puller>(
            inbox, server_for(inbox), local.path() / "state",
            [url = store_url] { return store::open_store(url); }, wall_now, events, timing);
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
        return store::open_store(store_url)->open_pulls(inbox.name);
    }

    // Connections sshd accepted, by client port (its log may say it more than once).
    std::size_t connections() const {
        std::set<std::string> ports;
        const std::string log = server.log();
        const std::string mark = "Connection from 127.0.0.1 port ";
        for (auto at = log.find(mark); at != std::string::npos; at = log.find(mark, at + 1)) {
            const auto from = at + mark.size();
            ports.insert(log.substr(from, log.find(' ', from) - from));
        }
        return ports.size();
    }
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 10s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return pred();
}

// What the service does with a downloaded file: takes it away and stages its answers.
void apply_locally(Rig& rig, const fs::path& claim, const std::string& name) {
    write(rig.spool() / ".outbox" / ("result_" + name), "result of " + name + "\n");
    write(rig.spool() / ".outbox" / (name + "_summary.json"), "{}\n");
    fs::remove(claim);
}

}  // namespace

TEST_CASE("a pulled file is taken once stable, answered, and its original left alone") {
    SshServer server;
    Rig rig(server);
    const auto original = server.files() / "in" / "Conversions_1.csv";
    write(original, "OrderId,Amount\n1,10.00\n");
    write(server.files() / "in" / "notes.txt", "not ours\n");
    auto puller = rig.start();

    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    const auto claim = rig.claims().front();
    CHECK(claim.filename().string().ends_with("_Conversions_1.csv"));
    CHECK(read(claim) == "OrderId,Amount\n1,10.00\n");
    REQUIRE(eventually([&] {
        auto pulls = rig.open_pulls();
        return pulls.size() == 1 && pulls[0].state == "fetched";
    }));
    auto open = rig.open_pulls();
    CHECK(open[0].remote_path == original.string());

    apply_locally(rig, claim, "Conversions_1.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    REQUIRE(eventually([&] { return fs::is_empty(rig.spool() / ".outbox"); }));
    CHECK(read(server.files() / "out" / "result_Conversions_1.csv") ==
          "result of Conversions_1.csv\n");
    CHECK(fs::exists(server.files() / "out" / "Conversions_1.csv_summary.json"));
    CHECK(read(original) == "OrderId,Amount\n1,10.00\n");  // untouched

    // Polled again and again, and by a new puller after a restart: never taken twice.
    std::this_thread::sleep_for(800ms);
    puller.reset();
    puller = rig.start();
    std::this_thread::sleep_for(1s);
    CHECK(rig.claims().empty());
    CHECK(puller->files_pulled() == 0);
}

TEST_CASE("a file still growing is not pulled before it settles") {
    SshServer server;
    Rig rig(server);
    rig.inbox.settle = 600ms;
    const auto original = server.files() / "in" / "growing.csv";
    write(original, "OrderId,Amount\n");
    auto puller = rig.start();
    std::string all = "OrderId,Amount\n";
    for (int i = 0; i < 8; ++i) {
        std::this_thread::sleep_for(250ms);
        const std::string row = std::to_string(i) + ",1.00\n";
        write(original, row, std::ios::app);
        all += row;
        CHECK(rig.claims().empty());
    }
    CHECK(puller->oldest_waiting());  // it waits, and the age gauge says so
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == all);
    // Pulled: still on the server, but no longer waiting.
    CHECK(eventually([&] { return !puller->oldest_waiting(); }));
}

TEST_CASE("delete_after_pull claims the original by rename and deletes it once applied") {
    SshServer server;
    Rig rig(server);
    rig.sftp().delete_after_pull = true;
    const auto original = server.files() / "in" / "a.csv";
    write(original, "OrderId,Amount\n1,1.00\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK_FALSE(fs::exists(original));
    auto open = rig.open_pulls();
    REQUIRE(open.size() == 1);
    CHECK(open[0].remote_path.find("/.processing/") != std::string::npos);
    CHECK(fs::exists(open[0].remote_path));

    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK(fs::is_empty(server.files() / "in" / ".processing"));
    // The same name uploaded again is a new file.
    write(original, "OrderId,Amount\n2,2.00\n");
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == "OrderId,Amount\n2,2.00\n");
}

TEST_CASE("archive_folder receives the original once applied") {
    SshServer server;
    Rig rig(server);
    rig.sftp().archive_folder = (server.files() / "done").string();
    write(server.files() / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    fs::create_directories(server.files() / "done");
    write(server.files() / "done" / "a.csv", "an older a.csv\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(fs::exists(server.files() / "in" / "a.csv"));  // moved only once applied
    const auto claim_name = rig.claims().front().filename().string();
    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK_FALSE(fs::exists(server.files() / "in" / "a.csv"));
    CHECK(read(server.files() / "done" / "a.csv") == "an older a.csv\n");  // not replaced
    CHECK(read(server.files() / "done" / claim_name) == "OrderId,Amount\n1,1.00\n");
}

TEST_CASE("a changed host key raises an alert and is not retried until known_hosts changes") {
    SshServer server;
    Rig rig(server);
    write(server.files() / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    const std::string right = read(server.known_hosts());
    actiondrop::pull::testing::sshd_detail::run("ssh-keygen -q -t ed25519 -N '' -C other -f " +
                                                  (rig.local.path() / "other").string());
    write(server.known_hosts(), server.known_hosts_line(rig.local.path() / "other.pub"));
    const auto before = rig.connections();  // the fixture's own probe of the port
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->host_key_alert(); }));
    std::this_thread::sleep_for(1500ms);  // 15 polls
    CHECK(rig.connections() - before == 1);
    CHECK(rig.claims().empty());
    {
        std::lock_guard lock(rig.mutex);
        REQUIRE_FALSE(rig.alerts.empty());
        CHECK(rig.alerts.front().find("raised") == 0);
        CHECK(rig.alerts.front().find("CHANGED") != std::string::npos);
    }
    write(server.known_hosts(), right);
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK_FALSE(puller->host_key_alert());
}

TEST_CASE("refused credentials back off for a long time") {
    SshServer server;
    Rig rig(server);
    actiondrop::pull::testing::sshd_detail::run("ssh-keygen -q -t ed25519 -N '' -C stranger -f " +
                                                  (rig.local.path() / "stranger").string());
    rig.sftp().identity_file = rig.local.path() / "stranger";
    const auto before = rig.connections();  // the fixture's own probe of the port
    auto puller = rig.start();
    REQUIRE(eventually([&] {
        std::lock_guard lock(rig.mutex);
        return !rig.problems.empty();
    }));
    std::this_thread::sleep_for(1500ms);
    CHECK(rig.connections() - before == 1);
    CHECK_FALSE(puller->connected());
}

TEST_CASE("a server that goes away is reconnected to and the download starts again") {
    SshServer server;
    Rig rig(server);
    write(server.files() / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->connected(); }));
    server.kill_all();
    REQUIRE(eventually([&] {
        std::lock_guard lock(rig.mutex);
        return !rig.problems.empty();
    }));
    CHECK(rig.claims().empty());
}

// The puller reconnects only when an error says the session is gone (or a ping after a
// plain refusal fails): a dead server must never look like a missing folder.
TEST_CASE("a listing on a connection whose server died says the connection is lost") {
    for (int round = 0; round < 5; ++round) {
        SshServer server;
        SftpSession session(server.endpoint());
        REQUIRE(session.connect());
        server.kill_all();
        if (round % 2) std::this_thread::sleep_for(50ms);
        auto listing = session.list(server.files().string(), "*");
        REQUIRE_FALSE(listing);
        INFO("round ", round, ": ", to_string(listing.error().kind), ": ",
             listing.error().message);
        CHECK(listing.error().kind != SftpErrorKind::NotFound);
        CHECK(listing.error().kind != SftpErrorKind::PermissionDenied);
    }
}

// The advertised size decides before any download: a 2 GiB file (sparse on the server) over
// a 1 MiB limit is answered at once, and nothing of it comes near our disk.
TEST_CASE("a remote file listed over max_file_bytes is answered TOO_LARGE without being downloaded") {
    SshServer server;
    Rig rig(server);
    constexpr std::int64_t limit = 1 << 20, huge = 2LL << 30;
    rig.inbox.limits.max_file_bytes = limit;
    std::string fate;
    SUBCASE("left on the server") { fate = "left"; }
    SUBCASE("deleted after the pull") {
        fate = "deleted";
        rig.sftp().delete_after_pull = true;
    }
    SUBCASE("moved to archive_folder") {
        fate = "archived";
        rig.sftp().archive_folder = (server.files() / "done").string();
    }
    const auto original = server.files() / "in" / "huge.csv";
    write(original, "");
    fs::resize_file(original, huge);

    // The largest file our side ever held while the puller worked.
    std::atomic<bool> watching{true};
    std::atomic<std::uintmax_t> largest{0};
    std::thread watcher([&] {
        while (watching) {
            std::error_code ec;
            for (fs::recursive_directory_iterator it(rig.local.path() / "state", ec), end;
                 !ec && it != end; it.increment(ec)) {
                std::error_code size_ec;
                const auto size = it->is_regular_file(size_ec) ? it->file_size(size_ec) : 0;
                if (!size_ec) largest = std::max<std::uintmax_t>(largest, size);
            }
            std::this_thread::sleep_for(5ms);
        }
    });
    const auto summary_file = server.files() / "out" / "huge.csv_summary.json";
    const auto started = std::chrono::steady_clock::now();
    auto puller = rig.start();
    const bool answered = eventually(
        [&] { return fs::exists(summary_file) || largest >= static_cast<std::uintmax_t>(limit); });
    const auto took = std::chrono::steady_clock::now() - started;
    watching = false;
    watcher.join();
    CHECK(largest.load() < static_cast<std::uintmax_t>(limit));
    REQUIRE(answered);
    REQUIRE(fs::exists(summary_file));
    CHECK(took < 5s);
    CHECK(rig.claims().empty());
    CHECK(puller->files_pulled() == 0);

    const auto summary = nlohmann::json::parse(read(summary_file));
    CHECK(summary["status"] == "REJECTED");
    CHECK(summary["error_code"] == "TOO_LARGE");
    const std::string message = summary["error_message"];
    CHECK(message.find(std::to_string(huge)) != std::string::npos);
    CHECK(message.find(std::to_string(limit)) != std::string::npos);

    const auto batches = store::open_store(rig.store_url)->list_batches("1000");
    REQUIRE(batches.size() == 1);
    CHECK(batches[0].batch_id == summary["batch_id"]);
    CHECK(batches[0].inbox == "pull");
    CHECK(batches[0].file_name == "huge.csv");
    CHECK(batches[0].size == huge);
    CHECK(batches[0].status == "REJECTED");
    CHECK(batches[0].error_code == "TOO_LARGE");
    CHECK(batches[0].error_message == message);
    CHECK(batches[0].state == store::BatchState::Delivered);
    const std::string receipt = read(server.files() / "out" / "receipt_huge.csv.txt");
    CHECK(receipt.find(batches[0].batch_id) != std::string::npos);
    CHECK(receipt.find(std::to_string(huge)) != std::string::npos);

    // The original's fate is that of any answered file, and the pull is then finished.
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    if (fate == "left") {
        CHECK(fs::file_size(original) == static_cast<std::uintmax_t>(huge));
    } else if (fate == "deleted") {
        CHECK_FALSE(fs::exists(original));
        CHECK(fs::is_empty(server.files() / "in" / ".processing"));
    } else {
        CHECK_FALSE(fs::exists(original));
        CHECK(fs::file_size(server.files() / "done" / "huge.csv") ==
              static_cast<std::uintmax_t>(huge));
    }
    CHECK(fs::is_empty(rig.spool() / ".outbox"));

    // Never answered twice, by this puller or by the next one.
    fs::remove(summary_file);
    std::this_thread::sleep_for(800ms);
    puller.reset();
    puller = rig.start();
    std::this_thread::sleep_for(1s);
    CHECK_FALSE(fs::exists(summary_file));
    CHECK(store::open_store(rig.store_url)->list_batches("1000").size() == 1);
}
