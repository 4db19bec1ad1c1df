#include "pull/server_for.hpp"

#include <stdexcept>

#include "pull/ftp/ftp_server.hpp"
#include "pull/sftp/sftp_server.hpp"

namespace actiondrop::pull {

namespace {

template <class... F>
struct Cases : F... {
    using F::operator()...;
};
template <class... F>
Cases(F...) -> Cases<F...>;

}  // namespace

std::unique_ptr<RemoteServer> server_for(const config::InboxConfig& inbox) {
    return std::visit(
        Cases{
            [&](const config::LocalSource&) -> std::unique_ptr<RemoteServer> {
                throw std::invalid_argument("inbox " + inbox.name + " is not pulled from a server");
            },
            [&](const config::SftpSource& s) -> std::unique_ptr<RemoteServer> {
                SftpEndpoint e;
                e.host = s.host;
                e.port = s.port;
                e.user = s.user;
                e.identity_file = s.identity_file;
                e.password_file = s.password_file;
                e.known_hosts = s.known_hosts;
                return std::make_unique<SftpServer>(std::move(e), inbox.name);
            },
            [&](const config::FtpSource& s) -> std::unique_ptr<RemoteServer> {
                return std::make_unique<FtpServer>(endpoint_of(s), inbox.name);
            },
        },
        inbox.source);
}

}  // namespace actiondrop::pull
