#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;

namespace {

PullRecord pull(std::string remote_path, std::int64_t size, std::int64_t mtime) {
    PullRecord r;
    r.inbox = "acme-pull";
    r.remote_path = std::move(remote_path);
    r.size = size;
    r.mtime = mtime;
    r.file_name = "Conversions_1.csv";
    r.claim = "0001_Conversions_1.csv";
    r.state = "claimed";
    r.claimed_at = at_ms(1'700'000'000'000);
    return r;
}

}  // namespace

TEST_CASE("a pulled file is claimed once by inbox, path, size and mtime") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    CHECK(store->claim_pull(pull("/exports/Conversions_1.csv", 100, 5)));
    CHECK_FALSE(store->claim_pull(pull("/exports/Conversions_1.csv", 100, 5)));
    // A second service on the same store sees the claim too.
    auto other = open_store(dir.url());
    CHECK_FALSE(other->claim_pull(pull("/exports/Conversions_1.csv", 100, 5)));
    // The same name grown or rewritten is another file.
    CHECK(other->claim_pull(pull("/exports/Conversions_1.csv", 120, 5)));
    CHECK(other->claim_pull(pull("/exports/Conversions_1.csv", 100, 6)));
    auto other_inbox = pull("/exports/Conversions_1.csv", 100, 5);
    other_inbox.inbox = "sakura-pull";
    CHECK(store->claim_pull(other_inbox));
}

TEST_CASE("pull records move to finished and leave the open list") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto a = pull("/exports/a.csv", 1, 1);
    auto b = pull("/exports/b.csv", 2, 2);
    b.claimed_at = at_ms(1'700'000'001'000);
    REQUIRE(store->claim_pull(b));
    REQUIRE(store->claim_pull(a));
    auto open = store->open_pulls("acme-pull", "");
    REQUIRE(open.size() == 2);
    CHECK(open[0].remote_path == "/exports/a.csv");
    CHECK(open[1].remote_path == "/exports/b.csv");

    a.state = "finished";
    a.finished_at = at_ms(1'700'000'002'000);
    store->put_pull(a);
    open = store->open_pulls("acme-pull", "");
    REQUIRE(open.size() == 1);
    CHECK(open[0].remote_path == "/exports/b.csv");
    auto found = store->find_pull("acme-pull", "/exports/a.csv", 1, 1);
    REQUIRE(found);
    CHECK(found->state == "finished");
    CHECK(found->finished_at == at_ms(1'700'000'002'000));
    CHECK(found->claim == "0001_Conversions_1.csv");
    CHECK(store->open_pulls("sakura-pull", "").empty());
}

TEST_CASE("a forgotten pull can be claimed again") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto a = pull("/exports/a.csv", 1, 1);
    REQUIRE(store->claim_pull(a));
    store->forget_pull(a);
    CHECK_FALSE(store->find_pull("acme-pull", "/exports/a.csv", 1, 1));
    CHECK(store->claim_pull(a));
}

TEST_CASE("open pulls are those of their owner and those of no owner") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto record = [](std::string path, std::string owner) {
        PullRecord r;
        r.inbox = "in";
        r.remote_path = std::move(path);
        r.size = 1;
        r.mtime = 2;
        r.file_name = "f.csv";
        r.claim = "c-" + r.remote_path;
        r.state = "claimed";
        r.claimed_at = at_ms(1'000);
        r.owner = std::move(owner);
        return r;
    };
    REQUIRE(store->claim_pull(record("/a", "h1:/s/a")));
    REQUIRE(store->claim_pull(record("/b", "h2:/s/b")));
    REQUIRE(store->claim_pull(record("/c", "")));
    // The same file cannot be claimed by another owner.
    CHECK_FALSE(store->claim_pull(record("/a", "h2:/s/b")));
    std::vector<std::string> mine;
    for (const PullRecord& r : store->open_pulls("in", "h1:/s/a"))
        mine.push_back(r.remote_path + "@" + r.owner);
    CHECK(mine == std::vector<std::string>{"/a@h1:/s/a", "/c@"});
    CHECK(store->open_pulls("in", "h2:/s/b").size() == 2);
    CHECK(store->open_pulls("other", "h1:/s/a").empty());
}

namespace {

PullRecord owned(std::string path, std::string owner, std::chrono::milliseconds lease) {
    PullRecord r = pull(std::move(path), 1, 2);
    r.inbox = "in";
    r.claim = "c" + r.remote_path;
    r.owner = std::move(owner);
    r.lease = lease;
    return r;
}

std::vector<std::string> taken_paths(const std::vector<TakenPull>& taken) {
    std::vector<std::string> out;
    for (const TakenPull& t : taken) out.push_back(t.record.remote_path + "<" + t.from);
    return out;
}

}  // namespace

TEST_CASE(
    "a pull whose lease has ended is taken over once, by another service, on the store's clock") {
    using std::chrono::milliseconds;
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto other = open_store(dir.url());
    const milliseconds minute{60'000};
    REQUIRE(store->claim_pull(owned("/ended", "h1:/a", milliseconds{1})));
    REQUIRE(store->claim_pull(owned("/also-ended", "h1:/a", milliseconds{1})));
    REQUIRE(store->claim_pull(owned("/long", "h1:/a", minute)));
    REQUIRE(store->claim_pull(owned("/none", "h1:/a", milliseconds{0})));  // no lease: never taken
    REQUIRE(store->claim_pull(owned("/nobody", "", milliseconds{1})));     // everyone's already
    auto finished = owned("/finished", "h1:/a", milliseconds{1});
    REQUIRE(store->claim_pull(finished));
    finished.state = "finished";
    store->put_pull(finished);
    std::this_thread::sleep_for(milliseconds{50});
    // A renewal reaches only the owner's pulls of that inbox.
    CHECK(store->renew_pulls("elsewhere", "h1:/a", minute) == 0);
    CHECK(store->renew_pulls("in", "h9:/z", minute) == 0);

    // The owner itself takes nothing over.
    CHECK(store->take_over_pulls("in", "h1:/a", minute).empty());
    auto taken = other->take_over_pulls("in", "h2:/b", minute);
    CHECK(taken_paths(taken) == std::vector<std::string>{"/also-ended<h1:/a", "/ended<h1:/a"});
    for (const TakenPull& t : taken) CHECK(t.record.owner == "h2:/b");
    // Taken once: a third service finds nothing left, and the new owner's lease holds.
    CHECK(open_store(dir.url())->take_over_pulls("in", "h3:/c", minute).empty());
    std::vector<std::string> h2;
    for (const PullRecord& r : store->open_pulls("in", "h2:/b")) h2.push_back(r.remote_path);
    CHECK(h2 == std::vector<std::string>{"/also-ended", "/ended", "/nobody"});
    std::vector<std::string> h1;
    for (const PullRecord& r : store->open_pulls("in", "h1:/a")) h1.push_back(r.remote_path);
    CHECK(h1 == std::vector<std::string>{"/long", "/nobody", "/none"});
    // The old owner's renewal no longer reaches what was taken from it.
    CHECK(store->renew_pulls("in", "h1:/a", milliseconds{1}) == 2);  // /long and /none
    std::this_thread::sleep_for(milliseconds{50});
    taken = other->take_over_pulls("in", "h2:/b", minute);
    CHECK(taken_paths(taken) == std::vector<std::string>{"/long<h1:/a", "/none<h1:/a"});
}

TEST_CASE("a renewed lease keeps a pull its owner's") {
    using std::chrono::milliseconds;
    TempDir dir;
    auto store = migrated_store(dir.url());
    REQUIRE(store->claim_pull(owned("/a", "h1:/a", milliseconds{1})));
    REQUIRE(store->claim_pull(owned("/b", "h1:/a", milliseconds{1})));
    CHECK(store->renew_pulls("in", "h1:/a", milliseconds{60'000}) == 2);
    std::this_thread::sleep_for(milliseconds{50});
    CHECK(open_store(dir.url())->take_over_pulls("in", "h2:/b", milliseconds{60'000}).empty());
}
