// The one rule for the secrets of SFTP and FTP pull inboxes (pull/secret_file.hpp).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>

#include "pull/secret_file.hpp"
#include "temp_dir.hpp"

using actiondrop::pull::read_password_file;
using actiondrop::pull::Secret;
using actiondrop::testing::TempDir;

namespace {

std::filesystem::path write_secret(const TempDir& dir, const std::string& content, mode_t mode) {
    const auto path = dir.path() / "password";
    actiondrop::testing::write(path, content);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path;
}

}  // namespace

TEST_CASE("password file: one line, its LF or CRLF end dropped") {
    TempDir dir;
    for (const std::string content : {"s3cret", "s3cret\n", "s3cret\r\n"}) {
        Secret s;
        REQUIRE(read_password_file(write_secret(dir, content, 0600), s));
        CHECK(s.text == "s3cret");
    }
    Secret s;
    REQUIRE(read_password_file(write_secret(dir, " with spaces\t", 0400), s));
    CHECK(s.text == " with spaces\t");
}

TEST_CASE("password file: refused when others may read or change it, empty, or of two lines") {
    TempDir dir;
    std::string content = "s3cret\n";
    mode_t mode = 0600;
    std::string why;
    SUBCASE("readable by its group") {
        mode = 0640;
        why = "mode 0640";
    }
    SUBCASE("writable by others") {
        mode = 0602;
        why = "mode 0602";
    }
    SUBCASE("empty") {
        content = "\n";
        why = "is empty";
    }
    SUBCASE("a second line, which FTP would send as a command of its own") {
        content = "s3cret\nDELE receipt.csv\n";
        why = "more than one line";
    }
    const auto path = write_secret(dir, content, mode);
    Secret s;
    auto got = read_password_file(path, s);
    REQUIRE_FALSE(got);
    CHECK(got.error().find(why) != std::string::npos);
    CHECK(got.error().find("s3cret") == std::string::npos);
}

TEST_CASE("password file: another user's, a folder, or none at all is refused") {
    TempDir dir;
    Secret s;
    auto missing = read_password_file(dir.path() / "none", s);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().find("No such file") != std::string::npos);
    auto folder = read_password_file(dir.path(), s);
    REQUIRE_FALSE(folder);
    CHECK(folder.error() == "is not a file");
    if (::geteuid() == 0) {
        const auto path = write_secret(dir, "s3cret\n", 0600);
        REQUIRE(::chown(path.c_str(), 65534, 65534) == 0);
        auto other = read_password_file(path, s);
        REQUIRE_FALSE(other);
        CHECK(other.error().find("belongs to another user (uid 65534") != std::string::npos);
    }
}

TEST_CASE("password file: a FIFO in its place is refused at once, and never waits for a writer") {
    // Opened without O_NONBLOCK, a FIFO holds the open until some process writes to it: the
    // puller's thread would wait there for ever.
    TempDir dir;
    const auto path = dir.path() / "password";
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    auto reading = std::async(std::launch::async, [&] {
        Secret s;
        return read_password_file(path, s);
    });
    const bool answered = reading.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    if (!answered) {
        // Free the reader, so that the test ends with its failure instead of hanging.
        const int fd = ::open(path.c_str(), O_WRONLY);
        if (fd >= 0) ::close(fd);
    }
    REQUIRE(answered);
    const auto got = reading.get();
    REQUIRE_FALSE(got);
    CHECK(got.error() == "is not a file");
}
