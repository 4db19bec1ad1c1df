#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "ingest/leftovers.hpp"
#include "test_ingest_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::ingest;
using namespace actiondrop::ingest::testing;
namespace fs = std::filesystem;

namespace {

// The pid of a process that has exited and been reaped.
long gone_pid() {
    pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    REQUIRE(child > 0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

}  // namespace

TEST_CASE("ingest: the writer of a temporary name is read from it") {
    CHECK(temporary_writer(".result_a.csv.4242.00000000deadbeef.tmp") == 4242);
    CHECK(temporary_writer(".a.b.c.77.0123456789abcdef.tmp") == 77);
    CHECK(temporary_writer("result_a.csv.4242.00000000deadbeef.tmp") == 0);  // not hidden
    CHECK(temporary_writer(".result_a.csv.4242.00000000deadbeef") == 0);
    CHECK(temporary_writer(".result_a.csv.42x.00000000deadbeef.tmp") == 0);
    CHECK(temporary_writer(".result_a.csv.4242.nothex.tmp") == 0);
    CHECK(temporary_writer(".4242.00000000deadbeef.tmp") == 0);  // no name before the pid
    CHECK(temporary_writer(".tmp") == 0);
}

TEST_CASE("ingest: temporaries of writers that are gone are removed, and others are kept") {
    TempDir tmp;
    const auto dead = gone_pid();
    const auto alive = static_cast<long>(::getppid());
    const std::vector<std::string> names = {
        fmt::format(".result_a.csv.{}.00000000deadbeef.tmp", dead),
        fmt::format(".a.csv_summary.json.{}.0000000000000001.tmp", ::getpid()),
        fmt::format(".result_b.csv.{}.00000000deadbeef.tmp", alive),
        ".upload.csv.part.tmp",  // an advertiser's own temporary name: not ours to remove
        "result_a.csv",
    };
    for (const auto& n : names) write(tmp.path() / n, "x");

    auto removed = remove_abandoned_temporaries(tmp.path());
    std::sort(removed.begin(), removed.end());
    std::vector<std::string> expected{names[0], names[1]};
    std::sort(expected.begin(), expected.end());
    CHECK(removed == expected);
    CHECK_FALSE(fs::exists(tmp.path() / names[0]));
    for (std::size_t i = 2; i < names.size(); ++i) CHECK(fs::exists(tmp.path() / names[i]));
    CHECK(remove_abandoned_temporaries(tmp.path() / "absent").empty());
}

TEST_CASE("ingest: only spool folders of decided batches are removed") {
    TempDir tmp;
    fs::create_directories(tmp.path() / "B-1");
    write(tmp.path() / "B-1" / "result_a.csv", "x");
    fs::create_directories(tmp.path() / "B-2");
    auto removed =
        remove_decided_spools(tmp.path(), [](const std::string& id) { return id == "B-1"; });
    CHECK(removed == std::vector<std::string>{"B-1"});
    CHECK_FALSE(fs::exists(tmp.path() / "B-1"));
    CHECK(fs::exists(tmp.path() / "B-2"));
}
