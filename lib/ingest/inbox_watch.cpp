#include "ingest/inbox_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace actiondrop::ingest {

InboxWatch::InboxWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
}

InboxWatch::~InboxWatch() { ::close(fd_); }

std::vector<std::filesystem::path> InboxWatch::watch(
    const std::vector<std::filesystem::path>& folders) {
    for (int wd : watches_) ::inotify_rm_watch(fd_, wd);
    watches_.clear();
    std::vector<std::filesystem::path> unwatched;
    for (const auto& folder : folders) {
        int wd =
            ::inotify_add_watch(fd_, folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
        if (wd < 0)
            unwatched.push_back(folder);
        else
            watches_.push_back(wd);
    }
    return unwatched;
}

bool InboxWatch::drain() {
    alignas(inotify_event) char buffer[16 * 1024];
    bool any = false;
    while (true) {
        ssize_t n = ::read(fd_, buffer, sizeof buffer);
        if (n > 0) {
            any = true;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return any;  // EAGAIN: nothing more pending
    }
}

}  // namespace actiondrop::ingest
