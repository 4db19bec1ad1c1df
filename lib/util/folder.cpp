#include "util/folder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace actiondrop::util {

std::string folder_problem(const std::filesystem::path& folder) {
    struct stat st {};
    if (::stat(folder.c_str(), &st) != 0) {
        const int err = errno;
        return fmt::format("is gone ({})", std::strerror(err));
    }
    if (!S_ISDIR(st.st_mode)) return "is not a folder";
    return {};
}

std::expected<HeldLock, std::string> HeldLock::take(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        const int err = errno;
        return std::unexpected(
            fmt::format("cannot open {}: {}", file.string(), std::strerror(err)));
    }
    HeldLock held(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        if (err != EWOULDBLOCK)
            return std::unexpected(
                fmt::format("cannot lock {}: {}", file.string(), std::strerror(err)));
        char text[32] = {};
        const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
        std::string_view pid(text, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == '\0')) pid.remove_suffix(1);
        return std::unexpected(
            fmt::format("{} is held by process {}", file.string(),
                        pid.empty() ? std::string("(unknown)") : std::string(pid)));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
        const int err = errno;
        return std::unexpected(
            fmt::format("cannot write {}: {}", file.string(), std::strerror(err)));
    }
    return held;
}

HeldLock::HeldLock(HeldLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

HeldLock& HeldLock::operator=(HeldLock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

HeldLock::~HeldLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace actiondrop::util
