#include "util/name_rules.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>

namespace actiondrop::util {
namespace {

bool starts_with_any(std::string_view name, std::initializer_list<std::string_view> prefixes) {
    for (auto p : prefixes)
        if (name.starts_with(p)) return true;
    return false;
}

// Suffixes in lower case, matched in any case (ASCII).
bool ends_with_any_case(std::string_view name, std::initializer_list<std::string_view> suffixes) {
    const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c; };
    for (auto s : suffixes)
        if (name.size() >= s.size() &&
            std::equal(s.begin(), s.end(), name.end() - static_cast<std::ptrdiff_t>(s.size()),
                       [&](char x, char y) { return x == lower(static_cast<unsigned char>(y)); }))
            return true;
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
    // Any case: a half-written upload named by a client in capitals must wait too.
    if (ends_with_any_case(name, {".part", ".filepart", ".tmp"}))
        return "a client's temporary name";
    std::string n(name), p(pattern);
    if (::fnmatch(p.c_str(), n.c_str(), FNM_PERIOD) != 0)
        return fmt::format("does not match the inbox pattern '{}'", pattern);
    return std::nullopt;
}

std::optional<std::string> unanswerable(std::string_view name) {
    if (name.size() <= max_name_bytes) return std::nullopt;
    return fmt::format(
        "a name of {} bytes: answers need names up to 43 bytes longer, so a batch file's "
        "name may have at most {} bytes",
        name.size(), max_name_bytes);
}

namespace {

// Bytes a name may hold and still be printed bare: none of them can end a log line's token
// value or look like a key (space, '=', quotes), start its prose (':'), be taken for the
// punctuation after a value (',', ';'), or pass for a space on a terminal (non-ASCII).
bool bare_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._-+@%~#!$&'()[]{}^").find(static_cast<char>(c)) !=
               std::string_view::npos;
}

// The length of the well-formed UTF-8 sequence at the start of `s` (2 to 4 bytes: no
// overlong form, no surrogate, nothing past U+10FFFF) and its code point; 0 when there is
// none.
std::size_t utf8_sequence(std::string_view s, char32_t& code) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = b(0);
    std::size_t n = 0;
    if (lead >= 0xC2 && lead <= 0xDF)
        n = 2, code = lead & 0x1F;
    else if (lead >= 0xE0 && lead <= 0xEF)
        n = 3, code = lead & 0x0F;
    else if (lead >= 0xF0 && lead <= 0xF4)
        n = 4, code = lead & 0x07;
    else
        return 0;
    if (s.size() < n) return 0;
    for (std::size_t i = 1; i < n; ++i) {
        if ((b(i) & 0xC0) != 0x80) return 0;
        code = (code << 6) | (b(i) & 0x3F);
    }
    if ((n == 3 && code < 0x800) || (n == 4 && (code < 0x10000 || code > 0x10FFFF)) ||
        (code >= 0xD800 && code <= 0xDFFF))
        return 0;
    return n;
}

// Characters that change how a line shows without showing themselves: C1 controls, the
// marks, embeddings, overrides and isolates of bidirectional text, the zero-width ones (and
// the soft hyphen and byte-order mark), and the line and paragraph separators.
bool invisible_control(char32_t c) {
    return (c >= 0x80 && c <= 0x9F) || c == 0xAD || c == 0x061C || (c >= 0x200B && c <= 0x200F) ||
           (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2069) || c == 0xFEFF;
}

}  // namespace

namespace {

// `text` with what would change how it shows escaped; with `quoted`, quotes and backslashes
// too, so that the result read back between quotes is `text` (printable()).
std::string escaped(std::string_view name, bool quoted) {
    std::string out;
    for (std::size_t i = 0; i < name.size();) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (quoted && (c == '"' || c == '\\')) {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else if (c >= 0x80) {
            char32_t code = 0;
            const std::size_t n = utf8_sequence(name.substr(i), code);
            if (n == 0)
                out += fmt::format("\\x{:02x}", c);  // not UTF-8: the byte, escaped
            else if (invisible_control(code))
                out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(code));
            else
                out.append(name.substr(i, n));
            i += n == 0 ? 1 : n;
            continue;
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
    return out;
}

}  // namespace

std::string printable(std::string_view name) {
    if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return bare_byte(c); }))
        return std::string(name);
    return "\"" + escaped(name, true) + "\"";
}

std::string printable_text(std::string_view text) { return escaped(text, false); }

}  // namespace actiondrop::util
