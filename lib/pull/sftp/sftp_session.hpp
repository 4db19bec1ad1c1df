#pragma once
// One SFTP connection to one pull inbox's server (docs/ingest.md), as careful as OpenSSH's own
// client: the server's host key is checked against the inbox's known_hosts file (the only
// one trusted) before any credential is offered, a private key or password file that others
// may read or that another user owns is refused, every failure is a typed value whose text
// never holds a secret, and downloads are pipelined, size-checked and bounded. A session
// belongs to one thread.
#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

// Where a pull inbox's files live and how we prove who we are and who the server is.
struct SftpEndpoint {
    std::string host;
    int port = 22;
    std::string user;
    std::filesystem::path identity_file;  // a private key without passphrase, or
    std::filesystem::path
        password_file;  // a file holding the password (one trailing newline ignored)
    std::filesystem::path known_hosts;                  // mandatory: the only host keys trusted
    std::chrono::milliseconds connect_timeout{10'000};  // TCP connect, key exchange, auth
    std::chrono::milliseconds io_timeout{30'000};       // longest silence tolerated mid-transfer
    std::chrono::milliseconds list_timeout{300'000};    // a whole listing of a folder
};

enum class SftpErrorKind {
    HostKeyUnknown,       // the server's key is not in known_hosts (or known_hosts is missing)
    HostKeyChanged,       // known_hosts holds another key of the same type: possible attack
    HostKeyOther,         // known_hosts holds only keys of other types for this host
    AuthFailed,           // the server refused our key or password
    CredentialUnusable,   // our key or password file is missing, unreadable, unsafe or invalid
    ConnectFailed,        // no TCP connection, key exchange failed, or the connection was lost
    Timeout,              // the server went silent for longer than a timeout
    Protocol,             // the server broke the SFTP protocol or answered nonsense
    NotFound,             // the remote file or folder does not exist
    PermissionDenied,     // the server refused the operation on that path
    Refused,              // any other SFTP failure status
    ChangedWhileReading,  // the remote file's size or mtime changed during the download
    TooLarge,             // the remote file is larger than the caller's limit: none of it was read
};
std::string_view to_string(SftpErrorKind kind);

struct SftpError {
    SftpErrorKind kind;
    std::string message;  // says what failed and where; never a password or key material
    // Host key errors only: the key the server offered, as `SHA256:base64` (what
    // `ssh-keygen -lf` prints) and as a known_hosts line that would enrol it.
    std::string fingerprint;
    std::string known_hosts_line;
};

template <class T>
using SftpResult = std::expected<T, SftpError>;

class SftpSession {
public:
    explicit SftpSession(SftpEndpoint endpoint);
    ~SftpSession();
    SftpSession(const SftpSession&) = delete;
    SftpSession& operator=(const SftpSession&) = delete;

    // Connects, checks the host key, authenticates and starts SFTP. Credentials are
    // checked before any network traffic, and never offered to a server whose key is not
    // the one in known_hosts. Calling it again after a failure starts afresh.
    SftpResult<void> connect();
    bool connected() const;
    // Shuts the connection's socket, now and at every later request: what runs fails at
    // once. Safe to call from another thread (RemoteFolder::interrupt).
    void interrupt();
    void disconnect();

    // Reads `folder` once, keeping names that match `pattern` (fnmatch `*`, `?`; a leading
    // '.' must be matched explicitly, so our temporary names never show). Stops after
    // `budget` directory entries, with `complete` false.
    SftpResult<RemoteListing> list(const std::string& folder, std::string_view pattern,
                                   std::size_t budget = std::numeric_limits<std::size_t>::max());
    // lstat of one path; the entry's name is the last component.
    SftpResult<RemoteEntry> stat(const std::string& path);
    // A cheap round trip that keeps an idle connection alive and proves it still works.
    SftpResult<void> ping();

    // Copies `remote_path` to `local` (created or truncated); the size read must equal the
    // size the server reported at the start and at the end, and `local` is fsynced before
    // success is returned. On any failure `local` is removed. Local disk failures throw
    // std::system_error. A file larger than `max_bytes` when opened is TooLarge before a
    // byte of it is read or `local` is created; no more than its size at opening is ever
    // read, so a file that grows meanwhile (ChangedWhileReading) is not read on either.
    SftpResult<Download> download(
        const std::string& remote_path, const std::filesystem::path& local,
        const DownloadProgress& progress = {},
        std::int64_t max_bytes = std::numeric_limits<std::int64_t>::max());
    // Puts `local` at `remote_folder/name`: written under a unique hidden temporary name in
    // the same folder, then any old file of that name removed (SFTP v3 rename cannot
    // replace), then renamed into place.
    SftpResult<void> upload(const std::filesystem::path& local, const std::string& remote_folder,
                            const std::string& name);
    // Creates `remote_path`, which must not exist, with the bytes of `local`; a failure
    // removes what was written.
    SftpResult<void> put(const std::filesystem::path& local, const std::string& remote_path);
    // Fails with NotFound when `from` has vanished (another instance claimed it first).
    SftpResult<void> rename(const std::string& from, const std::string& to);
    SftpResult<void> remove(const std::string& path);
    // Creates `path` unless it already is a folder (for the `.processing/` claim folder).
    SftpResult<void> ensure_folder(const std::string& path);

    const SftpEndpoint& endpoint() const { return endpoint_; }

private:
    struct Handles;
    SftpEndpoint endpoint_;
    std::unique_ptr<Handles> handles_;
};

}  // namespace actiondrop::pull
