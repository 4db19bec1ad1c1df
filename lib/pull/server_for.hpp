#pragma once
// The one place that knows which protocol serves a pull inbox: the RemoteServer for its
// kind. A kind is a folder under lib/pull/ (sftp/, ftp/), its source in config::InboxSource, and
// a case here (without one, this file does not compile).
#include <memory>

#include "config/service_config.hpp"
#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

// The server of a pulled inbox (InboxConfig::remote() is not null); throws
// std::invalid_argument for a local one.
std::unique_ptr<RemoteServer> server_for(const config::InboxConfig& inbox);

}  // namespace actiondrop::pull
