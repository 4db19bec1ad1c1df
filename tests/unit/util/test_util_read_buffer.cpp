// util::ReadBuffer: the buffer files are read, hashed and copied through.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "temp_dir.hpp"
#include "util/opened_file.hpp"
#include "util/read_buffer.hpp"
#include "util/sha256.hpp"

using actiondrop::util::ReadBuffer;

TEST_CASE("read buffer: a file's size and a byte, at least 16 KiB, at most 1 MiB") {
    CHECK(ReadBuffer(0).size() == 16 << 10);
    CHECK(ReadBuffer(100).size() == 16 << 10);  // a file that grows is not read 101 bytes a time
    CHECK(ReadBuffer(100'000).size() == 100'001);
    CHECK(ReadBuffer((1 << 20) - 1).size() == 1 << 20);
    CHECK(ReadBuffer(50 << 20).size() == 1 << 20);
    CHECK(ReadBuffer(-1).size() == 1 << 20);  // not known
}

TEST_CASE("read buffer: sized by the descriptor's file") {
    actiondrop::testing::TempDir dir("actiondrop-read-buffer");
    const auto path = dir.path() / "sized.csv";
    std::ofstream(path, std::ios::binary) << std::string(100'000, 'x');
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    CHECK(ReadBuffer::for_descriptor(fd).size() == 100'001);
    ::close(fd);
    CHECK(ReadBuffer::for_descriptor(-1).size() == 1 << 20);  // fstat fails: not known
}

TEST_CASE("read buffer: a file that grew after it was opened is hashed whole") {
    actiondrop::testing::TempDir dir("actiondrop-read-buffer");
    const auto path = dir.path() / "grows.csv";
    std::ofstream(path, std::ios::binary) << "OrderId\n";
    auto opened = actiondrop::util::OpenedFile::open(path, /*follow_links=*/false);
    std::ofstream(path, std::ios::binary | std::ios::app) << std::string(3 << 20, 'x');
    const auto digest = opened.digest();
    CHECK(digest.size == 8 + (3 << 20));
    CHECK(digest.sha256 == actiondrop::util::digest_file(path).sha256);
}
