#include "pull/secret_file.hpp"

#include <fmt/format.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <system_error>

#include "util/opened_file.hpp"

namespace actiondrop::pull {

namespace {

// Why a file with this status may not hold a secret, or nullopt when it may.
std::optional<std::string> unsafe_secret_file(const struct ::stat& st) {
    if (!S_ISREG(st.st_mode)) return "is not a file";
    if ((st.st_mode & 077) != 0)
        return fmt::format(
            "is accessible by group or others (mode {:04o}); refused, as OpenSSH refuses such "
            "a key: chmod 600 it",
            st.st_mode & 07777);
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
        return fmt::format(
            "belongs to another user (uid {}, we run as uid {}); refused: chown it to the "
            "service's user",
            st.st_uid, ::geteuid());
    return std::nullopt;
}

}  // namespace

Secret::~Secret() { ::explicit_bzero(text.data(), text.size()); }

std::expected<void, std::string> read_secret_file(const std::filesystem::path& path, Secret& out) {
    constexpr std::size_t kLargest = 64 * 1024;  // a key of 16,384 bits is 13 KiB
    // Opened once, without waiting on a FIFO put in the file's place; checked and read only
    // through that descriptor (util/opened_file.hpp).
    std::optional<util::OpenedFile> file;
    try {
        file.emplace(util::OpenedFile::open(path, /*follow_links=*/true));
    } catch (const std::system_error& e) {
        return std::unexpected("cannot be read: " + e.code().message());
    }
    if (auto why = unsafe_secret_file(file->status())) return std::unexpected(std::move(*why));
    if (static_cast<std::uint64_t>(file->size()) > kLargest)
        return std::unexpected(fmt::format("is larger than {} bytes", kLargest));
    // Sized once, so that no copy of the secret is left behind by a reallocation (nor in a
    // stream's buffer: read straight into it).
    out.text.resize(static_cast<std::size_t>(file->size()));
    std::size_t got = 0;
    while (got < out.text.size()) {
        const ssize_t n = ::pread(file->fd(), out.text.data() + got, out.text.size() - got,
                                  static_cast<off_t>(got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::unexpected(std::string("cannot be read: ") + std::strerror(errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.text.resize(got);
    return {};
}

std::expected<void, std::string> read_password_file(const std::filesystem::path& path,
                                                    Secret& out) {
    if (auto read = read_secret_file(path, out); !read) return read;
    if (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
    if (!out.text.empty() && out.text.back() == '\r') out.text.pop_back();
    if (out.text.empty()) return std::unexpected(std::string("is empty"));
    // A second line would be sent as a command of its own on an FTP control connection, and
    // is never part of a password that an SSH server expects either.
    if (out.text.find_first_of("\r\n") != std::string::npos)
        return std::unexpected(std::string("holds more than one line"));
    return {};
}

}  // namespace actiondrop::pull
