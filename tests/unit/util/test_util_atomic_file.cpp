#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

TEST_CASE(
    "copy_descriptor_atomically keeps a sparse file's holes, its bytes and its length, and the "
    "source's offset") {
    // An uploader's 2 GiB file of one hole took no disk in its inbox and 2 GiB in the state
    // folder once copied (a claim across mounts, the service's own copy of an upload).
    auto dir = fresh_dir("actiondrop_sparse_test");
    const fs::path source = dir / "sparse.csv";
    const std::string middle = "OrderId,Amount\r\n";
    {
        std::ofstream out(source, std::ios::binary);
        out << "head";
        out.seekp(std::streamoff{64} << 20);
        out << middle;
    }
    fs::resize_file(source, std::uintmax_t{256} << 20);  // a hole at the end too
    struct stat st {};
    REQUIRE(::stat(source.c_str(), &st) == 0);
    const bool sparse = st.st_blocks * 512 < (1 << 20);  // the file system keeps holes
    const int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::lseek(fd, 5, SEEK_SET) == 5);
    copy_descriptor_atomically(fd, source, dir / "copy.csv");
    CHECK(::lseek(fd, 0, SEEK_CUR) == 5);
    ::close(fd);
    CHECK(slurp(dir / "copy.csv") == slurp(source));
    REQUIRE(::stat((dir / "copy.csv").c_str(), &st) == 0);
    CHECK(st.st_size == std::int64_t{256} << 20);
    if (sparse) CHECK(st.st_blocks * 512 < (1 << 20));
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
