#pragma once
// The files that go back to the outbox (docs/formats.md, "What comes back"):
// receipt_NAME.txt, result_NAME, errors_NAME and NAME_summary.json. UTF-8 without BOM, CRLF
// line ends; a cell a spreadsheet would run as a formula (= + - @ tab CR first) gets a
// leading ' ("Formula-safe cells").
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "batch/csv_reader.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::batch {

// One CSV record with CRLF; quotes a field when it needs it; formula-safe.
void write_csv_record(std::ostream& out, const std::vector<std::string>& cells);
// The cell with a leading ' when a spreadsheet would run it as a formula.
std::string formula_safe(std::string_view cell);
// The text with each LF made a CRLF, as every file sent back ends its lines (JSON as dumped
// holds an LF only between its lines).
std::string crlf_lines(std::string_view text);

std::string result_name(std::string_view file_name);   // result_NAME
std::string errors_name(std::string_view file_name);   // errors_NAME
std::string receipt_name(std::string_view file_name);  // receipt_NAME.txt
std::string summary_name(std::string_view file_name);  // NAME_summary.json

struct Receipt {
    std::string batch_id, file_name, sha256;
    std::int64_t size = 0;
    ledger::Instant received_at{};
};
void write_receipt(std::ostream& out, const Receipt& r);

// result_NAME: the header line, then one line per RowResult.
void write_result_header(std::ostream& out);
void write_result_line(std::ostream& out, const ledger::RowResult& r);

struct Summary {
    std::string batch_id, file, sha256, type;
    std::string status;  // COMPLETE | REJECTED
    std::int64_t total = 0, applied = 0, rejected = 0;
    std::map<std::string, std::int64_t> error_counts;
    ledger::Instant received_at{}, completed_at{};
    std::string error_code, error_message;  // file-level rejection
    std::optional<std::int64_t> line;
    bool dry_run = false;                  // answers of `apply --dry-run`: nothing changed
    std::optional<ledger::Instant> as_of;  // its --as-of
};
void write_summary(std::ostream& out, const Summary& s);  // JSON, pretty, CRLF

}  // namespace actiondrop::batch
