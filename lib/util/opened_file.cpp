#include "util/opened_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>
#include <vector>

#include "util/read_buffer.hpp"

namespace actiondrop::util {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(int err, const char* what, const fs::path& path) {
    throw std::system_error(err, std::generic_category(),
                            fmt::format("{} {}", what, path.string()));
}

// Reads up to `size` bytes at `offset`; fewer only at the end of the file.
std::size_t read_at(int fd, char* into, std::size_t size, std::int64_t offset,
                    const fs::path& path) {
    std::size_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, into + done, size - done,
                                  static_cast<off_t>(offset) + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(errno, "cannot read", path);
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

}  // namespace

OpenedFile OpenedFile::open(const fs::path& path, bool follow_links) {
    const int flags =
        O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow_links ? 0 : O_NOFOLLOW);
    const int fd = ::open(path.c_str(), flags);
    if (fd < 0) fail(errno, "cannot open", path);
    return OpenedFile(fd, path);
}

OpenedFile::OpenedFile(int fd, fs::path path) : fd_(fd), path_(std::move(path)) {
    if (::fstat(fd_, &status_) != 0) {
        const int err = errno;
        ::close(fd_);
        fail(err, "cannot stat", path_);
    }
    // Reads of a regular file never block; the flag only kept open() from waiting on a FIFO.
    const int fl = ::fcntl(fd_, F_GETFL);
    if (fl >= 0) ::fcntl(fd_, F_SETFL, fl & ~O_NONBLOCK);
}

OpenedFile::OpenedFile(OpenedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), status_(other.status_) {}

OpenedFile& OpenedFile::operator=(OpenedFile&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
        path_ = std::move(other.path_);
        status_ = other.status_;
    }
    return *this;
}

OpenedFile::~OpenedFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::string OpenedFile::refusal() const {
    const mode_t mode = status_.st_mode;
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISDIR(mode)) return "a folder";
    if (!S_ISREG(mode)) return "not a regular file";
    if (status_.st_nlink > 1)
        return fmt::format("a file with {} names (hard links)",
                           static_cast<unsigned long>(status_.st_nlink));
    return {};
}

bool OpenedFile::changed_since_open() const {
    struct stat now {};
    if (::fstat(fd_, &now) != 0) fail(errno, "cannot stat", path_);
    auto same = [](const timespec& a, const timespec& b) {
        return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
    };
    return now.st_size != status_.st_size || !same(now.st_mtim, status_.st_mtim) ||
           !same(now.st_ctim, status_.st_ctim);
}

FileDigest OpenedFile::digest() const {
    Sha256 sha;
    FileDigest digest;
    ReadBuffer buffer(status_.st_size);
    for (;;) {
        const std::size_t n = read_at(fd_, buffer.data(), buffer.size(), digest.size, path_);
        if (n == 0) break;
        sha.update(buffer.data(), n);
        digest.size += static_cast<std::int64_t>(n);
    }
    digest.sha256 = sha.hex();
    return digest;
}

class DescriptorStream::Buffer : public std::streambuf {
public:
    Buffer(int fd, fs::path path) : fd_(fd), path_(std::move(path)), data_(64 << 10) {}

protected:
    int_type underflow() override {
        if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
        const std::size_t n = read_at(fd_, data_.data(), data_.size(), offset_, path_);
        if (n == 0) return traits_type::eof();
        offset_ += static_cast<std::int64_t>(n);
        setg(data_.data(), data_.data(), data_.data() + n);
        return traits_type::to_int_type(*gptr());
    }

private:
    int fd_;
    fs::path path_;
    std::vector<char> data_;
    std::int64_t offset_ = 0;
};

DescriptorStream::DescriptorStream(int fd, fs::path path_for_messages)
    : std::istream(nullptr), buffer_(std::make_unique<Buffer>(fd, std::move(path_for_messages))) {
    rdbuf(buffer_.get());
    // A read error must not look like the end of the file: it is thrown as it happened.
    exceptions(std::ios::badbit);
}

DescriptorStream::~DescriptorStream() = default;

}  // namespace actiondrop::util
