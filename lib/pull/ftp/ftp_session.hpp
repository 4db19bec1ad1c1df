#pragma once
// One FTP or FTPS connection to one pull inbox's server (README.md, "FTP pull inboxes";
// docs/ingest.md), on libcurl. It is a RemoteFolder itself: the puller drives it like an
// SFTP one.
//
// - TLS (`explicit`: AUTH TLS on the usual port, the default; `implicit`: TLS from the first
//   byte; `none` only when written out). The server's certificate is checked before a user
//   name or password is sent: against the system's CAs or `ca_file` (and the host name), or,
//   when `sha256` pins it, against that SHA-256 fingerprint of the whole certificate (what
//   `openssl x509 -fingerprint -sha256` prints), which then replaces the CA and host name
//   checks. A refused certificate is Untrusted. Data connections reuse the control
//   connection's TLS session (vsftpd's require_ssl_reuse), which libcurl does.
// - Passive mode only (EPSV, else PASV; the address in a PASV reply is ignored for the
//   control connection's own).
// - Listing with MLSD when FEAT announces MLST, else LIST read by a strict parser
//   (ftp_listing.hpp); then each regular file's time comes from MDTM, asked again only when
//   its LIST line changed, so that a file keeps one (size, mtime) for as long as it stays.
// - The user and password are given to libcurl apart from the URL, and libcurl's verbose
//   output stays off: no message holds the password.
// A session belongs to one thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

enum class FtpSecurity { Explicit, Implicit, None };

struct FtpEndpoint {
    std::string host;
    int port = 21;
    std::string user;
    std::filesystem::path password_file;  // the password (one trailing newline ignored)
    FtpSecurity tls = FtpSecurity::Explicit;
    std::filesystem::path ca_file;  // trusted CAs instead of the system's; empty: the system's
    std::string sha256;             // pinned certificate: 64 lower-case hex digits, or empty
    std::chrono::milliseconds connect_timeout{10'000};  // TCP connect, TLS, login
    std::chrono::milliseconds io_timeout{30'000};       // longest silence tolerated
    // A whole listing: a server that sends it a line at a time, never silent for long,
    // would otherwise hold the inbox inside one listing for ever.
    std::chrono::milliseconds list_timeout{300'000};
};

class FtpSession final : public RemoteFolder {
public:
    // `stopping`, when given, is the server's (FtpServer::interrupt), which must outlive the
    // session: set, every request of the session ends at once, the connect() included.
    explicit FtpSession(FtpEndpoint endpoint, const std::atomic<bool>* stopping = nullptr);
    ~FtpSession() override;
    FtpSession(const FtpSession&) = delete;
    FtpSession& operator=(const FtpSession&) = delete;

    // Connects, checks the certificate, logs in and asks for the server's features. The
    // password file is read (and refused when others may read it) before any traffic.
    RemoteResult<void> connect();
    // The SHA-256 fingerprint of the certificate the server offered at the last connect
    // (64 hex digits), empty without TLS; and whether our checks refused it.
    const std::string& offered_sha256() const;
    bool certificate_refused() const;
    // True when the server announced MLST (its listings are read with MLSD).
    bool has_mlsd() const { return mlsd_; }
    const FtpEndpoint& endpoint() const { return endpoint_; }
    struct Handle;  // libcurl's handle and what its callbacks fill in (ftp_session.cpp)

    bool connected() const override;
    RemoteResult<RemoteListing> list(const std::string& folder, std::string_view pattern,
                                     std::size_t budget) override;
    RemoteResult<RemoteEntry> stat(const std::string& path) override;
    RemoteResult<void> ping() override;
    RemoteResult<Download> download(const std::string& remote_path,
                                    const std::filesystem::path& local,
                                    const DownloadProgress& progress,
                                    std::int64_t max_bytes) override;
    RemoteResult<void> write_new(const std::filesystem::path& local,
                                 const std::string& remote_path) override;
    RemoteResult<void> rename(const std::string& from, const std::string& to) override;
    RemoteResult<void> remove(const std::string& path) override;
    RemoteResult<void> ensure_folder(const std::string& path) override;
    void interrupt() override;

private:
    // A file's MDTM, kept for as long as its LIST line stays the same. A LIST time is a
    // minute: a file written again within the minute keeps its line, so the MDTM is asked
    // again at each listing until a minute has passed since its line was first seen.
    struct Cached {
        std::int64_t size = 0;
        std::string listed_time;
        std::int64_t mtime = 0;
        std::chrono::steady_clock::time_point since{};
        bool final = false;
    };
    // MDTM of each path, in one round of commands; nullopt where the server had none.
    RemoteResult<std::vector<std::optional<std::int64_t>>> mdtm(
        const std::vector<std::string>& paths);
    // Sends FTP commands on the control connection (logging in first when libcurl has no
    // connection) and returns the final line of each one's reply, in order; a refused command
    // is a reply, not a failure. Failures are those of the connection or the login.
    RemoteResult<std::vector<std::string>> commands(const std::vector<std::string>& lines,
                                                    const std::string& what);
    // A refusal reply as an error: Denied when the server speaks of permission, else Refused.
    RemoteError refusal(const std::string& reply, const std::string& what) const;
    RemoteResult<bool> is_folder(const std::string& path);

    FtpEndpoint endpoint_;
    std::unique_ptr<Handle> handle_;
    std::atomic<bool> interrupted_{false};  // interrupt(): every request ends at once
    const std::atomic<bool>* stopping_ = nullptr;
    bool mlsd_ = false, mdtm_ = false;
    std::map<std::string, Cached> times_;  // full path -> the MDTM of its last LIST line
};

}  // namespace actiondrop::pull
