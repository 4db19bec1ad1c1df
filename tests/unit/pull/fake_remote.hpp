#pragma once
// An in-memory server behind RemoteServer and RemoteFolder (pull/remote_folder.hpp), for
// driving the puller without sshd. The test holds the FakeRemote and changes files and
// failures while the puller's thread works on it; every operation is recorded in order.
#include <fnmatch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pull/remote_folder.hpp"

namespace actiondrop::pull::testing {

struct FakeFile {
    std::string bytes;
    std::int64_t mtime = 1'700'000'000;
};

class FakeRemote {
public:
    // The files, by full path ("/in/a.csv"); folders are implied by the paths and `folders`.
    void put(const std::string& path, std::string bytes, std::int64_t mtime = 1'700'000'000) {
        std::lock_guard lock(mutex);
        files[path] = {std::move(bytes), mtime};
    }
    bool exists(const std::string& path) {
        std::lock_guard lock(mutex);
        return files.contains(path);
    }
    std::string bytes(const std::string& path) {
        std::lock_guard lock(mutex);
        auto it = files.find(path);
        return it == files.end() ? std::string("<missing>") : it->second.bytes;
    }
    std::vector<std::string> ops() {
        std::lock_guard lock(mutex);
        return log;
    }
    int connections() {
        std::lock_guard lock(mutex);
        return connects;
    }
    int count(const std::string& prefix) {
        std::lock_guard lock(mutex);
        int n = 0;
        for (const auto& op : log) n += op.starts_with(prefix);
        return n;
    }
    template <class F>
    void with(F&& f) {
        std::lock_guard lock(mutex);
        f(*this);
    }

    std::mutex mutex;
    std::map<std::string, FakeFile> files;
    std::set<std::string> folders;
    std::vector<std::string> log;

    // Injected failures.
    bool refuse_auth = false;  // connect() fails AuthFailed
    bool untrusted = false;    // connect() fails Untrusted
    bool down = false;         // connect() fails Lost
    int list_failures = 0;     // the next list() calls fail with list_error
    RemoteErrorKind list_error = RemoteErrorKind::Denied;
    std::string list_reply;  // what the server said, added to the failed listing's message
    int read_failures = 0;   // the next downloads lose the connection mid-file
    int changing_reads = 0;  // the next downloads find the file changing
    // The next downloads go silent after half the file, as a stalled server does, until the
    // folder is interrupted or `silence_limit` (the client's timeout) has passed; either way
    // the connection is then lost.
    int stalled_reads = 0;
    std::chrono::milliseconds silence_limit{5000};
    std::condition_variable interrupted;  // notified by FakeFolder::interrupt()
    int interrupts = 0;
    std::set<std::string> refuse_rename;        // renames from these paths are Denied
    std::set<std::string> lying_rename;  // renames from these paths succeed and do nothing
    std::string trust = "1";                    // RemoteServer::trust_stamp()
    std::vector<std::string> unreadable;        // listing lines the protocol could not read (FTP)
    std::chrono::milliseconds slow_connect{0};  // connect() takes this long unless interrupted
    std::set<std::string> vanish_once;          // the next download of these is NotFound
    int connects = 0;
    int live = 0;  // the connection count when it was last dropped + 1
};

class FakeFolder final : public RemoteFolder {
public:
    FakeFolder(FakeRemote& remote, int generation) : r_(remote), generation_(generation) {}

    bool connected() const override {
        std::lock_guard lock(r_.mutex);
        return r_.live == generation_;
    }
    RemoteResult<RemoteListing> list(const std::string& folder, std::string_view pattern,
                                     std::size_t budget) override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        r_.log.push_back("list " + folder);
        if (r_.list_failures > 0) {
            --r_.list_failures;
            if (r_.list_error == RemoteErrorKind::Lost) r_.live = 0;
            return std::unexpected(
                RemoteError{r_.list_error, "listing " + folder + " failed" + r_.list_reply});
        }
        RemoteListing out;
        out.unreadable = r_.unreadable;
        const std::string prefix = remote_join(folder, "");
        std::size_t seen = 0;
        for (const auto& [path, file] : r_.files) {
            if (!path.starts_with(prefix)) continue;
            const std::string name = path.substr(prefix.size());
            if (name.find('/') != std::string::npos) continue;
            if (::fnmatch(std::string(pattern).c_str(), name.c_str(), FNM_PERIOD) != 0) continue;
            if (++seen > budget) {
                out.complete = false;
                break;
            }
            out.files.push_back({name, static_cast<std::int64_t>(file.bytes.size()), file.mtime,
                                 RemoteType::RegularFile});
        }
        return out;
    }
    RemoteResult<RemoteEntry> stat(const std::string& path) override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        const auto name = std::filesystem::path(path).filename().string();
        if (auto it = r_.files.find(path); it != r_.files.end())
            return RemoteEntry{name, static_cast<std::int64_t>(it->second.bytes.size()),
                               it->second.mtime, RemoteType::RegularFile};
        if (r_.folders.contains(path)) return RemoteEntry{name, 0, 0, RemoteType::Folder};
        return std::unexpected(RemoteError{RemoteErrorKind::NotFound, path + ": no such file"});
    }
    RemoteResult<void> ping() override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        return {};
    }
    RemoteResult<Download> download(const std::string& remote_path,
                                    const std::filesystem::path& local,
                                    const DownloadProgress& progress,
                                    std::int64_t max_bytes) override {
        FakeFile file;
        bool fail = false;
        {
            std::lock_guard lock(r_.mutex);
            if (auto dead = gone()) return std::unexpected(*dead);
            r_.log.push_back("download " + remote_path);
            auto it = r_.files.find(remote_path);
            if (r_.vanish_once.erase(remote_path) > 0) it = r_.files.end();
            if (it == r_.files.end())
                return std::unexpected(
                    RemoteError{RemoteErrorKind::NotFound, remote_path + ": no such file"});
            file = it->second;
            if (static_cast<std::int64_t>(file.bytes.size()) > max_bytes)
                return std::unexpected(RemoteError{RemoteErrorKind::TooLarge, remote_path});
            if (r_.read_failures > 0) {
                --r_.read_failures;
                fail = true;
            }
            if (r_.changing_reads > 0) {
                --r_.changing_reads;
                return std::unexpected(RemoteError{RemoteErrorKind::ChangedWhileReading,
                                                   remote_path + " changed while it was read"});
            }
        }
        bool stall = false;
        {
            std::lock_guard lock(r_.mutex);
            if (r_.stalled_reads > 0) {
                --r_.stalled_reads;
                stall = fail = true;
            }
        }
        std::ofstream out(local, std::ios::binary | std::ios::trunc);
        const auto half = file.bytes.size() / 2;
        if (stall) {
            out.write(file.bytes.data(), static_cast<std::streamsize>(half));
            if (progress) progress(static_cast<std::int64_t>(half));
            std::unique_lock lock(r_.mutex);
            r_.log.push_back("stalled " + remote_path);
            r_.interrupted.wait_for(lock, r_.silence_limit, [&] { return interrupted_; });
        }
        out.write(file.bytes.data(), static_cast<std::streamsize>(fail ? half : file.bytes.size()));
        out.close();
        if (progress) progress(static_cast<std::int64_t>(fail ? half : file.bytes.size()));
        if (fail) {
            std::filesystem::remove(local);
            std::lock_guard lock(r_.mutex);
            r_.live = 0;
            return std::unexpected(
                RemoteError{RemoteErrorKind::Lost, "connection lost reading " + remote_path});
        }
        return Download{static_cast<std::int64_t>(file.bytes.size()), file.mtime};
    }
    RemoteResult<void> write_new(const std::filesystem::path& local,
                                 const std::string& remote_path) override {
        std::ifstream in(local, std::ios::binary);
        std::string bytes{std::istreambuf_iterator<char>(in), {}};
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        r_.log.push_back("write_new " + remote_path);
        if (r_.files.contains(remote_path))
            return std::unexpected(RemoteError{RemoteErrorKind::Refused, remote_path + " exists"});
        r_.files[remote_path] = {std::move(bytes), 1'800'000'000};
        return {};
    }
    RemoteResult<void> rename(const std::string& from, const std::string& to) override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        r_.log.push_back("rename " + from + " " + to);
        if (r_.refuse_rename.contains(from))
            return std::unexpected(
                RemoteError{RemoteErrorKind::Denied, "rename " + from + " denied"});
        if (r_.lying_rename.contains(from)) return {};
        auto it = r_.files.find(from);
        if (it == r_.files.end())
            return std::unexpected(RemoteError{RemoteErrorKind::NotFound, from + ": no such file"});
        if (r_.files.contains(to))  // as SFTP v3: a rename never replaces
            return std::unexpected(RemoteError{RemoteErrorKind::Refused, to + " exists"});
        r_.files[to] = std::move(it->second);
        r_.files.erase(from);
        return {};
    }
    RemoteResult<void> remove(const std::string& path) override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        r_.log.push_back("remove " + path);
        if (r_.files.erase(path) == 0)
            return std::unexpected(RemoteError{RemoteErrorKind::NotFound, path + ": no such file"});
        return {};
    }
    RemoteResult<void> ensure_folder(const std::string& path) override {
        std::lock_guard lock(r_.mutex);
        if (auto dead = gone()) return std::unexpected(*dead);
        r_.folders.insert(path);
        return {};
    }
    void interrupt() override {
        std::lock_guard lock(r_.mutex);
        interrupted_ = true;
        ++r_.interrupts;
        r_.log.push_back("interrupt");
        if (r_.live == generation_) r_.live = 0;
        r_.interrupted.notify_all();
    }

private:
    bool interrupted_ = false;  // under r_.mutex
    // The error of a connection that was dropped (the mutex is held).
    std::optional<RemoteError> gone() const {
        if (r_.live == generation_) return std::nullopt;
        return RemoteError{RemoteErrorKind::Lost, "the connection was lost"};
    }
    FakeRemote& r_;
    int generation_;
};

class FakeServer final : public RemoteServer {
public:
    explicit FakeServer(FakeRemote& remote) : r_(remote) {}

    RemoteResult<std::unique_ptr<RemoteFolder>> connect() override {
        std::unique_lock lock(r_.mutex);
        ++r_.connects;
        r_.log.push_back("connect");
        if (r_.slow_connect.count() > 0) {
            // A server that answers the login byte by byte: until interrupted, or its time.
            const int before = r_.interrupts;
            if (r_.interrupted.wait_for(lock, r_.slow_connect,
                                        [&] { return r_.interrupts != before; }))
                return std::unexpected(RemoteError{RemoteErrorKind::Lost, "interrupted"});
        }
        if (r_.untrusted)
            return std::unexpected(
                RemoteError{RemoteErrorKind::Untrusted, "not the server we know"});
        if (r_.refuse_auth)
            return std::unexpected(RemoteError{RemoteErrorKind::AuthFailed, "credentials refused"});
        if (r_.down)
            return std::unexpected(RemoteError{RemoteErrorKind::Lost, "connection refused"});
        r_.live = r_.connects;
        return std::make_unique<FakeFolder>(r_, r_.live);
    }
    std::string trust_stamp() const override {
        std::lock_guard lock(r_.mutex);
        return r_.trust;
    }
    std::string trust_changed() const override { return "trust changed"; }
    void interrupt() override {
        std::lock_guard lock(r_.mutex);
        ++r_.interrupts;
        r_.interrupted.notify_all();
    }

private:
    FakeRemote& r_;
};

}  // namespace actiondrop::pull::testing
