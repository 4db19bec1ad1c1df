#pragma once
// SFTP behind RemoteServer and RemoteFolder (pull/remote_folder.hpp): one SftpSession per
// connection, its failures turned into the kinds the puller acts on, with the advice a
// host key alert or a refused credential needs in their messages.
#include <memory>
#include <string>

#include "pull/remote_folder.hpp"
#include "pull/sftp/sftp_session.hpp"

namespace actiondrop::pull {

// What the puller does with an SFTP failure: its kind, and a message that says what to do.
RemoteError remote_error(const SftpError& error, const SftpEndpoint& endpoint,
                         const std::string& inbox);

class SftpServer final : public RemoteServer {
public:
    SftpServer(SftpEndpoint endpoint, std::string inbox);

    RemoteResult<std::unique_ptr<RemoteFolder>> connect() override;
    std::string trust_stamp() const override;
    std::string trust_changed() const override;
    // libssh's connect and handshake block: a stop waits for them, at most for the endpoint's
    // connect timeout (10 s), well within the service's stop timeout.
    void interrupt() override {}

private:
    SftpEndpoint endpoint_;
    std::string inbox_;
};

}  // namespace actiondrop::pull
