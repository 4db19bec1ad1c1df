#pragma once
// A batch file opened once and read only through its descriptor (docs/ingest.md, "Claims").
//
// A name can be swapped between two system calls; a descriptor cannot. So a claimed file
// is opened once, without following a link and without blocking on a FIFO, its status is
// checked on the descriptor (a regular file, one name, a size), and everything after —
// hashing, reading, reading again — goes through that descriptor. Readers use pread with
// offsets of their own, so several may read one descriptor at once (one thread gathers
// rows while another applies them).
#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <streambuf>
#include <string>

#include "util/sha256.hpp"

namespace actiondrop::util {

class OpenedFile {
public:
    // Opens `path` read-only. With `follow_links` false a symbolic link is refused (ELOOP).
    // Never blocks on a FIFO. Throws std::system_error naming the path.
    static OpenedFile open(const std::filesystem::path& path, bool follow_links);

    OpenedFile(OpenedFile&& other) noexcept;
    OpenedFile& operator=(OpenedFile&& other) noexcept;
    OpenedFile(const OpenedFile&) = delete;
    OpenedFile& operator=(const OpenedFile&) = delete;
    ~OpenedFile();

    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }  // for messages only
    // The status read from the descriptor when it was opened.
    const struct stat& status() const { return status_; }
    std::int64_t size() const { return static_cast<std::int64_t>(status_.st_size); }
    // Why this is no file to apply ("a FIFO", "a folder", "a file with 2 names (hard
    // links)"), or empty when it is a regular file with one name.
    std::string refusal() const;
    // True when the file's size, modification or change time differ from the ones read at
    // open: someone with a descriptor of their own wrote to it meanwhile.
    bool changed_since_open() const;
    // Hashes the whole file through the descriptor.
    FileDigest digest() const;

private:
    OpenedFile(int fd, std::filesystem::path path);
    int fd_ = -1;
    std::filesystem::path path_;
    struct stat status_ {};
};

// An input stream over a descriptor, from offset 0, by pread: the descriptor's own offset
// is never used, so streams over one descriptor do not disturb each other.
class DescriptorStream : public std::istream {
public:
    DescriptorStream(int fd, std::filesystem::path path_for_messages);
    ~DescriptorStream() override;

private:
    class Buffer;
    std::unique_ptr<Buffer> buffer_;
};

}  // namespace actiondrop::util
