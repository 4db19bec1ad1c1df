#pragma once
// A streaming RFC 4180 reader that knows the physical line where each record starts.
// Accepts a UTF-8 BOM, CRLF or LF, quoted fields with commas, quotes and line breaks.
// Rejects (as a file-level error naming the line): invalid UTF-8 (NOT_UTF8), a bare CR
// outside quotes or an unterminated quote or stray quote (MALFORMED_CSV), a physical
// line longer than the limit (LINE_TOO_LONG). Blank lines are skipped. Reads in blocks:
// memory is bounded by the longest record, never the file.
#include <cstdint>
#include <expected>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/errors.hpp"

namespace actiondrop::batch {

struct FileError {
    ledger::ErrorCode code = ledger::ErrorCode::None;
    std::string message;               // names the line or column
    std::optional<std::int64_t> line;  // physical line, when one applies
};

struct Limits {
    std::int64_t max_file_bytes = 512LL * 1024 * 1024;
    std::int64_t max_rows = 5'000'000;
    std::int64_t max_line_bytes = 64 * 1024;
};

struct Record {
    std::int64_t line = 0;  // physical line where the record starts (header = 1)
    std::vector<std::string> fields;
};

class CsvReader {
public:
    CsvReader(std::istream& in, Limits limits);
    // The next non-blank record; false at the end of the file.
    std::expected<bool, FileError> next(Record& out);
    std::int64_t bytes_read() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace actiondrop::batch
