// The local copy of a download (pull/local_copy.hpp): kept only whole and durable, made
// durable while a large one is written.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

#include "pull/local_copy.hpp"
#include "temp_dir.hpp"

using actiondrop::pull::LocalCopy;
using actiondrop::testing::TempDir;

namespace {

// A block whose bytes say where they are, so that a reordered or lost block shows.
std::string block(std::size_t index, std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((index * 131 + i) % 251);
    return bytes;
}

constexpr std::size_t block_size = 1 << 20;

}  // namespace

TEST_CASE("local copy: a large copy is made durable while it is written, and kept whole") {
    TempDir dir;
    const auto path = dir.path() / "copy.csv";
    const std::size_t blocks = 2 * LocalCopy::durable_every / block_size + 3;
    std::string expected;
    {
        LocalCopy copy(path);
        for (std::size_t i = 0; i < blocks; ++i) {
            const std::string bytes = block(i, block_size);
            copy.append(bytes.data(), bytes.size());
            expected += bytes;
        }
        // The thread is asked at each durable_every bytes; it has not been told to stop yet.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (copy.durable_bytes() < LocalCopy::durable_every &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        CHECK(copy.durable_bytes() >= LocalCopy::durable_every);
        CHECK(copy.durable_bytes() <= expected.size());
        copy.keep();
    }
    REQUIRE(std::filesystem::file_size(path) == expected.size());
    CHECK(actiondrop::testing::read(path) == expected);
}

TEST_CASE("local copy: a small copy starts no background sync and is kept") {
    TempDir dir;
    const auto path = dir.path() / "small.csv";
    {
        LocalCopy copy(path);
        const std::string bytes = block(7, 4096);
        copy.append(bytes.data(), bytes.size());
        CHECK(copy.durable_bytes() == 0);
        copy.keep();
    }
    CHECK(actiondrop::testing::read(path) == block(7, 4096));
}

TEST_CASE("local copy: not kept, a large copy is removed, its background sync stopped") {
    TempDir dir;
    const auto path = dir.path() / "partial.csv";
    {
        LocalCopy copy(path);
        const std::string bytes = block(1, block_size);
        for (std::size_t i = 0; i < LocalCopy::durable_every / block_size + 1; ++i)
            copy.append(bytes.data(), bytes.size());
        CHECK(std::filesystem::exists(path));
    }  // a failed download: the destructor stops the thread and removes the file
    CHECK_FALSE(std::filesystem::exists(path));
}
