#include <doctest/doctest.h>

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
    for (const PullRecord& r : store->open_pulls("in", "h1:/s/a")) mine.push_back(r.remote_path + "@" + r.owner);
    CHECK(mine == std::vector<std::string>{"/a@h1:/s/a", "/c@"});
    CHECK(store->open_pulls("in", "h2:/s/b").size() == 2);
    CHECK(store->open_pulls("other", "h1:/s/a").empty());
}
