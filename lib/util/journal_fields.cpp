#include "util/journal_fields.hpp"

#include <sys/stat.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

namespace actiondrop::util {
namespace {

struct Key {
    std::string_view token;  // as written in a log line, before '='
    std::string_view field;  // the journal field
};
// In the order the fields are sent.
constexpr std::array<Key, 4> keys = {
    {{"account", "ACCOUNT"}, {"inbox", "INBOX"}, {"batch", "BATCH"}, {"file", "FILE"}}};

bool is_lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// Where a ` key=` token (a lower-case word, digits or '_', then '=') starts at or after
// `from`: the index of its space, or npos.
std::size_t next_token(std::string_view text, std::size_t from) {
    for (auto space = text.find(' ', from); space != std::string_view::npos;
         space = text.find(' ', space + 1)) {
        std::size_t end = space + 1;
        while (end < text.size() && (is_lower_or_digit(text[end]) || text[end] == '_')) ++end;
        if (end > space + 1 && end < text.size() && text[end] == '=') return space;
    }
    return std::string_view::npos;
}

// The value of the first `key=` token of the message, or nullopt.
std::optional<std::string_view> token_value(std::string_view message, std::string_view key,
                                            bool may_hold_spaces) {
    for (auto at = message.find(key); at != std::string_view::npos;
         at = message.find(key, at + 1)) {
        const std::size_t eq = at + key.size();
        if ((at > 0 && message[at - 1] != ' ') || eq >= message.size() || message[eq] != '=')
            continue;
        const std::size_t start = eq + 1;
        if (may_hold_spaces) {
            auto next = next_token(message, start);
            if (next != std::string_view::npos) {
                auto value = message.substr(start, next - start);
                if (value.find(':') == std::string_view::npos) return value;
            }
        }
        auto value = message.substr(start, message.find(' ', start) - start);
        if (!value.empty() && (value.back() == ':' || value.back() == ',' || value.back() == ';'))
            value.remove_suffix(1);
        return value;
    }
    return std::nullopt;
}

}  // namespace

std::vector<JournalField> journal_fields(std::string_view message) {
    std::vector<JournalField> fields;
    for (const auto& key : keys) {
        auto value = token_value(message, key.token, key.token == "file");
        if (value && !value->empty())
            fields.push_back({std::string(key.field), std::string(*value)});
    }
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
