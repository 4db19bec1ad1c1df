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
#include <memory>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <vector>

#include "pull/local_copy.hpp"
#include "pull/sftp/sftp_handles.hpp"
#include "pull/sftp/sftp_session.hpp"

namespace actiondrop::pull {

namespace {

// Requests of 16 KiB to 252 KiB (OpenSSH's server answers up to 255 KiB), 8 to 128 of them in
// flight, measured the same: libssh's cost is per byte, and its channel window (1.28 MB)
// bounds what is in flight anyway (docs/ingest.md, "What bounds an SFTP download's speed").
constexpr std::uint32_t request_bytes = 64 * 1024;
constexpr std::size_t first_window = 4;  // requests in flight at the start (slow start)
constexpr std::size_t max_window = 32;
constexpr std::uint32_t smallest_request = 4 * 1024;

// Closes a remote file handle; after a transport failure the socket is already shut, so
// the close fails at once instead of waiting for an answer.
struct RemoteFile {
    sftp_file file = nullptr;
    ~RemoteFile() {
        if (file != nullptr) sftp_close(file);
    }
};

// A stretch of the file, received in place: replies are read straight into it at their
// own offsets, and it goes to the spool writer once every byte of it has arrived.
struct Block {
    std::uint64_t offset = 0;
    std::size_t length = 0;
    std::unique_ptr<char[]> data;
};

// Writes the downloaded blocks on a second thread, in order, while the session's thread
// keeps decrypting. The copy is not hashed here: the claim hashes every file, pulled or
// dropped, once, from the bytes on our disk (a SHA-256 costs more CPU than the AES-GCM
// decryption of the same bytes). Blocks come back through `buffer()` so that a download
// allocates only a handful of them.
class SpoolWriter {
public:
    explicit SpoolWriter(LocalCopy& copy) : copy_(copy), thread_([this] { run(); }) {}
    ~SpoolWriter() {
        if (thread_.joinable()) stop();
    }
    SpoolWriter(const SpoolWriter&) = delete;
    SpoolWriter& operator=(const SpoolWriter&) = delete;

    void push(Block block) {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [&] { return queue_.size() < max_queued || failure_; });
        if (failure_) std::rethrow_exception(failure_);
        queue_.push_back(std::move(block));
        const bool wake = idle_;
        lock.unlock();
        if (wake) ready_.notify_one();
    }
    // An empty buffer of block_bytes, reused when the writer has one.
    std::unique_ptr<char[]> buffer() {
        {
            std::lock_guard lock(mutex_);
            if (!spare_.empty()) {
                auto b = std::move(spare_.back());
                spare_.pop_back();
                return b;
            }
        }
        return std::make_unique_for_overwrite<char[]>(block_bytes);
    }
    // Waits until everything pushed is written; rethrows a disk failure.
    void finish() {
        stop();
        if (failure_) std::rethrow_exception(failure_);
    }

    // One request's worth: a few recycled blocks stay in the CPU cache between the network
    // and the disk, where 1 MiB blocks measured much slower.
    static constexpr std::size_t block_bytes = request_bytes;

private:
    static constexpr std::size_t max_queued = 64;  // 4 MiB between the network and the disk

    void stop() {
        {
            std::lock_guard lock(mutex_);
            ending_ = true;
        }
        ready_.notify_one();
        thread_.join();
    }
    void run() {
        std::unique_lock lock(mutex_);
        for (;;) {
            idle_ = true;
            ready_.wait(lock, [&] { return !queue_.empty() || ending_; });
            idle_ = false;
            if (queue_.empty()) return;
            Block block = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            room_.notify_one();
            try {
                copy_.append(block.data.get(), block.length);
            } catch (...) {
                lock.lock();
                failure_ = std::current_exception();
                queue_.clear();
                room_.notify_all();
                return;
            }
            lock.lock();
            spare_.push_back(std::move(block.data));
        }
    }

    LocalCopy& copy_;
    std::mutex mutex_;
    std::condition_variable ready_, room_;
    std::deque<Block> queue_;
    std::vector<std::unique_ptr<char[]>> spare_;
    bool idle_ = false, ending_ = false;
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
                                           const DownloadProgress& progress,
                                           std::int64_t max_bytes) {
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
    // Judged on the size at opening, before the local copy exists: every request below stays
    // within that size, so a file that grows past the limit later is never read past it.
    if (max_bytes < 0 || size > static_cast<std::uint64_t>(max_bytes))
        return std::unexpected(make_error(
            SftpErrorKind::TooLarge,
            fmt::format("{} has {} bytes, more than the limit of {}; none of it was read",
                        remote_path, size, max_bytes)));

    LocalCopy copy(local);
    SpoolWriter writer(copy);
    constexpr std::uint64_t block_bytes = SpoolWriter::block_bytes;
    // Blocks that requests were sent for, in file order; the front one is handed to the
    // writer once `received` has passed its end.
    std::deque<Block> blocks;
    std::uint64_t received = 0;  // every byte before this offset has arrived
    // Replies that arrived beyond a gap a short reply left, by offset: (offset, length).
    std::map<std::uint64_t, std::uint64_t> beyond_gap;
    auto arrived = [&](std::uint64_t offset, std::uint64_t length) {
        if (offset != received) {
            beyond_gap.emplace(offset, length);
            return;
        }
        received += length;
        for (auto it = beyond_gap.begin(); it != beyond_gap.end() && it->first == received;
             it = beyond_gap.erase(it))
            received += it->second;
        while (!blocks.empty() && blocks.front().offset + blocks.front().length <= received) {
            writer.push(std::move(blocks.front()));
            blocks.pop_front();
        }
        if (progress) progress(static_cast<std::int64_t>(received));
    };
    // Where the bytes at `offset` go: inside the block that covers it.
    auto place = [&](std::uint64_t offset) -> char* {
        const Block& first = blocks.front();
        const Block& block = blocks[(offset - first.offset) / block_bytes];
        return block.data.get() + (offset - block.offset);
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
    char past_end[1];  // the reply to the EOF probe, if any

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
                if (blocks.empty() || next_offset == blocks.back().offset + blocks.back().length)
                    blocks.push_back(
                        {next_offset,
                         static_cast<std::size_t>(std::min(block_bytes, size - next_offset)),
                         writer.buffer()});
                // A request never crosses the end of a block.
                const std::uint64_t block_end = blocks.back().offset + blocks.back().length;
                auto length = static_cast<std::uint32_t>(
                    std::min<std::uint64_t>(chunk, block_end - next_offset));
                sent = send(next_offset, length);
                next_offset += length;
            } else if (!probed_end && in_flight.empty() && received == size) {
                // One read past the end must say EOF, or the file grew while we read it; a
                // single byte tells, and nothing more of a grown file is read.
                sent = send(size, 1);
                probed_end = true;
            } else {
                break;
            }
            if (!sent) return fail(h.failure("requesting data of " + remote_path));
        }
        if (in_flight.empty()) break;

        const Request request = in_flight.front();
        char* into = request.offset < size ? place(request.offset) : past_end;
        int n = sftp_async_read(remote.file, into, request.length, request.id);
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
        arrived(request.offset, got);
        window = std::min(window + 1, max_window);
    }

    std::unique_ptr<sftp_attributes_struct, void (*)(sftp_attributes)> after(
        sftp_fstat(remote.file), sftp_attributes_free);
    if (!after) return fail(h.failure("reading attributes of " + remote_path));
    if (received != size || after->size != size || after->mtime != before->mtime)
        return fail(make_error(
            SftpErrorKind::ChangedWhileReading,
            fmt::format("{} changed while it was downloaded ({} bytes read, {} at the start, {} "
                        "at the end)",
                        remote_path, received, size, after->size)));
    writer.finish();
    copy.keep();
    return Download{static_cast<std::int64_t>(received), static_cast<std::int64_t>(before->mtime)};
}

namespace {

std::string temporary_name(const std::string& name) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format(".{}.{:016x}.tmp", name, random());
}

}  // namespace

SftpResult<void> SftpSession::put(const std::filesystem::path& local,
                                  const std::string& remote_path) {
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

    Watch watch(h.guard, h.ssh, endpoint_.io_timeout);
    auto give_up = [&](SftpError error) -> SftpResult<void> {
        if (connected()) sftp_unlink(h.sftp, remote_path.c_str());
        return std::unexpected(std::move(error));
    };
    RemoteFile remote{sftp_open(h.sftp, remote_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0640)};
    if (remote.file == nullptr) return std::unexpected(h.failure("creating " + remote_path));
    std::vector<char> buffer(request_bytes);
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            throw std::system_error(errno, std::generic_category(), "reading " + local.string());
        if (n == 0) break;
        if (sftp_write(remote.file, buffer.data(), static_cast<std::size_t>(n)) != n)
            return give_up(h.failure("writing " + remote_path));
        h.guard.feed();
    }
    sftp_file closing = remote.file;
    remote.file = nullptr;
    if (sftp_close(closing) != SSH_NO_ERROR) return give_up(h.failure("closing " + remote_path));
    return {};
}

SftpResult<void> SftpSession::upload(const std::filesystem::path& local,
                                     const std::string& remote_folder, const std::string& name) {
    const std::string temporary = remote_join(remote_folder, temporary_name(name));
    const std::string destination = remote_join(remote_folder, name);
    if (auto written = put(local, temporary); !written) return written;
    Handles& h = *handles_;
    Watch watch(h.guard, h.ssh, endpoint_.io_timeout);
    auto give_up = [&](SftpError error) -> SftpResult<void> {
        if (connected()) sftp_unlink(h.sftp, temporary.c_str());
        return std::unexpected(std::move(error));
    };
    if (sftp_unlink(h.sftp, destination.c_str()) != SSH_OK) {
        SftpError error = h.failure("removing the old " + destination);
        if (error.kind != SftpErrorKind::NotFound) return give_up(std::move(error));
    }
    if (sftp_rename(h.sftp, temporary.c_str(), destination.c_str()) != SSH_OK)
        return give_up(h.failure("renaming " + temporary + " to " + destination));
    return {};
}

}  // namespace actiondrop::pull
