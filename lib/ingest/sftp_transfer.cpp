// Downloads and uploads of SftpSession. libssh 0.10's asynchronous reads assume every
// reply is full-length and block when replies are awaited out of order, so the pipeline
// below keeps its own offsets, consumes replies in the order it sent them and asks again
// for whatever a short reply left out.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "ingest/sftp_handles.hpp"
#include "ingest/sftp_session.hpp"
#include "util/sha256.hpp"

namespace actiondrop::ingest {

namespace {

constexpr std::uint32_t request_bytes = 64 * 1024;
constexpr std::size_t first_window = 4;  // requests in flight at the start (slow start)
constexpr std::size_t max_window = 32;
constexpr std::uint32_t smallest_request = 4 * 1024;

// The local copy; removed unless the download is kept, so a failure never leaves a
// partial file that could be mistaken for the whole.
class LocalCopy {
public:
    explicit LocalCopy(const std::filesystem::path& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd_ < 0)
            throw std::system_error(errno, std::generic_category(), "creating " + path.string());
    }
    ~LocalCopy() {
        if (fd_ >= 0) ::close(fd_);
        if (!kept_) ::unlink(path_.c_str());
    }
    LocalCopy(const LocalCopy&) = delete;
    LocalCopy& operator=(const LocalCopy&) = delete;

    void append(const char* data, std::size_t size) {
        while (size > 0) {
            ssize_t n = ::write(fd_, data, size);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                throw std::system_error(errno, std::generic_category(),
                                        "writing " + path_.string());
            data += n;
            size -= static_cast<std::size_t>(n);
        }
    }
    // Starts writing back what is written so far, so that the final fsync has little left.
    void start_writeback(std::uint64_t offset, std::uint64_t length) {
        ::sync_file_range(fd_, static_cast<off64_t>(offset), static_cast<off64_t>(length),
                          SYNC_FILE_RANGE_WRITE);
    }
    // Durable before the caller records the file as fetched.
    void keep() {
        if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
            int error = errno;
            fd_ = -1;
            throw std::system_error(error, std::generic_category(), "saving " + path_.string());
        }
        fd_ = -1;
        kept_ = true;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool kept_ = false;
};

// Closes a remote file handle; after a transport failure the socket is already shut, so
// the close fails at once instead of waiting for an answer.
struct RemoteFile {
    sftp_file file = nullptr;
    ~RemoteFile() {
        if (file != nullptr) sftp_close(file);
    }
};

// Writes and hashes the downloaded bytes on a second thread, in order, while the session's
// thread keeps decrypting: on one thread the disk and the hash halve the download rate.
class SpoolWriter {
public:
    SpoolWriter(LocalCopy& copy, util::Sha256& hash)
        : copy_(copy), hash_(hash), thread_([this] { run(); }) {}
    ~SpoolWriter() {
        if (thread_.joinable()) stop();
    }
    SpoolWriter(const SpoolWriter&) = delete;
    SpoolWriter& operator=(const SpoolWriter&) = delete;

    void push(std::vector<char> chunk) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [&] { return queue_.size() < max_queued || failure_; });
        if (failure_) std::rethrow_exception(failure_);
        queue_.push_back(std::move(chunk));
        lock.unlock();
        ready_.notify_one();
    }
    // Waits until everything pushed is written; rethrows a disk failure.
    void finish() {
        stop();
        if (failure_) std::rethrow_exception(failure_);
    }

private:
    static constexpr std::size_t max_queued = 64;  // 4 MiB of 64 KiB replies
    static constexpr std::uint64_t writeback_every = 8 << 20;

    void stop() {
        {
            std::lock_guard lock(mutex_);
            ending_ = true;
        }
        ready_.notify_one();
        thread_.join();
    }
    void run() {
        std::uint64_t written = 0, flushed = 0;
        std::unique_lock lock(mutex_);
        for (;;) {
            ready_.wait(lock, [&] { return !queue_.empty() || ending_; });
            if (queue_.empty()) return;
            std::vector<char> chunk = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            room_.notify_one();
            try {
                copy_.append(chunk.data(), chunk.size());
                hash_.update(chunk.data(), chunk.size());
                written += chunk.size();
                if (written - flushed >= writeback_every) {
                    copy_.start_writeback(flushed, written - flushed);
                    flushed = written;
                }
            } catch (...) {
                lock.lock();
                failure_ = std::current_exception();
                queue_.clear();
                room_.notify_all();
                return;
            }
            lock.lock();
        }
    }

    LocalCopy& copy_;
    util::Sha256& hash_;
    std::mutex mutex_;
    std::condition_variable ready_, room_;
    std::deque<std::vector<char>> queue_;
    bool ending_ = false;
    std::exception_ptr failure_;
    std::thread thread_;
};

struct Request {
    std::uint64_t offset;
    std::uint32_t length;
    std::uint32_t id;
};

}  // namespace

SftpResult<Download> SftpSession::download(const std::string& remote_path,
                                           const std::filesystem::path& local,
                                           const DownloadProgress& progress) {
    if (!connected())
        return std::unexpected(
            make_error(SftpErrorKind::ConnectFailed, "not connected to " + endpoint_.host));
    Handles& h = *handles_;
    Watch watch(h.guard, h.ssh, endpoint_.io_timeout);
    RemoteFile remote{sftp_open(h.sftp, remote_path.c_str(), O_RDONLY, 0)};
    if (remote.file == nullptr) return std::unexpected(h.failure("opening " + remote_path));
    std::unique_ptr<sftp_attributes_struct, void (*)(sftp_attributes)> before(
        sftp_fstat(remote.file), sftp_attributes_free);
    if (!before) return std::unexpected(h.failure("reading attributes of " + remote_path));
    if (before->type != SSH_FILEXFER_TYPE_REGULAR)
        return std::unexpected(
            make_error(SftpErrorKind::Refused, remote_path + " is not a regular file"));
    const std::uint64_t size = before->size;

    LocalCopy copy(local);
    util::Sha256 hash;
    std::uint64_t written = 0;
    // Replies that arrived while an earlier short reply's remainder is still on its way.
    std::map<std::uint64_t, std::vector<char>> waiting;
    SpoolWriter writer(copy, hash);
    auto deliver = [&](std::uint64_t offset, const char* data, std::size_t length) {
        if (offset != written) {
            waiting.emplace(offset, std::vector<char>(data, data + length));
            return;
        }
        writer.push(std::vector<char>(data, data + length));
        written += length;
        for (auto it = waiting.begin(); it != waiting.end() && it->first == written;
             it = waiting.erase(it)) {
            written += it->second.size();
            writer.push(std::move(it->second));
        }
        if (progress) progress(static_cast<std::int64_t>(written));
    };

    auto fail = [&](SftpError error) -> SftpResult<Download> {
        return std::unexpected(std::move(error));
    };
    std::deque<Request> in_flight;
    std::deque<std::pair<std::uint64_t, std::uint32_t>> remainders;
    std::uint64_t next_offset = 0;  // first byte never asked for yet
    std::uint32_t chunk = request_bytes;
    std::size_t window = first_window;
    bool probed_end = false;
    std::vector<char> buffer(request_bytes);

    auto send = [&](std::uint64_t offset, std::uint32_t length) -> bool {
        sftp_seek64(remote.file, offset);  // libssh's own offset guesses wrong after short replies
        int id = sftp_async_read_begin(remote.file, length);
        if (id < 0) return false;
        in_flight.push_back({offset, length, static_cast<std::uint32_t>(id)});
        return true;
    };

    for (;;) {
        while (in_flight.size() < window) {
            bool sent;
            if (!remainders.empty()) {
                sent = send(remainders.front().first, remainders.front().second);
                remainders.pop_front();
            } else if (next_offset < size) {
                auto length =
                    static_cast<std::uint32_t>(std::min<std::uint64_t>(chunk, size - next_offset));
                sent = send(next_offset, length);
                next_offset += length;
            } else if (!probed_end && in_flight.empty() && written == size) {
                // One read past the end must say EOF, or the file grew while we read it.
                sent = send(size, request_bytes);
                probed_end = true;
            } else {
                break;
            }
            if (!sent) return fail(h.failure("requesting data of " + remote_path));
        }
        if (in_flight.empty()) break;

        const Request request = in_flight.front();
        int n = sftp_async_read(remote.file, buffer.data(), request.length, request.id);
        in_flight.pop_front();
        if (n < 0) return fail(h.failure("downloading " + remote_path));
        h.guard.feed();
        if (n == 0) {
            if (request.offset < size)
                return fail(make_error(
                    SftpErrorKind::ChangedWhileReading,
                    fmt::format("{} ended at {} bytes, shorter than the {} it had when opened",
                                remote_path, request.offset, size)));
            continue;  // the EOF that closes a complete download
        }
        if (request.offset >= size)
            return fail(make_error(
                SftpErrorKind::ChangedWhileReading,
                fmt::format("{} grew beyond the {} bytes it had when opened", remote_path, size)));
        auto got = static_cast<std::uint32_t>(n);
        if (got > request.length)
            return fail(make_error(SftpErrorKind::Protocol,
                                   remote_path + ": the server sent more than was asked for"));
        if (got < request.length) {
            remainders.emplace_back(request.offset + got, request.length - got);
            // A server that caps its replies is asked for no more than it gives.
            chunk = std::max(smallest_request, std::min(chunk, got));
        }
        deliver(request.offset, buffer.data(), got);
        window = std::min(window + 1, max_window);
    }

    std::unique_ptr<sftp_attributes_struct, void (*)(sftp_attributes)> after(
        sftp_fstat(remote.file), sftp_attributes_free);
    if (!after) return fail(h.failure("reading attributes of " + remote_path));
    if (written != size || after->size != size || after->mtime != before->mtime)
        return fail(make_error(
            SftpErrorKind::ChangedWhileReading,
            fmt::format("{} changed while it was downloaded ({} bytes read, {} at the start, {} "
                        "at the end)",
                        remote_path, written, size, after->size)));
    writer.finish();
    copy.keep();
    return Download{static_cast<std::int64_t>(written), static_cast<std::int64_t>(before->mtime),
                    hash.hex()};
}

namespace {

std::string temporary_name(const std::string& name) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format(".{}.{:016x}.tmp", name, random());
}

}  // namespace

SftpResult<void> SftpSession::upload(const std::filesystem::path& local,
                                     const std::string& remote_folder, const std::string& name) {
    if (!connected())
        return std::unexpected(
            make_error(SftpErrorKind::ConnectFailed, "not connected to " + endpoint_.host));
    Handles& h = *handles_;
    int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "opening " + local.string());
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};

    const std::string temporary = remote_join(remote_folder, temporary_name(name));
    const std::string destination = remote_join(remote_folder, name);
    Watch watch(h.guard, h.ssh, endpoint_.io_timeout);
    auto give_up = [&](SftpError error) -> SftpResult<void> {
        if (connected()) sftp_unlink(h.sftp, temporary.c_str());
        return std::unexpected(std::move(error));
    };
    {
        RemoteFile remote{sftp_open(h.sftp, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640)};
        if (remote.file == nullptr) return std::unexpected(h.failure("creating " + temporary));
        std::vector<char> buffer(request_bytes);
        for (;;) {
            ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                throw std::system_error(errno, std::generic_category(),
                                        "reading " + local.string());
            if (n == 0) break;
            if (sftp_write(remote.file, buffer.data(), static_cast<std::size_t>(n)) != n)
                return give_up(h.failure("writing " + temporary));
            h.guard.feed();
        }
        sftp_file closing = remote.file;
        remote.file = nullptr;
        if (sftp_close(closing) != SSH_NO_ERROR) return give_up(h.failure("closing " + temporary));
    }
    if (sftp_unlink(h.sftp, destination.c_str()) != SSH_OK) {
        SftpError error = h.failure("removing the old " + destination);
        if (error.kind != SftpErrorKind::NotFound) return give_up(std::move(error));
    }
    if (sftp_rename(h.sftp, temporary.c_str(), destination.c_str()) != SSH_OK)
        return give_up(h.failure("renaming " + temporary + " to " + destination));
    return {};
}

}  // namespace actiondrop::ingest
