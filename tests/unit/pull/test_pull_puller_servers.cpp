// The puller (pull/puller.hpp) against real servers and a real SQLite store, one test list
// for every protocol whose behaviour is the same: SFTP on an OpenSSH sshd (sshd_fixture.hpp)
// and FTP with explicit TLS on vsftpd (vsftpd_fixture.hpp), both on 127.0.0.1. What is
// pulled, when, what becomes of the remote original, and what a server we cannot trust or
// log in to costs.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "pull/puller.hpp"
#include "pull/server_for.hpp"
#include "sshd_fixture.hpp"
#include "test_pull_fixtures.hpp"
#include "vsftpd_fixture.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;
using namespace actiondrop::pull;
using actiondrop::pull::testing::FtpMode;
using actiondrop::pull::testing::FtpServerProcess;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::SshServer;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;
using namespace std::chrono_literals;

namespace {

ledger::Instant wall_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// A protocol's server, and what the tests do to it: an inbox's source for it, trust taken
// away and given back, a login it refuses, the connections it accepted.
struct SftpSide {
    static constexpr const char* alert_words = "CHANGED";
    SshServer server;
    std::string right;

    fs::path files() const { return server.files(); }
    void own(const fs::path&) const {}  // root logs in
    config::InboxSource source(const fs::path& folder, const fs::path& result) const {
        config::SftpSource s;
        s.host = "127.0.0.1";
        s.port = server.port();
        s.user = "root";
        s.identity_file = server.client_key();
        s.known_hosts = server.known_hosts();
        s.folder = folder.string();
        s.result_folder = result.string();
        s.poll_interval = 100ms;
        return s;
    }
    // known_hosts names another key for the server.
    void distrust(const fs::path& scratch) {
        right = read(server.known_hosts());
        pull::testing::sshd_detail::run("ssh-keygen -q -t ed25519 -N '' -C other -f " +
                                        (scratch / "other").string());
        write(server.known_hosts(), server.known_hosts_line(scratch / "other.pub"));
    }
    void trust() { write(server.known_hosts(), right); }
    void refuse_login(config::InboxConfig& inbox, const fs::path& scratch) const {
        pull::testing::sshd_detail::run("ssh-keygen -q -t ed25519 -N '' -C stranger -f " +
                                        (scratch / "stranger").string());
        std::get<config::SftpSource>(inbox.source).identity_file = scratch / "stranger";
    }
    void kill_all() { server.kill_all(); }
    std::size_t connections() const { return server.connections(); }
};

struct FtpSide {
    static constexpr const char* alert_words = "fingerprint";
    FtpServerProcess server{FtpMode::ExplicitTls};
    fs::path ca = server.dir() / "trusted.pem";  // the inbox's ca_file

    FtpSide() { fs::copy_file(server.certificate(), ca); }
    fs::path files() const { return server.files(); }
    void own(const fs::path& path) const { server.own(path); }
    config::InboxSource source(const fs::path& folder, const fs::path& result) const {
        config::FtpSource s;
        s.host = "127.0.0.1";
        s.port = server.port();
        s.user = server.user();
        s.password_file = server.password_file();
        s.tls = config::FtpTls::Explicit;
        s.ca_file = ca;
        s.folder = folder.string();
        s.result_folder = result.string();
        s.poll_interval = 100ms;
        return s;
    }
    // ca_file holds a certificate the server does not use.
    void distrust(const fs::path&) {
        fs::copy_file(server.other_certificate(), ca, fs::copy_options::overwrite_existing);
    }
    void trust() { fs::copy_file(server.certificate(), ca, fs::copy_options::overwrite_existing); }
    void refuse_login(config::InboxConfig& inbox, const fs::path& scratch) const {
        write(scratch / "wrong-password", "not-the-password\n");
        ::chmod((scratch / "wrong-password").c_str(), 0600);
        std::get<config::FtpSource>(inbox.source).password_file = scratch / "wrong-password";
    }
    void kill_all() { server.kill_all(); }
    std::size_t connections() const { return server.connections(); }
};

// One pull inbox on a server, its state in `local`, its store migrated.
template <class Side>
struct Rig {
    Side& side;
    TempDir local;
    config::InboxConfig inbox;
    std::string store_url;
    std::mutex mutex;
    std::vector<std::string> problems, alerts;

    explicit Rig(Side& s) : side(s) {
        fs::create_directories(side.files() / "in");
        fs::create_directories(side.files() / "out");
        side.own(side.files() / "in");
        side.own(side.files() / "out");
        inbox.name = "pull";
        inbox.account = "1000";
        inbox.source = side.source(side.files() / "in", side.files() / "out");
        inbox.pattern = "*.csv";
        inbox.settle = 300ms;
        store_url = "sqlite:" + (local.path() / "ledger.db").string();
        store::open_store(store_url)->migrate();
    }

    config::RemoteSource& remote() { return *const_cast<config::RemoteSource*>(inbox.remote()); }

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
        return store::open_store(store_url)->open_pulls(inbox.name,
                                                        pull_owner(local.path() / "state"));
    }

    std::size_t connections() const { return side.connections(); }
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
template <class Side>
void apply_locally(Rig<Side>& rig, const fs::path& claim, const std::string& name) {
    write(rig.spool() / ".outbox" / ("result_" + name), "result of " + name + "\n");
    write(rig.spool() / ".outbox" / (name + "_summary.json"), "{}\n");
    fs::remove(claim);
}

}  // namespace

TEST_CASE_TEMPLATE("a pulled file is taken once stable, answered, and its original left alone",
                   Side, SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    const auto original = root / "in" / "Conversions_1.csv";
    write(original, "OrderId,Amount\n1,10.00\n");
    write(root / "in" / "notes.txt", "not ours\n");
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
    CHECK(read(root / "out" / "result_Conversions_1.csv") == "result of Conversions_1.csv\n");
    CHECK(fs::exists(root / "out" / "Conversions_1.csv_summary.json"));
    CHECK(read(original) == "OrderId,Amount\n1,10.00\n");  // untouched

    // Polled again and again, and by a new puller after a restart: never taken twice.
    std::this_thread::sleep_for(800ms);
    puller.reset();
    puller = rig.start();
    std::this_thread::sleep_for(1s);
    CHECK(rig.claims().empty());
    CHECK(puller->files_pulled() == 0);
}

TEST_CASE_TEMPLATE("a file still growing is not pulled before it settles", Side, SftpSide,
                   FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    rig.inbox.settle = 600ms;
    const auto original = root / "in" / "growing.csv";
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

TEST_CASE_TEMPLATE("delete_after_pull claims the original by rename and deletes it once applied",
                   Side, SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    rig.remote().delete_after_pull = true;
    const auto original = root / "in" / "a.csv";
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
    CHECK(fs::is_empty(root / "in" / ".processing"));
    // The same name uploaded again is a new file.
    write(original, "OrderId,Amount\n2,2.00\n");
    // (on FTP, the same size within the same minute: only MDTM tells them apart)
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(read(rig.claims().front()) == "OrderId,Amount\n2,2.00\n");
}

TEST_CASE_TEMPLATE("archive_folder receives the original once applied", Side, SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    rig.remote().archive_folder = (root / "done").string();
    write(root / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    fs::create_directories(root / "done");
    side.own(root / "done");
    write(root / "done" / "a.csv", "an older a.csv\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK(fs::exists(root / "in" / "a.csv"));  // moved only once applied
    const auto claim_name = rig.claims().front().filename().string();
    apply_locally(rig, rig.claims().front(), "a.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    CHECK_FALSE(fs::exists(root / "in" / "a.csv"));
    CHECK(read(root / "done" / "a.csv") == "an older a.csv\n");  // not replaced
    CHECK(read(root / "done" / claim_name) == "OrderId,Amount\n1,1.00\n");
}

TEST_CASE_TEMPLATE(
    "a server that is not trusted raises an alert and is not retried until its trust file changes",
    Side, SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    write(root / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    side.distrust(rig.local.path());
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
        CHECK(rig.alerts.front().find(Side::alert_words) != std::string::npos);
    }
    side.trust();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }));
    CHECK_FALSE(puller->host_key_alert());
}

TEST_CASE_TEMPLATE("refused credentials back off for a long time", Side, SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    side.refuse_login(rig.inbox, rig.local.path());
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

TEST_CASE_TEMPLATE("a server that goes away is reconnected to and the download starts again", Side,
                   SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    write(root / "in" / "a.csv", "OrderId,Amount\n1,1.00\n");
    auto puller = rig.start();
    REQUIRE(eventually([&] { return puller->connected(); }));
    side.kill_all();
    REQUIRE(eventually([&] {
        std::lock_guard lock(rig.mutex);
        return !rig.problems.empty();
    }));
    CHECK(rig.claims().empty());
}

// The advertised size decides before any download: a 2 GiB file (sparse on the server) over
// a 1 MiB limit is answered at once, and nothing of it comes near our disk.
TEST_CASE_TEMPLATE(
    "a remote file listed over max_file_bytes is answered TOO_LARGE without being downloaded", Side,
    SftpSide, FtpSide) {
    Side side;
    Rig<Side> rig(side);
    const fs::path root = side.files();
    constexpr std::int64_t limit = 1 << 20, huge = 2LL << 30;
    rig.inbox.limits.max_file_bytes = limit;
    std::string fate;
    SUBCASE("left on the server") { fate = "left"; }
    SUBCASE("deleted after the pull") {
        fate = "deleted";
        rig.remote().delete_after_pull = true;
    }
    SUBCASE("moved to archive_folder") {
        fate = "archived";
        rig.remote().archive_folder = (root / "done").string();
    }
    const auto original = root / "in" / "huge.csv";
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
    const auto summary_file = root / "out" / "huge.csv_summary.json";
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
    const std::string receipt = read(root / "out" / "receipt_huge.csv.txt");
    CHECK(receipt.find(batches[0].batch_id) != std::string::npos);
    CHECK(receipt.find(std::to_string(huge)) != std::string::npos);

    // The original's fate is that of any answered file, and the pull is then finished.
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    if (fate == "left") {
        CHECK(fs::file_size(original) == static_cast<std::uintmax_t>(huge));
    } else if (fate == "deleted") {
        CHECK_FALSE(fs::exists(original));
        CHECK(fs::is_empty(root / "in" / ".processing"));
    } else {
        CHECK_FALSE(fs::exists(original));
        CHECK(fs::file_size(root / "done" / "huge.csv") == static_cast<std::uintmax_t>(huge));
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

// A download cut by the server's death leaves the pull claimed; once the server is back the
// file is downloaded again, whole, and taken once (vsftpd slowed down so that the cut falls
// inside the download).
TEST_CASE("ftp: a server killed mid-download: the file is pulled once, whole, after it returns") {
    FtpSide side;
    side.server.limit_rate(1 << 20);
    side.server.restart();
    Rig<FtpSide> rig(side);
    const fs::path root = side.files();
    std::string bytes = "OrderId,Amount\n";
    for (int i = 0; bytes.size() < 4u << 20; ++i) bytes += std::to_string(i) + ",1.00\n";
    write(root / "in" / "big.csv", bytes);
    auto puller = rig.start();
    auto downloading = [&] {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(rig.spool() / ".download", ec))
            if (e.file_size(ec) > 0) return true;
        return false;
    };
    REQUIRE_MESSAGE(eventually(downloading, 20s), [&] {
        std::lock_guard lock(rig.mutex);
        std::string all = "problems:";
        for (const auto& p : rig.problems) all += "\n  " + p;
        return all;
    }());
    side.kill_all();
    REQUIRE(eventually([&] {
        std::lock_guard lock(rig.mutex);
        return !rig.problems.empty();
    }));
    CHECK(rig.claims().empty());
    auto open = rig.open_pulls();
    REQUIRE(open.size() == 1);
    CHECK(open[0].state == "claimed");

    side.server.limit_rate(0);
    side.server.restart();
    REQUIRE(eventually([&] { return rig.claims().size() == 1; }, 30s));
    CHECK(read(rig.claims().front()) == bytes);
    apply_locally(rig, rig.claims().front(), "big.csv");
    puller->poll_now();
    REQUIRE(eventually([&] { return rig.open_pulls().empty(); }));
    std::this_thread::sleep_for(1s);
    CHECK(rig.claims().empty());
    CHECK(puller->files_pulled() == 1);
}
