#include "pull/server_for.hpp"

#include <stdexcept>

#include "pull/sftp/sftp_server.hpp"

namespace actiondrop::pull {

bool is_pulled(const config::InboxConfig& inbox) { return inbox.kind != "local"; }

std::unique_ptr<RemoteServer> server_for(const config::InboxConfig& inbox) {
    if (inbox.kind == "sftp") {
        SftpEndpoint e;
        e.host = inbox.host;
        e.port = inbox.port;
        e.user = inbox.user;
        e.identity_file = inbox.identity_file;
        e.password_file = inbox.password_file;
        e.known_hosts = inbox.known_hosts;
        return std::make_unique<SftpServer>(std::move(e), inbox.name);
    }
    throw std::invalid_argument("inbox " + inbox.name + " is not pulled from a server");
}

}  // namespace actiondrop::pull
