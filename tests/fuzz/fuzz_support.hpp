#pragma once
// What the fuzz targets share: a property check that stops the run (libFuzzer then saves
// the input as a crash), and the batch file read into records the way lib/apply reads it.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "batch/csv_reader.hpp"

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

// Every record of a batch file, or the file-level error that stopped the reader.
struct ReadFile {
    std::vector<batch::Record> records;
    std::optional<batch::FileError> error;
    std::int64_t bytes_read = 0;
};

inline ReadFile read_records(std::string_view bytes, const batch::Limits& limits) {
    std::istringstream in{std::string(bytes)};
    batch::CsvReader reader(in, limits);
    ReadFile file;
    for (;;) {
        batch::Record record;
        auto more = reader.next(record);
        if (!more) {
            file.error = more.error();
            break;
        }
        if (!*more) break;
        file.records.push_back(std::move(record));
    }
    file.bytes_read = reader.bytes_read();
    return file;
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
