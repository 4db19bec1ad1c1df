#include "pull/sftp/sftp_server.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace actiondrop::pull {
namespace fs = std::filesystem;

namespace {

std::string file_stamp(const fs::path& path) {
    if (path.empty()) return "-";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "missing";
    // ctime too: a chmod that makes a key file usable changes nothing else.
    return fmt::format("{}.{}:{}.{}:{}:{}:{:o}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                       st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size, st.st_ino, st.st_mode);
}

class SftpFolder final : public RemoteFolder {
public:
    SftpFolder(std::unique_ptr<SftpSession> session, std::string inbox)
        : session_(std::move(session)), inbox_(std::move(inbox)) {}

    bool connected() const override { return session_->connected(); }
    void interrupt() override { session_->interrupt(); }
    RemoteResult<RemoteListing> list(const std::string& folder, std::string_view pattern,
                                     std::size_t budget) override {
        return mapped(session_->list(folder, pattern, budget));
    }
    RemoteResult<RemoteEntry> stat(const std::string& path) override {
        return mapped(session_->stat(path));
    }
    RemoteResult<void> ping() override { return mapped(session_->ping()); }
    RemoteResult<Download> download(const std::string& remote_path, const fs::path& local,
                                    const DownloadProgress& progress,
                                    std::int64_t max_bytes) override {
        return mapped(session_->download(remote_path, local, progress, max_bytes));
    }
    RemoteResult<void> write_new(const fs::path& local, const std::string& remote_path) override {
        return mapped(session_->put(local, remote_path));
    }
    RemoteResult<void> rename(const std::string& from, const std::string& to) override {
        return mapped(session_->rename(from, to));
    }
    RemoteResult<void> remove(const std::string& path) override {
        return mapped(session_->remove(path));
    }
    RemoteResult<void> ensure_folder(const std::string& path) override {
        return mapped(session_->ensure_folder(path));
    }

private:
    template <class T>
    RemoteResult<T> mapped(SftpResult<T>&& r) const {
        if (r) {
            if constexpr (std::is_void_v<T>)
                return {};
            else
                return std::move(*r);
        }
        return std::unexpected(remote_error(r.error(), session_->endpoint(), inbox_));
    }

    std::unique_ptr<SftpSession> session_;
    std::string inbox_;
};

}  // namespace

RemoteError remote_error(const SftpError& error, const SftpEndpoint& endpoint,
                         const std::string& inbox) {
    switch (error.kind) {
        case SftpErrorKind::HostKeyUnknown:
        case SftpErrorKind::HostKeyChanged:
        case SftpErrorKind::HostKeyOther: {
            std::string what = error.message;
            if (error.kind == SftpErrorKind::HostKeyUnknown)
                what += fmt::format(
                    "; if the key is right, enrol it with `actiondrop sftp enrol {} "
                    "--accept`",
                    inbox);
            else
                what += fmt::format(
                    "; if the server's key really changed, remove the old one "
                    "(ssh-keygen -R '[{}]:{}' -f {}) and enrol the new one with "
                    "`actiondrop sftp enrol {} --accept`",
                    endpoint.host, endpoint.port, endpoint.known_hosts.string(), inbox);
            what += "; not retried until known_hosts or the config changes";
            return {RemoteErrorKind::Untrusted, std::move(what)};
        }
        case SftpErrorKind::AuthFailed:
        case SftpErrorKind::CredentialUnusable:
            return {RemoteErrorKind::AuthFailed,
                    error.message +
                        " (the key or password file is checked again as soon as it "
                        "changes)"};
        case SftpErrorKind::ConnectFailed:
        case SftpErrorKind::Timeout:
        case SftpErrorKind::Protocol:
            return {RemoteErrorKind::Lost, error.message};
        case SftpErrorKind::NotFound:
            return {RemoteErrorKind::NotFound, error.message};
        case SftpErrorKind::PermissionDenied:
            return {RemoteErrorKind::Denied, error.message};
        case SftpErrorKind::Refused:
            return {RemoteErrorKind::Refused, error.message};
        case SftpErrorKind::ChangedWhileReading:
            return {RemoteErrorKind::ChangedWhileReading, error.message};
        case SftpErrorKind::TooLarge:
            return {RemoteErrorKind::TooLarge, error.message};
    }
    return {RemoteErrorKind::Refused, error.message};
}

SftpServer::SftpServer(SftpEndpoint endpoint, std::string inbox)
    : endpoint_(std::move(endpoint)), inbox_(std::move(inbox)) {}

RemoteResult<std::unique_ptr<RemoteFolder>> SftpServer::connect() {
    auto session = std::make_unique<SftpSession>(endpoint_);
    if (auto c = session->connect(); !c)
        return std::unexpected(remote_error(c.error(), endpoint_, inbox_));
    return std::make_unique<SftpFolder>(std::move(session), inbox_);
}

std::string SftpServer::trust_stamp() const {
    return file_stamp(endpoint_.known_hosts) + "|" + file_stamp(endpoint_.identity_file) + "|" +
           file_stamp(endpoint_.password_file);
}

std::string SftpServer::trust_changed() const { return "known_hosts changed; connecting again"; }

}  // namespace actiondrop::pull
