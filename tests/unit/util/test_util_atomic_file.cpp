#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/atomic_file.hpp"

using namespace actiondrop::util;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
fs::path fresh_dir(const char* name) {
    auto dir = fs::temp_directory_path() / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}
}  // namespace

TEST_CASE("write_file_atomically replaces the destination and leaves no temporary file") {
    auto dir = fresh_dir("actiondrop_atomic_test");
    write_file_atomically(dir / "result.csv", "first\r\n");
    write_file_atomically(dir / "result.csv", "second\r\n");
    CHECK(slurp(dir / "result.csv") == "second\r\n");
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);
    fs::remove_all(dir);
}

TEST_CASE("copy_file_atomically copies bytes exactly") {
    auto dir = fresh_dir("actiondrop_atomic_copy_test");
    std::string big(3 * 1024 * 1024 + 7, 'x');
    big[12345] = '\0';
    { std::ofstream(dir / "src", std::ios::binary) << big; }
    copy_file_atomically(dir / "src", dir / "dst");
    CHECK(slurp(dir / "dst") == big);
    fs::remove_all(dir);
}

TEST_CASE("atomic writes into a missing folder fail with the path in the message") {
    try {
        write_file_atomically("/nonexistent-actiondrop/x.csv", "x");
        FAIL("expected an exception");
    } catch (const std::system_error& e) {
        CHECK(std::string(e.what()).find("/nonexistent-actiondrop/") != std::string::npos);
    }
}

TEST_CASE(
    "an atomic write under the longest name a folder takes (255 bytes) works, its temporary name "
    "cut short") {
    auto dir = fresh_dir("actiondrop_atomic_long_test");
    const std::string name(255, 'n');
    write_file_atomically(dir / name, "long\r\n");
    CHECK(slurp(dir / name) == "long\r\n");
    int entries = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
    CHECK(entries == 1);
    fs::remove_all(dir);
}
