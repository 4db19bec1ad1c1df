#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"
#include "util/folder.hpp"

using namespace actiondrop::util;
namespace fs = std::filesystem;

TEST_CASE("folder: a folder has no problem, and one gone or a file says which") {
    actiondrop::testing::TempDir tmp;
    CHECK(folder_problem(tmp.path()) == "");
    CHECK(folder_problem(tmp.path() / "missing") == "is gone (No such file or directory)");
    std::ofstream(tmp.path() / "file") << "x";
    CHECK(folder_problem(tmp.path() / "file") == "is not a folder");
    fs::create_directory_symlink(tmp.path(), tmp.path() / "link");
    CHECK(folder_problem(tmp.path() / "link") == "");
}

TEST_CASE("folder: folders in the state folder are made only while the state folder is there") {
    actiondrop::testing::TempDir tmp;
    const fs::path state = tmp.path() / "state";
    fs::create_directory(state);
    create_folders_in_state(state, state / "failed" / "acme");
    CHECK(fs::is_directory(state / "failed" / "acme"));
    create_folders_in_state(state, state / "failed" / "acme");  // there already: nothing to do

    fs::remove_all(state);
    try {
        create_folders_in_state(state, state / "archive" / "acme" / "2026");
        FAIL("made a folder in a state folder that is gone");
    } catch (const std::runtime_error& e) {
        const std::string what = e.what();
        CHECK(what.find(state.string() + " is gone") != std::string::npos);
        CHECK(what.find("archive/acme/2026") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(state));

    std::ofstream(state) << "a file where the state folder was";
    CHECK_THROWS_WITH_AS(create_folders_in_state(state, state / "invoices"),
                         doctest::Contains("is not a folder"), std::runtime_error);
    // A folder outside the state folder is no business of this check.
    create_folders_in_state(state, tmp.path() / "outbox" / "a");
    CHECK(fs::is_directory(tmp.path() / "outbox" / "a"));
}

TEST_CASE("folder: a held lock refuses a second taker, naming its holder, until it is let go") {
    actiondrop::testing::TempDir tmp;
    const auto file = tmp.path() / "actiondropd.lock";
    {
        auto first = HeldLock::take(file);
        REQUIRE(first.has_value());
        // flock(2) locks belong to the open file: a second open in this process conflicts
        // as another process's would.
        auto second = HeldLock::take(file);
        REQUIRE_FALSE(second.has_value());
        CHECK(second.error().held_elsewhere);
        char host[256] = {};
        REQUIRE(::gethostname(host, sizeof host - 1) == 0);
        CHECK(second.error().message ==
              file.string() + " is held by process " + std::to_string(::getpid()) + " on " + host);
        CHECK(first->still_at(file));
        // Moved, the lock stays held.
        HeldLock moved = std::move(*first);
        CHECK_FALSE(HeldLock::take(file).has_value());
    }
    // Let go: the file stays, and the next taker gets it.
    CHECK(fs::exists(file));
    auto again = HeldLock::take(file);
    REQUIRE(again.has_value());
    // Removed, or replaced by another file, the path no longer names the lock held, and a
    // new file there can be locked by another.
    fs::remove(file);
    CHECK_FALSE(again->still_at(file));
    auto other = HeldLock::take(file);
    REQUIRE(other.has_value());
    CHECK(other->still_at(file));
    CHECK_FALSE(again->still_at(file));
}

TEST_CASE("folder: a lock file that cannot be opened is a failure, not another holder") {
    actiondrop::testing::TempDir tmp;
    auto taken = HeldLock::take(tmp.path() / "missing" / "actiondropd.lock");
    REQUIRE_FALSE(taken.has_value());
    CHECK_FALSE(taken.error().held_elsewhere);
    CHECK(taken.error().message.starts_with("cannot open " + tmp.path().string()));
}

TEST_CASE("folder: a lock is never taken through a symbolic link") {
    actiondrop::testing::TempDir tmp;
    std::ofstream(tmp.path() / "elsewhere") << "";
    fs::create_symlink(tmp.path() / "elsewhere", tmp.path() / "actiondropd.lock");
    auto taken = HeldLock::take(tmp.path() / "actiondropd.lock");
    REQUIRE_FALSE(taken.has_value());
    CHECK_FALSE(taken.error().held_elsewhere);
    CHECK(taken.error().message.find("cannot open") != std::string::npos);
}
