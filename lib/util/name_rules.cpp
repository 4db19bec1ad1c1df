#include "util/name_rules.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <initializer_list>

namespace actiondrop::util {
namespace {

bool starts_with_any(std::string_view name, std::initializer_list<std::string_view> prefixes) {
    for (auto p : prefixes)
        if (name.starts_with(p)) return true;
    return false;
}

bool ends_with_any(std::string_view name, std::initializer_list<std::string_view> suffixes) {
    for (auto s : suffixes)
        if (name.ends_with(s)) return true;
    return false;
}

}  // namespace

bool is_hidden(std::string_view name) { return name.starts_with('.'); }

std::optional<std::string> never_taken(std::string_view name, std::string_view pattern) {
    if (name.empty()) return "an empty name";
    if (is_hidden(name)) return "a hidden name";
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return "a name with a control character";
    if (name.find('/') != std::string_view::npos) return "a name with '/'";
    if (starts_with_any(name, {"receipt_", "result_", "errors_"}))
        return "an answer file name (receipt_, result_, errors_)";
    if (name.ends_with("_summary.json")) return "an answer file name (_summary.json)";
    if (name.ends_with(".done")) return "a done marker";
    if (ends_with_any(name, {".part", ".filepart", ".tmp"})) return "a client's temporary name";
    std::string n(name), p(pattern);
    if (::fnmatch(p.c_str(), n.c_str(), FNM_PERIOD) != 0)
        return fmt::format("does not match the inbox pattern '{}'", pattern);
    return std::nullopt;
}

std::optional<std::string> unanswerable(std::string_view name) {
    if (name.size() <= max_name_bytes) return std::nullopt;
    return fmt::format("a name of {} bytes: answers need names up to 43 bytes longer, so a batch file's "
                       "name may have at most {} bytes",
                       name.size(), max_name_bytes);
}

namespace {

// Bytes a name may hold and still be printed bare: none of them can end a log line's token
// value or look like a key (space, '=', quotes), start its prose (':'), be taken for the
// punctuation after a value (',', ';'), or pass for a space on a terminal (non-ASCII).
bool bare_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._-+@%~#!$&'()[]{}^").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string printable(std::string_view name) {
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return bare_byte(c); }))
        return std::string(name);
    std::string out = "\"";
    for (unsigned char c : name) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

}  // namespace actiondrop::util
