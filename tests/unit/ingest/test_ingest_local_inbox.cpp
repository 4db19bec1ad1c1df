#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "ingest/local_inbox.hpp"
#include "test_ingest_fixtures.hpp"

using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const SteadyTime t0 = SteadyTime{} + 1h;

bool has(const std::vector<std::string>& names, const std::string& n) {
    return std::find(names.begin(), names.end(), n) != names.end();
}

// Sets a file's mtime, so that two writes within one clock tick still differ.
void set_mtime(const fs::path& p, std::int64_t seconds) {
    timespec times[2] = {{seconds, 0}, {seconds, 0}};
    REQUIRE(::utimensat(AT_FDCWD, p.c_str(), times, 0) == 0);
}
}  // namespace

TEST_CASE("ingest: a file is ready only once its size and mtime held still for settle") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    auto file = inbox.folder() / "a.csv";
    write(file, "ActionId\r\n");

    auto first = inbox.sweep(t0);
    CHECK(first.ready.empty());
    REQUIRE(first.next_check);
    CHECK(*first.next_check == t0 + 300ms);
    CHECK(inbox.sweep(t0 + 299ms).ready.empty());

    // It grows: the clock starts again from this sweep.
    write(file, "A-1\r\n", std::ios::app);
    CHECK(inbox.sweep(t0 + 350ms).ready.empty());
    CHECK(inbox.sweep(t0 + 600ms).ready.empty());
    CHECK(has(inbox.sweep(t0 + 650ms).ready, "a.csv"));
}

TEST_CASE("ingest: a new mtime with the same size restarts the settle time") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    auto file = inbox.folder() / "a.csv";
    write(file, "x");
    set_mtime(file, 1000);
    CHECK(inbox.sweep(t0).ready.empty());
    set_mtime(file, 2000);
    CHECK(inbox.sweep(t0 + 300ms).ready.empty());
    CHECK(has(inbox.sweep(t0 + 600ms).ready, "a.csv"));
}

TEST_CASE("ingest: ready files come oldest first") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    for (auto [name, mtime] : {std::pair{"b.csv", 3000}, {"a.csv", 2000}, {"c.csv", 1000}}) {
        write(inbox.folder() / name, "x");
        set_mtime(inbox.folder() / name, mtime);
    }
    inbox.sweep(t0);
    auto ready = inbox.sweep(t0 + 1s).ready;
    CHECK(ready == std::vector<std::string>{"c.csv", "a.csv", "b.csv"});
}

TEST_CASE("ingest: symlinks, FIFOs, folders and excluded names are skipped and reported once") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    const auto& in = inbox.folder();
    write(tmp.path() / "target.csv", "x");
    fs::create_symlink(tmp.path() / "target.csv", in / "link.csv");
    REQUIRE(::mkfifo((in / "pipe.csv").c_str(), 0600) == 0);
    fs::create_directory(in / "folder.csv");
    write(in / "result_x.csv", "x");
    write(in / "notes.txt", "x");
    write(in / "bad\nname.csv", "x");
    write(in / ".hidden.csv", "x");

    auto first = inbox.sweep(t0);
    std::map<std::string, std::string> why;
    for (const auto& s : first.skipped) why[s.name] = s.why;
    CHECK(why.size() == 6);
    CHECK(why["link.csv"] == "a symbolic link");
    CHECK(why["pipe.csv"] == "a FIFO");
    CHECK(why["folder.csv"] == "a folder");
    CHECK(why.contains("result_x.csv"));
    CHECK(why.contains("notes.txt"));
    CHECK(why.contains("bad\nname.csv"));
    CHECK_FALSE(why.contains(".hidden.csv"));  // hidden names are silent

    auto later = inbox.sweep(t0 + 1s);
    CHECK(later.skipped.empty());
    CHECK(later.ready.empty());

    // Gone and back: a new thing under an old name is reported again.
    fs::remove(in / "notes.txt");
    inbox.sweep(t0 + 2s);
    write(in / "notes.txt", "x");
    auto again = inbox.sweep(t0 + 3s);
    REQUIRE(again.skipped.size() == 1);
    CHECK(again.skipped[0].name == "notes.txt");
}

TEST_CASE(
    "ingest: with done_file a file is ready as soon as NAME.done exists, and the claim removes the "
    "marker") {
    TempDir tmp;
    auto cfg = local_inbox(tmp.path());
    cfg.done_file = true;
    cfg.settle = 1h;
    LocalInbox inbox(cfg, claims(tmp.path()));
    write(cfg.local()->path / "a.csv", "x");
    auto before = inbox.sweep(t0);
    CHECK(before.ready.empty());
    CHECK(before.skipped.empty());
    write(cfg.local()->path / "a.csv.done", "");
    auto after = inbox.sweep(t0 + 1ms);
    CHECK(after.ready == std::vector<std::string>{"a.csv"});
    CHECK(after.skipped.empty());  // the marker is expected here
    REQUIRE(inbox.claim("a.csv"));
    CHECK_FALSE(fs::exists(cfg.local()->path / "a.csv.done"));
}

TEST_CASE(
    "ingest: a claim moves the file into the claims folder as <batch id>_NAME, and a vanished file "
    "was claimed by another") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    write(inbox.folder() / "a.csv", "content");
    auto claim = inbox.claim("a.csv");
    REQUIRE(claim);
    CHECK(claim->file_name == "a.csv");
    CHECK_FALSE(claim->recovered);
    CHECK(claim->path.parent_path() == inbox.claims_folder());
    CHECK(claim->path.filename().string() == claim->batch_id + "_a.csv");
    CHECK(claim->batch_id.size() == 29);
    CHECK(read(claim->path) == "content");
    CHECK_FALSE(fs::exists(inbox.folder() / "a.csv"));

    CHECK_FALSE(inbox.claim("a.csv"));  // ENOENT: someone else has it

    // Two claims of the same name never collide.
    write(inbox.folder() / "a.csv", "again");
    auto second = inbox.claim("a.csv");
    REQUIRE(second);
    CHECK(second->path != claim->path);
}

TEST_CASE("ingest: a folder of many names costs a bounded sweep, said once, and files flow again") {
    // An uploader may fill its own folder with names; what a sweep reads and remembers of
    // them stays within its limits, so that the service keeps serving the other inboxes.
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()), SweepLimits{100, 20});
    const auto& in = inbox.folder();
    for (int i = 0; i < 150; ++i) write(in / ("junk-" + std::to_string(i) + ".txt"), "");

    auto first = inbox.sweep(t0);
    CHECK(first.skipped.size() == 20);  // reported one by one up to the limit, no more
    REQUIRE(first.notices.size() == 2);
    CHECK(first.notices[0].find("more than 100 entries") != std::string::npos);
    CHECK(first.notices[1].find("more than 20 names") != std::string::npos);
    auto second = inbox.sweep(t0 + 1s);
    CHECK(second.skipped.empty());  // the remembered ones are not reported again
    CHECK(second.notices.empty());  // said once while it lasts

    // Back under the limits: a batch file flows, and a new flood is said again.
    for (int i = 0; i < 150; ++i) fs::remove(in / ("junk-" + std::to_string(i) + ".txt"));
    write(in / "a.csv", "x");
    CHECK(inbox.sweep(t0 + 2s).notices.empty());
    CHECK(has(inbox.sweep(t0 + 10s).ready, "a.csv"));
    for (int i = 0; i < 150; ++i) write(in / ("more-" + std::to_string(i) + ".txt"), "");
    CHECK(inbox.sweep(t0 + 11s).notices.size() == 2);
}

TEST_CASE(
    "ingest: names skipped are logged at most so many an hour, however often the uploader "
    "makes new ones") {
    // A skipped name is forgotten once it leaves the folder: an uploader that makes 10,000
    // names, removes them and makes them again, over and over, wrote 0.8 GB of log an hour.
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()), SweepLimits{100, 100, 30});
    const auto& in = inbox.folder();
    auto flood = [&](const std::string& tag, int n) {
        for (const auto& e : fs::directory_iterator(in)) fs::remove(e.path());
        for (int i = 0; i < n; ++i) write(in / (tag + std::to_string(i) + ".txt"), "");
    };
    flood("a-", 10);
    CHECK(inbox.sweep(t0).skipped.size() == 10);
    flood("b-", 10);
    CHECK(inbox.sweep(t0 + 1s).skipped.size() == 10);
    flood("c-", 15);
    auto capped = inbox.sweep(t0 + 2s);
    CHECK(capped.skipped.size() == 10);  // 30 within the hour
    REQUIRE(capped.notices.size() == 1);
    CHECK(capped.notices[0].find("more than 30 names") != std::string::npos);
    CHECK(capped.notices[0].find("within an hour") != std::string::npos);
    flood("d-", 10);
    auto later = inbox.sweep(t0 + 3s);
    CHECK(later.skipped.empty());
    CHECK(later.notices.empty());  // said once an hour
    flood("e-", 10);
    CHECK(inbox.sweep(t0 + 1h + 4s).skipped.size() == 10);  // a new hour
}

TEST_CASE("ingest: the claims folder is outside the inbox, and the inbox holds no claim folder") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    const auto& in = inbox.folder();
    CHECK(fs::is_directory(inbox.claims_folder()));
    CHECK_FALSE(fs::exists(in / ".processing"));
    auto rel = fs::relative(inbox.claims_folder(), in);
    CHECK(rel.string().starts_with(".."));
}

TEST_CASE(
    "ingest: claims left in the claims folder are found again with their original names, sorted by "
    "claim "
    "name (claim time first)") {
    TempDir tmp;
    std::vector<fs::path> claimed;
    {
        LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
        for (const char* name : {"b_with_underscore.csv", "a.csv"}) {
            write(inbox.folder() / name, name);
            claimed.push_back(inbox.claim(name)->path);
        }
    }
    LocalInbox restarted(local_inbox(tmp.path()), claims(tmp.path()));
    auto left = restarted.leftover_claims();
    REQUIRE(left.size() == 2);
    std::sort(claimed.begin(), claimed.end());
    CHECK(left[0].path == claimed[0]);
    CHECK(left[1].path == claimed[1]);
    for (const auto& c : left) {
        CHECK(c.recovered);
        CHECK(read(c.path) == c.file_name);  // each file holds its own name
    }
}

TEST_CASE(
    "ingest: a file waits from its first sighting, through rewrites, until it is claimed, and "
    "skipped names never wait") {
    TempDir tmp;
    LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
    const auto& in = inbox.folder();
    CHECK_FALSE(inbox.oldest_waiting());
    write(in / "a.csv", "x");
    set_mtime(in / "a.csv", 1000);
    write(in / "notes.txt", "outside the pattern");  // skipped, never taken
    fs::create_symlink(in / "a.csv", in / "link.csv");
    inbox.sweep(t0);
    CHECK(inbox.oldest_waiting() == t0);

    // Still being written: settle starts again, the wait does not.
    write(in / "a.csv", "xy");
    set_mtime(in / "a.csv", 2000);
    write(in / "b.csv", "y");
    inbox.sweep(t0 + 5s);
    CHECK(inbox.oldest_waiting() == t0);

    auto ready = inbox.sweep(t0 + 6s).ready;
    REQUIRE(has(ready, "a.csv"));
    CHECK(inbox.oldest_waiting() == t0);  // ready is not answered
    auto claim = inbox.claim("a.csv");
    REQUIRE(claim);
    CHECK(claim->waiting_since == t0);
    CHECK(inbox.oldest_waiting() == t0 + 5s);  // b.csv, first seen at the second sweep

    fs::remove(in / "b.csv");  // gone from the folder: no longer waiting
    inbox.sweep(t0 + 7s);
    CHECK_FALSE(inbox.oldest_waiting());
}

TEST_CASE("ingest: with done_file a file waits from its first sighting, before its marker exists") {
    TempDir tmp;
    auto cfg = local_inbox(tmp.path());
    cfg.done_file = true;
    LocalInbox inbox(cfg, claims(tmp.path()));
    write(cfg.local()->path / "a.csv", "x");
    inbox.sweep(t0);
    CHECK(inbox.sweep(t0 + 30s).ready.empty());
    CHECK(inbox.oldest_waiting() == t0);
    write(cfg.local()->path / "a.csv.done", "");
    CHECK(inbox.sweep(t0 + 31s).ready == std::vector<std::string>{"a.csv"});
    CHECK(inbox.oldest_waiting() == t0);
    auto claim = inbox.claim("a.csv");
    REQUIRE(claim);
    CHECK(claim->waiting_since == t0);
    CHECK_FALSE(inbox.oldest_waiting());
}

TEST_CASE("ingest: a claim left in the claims folder waits from when it was found") {
    TempDir tmp;
    {
        LocalInbox inbox(local_inbox(tmp.path()), claims(tmp.path()));
        write(inbox.folder() / "a.csv", "x");
        REQUIRE(inbox.claim("a.csv"));
    }
    const auto before = std::chrono::steady_clock::now();
    auto left = LocalInbox(local_inbox(tmp.path()), claims(tmp.path())).leftover_claims();
    REQUIRE(left.size() == 1);
    CHECK(left[0].waiting_since >= before);
    CHECK(left[0].waiting_since <= std::chrono::steady_clock::now());
}
