#pragma once
// Folders the service depends on: whether one is there, and holding one for one process.
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace actiondrop::util {

// Empty when `folder` names a folder (links followed); otherwise what is wrong, to follow
// the folder's name in a message: "is gone (No such file or directory)", "is not a folder".
std::string folder_problem(const std::filesystem::path& folder);

// Makes `folder` and the folders above it. When `folder` lies inside `state_dir`, that one
// must be there: a state folder that is gone (deleted, moved, a disk not mounted) is not
// made again, since what the service wrote into it would land on the disk beneath a mount
// point and be lost when the disk comes back (docs/ingest.md, "The state folder gone").
// Throws std::runtime_error naming both folders, or std::system_error when the folder
// cannot be made. A folder outside the state folder (an outbox) is made as it is.
void create_folders_in_state(const std::filesystem::path& state_dir,
                             const std::filesystem::path& folder);

// A folder opened once, without following a symbolic link in its place (O_NOFOLLOW on its
// last name), and reached from then on only through that descriptor: path() names it as
// /proc/self/fd/N, so a link put at its name afterwards (to another account's folder, or into
// the state folder) changes nothing of what is written or read through it
// (docs/ingest.md, "The outbox"). A folder above it may be a link: those are the
// sysadmin's.
class OpenedFolder {
public:
    // Throws std::system_error naming `folder` as `what` ("the outbox"): "is a symbolic
    // link" for a link, else why it cannot be opened (gone, not a folder).
    static OpenedFolder open(const std::filesystem::path& folder, std::string_view what);

    const std::filesystem::path& path() const { return through_; }  // /proc/self/fd/N
    const std::filesystem::path& shown() const { return shown_; }   // its name, for messages
    // `message` with path() put back as shown(): what an operator can read.
    std::string show(std::string message) const;
    // Throws `e` again (same code), its message shown.
    [[noreturn]] void rethrow_shown(const std::system_error& e) const;
    // f(path()), a std::system_error it throws thrown again with its message shown.
    template <class F>
    decltype(auto) within(F&& f) const {
        try {
            return std::forward<F>(f)(through_);
        } catch (const std::system_error& e) {
            rethrow_shown(e);
        }
    }

    OpenedFolder(OpenedFolder&& other) noexcept;
    OpenedFolder& operator=(OpenedFolder&& other) noexcept;
    OpenedFolder(const OpenedFolder&) = delete;
    OpenedFolder& operator=(const OpenedFolder&) = delete;
    ~OpenedFolder();

private:
    OpenedFolder(int fd, std::filesystem::path shown);
    int fd_ = -1;
    std::filesystem::path through_;
    std::filesystem::path shown_;
};

// Why HeldLock::take() did not take its lock.
struct LockRefused {
    bool held_elsewhere = false;  // another process holds it; else the file failed us
    std::string message;          // names the file, and the holder when there is one
};

// An exclusive lock on one file, held for the life of the object: actiondropd holds
// STATE_DIR/actiondropd.lock so that one service only takes claims in a state folder
// (docs/ingest.md, "One service per state folder"). The lock is flock(2)'s: on a local file
// system the kernel drops it when the process ends, however it ends, so a crash never leaves
// a stale one. The file holds the holder's process id and host name, for the message of the
// one refused; it is never removed (removing it would let a third process lock a new file
// while the first holds the old).
class HeldLock {
public:
    // Takes the lock without waiting.
    static std::expected<HeldLock, LockRefused> take(const std::filesystem::path& file);

    // Whether `file` still names the file this lock is on: false once it was removed or
    // replaced (its folder made again), when another process could lock the new one.
    bool still_at(const std::filesystem::path& file) const;

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
