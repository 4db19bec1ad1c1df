#pragma once
// What the fuzz targets share: a property check that stops the run (libFuzzer then saves
// the input as a crash), and the input seen as text.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace actiondrop::fuzz {

inline void check(bool ok, std::string_view what,
                  std::source_location where = std::source_location::current()) {
    if (ok) return;
    std::fprintf(stderr, "fuzz property failed at %s:%u: %.*s\n", where.file_name(),
                 static_cast<unsigned>(where.line()), static_cast<int>(what.size()), what.data());
    std::abort();
}

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits the input at '\n' into at most `n` lines; a missing line is empty.
inline std::vector<std::string_view> lines_of(std::string_view text, std::size_t n) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < n) {
        const auto nl = text.find('\n');
        if (nl == std::string_view::npos) break;
        out.push_back(text.substr(0, nl));
        text.remove_prefix(nl + 1);
    }
    out.push_back(text);
    out.resize(n);
    return out;
}

}  // namespace actiondrop::fuzz
