#pragma once
// The one place that knows which protocol serves a pull inbox: the RemoteServer for its
// kind. A new kind (ftp) is a folder under lib/pull/ and a case here.
#include <memory>

#include "config/service_config.hpp"
#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

// True when the inbox is pulled from a server (any kind but local).
bool is_pulled(const config::InboxConfig& inbox);

// The server of a pulled inbox; throws std::invalid_argument for a local one.
std::unique_ptr<RemoteServer> server_for(const config::InboxConfig& inbox);

}  // namespace actiondrop::pull
