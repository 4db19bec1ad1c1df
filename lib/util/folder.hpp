#pragma once
// Folders the service depends on: whether one is there, and holding one for one process.
#include <expected>
#include <filesystem>
#include <string>

namespace actiondrop::util {

// Empty when `folder` names a folder (links followed); otherwise what is wrong, to follow
// the folder's name in a message: "is gone (No such file or directory)", "is not a folder".
std::string folder_problem(const std::filesystem::path& folder);

// An exclusive lock on one file, held for the life of the object: actiondropd holds
// STATE_DIR/actiondropd.lock so that one service only takes claims in a state folder
// (docs/ingest.md, "One service per state folder"). The lock is flock(2)'s: the kernel drops
// it when the process ends, however it ends, so a crash never leaves a stale one. The file
// holds the holder's process id, for the message of the one refused; it is never removed
// (removing it would let a third process lock a new file while the first holds the old).
class HeldLock {
public:
    // Takes the lock without waiting. The error names the file and, when another process
    // holds it, that process's id.
    static std::expected<HeldLock, std::string> take(const std::filesystem::path& file);

    HeldLock(HeldLock&& other) noexcept;
    HeldLock& operator=(HeldLock&& other) noexcept;
    HeldLock(const HeldLock&) = delete;
    HeldLock& operator=(const HeldLock&) = delete;
    ~HeldLock();

private:
    explicit HeldLock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace actiondrop::util
