#pragma once
// A buffer to read a file of a known size through, in pieces of at most 1 MiB. A smaller
// file gets its size and one byte more (its end is seen by the same read), so that the many
// small files of an inbox do not each pay for a megabyte; but never less than 16 KiB, so that
// a file that grows after it was measured (an uploader may append to it) is not read a few
// bytes at a time. Not zeroed.
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace actiondrop::util {

class ReadBuffer {
public:
    static constexpr std::size_t kPiece = std::size_t{1} << 20;
    static constexpr std::size_t kLeast = std::size_t{16} << 10;
    // `file_size` < 0: not known, a whole piece.
    explicit ReadBuffer(std::int64_t file_size)
        : size_(file_size < 0
                    ? kPiece
                    : std::clamp(static_cast<std::size_t>(file_size) + 1, kLeast, kPiece)),
          data_(std::make_unique_for_overwrite<char[]>(size_)) {}
    // For the file open on `fd`, at the size fstat gives (a whole piece if it fails).
    static ReadBuffer for_descriptor(int fd) {
        struct stat status {};
        return ReadBuffer(::fstat(fd, &status) == 0 ? status.st_size : -1);
    }
    char* data() { return data_.get(); }
    std::size_t size() const { return size_; }

private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
};

}  // namespace actiondrop::util
