#pragma once
// A streaming RFC 4180 reader that knows the physical line where each record starts.
// Accepts a UTF-8 BOM, CRLF or LF, quoted fields with commas, quotes and line breaks.
// Rejects (as a file-level error naming the line): invalid UTF-8 (NOT_UTF8), a bare CR
// outside quotes or an unterminated quote or stray quote (MALFORMED_CSV), a physical
// line longer than the limit (LINE_TOO_LONG), a record longer than the limit in bytes
// (RECORD_TOO_LONG) or with more fields than the limit (TOO_MANY_FIELDS), both naming the
// line where the record starts. Blank lines are skipped.
//
// Memory: quoted line breaks let one record span any number of lines, so the record
// limits are checked while the record is read, at least once per block of 64 KiB: a
// record being read holds at most max_record_bytes plus one block of text, and
// max_fields strings (README.md, "Limits").
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

// The defaults are those of the service config (etc/actiondrop.yaml, `limits:`).
struct Limits {
    std::int64_t max_file_bytes = 512LL * 1024 * 1024;
    std::int64_t max_rows = 5'000'000;
    std::int64_t max_line_bytes = 64 * 1024;
    // Bytes of one record from its first byte to its line end (line breaks inside quotes
    // count, the CRLF or LF that ends it does not). Real records are well under 1 KiB.
    std::int64_t max_record_bytes = 1024 * 1024;
    // Fields of one record, the header's included. 100 item groups make about 510 columns.
    std::int64_t max_fields = 2'000;
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
