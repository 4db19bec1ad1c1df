#pragma once
// A folder on someone else's server, as a pull inbox sees it (README.md, "SFTP pull inboxes";
// docs/ingest.md): whatever the protocol, the puller lists it, downloads a file, writes one,
// renames and removes. A protocol lives in a folder of its own under lib/pull/ (sftp/) and
// implements RemoteServer and RemoteFolder; the puller knows only these two (sftp/, ftp/).
//
// Failures are values (RemoteError): what the puller does next depends only on their kind.
// Local disk failures throw std::system_error, as everywhere else.
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace actiondrop::pull {

enum class RemoteType { RegularFile, Folder, Symlink, Other };

struct RemoteEntry {
    std::string name;
    std::int64_t size = 0;
    std::int64_t mtime =
        0;  // the server's clock, seconds since the epoch: compare only with itself
    RemoteType type = RemoteType::Other;
};

struct SkippedEntry {
    RemoteEntry entry;
    std::string reason;  // "symlink", "folder", "not a regular file", "control character in name"
};

struct RemoteListing {
    std::vector<RemoteEntry> files;     // regular files whose names match the pattern
    std::vector<SkippedEntry> skipped;  // names that match but are never taken
    bool complete = true;               // false when the budget stopped the listing early
    // Lines of a listing that the protocol's parser could not read (FTP's LIST has no
    // standard form): never guessed at, reported once by the puller, which logs their first
    // bytes. Kept whole: the listing's own size limit bounds them.
    std::vector<std::string> unreadable;
};

struct Download {
    std::int64_t size = 0;
    std::int64_t mtime = 0;
};

// Called during a download with the bytes received in order so far; lets a caller show
// progress, feed a watchdog, or stop (by throwing).
using DownloadProgress = std::function<void(std::int64_t bytes)>;

// What the puller does after a failure depends on its kind alone.
enum class RemoteErrorKind {
    Untrusted,            // the server is not the one we trust (a host key): raise an alert and
                          // wait until the trust files change (RemoteServer::trust_stamp)
    AuthFailed,           // our credentials were refused or cannot be used: a long backoff
    Lost,                 // no connection, or it failed, timed out or broke the protocol:
                          // reconnect with a short backoff
    NotFound,             // the file or folder does not exist (a claim: another service took it)
    Denied,               // the server does not let us do this on this path
    Refused,              // any other refusal; a connection that died mid-request can look
                          // like one, so the puller checks the connection after it
    ChangedWhileReading,  // the file's size or mtime changed during the download
    TooLarge,             // larger than the caller's limit: none of it was read
};
std::string_view to_string(RemoteErrorKind kind);

struct RemoteError {
    RemoteErrorKind kind;
    std::string message;  // what failed and where, as it may be logged; never a secret
};

template <class T>
using RemoteResult = std::expected<T, RemoteError>;

// One connection to one folder tree; it belongs to the thread that opened it.
class RemoteFolder {
public:
    virtual ~RemoteFolder() = default;

    virtual bool connected() const = 0;
    // Reads `folder` once, keeping names that match `pattern` (fnmatch `*`, `?`; a leading
    // '.' must be matched explicitly, so our temporary names never show). Stops after
    // `budget` entries, with `complete` false.
    virtual RemoteResult<RemoteListing> list(const std::string& folder, std::string_view pattern,
                                             std::size_t budget) = 0;
    // The entry of one path, links not followed; its name is the last component.
    virtual RemoteResult<RemoteEntry> stat(const std::string& path) = 0;
    // A cheap round trip that keeps an idle connection alive and proves it still works.
    virtual RemoteResult<void> ping() = 0;
    // Copies `remote_path` to `local` (created or truncated) and makes it durable; the size
    // read must equal the size at the start and at the end (else ChangedWhileReading). On
    // any failure `local` is removed. A file larger than `max_bytes` when opened is TooLarge
    // before a byte is read; no more than its size at opening is ever read.
    virtual RemoteResult<Download> download(const std::string& remote_path,
                                            const std::filesystem::path& local,
                                            const DownloadProgress& progress,
                                            std::int64_t max_bytes) = 0;
    // Creates `remote_path`, which must not exist yet, with the bytes of `local`. The puller
    // writes under a hidden temporary name and renames (upload() in puller.cpp).
    virtual RemoteResult<void> write_new(const std::filesystem::path& local,
                                         const std::string& remote_path) = 0;
    // NotFound when `from` has vanished (another service claimed it first). `to` must not exist.
    virtual RemoteResult<void> rename(const std::string& from, const std::string& to) = 0;
    virtual RemoteResult<void> remove(const std::string& path) = 0;
    // Creates `path` unless it already is a folder.
    virtual RemoteResult<void> ensure_folder(const std::string& path) = 0;
    // The service is stopping: the request running on the puller's thread, however long the
    // server has been silent, and every later one fail at once as Lost, and the connection is
    // no longer connected(). The one member another thread may call, at any time while the
    // folder exists; it never blocks.
    virtual void interrupt() = 0;
};

// The factory of an inbox's connections: where the server is, how we prove who we are and
// who it must be. One per pull inbox, used by the puller's thread only.
class RemoteServer {
public:
    virtual ~RemoteServer() = default;

    // Connects and authenticates; a server that is not trusted is Untrusted before any
    // credential is offered.
    virtual RemoteResult<std::unique_ptr<RemoteFolder>> connect() = 0;
    // The state of the local files whose change ends an Untrusted alert or an AuthFailed
    // backoff (a known_hosts file, a key, a password file): compared, never parsed.
    virtual std::string trust_stamp() const = 0;
    // The line that says an alert ended because those files changed.
    virtual std::string trust_changed() const = 0;
    // The service is stopping: a connect() running on the puller's thread gives up soon and
    // fails as Lost, however slowly the server answers, and so does every later one, where
    // the protocol's library allows it (SFTP's does not: its time-outs bound it). The one
    // member another thread may call; it never blocks.
    virtual void interrupt() = 0;
};

// `folder/name`, without doubling a trailing '/'.
std::string remote_join(std::string_view folder, std::string_view name);

}  // namespace actiondrop::pull
