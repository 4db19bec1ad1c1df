#pragma once
// The local copy of a download, whatever the protocol (pull/remote_folder.hpp, download()):
// created or truncated, removed unless kept, so that a failure never leaves a partial file
// that could be mistaken for the whole; kept only once fsynced.
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace actiondrop::pull {

class LocalCopy {
public:
    // Bytes between two starts of writeback (append()); the final fsync then has little left.
    static constexpr std::uint64_t writeback_every = 8 << 20;

    explicit LocalCopy(const std::filesystem::path& path);  // throws std::system_error
    ~LocalCopy();
    LocalCopy(const LocalCopy&) = delete;
    LocalCopy& operator=(const LocalCopy&) = delete;

    // Writes at the end; every writeback_every bytes starts writing them back to the disk.
    void append(const char* data, std::size_t size);
    // Durable before the caller records the file as fetched; throws std::system_error.
    void keep();

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool kept_ = false;
    std::uint64_t written_ = 0, flushed_ = 0;
};

}  // namespace actiondrop::pull
