#pragma once
// inotify on the inbox folders: a hint that a sweep is worth doing now (a file was closed
// after writing, or moved in). Never the truth: events can be lost or overflow, and
// the periodic sweep catches whatever they miss.
#include <filesystem>
#include <vector>

namespace actiondrop::ingest {

class InboxWatch {
public:
    InboxWatch();  // throws std::system_error when inotify is not available
    ~InboxWatch();
    InboxWatch(const InboxWatch&) = delete;
    InboxWatch& operator=(const InboxWatch&) = delete;

    // Watches exactly these folders from now on. Returns the folders that could not be
    // watched (they are still swept).
    std::vector<std::filesystem::path> watch(const std::vector<std::filesystem::path>& folders);

    int fd() const { return fd_; }  // readable when something happened
    // Reads every pending event; true when there was at least one.
    bool drain();

private:
    int fd_ = -1;
    std::vector<int> watches_;
};

}  // namespace actiondrop::ingest
