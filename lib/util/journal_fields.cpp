#include "util/journal_fields.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace actiondrop::util {
namespace {

struct Key {
    std::string_view token;  // as written in a log line, before '='
    std::string_view field;  // the journal field
};
// In the order the fields are sent.
constexpr std::array<Key, 4> keys = {
    {{"account", "ACCOUNT"}, {"inbox", "INBOX"}, {"batch", "BATCH"}, {"file", "FILE"}}};

bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

// The quoted text that starts at text[at] (a '"'): without its quotes, each \" or \\ undone,
// and the index after its closing quote; nullopt when no quote closes it.
std::optional<std::pair<std::string, std::size_t>> quoted(std::string_view text, std::size_t at) {
    std::string value;
    for (std::size_t i = at + 1; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '"') return std::pair{std::move(value), i + 1};
        if (c == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
            value += text[++i];
            continue;
        }
        value += c;
    }
    return std::nullopt;
}

}  // namespace

std::vector<JournalField> journal_fields(std::string_view message) {
    std::array<std::optional<std::string>, keys.size()> found;
    std::size_t i = 0;
    while (i < message.size()) {
        if (message[i] == '"') {  // quoted text outside a token: never read for tokens
            auto text = quoted(message, i);
            if (!text) break;
            i = text->second;
            continue;
        }
        if (message[i] == ':' && i + 1 < message.size() && message[i + 1] == ' ') break;  // prose
        std::size_t eq = i;
        if (i == 0 || message[i - 1] == ' ')
            while (eq < message.size() && is_key_char(message[eq])) ++eq;
        if (eq == i || eq >= message.size() || message[eq] != '=') {
            ++i;
            continue;
        }
        // A token: its value is quoted text, or runs to the next space without one trailing
        // ':', ',' or ';' (a ':' there starts the prose).
        const std::string_view key = message.substr(i, eq - i);
        std::string value;
        bool prose = false;
        if (eq + 1 < message.size() && message[eq + 1] == '"') {
            auto text = quoted(message, eq + 1);
            if (!text) break;
            value = std::move(text->first);
            i = text->second;
        } else {
            const std::size_t end = std::min(message.find(' ', eq + 1), message.size());
            std::string_view bare = message.substr(eq + 1, end - eq - 1);
            if (!bare.empty() && (bare.back() == ':' || bare.back() == ',' || bare.back() == ';')) {
                prose = bare.back() == ':';
                bare.remove_suffix(1);
            }
            value = bare;
            i = end;
        }
        for (std::size_t k = 0; k < keys.size(); ++k)
            if (keys[k].token == key && !found[k]) found[k] = std::move(value);
        if (prose) break;
    }
    std::vector<JournalField> fields;
    for (std::size_t k = 0; k < keys.size(); ++k)
        if (found[k] && !found[k]->empty())
            fields.push_back({std::string(keys[k].field), *found[k]});
    return fields;
}

int syslog_priority(LogLevel level) {
    switch (level) {
        case LogLevel::trace:
        case LogLevel::debug:
            return 7;  // LOG_DEBUG
        case LogLevel::info:
            return 6;  // LOG_INFO
        case LogLevel::warn:
            return 4;  // LOG_WARNING
        case LogLevel::error:
            return 3;  // LOG_ERR
        case LogLevel::critical:
            return 2;  // LOG_CRIT
    }
    return 6;
}

std::vector<std::string> journal_entry(std::string_view message, LogLevel level,
                                       std::string_view identifier) {
    std::vector<std::string> entry;
    entry.push_back("MESSAGE=" + std::string(message));
    entry.push_back("PRIORITY=" + std::to_string(syslog_priority(level)));
    entry.push_back("SYSLOG_IDENTIFIER=" + std::string(identifier));
    for (auto& field : journal_fields(message)) entry.push_back(field.name + "=" + field.value);
    return entry;
}

bool is_journal_stream(const char* journal_stream, int fd) {
    if (!journal_stream) return false;
    std::string_view text = journal_stream;
    auto colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    std::uintmax_t device = 0, inode = 0;
    auto parse = [](std::string_view digits, std::uintmax_t& out) {
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return ec == std::errc{} && end == digits.data() + digits.size() && !digits.empty();
    };
    if (!parse(text.substr(0, colon), device) || !parse(text.substr(colon + 1), inode))
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<std::uintmax_t>(st.st_dev) == device &&
           static_cast<std::uintmax_t>(st.st_ino) == inode;
}

}  // namespace actiondrop::util
