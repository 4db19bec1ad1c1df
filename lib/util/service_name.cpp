#include "util/service_name.hpp"

#include <unistd.h>

#include <system_error>

namespace actiondrop::util {

std::string service_name(const std::filesystem::path& folder) {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    std::error_code ec;
    std::filesystem::path where =
        std::filesystem::weakly_canonical(std::filesystem::absolute(folder), ec);
    if (ec) where = std::filesystem::absolute(folder);
    return std::string(host) + ":" + where.string();
}

}  // namespace actiondrop::util
