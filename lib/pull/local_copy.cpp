#include "pull/local_copy.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace actiondrop::pull {

LocalCopy::LocalCopy(const std::filesystem::path& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd_ < 0)
        throw std::system_error(errno, std::generic_category(), "creating " + path.string());
}

LocalCopy::~LocalCopy() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
}

void LocalCopy::append(const char* data, std::size_t size) {
    written_ += size;
    while (size > 0) {
        ssize_t n = ::write(fd_, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "writing " + path_.string());
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    if (written_ - flushed_ >= writeback_every) {
        ::sync_file_range(fd_, static_cast<off64_t>(flushed_),
                          static_cast<off64_t>(written_ - flushed_), SYNC_FILE_RANGE_WRITE);
        flushed_ = written_;
    }
}

void LocalCopy::keep() {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
        const int error = errno;
        fd_ = -1;
        throw std::system_error(error, std::generic_category(), "saving " + path_.string());
    }
    fd_ = -1;
    kept_ = true;
}

}  // namespace actiondrop::pull
