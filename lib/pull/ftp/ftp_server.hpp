#pragma once
// FTP and FTPS behind RemoteServer (pull/remote_folder.hpp): one FtpSession per connection,
// with the advice that a refused certificate or password needs in its message.
#include <atomic>
#include <memory>
#include <string>

#include "config/service_config.hpp"
#include "pull/ftp/ftp_session.hpp"
#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

// Where an inbox's FTP server is and how it is trusted, from its config.
FtpEndpoint endpoint_of(const config::FtpSource& source);

class FtpServer final : public RemoteServer {
public:
    FtpServer(FtpEndpoint endpoint, std::string inbox);

    RemoteResult<std::unique_ptr<RemoteFolder>> connect() override;
    // The password file and ca_file: a change ends an AuthFailed backoff or a certificate
    // alert (a changed `sha256` is a changed config, which starts the inbox afresh).
    std::string trust_stamp() const override;
    std::string trust_changed() const override;
    // Ends the connect() in progress within about 10 ms (FtpSession's `stopping`).
    void interrupt() override { stopping_ = true; }

private:
    FtpEndpoint endpoint_;
    std::string inbox_;
    std::atomic<bool> stopping_{false};
};

}  // namespace actiondrop::pull
