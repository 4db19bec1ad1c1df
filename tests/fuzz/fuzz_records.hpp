#pragma once
// A batch file read into records the way lib/apply reads it, for the targets that link
// lib/batch.
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "batch/csv_reader.hpp"

namespace actiondrop::fuzz {

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

}  // namespace actiondrop::fuzz
