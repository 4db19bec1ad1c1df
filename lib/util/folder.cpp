#include "util/folder.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "util/atomic_file.hpp"

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

void create_folders_in_state(const std::filesystem::path& state_dir,
                             const std::filesystem::path& folder) {
    const auto inside = folder.lexically_relative(state_dir);
    const bool in_state = !inside.empty() && *inside.begin() != "..";
    if (auto problem = in_state ? folder_problem(state_dir) : ""; !problem.empty())
        throw std::runtime_error(
            fmt::format("cannot make {}: the state folder {} {}; it is not made again",
                        folder.string(), state_dir.string(), problem));
    create_folders(folder);
}

// The descriptor is the object's from the start: closed if naming it fails.
OpenedFolder::OpenedFolder(int fd, std::filesystem::path shown) try
    : fd_(fd), through_(fmt::format("/proc/self/fd/{}", fd)), shown_(std::move(shown)) {
} catch (...) {
    ::close(fd);
}

OpenedFolder OpenedFolder::open(const std::filesystem::path& folder, std::string_view what) {
    // O_PATH: only a name to reach the folder by, so a folder the service may write but not
    // list (an outbox) is opened too; each use through /proc/self/fd/N is checked as usual.
    const int fd = ::open(folder.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        // O_DIRECTORY makes a link ENOTDIR rather than ELOOP.
        struct stat st {};
        if ((err == ELOOP || err == ENOTDIR) && ::lstat(folder.c_str(), &st) == 0 &&
            S_ISLNK(st.st_mode))
            throw std::system_error(
                err, std::generic_category(),
                fmt::format("{} {} is a symbolic link: nothing is written or read through a link "
                            "put in its place",
                            what, folder.string()));
        throw std::system_error(err, std::generic_category(),
                                fmt::format("cannot open {} {}", what, folder.string()));
    }
    OpenedFolder opened(fd, folder);
    // Without /proc the descriptor cannot be named: say so now, not at the first write.
    if (::access(opened.through_.c_str(), F_OK) != 0) {
        const int err = errno;
        throw std::system_error(err, std::generic_category(),
                                fmt::format("cannot reach {} {} through {}: /proc is needed", what,
                                            folder.string(), opened.through_.string()));
    }
    return opened;
}

std::string OpenedFolder::show(std::string message) const {
    const std::string from = through_.string();
    const std::string to = shown_.string();
    for (auto at = message.find(from); at != std::string::npos; at = message.find(from, at)) {
        const auto end = at + from.size();
        // Only the whole name: /proc/self/fd/1 is not a part of /proc/self/fd/12.
        if (end < message.size() && std::isdigit(static_cast<unsigned char>(message[end]))) {
            at = end;
            continue;
        }
        message.replace(at, from.size(), to);
        at += to.size();
    }
    return message;
}

void OpenedFolder::rethrow_shown(const std::system_error& e) const {
    std::string message = show(e.what());
    const std::string reason = ": " + e.code().message();
    if (message.ends_with(reason)) message.resize(message.size() - reason.size());
    throw std::system_error(e.code(), message);
}

OpenedFolder::OpenedFolder(OpenedFolder&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      through_(std::move(other.through_)),
      shown_(std::move(other.shown_)) {}

OpenedFolder& OpenedFolder::operator=(OpenedFolder&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        through_ = std::move(other.through_);
        shown_ = std::move(other.shown_);
    }
    return *this;
}

OpenedFolder::~OpenedFolder() {
    if (fd_ >= 0) ::close(fd_);
}

std::expected<HeldLock, LockRefused> HeldLock::take(const std::filesystem::path& file) {
    auto failed = [&](const char* what) {
        const int err = errno;
        return std::unexpected(LockRefused{
            false, fmt::format("cannot {} {}: {}", what, file.string(), std::strerror(err))});
    };
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) return failed("open");
    HeldLock held(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return failed("lock");
        char text[HOST_NAME_MAX + 32] = {};
        const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
        std::string_view holder(text, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0'))
            holder.remove_suffix(1);
        std::string who = "another process";
        if (const auto cut = holder.find(' '); cut != std::string_view::npos)
            who = fmt::format("process {} on {}", holder.substr(0, cut), holder.substr(cut + 1));
        else if (!holder.empty())
            who = fmt::format("process {}", holder);
        return std::unexpected(
            LockRefused{true, fmt::format("{} is held by {}", file.string(), who)});
    }
    // Who holds it, for the message of the next one refused. Only a message: a disk that
    // cannot take these bytes does not give the lock up.
    char host[HOST_NAME_MAX + 1] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    const std::string line = fmt::format("{} {}\n", ::getpid(), host[0] != '\0' ? host : "?");
    if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, line.data(), line.size(), 0);
    return held;
}

bool HeldLock::still_at(const std::filesystem::path& file) const {
    struct stat held = {};
    struct stat named = {};
    if (::fstat(fd_, &held) != 0 || ::lstat(file.c_str(), &named) != 0) return false;
    return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
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
