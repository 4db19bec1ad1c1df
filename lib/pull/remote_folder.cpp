#include "pull/remote_folder.hpp"

namespace actiondrop::pull {

std::string_view to_string(RemoteErrorKind kind) {
    switch (kind) {
        case RemoteErrorKind::Untrusted:
            return "Untrusted";
        case RemoteErrorKind::AuthFailed:
            return "AuthFailed";
        case RemoteErrorKind::Lost:
            return "Lost";
        case RemoteErrorKind::NotFound:
            return "NotFound";
        case RemoteErrorKind::Denied:
            return "Denied";
        case RemoteErrorKind::Refused:
            return "Refused";
        case RemoteErrorKind::ChangedWhileReading:
            return "ChangedWhileReading";
        case RemoteErrorKind::TooLarge:
            return "TooLarge";
    }
    return "Unknown";
}

std::string remote_join(std::string_view folder, std::string_view name) {
    std::string path(folder);
    if (!path.empty() && path.back() != '/') path += '/';
    path += name;
    return path;
}

}  // namespace actiondrop::pull
