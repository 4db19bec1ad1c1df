#include "util/atomic_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <random>
#include <string>
#include <system_error>

#include "util/read_buffer.hpp"

namespace actiondrop::util {
namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const char* what) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("{} {}", what, path.string()));
}

void write_all(int fd, const char* data, std::size_t size, const std::filesystem::path& path) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(path, "write");
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::filesystem::path temporary_name(const std::filesystem::path& destination) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    const std::string tail = fmt::format(".{}.{:016x}.tmp", ::getpid(), random());
    // ".NAME.PID.16HEX.tmp", with NAME cut short when the whole would not fit in a name (255
    // bytes): a claim of a long name (`<batch id>_NAME`) adds 30 bytes to it already. The
    // name's start and the tail (whose PID says whose it is) are what matter.
    std::string name = destination.filename().string();
    const std::size_t room = 255 - 1 - tail.size();
    if (name.size() > room) name.resize(room);
    return destination.parent_path() / ("." + name + tail);
}

// Writes through `fill` into a temporary file, then publishes it under `destination`.
template <typename Fill>
void publish(const std::filesystem::path& destination, Fill fill) {
    auto tmp = temporary_name(destination);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) fail(tmp, "create");
    try {
        fill(fd, tmp);
        if (::fsync(fd) != 0) fail(tmp, "fsync");
        if (::close(fd) != 0) {
            fd = -1;
            fail(tmp, "close");
        }
        fd = -1;
        if (::rename(tmp.c_str(), destination.c_str()) != 0) fail(destination, "rename to");
    } catch (...) {
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    fsync_directory(destination.parent_path().empty() ? "." : destination.parent_path());
}

}  // namespace

void fsync_directory(const std::filesystem::path& folder) {
    int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) fail(folder, "open folder");
    if (::fsync(fd) != 0) {
        ::close(fd);
        fail(folder, "fsync folder");
    }
    ::close(fd);
}

void create_folders(const std::filesystem::path& folder) {
    std::error_code ec;
    std::filesystem::create_directories(folder, ec);
    if (ec) throw std::system_error(ec, "cannot create " + folder.string());
}

void write_file_atomically(const std::filesystem::path& destination, std::string_view content) {
    publish(destination, [&](int fd, const std::filesystem::path& tmp) {
        write_all(fd, content.data(), content.size(), tmp);
    });
}

void copy_descriptor_atomically(int source_fd, const std::filesystem::path& source,
                                const std::filesystem::path& destination) {
    // The copy keeps the source's holes: a sparse upload of gigabytes, which costs its
    // uploader no disk, must not cost the state folder its length either (docs/ingest.md,
    // "Claims"). SEEK_DATA and SEEK_HOLE move the descriptor's offset; it is put back.
    const off_t kept_offset = ::lseek(source_fd, 0, SEEK_CUR);
    struct PutBack {
        int fd;
        off_t offset;
        ~PutBack() {
            if (offset >= 0) (void)::lseek(fd, offset, SEEK_SET);
        }
    } put_back{source_fd, kept_offset};
    publish(destination, [&](int fd, const std::filesystem::path& tmp) {
        ReadBuffer buffer = ReadBuffer::for_descriptor(source_fd);
        constexpr off_t kToTheEnd = std::numeric_limits<off_t>::max();
        off_t offset = 0, written_end = 0;
        for (;;) {
            // The next stretch of data: [data, hole). A file system without SEEK_DATA has
            // none: the whole file is data.
            off_t data = ::lseek(source_fd, offset, SEEK_DATA);
            off_t hole = kToTheEnd;
            if (data < 0) {
                if (errno == ENXIO) break;  // only a hole, if anything, from here on
                if (errno != EINVAL && errno != EOPNOTSUPP) fail(source, "seek");
                data = offset;
            } else if (hole = ::lseek(source_fd, data, SEEK_HOLE); hole < 0) {
                hole = kToTheEnd;
            }
            if (data != written_end && ::lseek(fd, data, SEEK_SET) != data) fail(tmp, "seek");
            offset = data;
            bool at_end = false;
            while (offset < hole) {
                const auto want = static_cast<std::size_t>(
                    std::min<off_t>(hole - offset, static_cast<off_t>(buffer.size())));
                ssize_t n = ::pread(source_fd, buffer.data(), want, offset);
                if (n < 0) {
                    if (errno == EINTR) continue;
                    fail(source, "read");
                }
                if (n == 0) {
                    at_end = true;
                    break;
                }
                write_all(fd, buffer.data(), static_cast<std::size_t>(n), tmp);
                offset += n;
            }
            written_end = offset;
            if (at_end || hole == kToTheEnd) break;
        }
        // A hole at the end has no data to write: the length says it.
        struct stat st {};
        if (::fstat(source_fd, &st) != 0) fail(source, "stat");
        if (const off_t length = std::max<off_t>(written_end, st.st_size);
            length > written_end && ::ftruncate(fd, length) != 0)
            fail(tmp, "truncate");
    });
}

void copy_file_atomically(const std::filesystem::path& source,
                          const std::filesystem::path& destination) {
    int in = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) fail(source, "open");
    try {
        copy_descriptor_atomically(in, source, destination);
    } catch (...) {
        ::close(in);
        throw;
    }
    ::close(in);
}

}  // namespace actiondrop::util
