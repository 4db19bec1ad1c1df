#pragma once
// An error in a file a user wrote (catalog or config): it names the file, line and key.
#include <expected>
#include <filesystem>
#include <string>
#include <string_view>

namespace actiondrop::config {

struct ConfigError {
    std::string file;
    int line = 0;     // 1-based; 0 when unknown
    int column = 0;   // 1-based; 0 when unknown
    std::string key;  // dotted path, e.g. "accounts[0].contracts[1].versions[0].payout"
    std::string message;
    // "etc/catalog.yaml:12:5: accounts[0].currency: unknown currency code 'USX'"
    std::string str() const;
};

// The whole text of a file a user wrote, or why it cannot be read: "cannot open: …", "is a
// folder, not a `what` file" (read as a stream, a folder would look empty), or "is not a
// regular file" (a FIFO would never end).
std::expected<std::string, ConfigError> read_user_file(const std::filesystem::path& path,
                                                       std::string_view what);

}  // namespace actiondrop::config
