#pragma once
// The local copy of a download, whatever the protocol (pull/remote_folder.hpp, download()):
// created or truncated, removed unless kept, so that a failure never leaves a partial file
// that could be mistaken for the whole; kept only once fsynced.
//
// A large copy is made durable while it is written (docs/ingest.md, "A download's copy on
// our disk"): every durable_every bytes a thread of its own calls fdatasync, so the fsync
// that keep() waits for has only the last stretch left instead of the whole file.
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <thread>

namespace actiondrop::pull {

class LocalCopy {
public:
    // Bytes between two starts of writeback (append()).
    static constexpr std::uint64_t writeback_every = 8 << 20;
    // Bytes between two background fdatasyncs; a smaller copy never starts the thread.
    static constexpr std::uint64_t durable_every = 16 << 20;

    explicit LocalCopy(const std::filesystem::path& path);  // throws std::system_error
    ~LocalCopy();
    LocalCopy(const LocalCopy&) = delete;
    LocalCopy& operator=(const LocalCopy&) = delete;

    // Writes at the end; every writeback_every bytes starts writing them back to the disk,
    // and every durable_every bytes asks the background thread to make them durable.
    void append(const char* data, std::size_t size);
    // Durable before the caller records the file as fetched; throws std::system_error,
    // also when a background fdatasync failed (its error is not reported twice by Linux).
    void keep();

    // Bytes that a background fdatasync has made durable so far (0 for a small copy).
    std::uint64_t durable_bytes() const;

private:
    void sync_in_background();  // the thread's loop
    void stop_syncing();        // joins the thread; the fd stays open

    std::filesystem::path path_;
    int fd_ = -1;
    bool kept_ = false;
    std::uint64_t written_ = 0, flushed_ = 0;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::uint64_t to_sync_ = 0;  // written under mutex_, by append() only
    std::uint64_t synced_ = 0;   // under mutex_
    int sync_error_ = 0;         // under mutex_: the first fdatasync's errno
    bool stopping_ = false;      // under mutex_
    std::thread syncer_;
};

}  // namespace actiondrop::pull
