#include "config/config_error.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace actiondrop::config {

std::expected<std::string, ConfigError> read_user_file(const std::filesystem::path& path,
                                                       std::string_view what) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (std::filesystem::is_directory(status))
        return std::unexpected(ConfigError{path.string(), 0, 0, "",
                                           "is a folder, not a " + std::string(what) + " file"});
    // A FIFO or a device would hold the command until something writes to it.
    if (std::filesystem::exists(status) && !std::filesystem::is_regular_file(status))
        return std::unexpected(ConfigError{path.string(), 0, 0, "", "is not a regular file"});
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        const int err = errno;
        return std::unexpected(ConfigError{path.string(), 0, 0, "",
                                           std::string("cannot open: ") + std::strerror(err)});
    }
    std::ostringstream text;
    text << in.rdbuf();
    return std::move(text).str();
}

std::string ConfigError::str() const {
    std::string out = file;
    if (line > 0) {
        out += ':' + std::to_string(line);
        if (column > 0) out += ':' + std::to_string(column);
    }
    out += ": ";
    if (!key.empty()) out += key + ": ";
    out += message;
    return out;
}

}  // namespace actiondrop::config
