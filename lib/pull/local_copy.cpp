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
    stop_syncing();
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
    if (written_ - to_sync_ >= durable_every) {  // read unlocked: only append() writes it
        {
            std::lock_guard lock(mutex_);
            to_sync_ = written_;
        }
        if (!syncer_.joinable())
            syncer_ = std::thread([this] { sync_in_background(); });
        else
            wake_.notify_one();
    }
}

void LocalCopy::sync_in_background() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [&] { return stopping_ || to_sync_ > synced_; });
        if (stopping_) return;  // keep()'s fsync covers whatever was asked and not done
        const std::uint64_t target = to_sync_;
        lock.unlock();
        const int error = ::fdatasync(fd_) == 0 ? 0 : errno;
        lock.lock();
        if (error != 0 && sync_error_ == 0) sync_error_ = error;
        synced_ = target;
    }
}

void LocalCopy::stop_syncing() {
    if (!syncer_.joinable()) return;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    syncer_.join();
}

std::uint64_t LocalCopy::durable_bytes() const {
    std::lock_guard lock(mutex_);
    return sync_error_ == 0 ? synced_ : 0;
}

void LocalCopy::keep() {
    stop_syncing();
    // Linux reports a write-back error to one fsync of the descriptor only, so an error the
    // background thread saw would not come again here.
    int error = sync_error_;
    if (error == 0 && ::fsync(fd_) != 0) error = errno;
    if (::close(fd_) != 0 && error == 0) error = errno;
    fd_ = -1;
    if (error != 0)
        throw std::system_error(error, std::generic_category(), "saving " + path_.string());
    kept_ = true;
}

}  // namespace actiondrop::pull
