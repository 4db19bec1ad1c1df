#include "pull/ftp/ftp_server.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

namespace actiondrop::pull {

namespace {

std::string file_stamp(const std::filesystem::path& path) {
    if (path.empty()) return "-";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "missing";
    return fmt::format("{}.{}:{}.{}:{}:{}:{:o}", st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                       st.st_ctim.tv_sec, st.st_ctim.tv_nsec, st.st_size, st.st_ino, st.st_mode);
}

}  // namespace

FtpEndpoint endpoint_of(const config::FtpSource& s) {
    FtpEndpoint e;
    e.host = s.host;
    e.port = s.port;
    e.user = s.user;
    e.password_file = s.password_file;
    e.tls = s.tls == config::FtpTls::Implicit ? FtpSecurity::Implicit
            : s.tls == config::FtpTls::None   ? FtpSecurity::None
                                              : FtpSecurity::Explicit;
    e.ca_file = s.ca_file;
    e.sha256 = s.sha256;
    return e;
}

FtpServer::FtpServer(FtpEndpoint endpoint, std::string inbox)
    : endpoint_(std::move(endpoint)), inbox_(std::move(inbox)) {}

RemoteResult<std::unique_ptr<RemoteFolder>> FtpServer::connect() {
    if (stopping_) return std::unexpected(RemoteError{RemoteErrorKind::Lost, "stopping"});
    auto session = std::make_unique<FtpSession>(endpoint_, &stopping_);
    if (auto c = session->connect(); !c) {
        RemoteError e = std::move(c.error());
        if (e.kind == RemoteErrorKind::Untrusted) {
            if (!session->offered_sha256().empty())
                e.message += fmt::format(
                    "; if this certificate is the server's, pin it (sha256: {}) or enrol it with "
                    "`actiondrop ftp enrol {} --accept`",
                    session->offered_sha256(), inbox_);
            e.message += "; not retried until ca_file or the config changes";
        } else if (e.kind == RemoteErrorKind::AuthFailed) {
            e.message += " (the password file is checked again as soon as it changes)";
        }
        return std::unexpected(std::move(e));
    }
    return session;
}

std::string FtpServer::trust_stamp() const {
    return file_stamp(endpoint_.ca_file) + "|" + file_stamp(endpoint_.password_file);
}

std::string FtpServer::trust_changed() const { return "ca_file changed; connecting again"; }

}  // namespace actiondrop::pull
