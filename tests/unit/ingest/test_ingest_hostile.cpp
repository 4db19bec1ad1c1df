// What an uploader who owns its inbox can do to it, done as that uploader (an unprivileged
// user that owns the inbox, as a deployment has it), at the worst moments: between the sweep
// and the claim, while a claimed file is applied, between the commit and the delivery.
// None of it may reach another account's data, apply a file twice or stall the service
// (docs/ingest.md, "Claims").
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "apply/delivery.hpp"
#include "config/catalog_file.hpp"
#include "ingest/claimed_file.hpp"
#include "ledger/time.hpp"
#include "test_ingest_fixtures.hpp"
#include "util/name_rules.hpp"
#include "util/sha256.hpp"

using namespace actiondrop;
using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
using actiondrop::util::max_name_bytes;
using actiondrop::util::unanswerable;
namespace fs = std::filesystem;

namespace {

// The uploader: `nobody`, which owns the inbox and nothing else.
struct Uploader {
    uid_t uid = 65534;
    gid_t gid = 65534;
    Uploader() {
        if (const passwd* pw = ::getpwnam("nobody")) {
            uid = pw->pw_uid;
            gid = pw->pw_gid;
        }
    }
    // Runs `act` in a child process with the uploader's identity; true when it succeeded.
    bool does(const std::function<bool()>& act) const {
        const pid_t pid = ::fork();
        if (pid == 0) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)
                ::_exit(2);
            ::_exit(act() ? 0 : 1);
        }
        int status = 0;
        ::waitpid(pid, &status, 0);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
};

std::string day_ago() {
    auto day = std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now() -
                                                     std::chrono::hours(48));
    return ledger::format_instant(std::chrono::floor<std::chrono::milliseconds>(day));
}

std::string conversions(const std::string& id) {
    return "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n" + id +
           ",19816,P-77,O-" + id + "," + day_ago() + ",100.00\r\n";
}

// An inbox owned by the uploader, another account's folder beside it, the service's state.
struct Hostile {
    TempDir tmp;
    Uploader uploader;
    std::unique_ptr<store::Store> store =
        store::open_store("sqlite:" + (tmp.path() / "ledger.db").string());
    ledger::Catalog catalog;
    config::InboxConfig cfg = local_inbox(tmp.path());
    Folders folders{tmp.path() / "state"};
    std::unique_ptr<LocalInbox> inbox;
    fs::path other = tmp.path() / "other-account" / "in";  // another advertiser's inbox
    apply::Clock clock = [] {
        return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    };
    fs::path shm_root;
    ~Hostile() {
        std::error_code ec;
        if (!shm_root.empty()) fs::remove_all(shm_root, ec);
    }

    // With `shm`, the inbox lives on another file system (/dev/shm) than the state folder, as
    // drop folders and state do under systemd (each ReadWritePaths entry is a mount).
    explicit Hostile(bool shm = false) {
        if (shm) {
            shm_root = fs::path("/dev/shm") / tmp.path().filename();
            cfg.source = config::LocalSource{shm_root / "in"};
        }
        store->migrate();
        auto read =
            config::read_catalog_file(fs::path(ACTIONDROP_TEST_DATA) / "e2e" / "catalog.yaml");
        REQUIRE(read);
        catalog = *read;
        inbox = std::make_unique<LocalInbox>(cfg, claims(tmp.path()));
        REQUIRE(::chown(cfg.local()->path.c_str(), uploader.uid, uploader.gid) == 0);
        fs::create_directories(other);
        // The other account's file is valid here too: applied as ours, it would show.
        write(other / "secret.csv", conversions("SECRET-1"));
    }
    // The uploader writes NAME into its inbox.
    void upload(const std::string& name, const std::string& bytes) {
        const auto path = cfg.local()->path / name;
        REQUIRE(uploader.does([&] {
            const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0640);
            return fd >= 0 &&
                   ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) &&
                   ::close(fd) == 0;
        }));
    }
    // The sweep sees NAME ready (settle 0).
    void sweep_sees(const std::string& name) {
        auto r = inbox->sweep(std::chrono::steady_clock::now() + std::chrono::hours(1));
        r = inbox->sweep(std::chrono::steady_clock::now() + std::chrono::hours(2));
        REQUIRE(std::find(r.ready.begin(), r.ready.end(), name) != r.ready.end());
    }
    Outcome take(const Claim& claim, ClaimHooks hooks = {}) {
        return take_claim(*store, catalog, cfg, claim, folders, clock, hooks);
    }
    std::string outbox_text() const {
        std::string all;
        if (fs::exists(cfg.outbox))
            for (const auto& e : fs::directory_iterator(cfg.outbox)) all += read(e.path());
        return all;
    }
    // Action `id` created, modified once by m1.csv (archived, COMPLETE), then m2.csv with the
    // same content uploaded and claimed under the `duplicates` policy given.
    Claim second_upload(const std::string& id, const std::string& policy) {
        cfg.duplicates = policy;
        cfg.type = "conversions";
        upload("seed.csv", conversions(id));
        sweep_sees("seed.csv");
        REQUIRE(take(*inbox->claim("seed.csv")).status == "COMPLETE");
        cfg.type = "modifications";
        const std::string mods = "ActionId,Amount,Reason\r\n" + id + ",80.00,ORDER_UPDATE\r\n";
        upload("m1.csv", mods);
        sweep_sees("m1.csv");
        REQUIRE(take(*inbox->claim("m1.csv")).status == "COMPLETE");
        REQUIRE(modifications_of(id) == 1);
        upload("m2.csv", mods);
        sweep_sees("m2.csv");
        return *inbox->claim("m2.csv");
    }
    int modifications_of(const std::string& id) {
        auto a = store->action("1000", id);
        REQUIRE(a);
        return a->modification_count;
    }
};

nlohmann::json summary_of(const Hostile& h, const std::string& name) {
    return nlohmann::json::parse(read(h.cfg.outbox / (name + "_summary.json")));
}

}  // namespace

TEST_CASE(
    "hostile: a file swapped for a link to another account's file between the sweep and the claim "
    "is refused, and nothing of that file is read or answered") {
    Hostile h;
    h.upload("a.csv", conversions("MINE-1"));
    h.sweep_sees("a.csv");
    const auto target = h.other / "secret.csv";
    REQUIRE(h.uploader.does([&] {
        const auto link = h.cfg.local()->path / "a.csv";
        return ::unlink(link.c_str()) == 0 && ::symlink(target.c_str(), link.c_str()) == 0;
    }));
    auto claim = h.inbox->claim("a.csv");
    REQUIRE(claim);
    auto out = h.take(*claim);
    CHECK(out.quarantined);
    CHECK(out.status == "REJECTED");
    CHECK(out.error_code == "QUARANTINED");
    CHECK_FALSE(h.store->action("1000", "SECRET-1"));
    CHECK_FALSE(h.store->action("1000", "MINE-1"));
    CHECK(summary_of(h, "a.csv")["error_message"].get<std::string>().find("symbolic link") !=
          std::string::npos);
    CHECK(h.outbox_text().find("SECRET") == std::string::npos);
    CHECK(read(target) == conversions("SECRET-1").substr(0, read(target).size()));  // untouched
    CHECK(fs::exists(target));
}

TEST_CASE(
    "hostile: a file swapped for a link to /dev/zero or for a FIFO is refused at once, never "
    "read") {
    for (const std::string swap : {"devzero", "fifo"}) {
        CAPTURE(swap);
        Hostile h;
        h.upload("z.csv", conversions("Z-1"));
        h.sweep_sees("z.csv");
        REQUIRE(h.uploader.does([&] {
            const auto p = h.cfg.local()->path / "z.csv";
            if (::unlink(p.c_str()) != 0) return false;
            return swap == "fifo" ? ::mkfifo(p.c_str(), 0660) == 0
                                  : ::symlink("/dev/zero", p.c_str()) == 0;
        }));
        auto claim = h.inbox->claim("z.csv");
        REQUIRE(claim);
        const auto started = std::chrono::steady_clock::now();
        auto out = h.take(*claim);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
        CHECK(out.quarantined);
        CHECK(out.error_code == "QUARANTINED");
    }
}

TEST_CASE(
    "hostile: a claimed file with a second name (a hard link) is refused: it could be changed "
    "through it") {
    Hostile h;
    h.upload("h.csv", conversions("H-1"));
    h.sweep_sees("h.csv");
    // What a server without link protection would let an uploader do.
    REQUIRE(h.uploader.does([&] {
        return ::link((h.cfg.local()->path / "h.csv").c_str(),
                      (h.cfg.local()->path / "h2.txt").c_str()) == 0;
    }));
    auto claim = h.inbox->claim("h.csv");
    REQUIRE(claim);
    auto out = h.take(*claim);
    CHECK(out.quarantined);
    CHECK(summary_of(h, "h.csv")["error_message"].get<std::string>().find("hard links") !=
          std::string::npos);
    CHECK_FALSE(h.store->action("1000", "H-1"));
}

namespace {

// The uploader keeps a descriptor of NAME open (an SFTP handle would do) in a child process,
// and appends a row through it when told (write_now), for as long as the test runs.
struct KeptDescriptor {
    int pipe_fds[2] = {-1, -1};
    pid_t writer = -1;
    bool written = false;
    KeptDescriptor(const Hostile& h, const std::string& name) {
        REQUIRE(::pipe(pipe_fds) == 0);
        writer = ::fork();
        if (writer == 0) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(h.uploader.gid) != 0 ||
                ::setuid(h.uploader.uid) != 0)
                ::_exit(2);
            const int fd = ::open((h.cfg.local()->path / name).c_str(), O_WRONLY | O_APPEND);
            char go = 0;
            if (fd < 0 || ::read(pipe_fds[0], &go, 1) != 1) ::_exit(3);
            const std::string more = "W-X,19816,P-77,O-X," + day_ago() + ",99999.00\r\n";
            const bool ok = ::write(fd, more.data(), more.size()) == ssize_t(more.size());
            ::_exit(ok ? 0 : 4);
        }
        ::usleep(200'000);  // the writer has its descriptor
    }
    ~KeptDescriptor() {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        if (!written) {
            ::kill(writer, SIGKILL);
            ::waitpid(writer, nullptr, 0);
        }
    }
    void write_now() {
        if (written) return;
        written = true;
        REQUIRE(::write(pipe_fds[1], "x", 1) == 1);
        int status = 0;
        ::waitpid(writer, &status, 0);
        REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
};

std::string rows_w(int n) {
    std::string bytes = "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n";
    for (int i = 0; i < n; ++i)
        bytes += fmt::format("W-{0},19816,P-77,O-{0},{1},10.00\r\n", i, day_ago());
    return bytes;
}

}  // namespace

TEST_CASE(
    "hostile: a write through a descriptor kept open after the claim never reaches what is "
    "applied") {
    // The claim is the service's own copy, made when it is taken: the write goes to the
    // uploader's inode, which nothing reads any more.
    Hostile h;
    const std::string bytes = rows_w(20'500);
    h.upload("w.csv", bytes);
    h.sweep_sees("w.csv");
    KeptDescriptor kept(h, "w.csv");
    auto claim = h.inbox->claim("w.csv");
    REQUIRE(claim);
    const Outcome out = h.take(*claim, {[&] { kept.write_now(); }, {}, {}});
    CHECK(kept.written);
    CHECK(out.status == "COMPLETE");
    CHECK(out.applied == 20'500);
    CHECK(h.store->action("1000", "W-0").has_value());
    CHECK_FALSE(h.store->action("1000", "W-X").has_value());
    util::Sha256 sha;
    sha.update(bytes);
    CHECK(summary_of(h, "w.csv")["sha256"] == sha.hex());
    CHECK(read(out.kept_at) == bytes);
}

TEST_CASE(
    "hostile: the archived original of an applied file cannot be changed through a kept "
    "descriptor") {
    // On one file system the claim is a rename: without the service's copy, the archive was
    // the uploader's inode, which its kept descriptor could rewrite after the commit.
    Hostile h;
    const std::string bytes = rows_w(3);
    h.upload("t1.csv", bytes);
    h.sweep_sees("t1.csv");
    KeptDescriptor kept(h, "t1.csv");
    auto claim = h.inbox->claim("t1.csv");
    REQUIRE(claim);
    const Outcome out = h.take(*claim);
    REQUIRE(out.status == "COMPLETE");
    kept.write_now();
    CHECK(read(out.kept_at) == bytes);
    struct stat st {};
    REQUIRE(::stat(out.kept_at.c_str(), &st) == 0);
    CHECK(st.st_uid == ::geteuid());
    CHECK(st.st_nlink == 1);
}

TEST_CASE("hostile: a file its uploader keeps leased is answered QUARANTINED after three tries") {
    // A write lease makes every open of ours fail (EWOULDBLOCK) for as long as the holder
    // takes it again; it must not keep the file claimed and unanswered for ever.
    Hostile h;
    h.upload("l1.csv", rows_w(1));
    h.sweep_sees("l1.csv");
    auto claim = h.inbox->claim("l1.csv");
    REQUIRE(claim);
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const pid_t holder = ::fork();
    if (holder == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(h.uploader.gid) != 0 ||
            ::setuid(h.uploader.uid) != 0)
            ::_exit(2);
        ::signal(SIGIO, SIG_IGN);  // a lease break asks; the holder never answers
        const int fd = ::open(claim->path.c_str(), O_RDONLY);
        if (fd < 0 || ::fcntl(fd, F_SETLEASE, F_WRLCK) != 0) ::_exit(3);
        (void)!::write(pipe_fds[1], "x", 1);
        ::pause();
        ::_exit(0);
    }
    struct Reaper {  // the holder goes whatever the checks do
        pid_t pid;
        ~Reaper() {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    } reaper{holder};
    char ready = 0;
    const bool leased = ::read(pipe_fds[0], &ready, 1) == 1;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    REQUIRE(leased);
    CHECK_THROWS_AS(h.take(*claim), std::system_error);
    CHECK_THROWS_AS(h.take(*claim), std::system_error);
    const Outcome out = h.take(*claim);
    CHECK(out.quarantined);
    CHECK(out.status == "REJECTED");
    const auto summary = summary_of(h, "l1.csv");
    CHECK(summary["error_code"] == "QUARANTINED");
    CHECK(summary["error_message"].get<std::string>().find("lease") != std::string::npos);
    CHECK_FALSE(h.store->action("1000", "W-0").has_value());
}

TEST_CASE(
    "hostile: a file written between the claim's open and the service's copy is not committed") {
    // The copy is made only from a file that did not change; otherwise the claim keeps the
    // uploader's descriptor, and the attempt fails before the commit, as a changed file does.
    Hostile h;
    h.upload("w.csv", rows_w(3));
    h.sweep_sees("w.csv");
    KeptDescriptor kept(h, "w.csv");
    auto claim = h.inbox->claim("w.csv");
    REQUIRE(claim);
    CHECK_THROWS_WITH_AS(h.take(*claim, {{}, {}, [&] { kept.write_now(); }}),
                         doctest::Contains("changed while it was applied"), std::runtime_error);
    CHECK(kept.written);
    CHECK_FALSE(h.store->action("1000", "W-0"));  // rolled back
    CHECK_FALSE(h.store->action("1000", "W-X"));
    CHECK_FALSE(
        fs::exists(claim->path.parent_path() / (".own." + claim->path.filename().string())));
}

TEST_CASE(
    "hostile: a failure between the commit and the delivery never applies the file again, for "
    "either "
    "duplicates policy") {
    for (const std::string policy : {"reject", "reprocess"}) {
        CAPTURE(policy);
        Hostile h;
        auto claim = h.second_upload("D-1", policy);
        const auto fail_after_commit = [] {
            throw std::system_error(ENOSPC, std::generic_category(), "the outbox's disk is full");
        };
        CHECK_THROWS_AS(h.take(claim, {{}, fail_after_commit, {}}), std::system_error);
        const int after_commit = h.modifications_of("D-1");
        CHECK(after_commit == (policy == "reprocess" ? 2 : 1));
        auto out = h.take(claim);
        CHECK(out.batch_id == claim.batch_id);
        CHECK(out.redelivered);
        CHECK(h.modifications_of("D-1") == after_commit);  // never again
        CHECK(h.take(claim).vanished);  // taken to its end: a stray retry finds nothing to do
        CHECK(h.modifications_of("D-1") == after_commit);
        const auto s = summary_of(h, "m2.csv");
        CHECK(s["batch_id"] == claim.batch_id);
        CHECK(s["status"] == (policy == "reprocess" ? "COMPLETE" : "REJECTED"));
        auto record = h.store->find_batch(claim.batch_id);
        REQUIRE(record);
        CHECK(record->state ==
              (policy == "reprocess" ? store::BatchState::Archived : store::BatchState::Failed));
        CHECK_FALSE(fs::exists(claim.path));
    }
}

TEST_CASE(
    "hostile: the service's copy of a claim left by a crash is removed at the start, the claim "
    "taken once") {
    // Killed between its copy of the uploader's file and the rename over the claim, the
    // service left the copy (`.own.<claim>`) or its temporary in its claims folder, where no
    // one would ever remove them.
    Hostile h;
    h.upload("c.csv", conversions("OWN-1"));
    h.sweep_sees("c.csv");
    auto claim = h.inbox->claim("c.csv");
    REQUIRE(claim);
    const auto folder = claim->path.parent_path();
    const std::string copy = ".own." + claim->path.filename().string();
    // A process id above the kernel's largest (2^22): never running.
    const std::string temporary = "." + copy + ".4194305.00000000deadbeef.tmp";
    write(folder / copy, conversions("OWN-1"));
    write(folder / temporary, "half a cop");
    // Another program's file in the claims folder is not the service's to remove.
    write(folder / ".keep", "");

    LocalInbox restarted(h.cfg, claims(h.tmp.path()));
    CHECK_FALSE(fs::exists(folder / copy));
    CHECK_FALSE(fs::exists(folder / temporary));
    CHECK(fs::exists(folder / ".keep"));
    auto removed = restarted.removed_at_start();
    std::sort(removed.begin(), removed.end());
    CHECK(removed == std::vector<std::string>{temporary, copy});
    auto left = restarted.leftover_claims();
    REQUIRE(left.size() == 1);
    CHECK(left[0].batch_id == claim->batch_id);
    const Outcome out = h.take(left[0]);
    CHECK(out.status == "COMPLETE");
    struct stat st {};
    REQUIRE(::stat(out.kept_at.c_str(), &st) == 0);
    CHECK(st.st_uid == ::geteuid());  // the archive is the service's own copy, made again
    CHECK(h.store->list_batches("1000").size() == 1);
    std::vector<std::string> rest;
    for (const auto& e : fs::directory_iterator(folder)) rest.push_back(e.path().filename());
    CHECK(rest == std::vector<std::string>{".keep"});
}

TEST_CASE(
    "hostile: a SIGKILL between the commit and the delivery: applied once, answered once after the "
    "restart") {
    for (const std::string policy : {"reject", "reprocess"}) {
        CAPTURE(policy);
        Hostile h;
        const auto claim = h.second_upload("K-1", policy);
        h.store.reset();

        const pid_t child = ::fork();
        if (child == 0) {
            auto store = store::open_store("sqlite:" + (h.tmp.path() / "ledger.db").string());
            take_claim(*store, h.catalog, h.cfg, claim, h.folders, h.clock,
                       {{}, [] { ::raise(SIGKILL); }, {}});
            ::_exit(0);  // not reached
        }
        int status = 0;
        ::waitpid(child, &status, 0);
        REQUIRE(WIFSIGNALED(status));
        REQUIRE(WTERMSIG(status) == SIGKILL);
        CHECK_FALSE(fs::exists(h.cfg.outbox / "m2.csv_summary.json"));  // killed before the answer

        h.store = store::open_store("sqlite:" + (h.tmp.path() / "ledger.db").string());
        const int after_commit = h.modifications_of("K-1");
        CHECK(after_commit == (policy == "reprocess" ? 2 : 1));
        LocalInbox restarted(h.cfg, claims(h.tmp.path()));
        auto left = restarted.leftover_claims();
        REQUIRE(left.size() == 1);
        CHECK(left[0].batch_id == claim.batch_id);
        auto out = h.take(left[0]);
        CHECK(out.redelivered);
        CHECK(h.modifications_of("K-1") == after_commit);
        CHECK(summary_of(h, "m2.csv")["batch_id"] == claim.batch_id);
        CHECK(restarted.leftover_claims().empty());
        CHECK(h.store->list_batches("1000").size() == 3);
    }
}

TEST_CASE("hostile: undeliverable answers are tried for minutes, then quarantined, applied once") {
    Hostile h;
    h.upload("q.csv", conversions("Q-1"));
    h.sweep_sees("q.csv");
    auto claim = *h.inbox->claim("q.csv");
    int deliveries = 0;
    const auto broken_outbox = [&] {
        // The outbox becomes a file: every later write into it fails.
        ++deliveries;
        fs::remove_all(h.cfg.outbox);
        write(h.cfg.outbox, "not a folder");
    };
    CHECK_THROWS_AS(h.take(claim, {{}, broken_outbox, {}}), std::system_error);
    CHECK(h.store->find_batch(claim.batch_id)->delivery_failures == 1);
    // An outbox mended within the retries' span (about 8 minutes of growing delays) gets its
    // answers without anyone's help: each failed delivery is only counted.
    for (int failures = 2; failures < max_delivery_attempts; ++failures) {
        CHECK_THROWS_AS(h.take(claim), std::system_error);
        CHECK(h.store->find_batch(claim.batch_id)->delivery_failures == failures);
        CHECK(h.store->find_batch(claim.batch_id)->state == store::BatchState::Applied);
    }
    auto out = h.take(claim);
    CHECK(out.undelivered);
    CHECK(deliveries == 1);
    auto record = h.store->find_batch(claim.batch_id);
    CHECK(record->state == store::BatchState::Quarantined);
    CHECK(record->status == "COMPLETE");
    CHECK(record->delivery_failures == max_delivery_attempts);
    CHECK(h.store->action("1000", "Q-1"));
    CHECK_FALSE(fs::exists(claim.path));  // the original is archived, not retried for ever

    // Once the outbox is mended, the answers can be delivered from the store.
    fs::remove(h.cfg.outbox);
    fs::create_directories(h.cfg.outbox);
    apply::deliver(*h.store, *record, h.cfg.outbox);
    CHECK(summary_of(h, "q.csv")["status"] == "COMPLETE");
}

TEST_CASE("hostile: an outbox mended between two tries gets the answers, not a quarantine") {
    Hostile h;
    h.upload("r.csv", conversions("R-1"));
    h.sweep_sees("r.csv");
    auto claim = *h.inbox->claim("r.csv");
    const auto broken_outbox = [&] {
        fs::remove_all(h.cfg.outbox);
        write(h.cfg.outbox, "not a folder");
    };
    CHECK_THROWS_AS(h.take(claim, {{}, broken_outbox, {}}), std::system_error);
    for (int i = 0; i < 3; ++i) CHECK_THROWS_AS(h.take(claim), std::system_error);
    fs::remove(h.cfg.outbox);
    fs::create_directories(h.cfg.outbox);
    auto out = h.take(claim);
    CHECK_FALSE(out.undelivered);
    CHECK(out.redelivered);
    CHECK(h.store->find_batch(claim.batch_id)->state != store::BatchState::Quarantined);
    CHECK(summary_of(h, "r.csv")["status"] == "COMPLETE");
    CHECK(h.store->list_batches("1000").size() == 1);
    // The receipt too: the outbox made again had none of the answers.
    CHECK(read(h.cfg.outbox / "receipt_r.csv.txt").starts_with("batch_id: " + claim.batch_id));
}

TEST_CASE("hostile: a claim whose file an operator removed is dropped, not retried for ever") {
    Hostile h;
    h.upload("v.csv", conversions("V-1"));
    h.sweep_sees("v.csv");
    auto claim = *h.inbox->claim("v.csv");
    fs::remove(claim.path);
    auto out = h.take(claim);
    CHECK(out.vanished);
    CHECK(out.batch_id == claim.batch_id);
}

TEST_CASE("hostile: a claim tried while its folder is gone waits for it, and is applied once") {
    // docs/ingest.md, "Claims": the state folder moved away (or a disk not mounted) is not an
    // operator removing one claim; the claim stays, to be tried again.
    Hostile h;
    h.upload("w.csv", conversions("W-1"));
    h.sweep_sees("w.csv");
    auto claim = *h.inbox->claim("w.csv");
    const fs::path state = h.folders.state_dir, away = state.string() + ".away";
    fs::rename(state, away);
    CHECK_THROWS_AS(h.take(claim), std::system_error);
    fs::rename(away, state);
    auto out = h.take(claim);
    CHECK_FALSE(out.vanished);
    CHECK(out.status == "COMPLETE");
    CHECK(h.store->action("1000", "W-1"));
}

TEST_CASE(
    "hostile: names too long to be answered are set aside, and never keep other files waiting") {
    Hostile h;
    const std::string longest(max_name_bytes - 4, 'n');
    const std::string too_long(max_name_bytes - 3, 'x');
    const std::string far_too_long(250, 'y');
    h.upload(longest + ".csv", conversions("L-1"));
    h.upload(too_long + ".csv", conversions("L-2"));
    h.upload(far_too_long + ".csv", conversions("L-3"));
    h.upload("ok.csv", conversions("L-4"));
    auto r = h.inbox->sweep(std::chrono::steady_clock::now());
    r = h.inbox->sweep(std::chrono::steady_clock::now() + std::chrono::hours(1));
    CHECK(r.ready.size() == 2);
    CHECK(std::find(r.ready.begin(), r.ready.end(), longest + ".csv") != r.ready.end());
    REQUIRE(r.unanswerable.size() == 2);
    for (const auto& name : r.unanswerable) {
        CHECK(unanswerable(name));
        auto to =
            h.inbox->set_aside(name, h.folders.state_dir, h.folders.state_dir / "failed" / "drop");
        CHECK(to.filename().string().size() < 255);
        CHECK(fs::exists(to));
        CHECK_FALSE(fs::exists(h.cfg.local()->path / name));
    }
    // The longest answerable name gets every answer.
    auto out = h.take(*h.inbox->claim(longest + ".csv"));
    CHECK(out.status == "COMPLETE");
    CHECK(fs::exists(h.cfg.outbox / (longest + ".csv_summary.json")));
    CHECK(h.take(*h.inbox->claim("ok.csv")).status == "COMPLETE");
}

TEST_CASE(
    "hostile: a name too long to be answered is set aside once it has settled, not while "
    "it is written") {
    // Set aside at first sight, an upload still being written was moved from under its
    // writer; across mounts, one its uploader kept writing to was copied whole at every sweep.
    Hostile h;
    const std::string name = std::string(max_name_bytes, 'x') + ".csv";
    h.upload(name, conversions("S-1"));
    const auto t = std::chrono::steady_clock::now();
    CHECK(h.inbox->sweep(t).unanswerable.empty());
    std::ofstream(h.cfg.local()->path / name, std::ios::app) << "more";
    CHECK(h.inbox->sweep(t + std::chrono::hours(1)).unanswerable.empty());  // it changed
    CHECK(h.inbox->sweep(t + std::chrono::hours(2)).unanswerable == std::vector{name});
}

TEST_CASE(
    "hostile: across mounts a claim is a copy made through one descriptor, and the inbox's file "
    "goes") {
    Hostile h(/*shm=*/true);
    REQUIRE(::access("/dev/shm", W_OK) == 0);
    h.upload("c.csv", conversions("C-1"));
    h.sweep_sees("c.csv");
    auto claim = h.inbox->claim("c.csv");
    REQUIRE(claim);
    CHECK(claim->path.parent_path() == h.inbox->claims_folder());
    CHECK(read(claim->path) == conversions("C-1"));
    CHECK_FALSE(fs::exists(h.cfg.local()->path / "c.csv"));
    CHECK(h.take(*claim).status == "COMPLETE");
    CHECK(h.store->action("1000", "C-1"));
}

TEST_CASE(
    "hostile: across mounts a file swapped for a link or a FIFO is not copied, and stays where it "
    "is") {
    for (const std::string swap : {"link", "fifo"}) {
        CAPTURE(swap);
        Hostile h(/*shm=*/true);
        h.upload("s.csv", conversions("S-1"));
        h.sweep_sees("s.csv");
        const auto target = h.other / "secret.csv";
        REQUIRE(h.uploader.does([&] {
            const auto p = h.cfg.local()->path / "s.csv";
            if (::unlink(p.c_str()) != 0) return false;
            return swap == "fifo" ? ::mkfifo(p.c_str(), 0660) == 0
                                  : ::symlink(target.c_str(), p.c_str()) == 0;
        }));
        const auto started = std::chrono::steady_clock::now();
        CHECK_THROWS_AS(h.inbox->claim("s.csv"), std::system_error);
        CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
        CHECK(fs::is_empty(h.inbox->claims_folder()));
        CHECK(fs::exists(fs::symlink_status(h.cfg.local()->path / "s.csv")));
        // The next sweep skips it as what it is, and logs it once.
        auto r = h.inbox->sweep(std::chrono::steady_clock::now() + std::chrono::hours(3));
        CHECK(r.ready.empty());
    }
}

TEST_CASE(
    "hostile: across mounts two services sharing an inbox (two hosts) never both claim one file") {
    // Each service has a state folder of its own, on another file system than the shared
    // inbox (docs/postgres.md, "Instances"): a claim is a copy, and two copies of one file
    // would be two batches.
    Hostile h(/*shm=*/true);
    LocalInbox other(h.cfg, claims(h.tmp.path() / "host-b"));
    constexpr int files = 300;
    std::atomic<bool> go{false};
    auto serve = [&](LocalInbox& inbox) {
        while (!go) std::this_thread::yield();
        for (int round = 0; round < 4; ++round) {
            auto r = inbox.sweep(std::chrono::steady_clock::now() + std::chrono::hours(round + 1));
            for (const auto& name : r.ready) (void)inbox.claim(name);
        }
    };
    const std::string body =
        conversions("X") + std::string(64 * 1024, '\n');  // a copy takes a moment
    for (int i = 0; i < files; ++i)
        write(h.cfg.local()->path / fmt::format("f{:03d}.csv", i), body);
    // Both have seen every file once: the next sweep finds them settled (settle is 0).
    h.inbox->sweep(std::chrono::steady_clock::now());
    other.sweep(std::chrono::steady_clock::now());
    std::thread a([&] { serve(*h.inbox); });
    std::thread b([&] { serve(other); });
    go = true;
    a.join();
    b.join();
    std::map<std::string, int> claimed;
    for (const auto& folder : {h.inbox->claims_folder(), other.claims_folder()})
        for (const auto& e : fs::directory_iterator(folder)) {
            auto c = claim_of(e.path());
            REQUIRE(c);
            ++claimed[c->file_name];
        }
    CHECK(claimed.size() == files);
    int twice = 0;
    for (const auto& [name, n] : claimed) twice += n > 1;
    CHECK(twice == 0);
    // Nothing left in the inbox, not even a hidden name.
    CHECK(fs::is_empty(h.cfg.local()->path));
}

TEST_CASE(
    "hostile: a claim across mounts that a crash left half done is finished at the start, another "
    "service's is left") {
    Hostile h(/*shm=*/true);
    const auto in = h.cfg.local()->path;
    const std::string mine = h.inbox->crossing_prefix();
    CHECK(mine.starts_with(".ad-"));
    CHECK(mine.size() == 13);  // `.ad-` and 8 hex digits and `.`
    // Copied before the crash: only the removal was left.
    write(h.inbox->claims_folder() / "20260101T000000Z-aaaaaaaaaaaa_copied.csv",
          conversions("C-1"));
    write(in / (mine + "20260101T000000Z-aaaaaaaaaaaa_copied.csv"), conversions("C-1"));
    // Not copied: it goes back under its name and is claimed again, with a new batch id.
    write(in / (mine + "20260101T000000Z-bbbbbbbbbbbb_halfway.csv"), conversions("H-1"));
    // Another service's (another host's), in the middle of its copy: not ours to touch.
    const std::string theirs = ".ad-01234567.20260101T000000Z-cccccccccccc_theirs.csv";
    write(in / theirs, conversions("T-1"));
    LocalInbox restarted(h.cfg, h.inbox->claims_folder());
    CHECK_FALSE(fs::exists(in / (mine + "20260101T000000Z-aaaaaaaaaaaa_copied.csv")));
    CHECK(fs::exists(h.inbox->claims_folder() / "20260101T000000Z-aaaaaaaaaaaa_copied.csv"));
    CHECK(read(in / "halfway.csv") == conversions("H-1"));
    CHECK(fs::exists(in / theirs));
    auto r = restarted.sweep(std::chrono::steady_clock::now());
    r = restarted.sweep(std::chrono::steady_clock::now() + std::chrono::hours(1));
    CHECK(r.ready == std::vector<std::string>{"halfway.csv"});
    auto claim = restarted.claim("halfway.csv");
    REQUIRE(claim);
    CHECK(claim->batch_id != "20260101T000000Z-bbbbbbbbbbbb");
    CHECK(read(claim->path) == conversions("H-1"));
}

TEST_CASE("hostile: across mounts the longest name that can be answered is claimed too") {
    // The hidden name of the claim is 43 bytes longer than the file's: it must still fit.
    Hostile h(/*shm=*/true);
    const std::string name = std::string(max_name_bytes - 4, 'n') + ".csv";
    REQUIRE_FALSE(unanswerable(name));
    h.upload(name, conversions("LONG-1"));
    h.sweep_sees(name);
    auto claim = h.inbox->claim(name);
    REQUIRE(claim);
    CHECK(claim->file_name == name);
    CHECK(read(claim->path) == conversions("LONG-1"));
    CHECK(fs::is_empty(h.cfg.local()->path));
}

// Never read, a file over max_file_bytes was still copied whole across mounts, into the
// claims folder and then failed/: a dense upload of any size written out into the state
// folder, the service busy with nothing else meanwhile. It stays on the inbox's own disk.
TEST_CASE(
    "hostile: across mounts a file over max_file_bytes is not copied: it is answered TOO_LARGE "
    "from a hidden name in its own inbox") {
    Hostile h(/*shm=*/true);
    h.cfg.limits.max_file_bytes = 4096;
    h.inbox = std::make_unique<LocalInbox>(h.cfg, claims(h.tmp.path()));
    const std::string big = conversions("BIG-1") + std::string(64 * 1024, '\n');
    h.upload("big.csv", big);
    h.sweep_sees("big.csv");
    auto claim = h.inbox->claim("big.csv");
    REQUIRE(claim);
    CHECK(fs::is_empty(h.inbox->claims_folder()));  // not a byte of it in the state folder
    CHECK(claim->path.parent_path() == h.cfg.local()->path);
    CHECK(claim->path.filename().string() == ".too-large." + claim->batch_id + "_big.csv");
    CHECK_FALSE(fs::exists(h.cfg.local()->path / "big.csv"));
    auto out = h.take(*claim);
    CHECK(out.status == "REJECTED");
    CHECK(out.error_code == "TOO_LARGE");
    CHECK(out.kept_at == claim->path);
    CHECK(read(claim->path) == big);  // left for the advertiser to remove
    CHECK_FALSE(fs::exists(h.folders.state_dir / "failed"));
    auto answer = nlohmann::json::parse(read(h.cfg.outbox / "big.csv_summary.json"));
    CHECK(answer["error_code"] == "TOO_LARGE");
    CHECK_FALSE(h.store->action("1000", "BIG-1"));
    // Hidden, it is never offered again.
    auto r = h.inbox->sweep(std::chrono::steady_clock::now() + std::chrono::hours(3));
    CHECK(r.ready.empty());

    // A name too long to be answered, over the limit too: set aside in its inbox, not copied.
    const std::string long_name = std::string(max_name_bytes, 'x') + ".csv";
    h.upload(long_name, big);
    auto t = std::chrono::steady_clock::now() + std::chrono::hours(4);
    h.inbox->sweep(t);
    REQUIRE(h.inbox->sweep(t + std::chrono::hours(1)).unanswerable == std::vector{long_name});
    auto to =
        h.inbox->set_aside(long_name, h.folders.state_dir, h.folders.state_dir / "failed" / "drop");
    CHECK(to.parent_path() == h.cfg.local()->path);
    CHECK(to.filename().string().starts_with(".too-large."));
    CHECK(to.filename().string().size() < 255);
    CHECK(read(to) == big);
    CHECK_FALSE(fs::exists(h.cfg.local()->path / long_name));
    CHECK(fs::is_empty(h.folders.state_dir / "failed" / "drop"));
}

TEST_CASE(
    "hostile: an outbox replaced by a symbolic link gets nothing through it, before the claim or "
    "during it") {
    // Whoever can rename the outbox (an uploader who owns the folder above it) could point it
    // at another account's outbox, or into the state folder, where answers written through it
    // would be taken for claims at the next start (docs/ingest.md, "The outbox").
    Hostile h;
    const fs::path elsewhere = h.tmp.path() / "elsewhere";
    const fs::path real = h.tmp.path() / "outbox.real";
    fs::create_directories(elsewhere);
    fs::create_directories(h.cfg.outbox);
    auto to_link = [&] {
        fs::rename(h.cfg.outbox, real);
        fs::create_directory_symlink(elsewhere, h.cfg.outbox);
    };
    auto mended = [&] {
        fs::remove(h.cfg.outbox);
        fs::rename(real, h.cfg.outbox);
    };

    // A link in the outbox's place before the claim: the claim waits, and nothing of it is
    // applied or recorded, the tries neither.
    to_link();
    h.upload("a.csv", conversions("L-1"));
    h.sweep_sees("a.csv");
    const auto a = *h.inbox->claim("a.csv");
    for (int i = 0; i < 4; ++i)
        CHECK_THROWS_WITH_AS(h.take(a), doctest::Contains("is a symbolic link"), std::system_error);
    CHECK(fs::is_empty(elsewhere));
    CHECK_FALSE(h.store->action("1000", "L-1"));
    CHECK(h.store->list_batches("1000").empty());
    mended();
    CHECK(h.take(a).status == "COMPLETE");
    CHECK(summary_of(h, "a.csv")["status"] == "COMPLETE");

    // A link put in its place once the claim is under way: the answers go to the folder that
    // was opened, under its new name, and none through the link.
    h.upload("b.csv", conversions("L-2"));
    h.sweep_sees("b.csv");
    CHECK(h.take(*h.inbox->claim("b.csv"), {{}, {}, to_link}).status == "COMPLETE");
    CHECK(fs::is_empty(elsewhere));
    CHECK(fs::exists(real / "b.csv_summary.json"));
    CHECK(fs::exists(real / "receipt_b.csv.txt"));
    mended();

    // An outbox that is a file is named as the outbox, not as a descriptor.
    h.upload("c.csv", conversions("L-3"));
    h.sweep_sees("c.csv");
    const auto c = *h.inbox->claim("c.csv");
    const std::string outbox = h.cfg.outbox.string();
    CHECK_THROWS_WITH_AS(h.take(c, {{},
                                    [&] {
                                        fs::remove_all(h.cfg.outbox);
                                        write(h.cfg.outbox, "not a folder");
                                    },
                                    {}}),
                         doctest::Contains(outbox.c_str()), std::system_error);
}

TEST_CASE(
    "hostile: an inbox replaced by a symbolic link gives nothing of where it leads, before the "
    "sweep or after it") {
    // Whoever can rename the inbox could point it at another account's inbox: its files
    // would be taken as this account's (docs/ingest.md, "The outbox").
    Hostile h;
    const fs::path in = h.cfg.local()->path;
    const fs::path real = h.tmp.path() / "in.real";
    auto to_link = [&] {
        fs::rename(in, real);
        fs::create_directory_symlink(h.other, in);
    };
    auto mended = [&] {
        fs::remove(in);
        fs::rename(real, in);
    };
    const auto now = std::chrono::steady_clock::now();

    // Before the sweep: the sweep fails, naming the link, and lists nothing through it.
    to_link();
    CHECK_THROWS_WITH_AS(h.inbox->sweep(now + std::chrono::hours(1)),
                         doctest::Contains("is a symbolic link"), std::system_error);
    mended();

    // Between the sweep and the claim: the claim takes the file of the folder swept, and
    // leaves the other account's file of the same name where it is.
    h.upload("a.csv", conversions("MINE-2"));
    h.sweep_sees("a.csv");
    write(h.other / "a.csv", conversions("SECRET-2"));
    to_link();
    auto claim = h.inbox->claim("a.csv");
    REQUIRE(claim);
    CHECK(fs::exists(h.other / "a.csv"));
    CHECK_FALSE(fs::exists(real / "a.csv"));
    CHECK(h.take(*claim).status == "COMPLETE");
    CHECK(h.store->action("1000", "MINE-2"));
    CHECK_FALSE(h.store->action("1000", "SECRET-2"));
    CHECK(fs::exists(h.other / "secret.csv"));
    mended();
}

TEST_CASE(
    "hostile: a file to be refused waits for an outbox that cannot be opened, rather than be "
    "journalled without its summary") {
    Hostile h;
    h.upload("a.csv", conversions("W-1"));
    h.sweep_sees("a.csv");
    const fs::path second = h.tmp.path() / "second-name.csv";
    const auto claim = *h.inbox->claim("a.csv");
    REQUIRE(::link(claim.path.c_str(), second.c_str()) == 0);  // refused: two names
    fs::remove_all(h.cfg.outbox);
    write(h.cfg.outbox, "not a folder");
    for (int i = 0; i < 4; ++i) CHECK_THROWS_AS(h.take(claim), std::system_error);
    CHECK(h.store->list_batches("1000").empty());
    fs::remove(h.cfg.outbox);
    fs::create_directories(h.cfg.outbox);
    const auto out = h.take(claim);
    CHECK(out.quarantined);
    CHECK(summary_of(h, "a.csv")["error_code"] == "QUARANTINED");
}
