#pragma once
// The columns of a batch file (docs/formats.md, "The header"): the header is checked once
// (case-insensitive names, aliases, item groups Sku<i>..., ErrorCode/ErrorMessage
// ignored, unknown or duplicate columns and a missing identifier reject the file), then
// each record is mapped to the ledger's row type. A record with more or fewer fields
// than the header is that row's MALFORMED.
#include <expected>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batch/csv_reader.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::batch {

enum class FileType { Modifications, Conversions, FundsTransfers };
std::optional<FileType> parse_file_type(std::string_view s);  // "modifications", ...
std::string_view file_type_name(FileType t);

struct RowError {
    ledger::ErrorCode code = ledger::ErrorCode::Malformed;
    std::string message;
};

class Layout {
public:
    // Checks the header record: UNKNOWN_COLUMN, DUPLICATE_COLUMN, NO_IDENTIFIER.
    static std::expected<Layout, FileError> parse(FileType type, const Record& header);

    std::expected<ledger::ModificationRow, RowError> modification(const Record& r) const;
    std::expected<ledger::ConversionRow, RowError> conversion(const Record& r) const;
    std::expected<ledger::TransferRow, RowError> transfer(const Record& r) const;

    // The header as the errors_ file repeats it: the original columns without any
    // ErrorCode/ErrorMessage, then ErrorCode,ErrorMessage.
    std::vector<std::string> errors_header() const;
    // A record's original cells in errors_header() order (without the ignored columns).
    std::vector<std::string> original_cells(const Record& r) const;

    FileType type() const { return type_; }
    std::size_t width() const { return columns_.size(); }  // fields per record

private:
    struct Column {
        std::string name;  // as in the file
        int role = 0;      // what the column holds (layout.cpp)
        int group = -1;    // slot of its item group, in ascending index order; -1 if none
    };
    FileType type_ = FileType::Modifications;
    std::vector<Column> columns_;
    std::vector<int> group_indices_;  // the i of each item group slot, ascending

    // Cells and item groups of a record whose field count was checked.
    template <typename Row>
    std::expected<Row, RowError> map(const Record& r) const;
};

// The form of a whole file without applying anything: the header, every record's
// syntax and the limits. The number of data records, or the file-level error (EMPTY_FILE
// when there is no data record). Used before applying, so a file rejected as a whole
// changes nothing, and by `actiondrop validate`.
struct FileCheck {
    std::int64_t records = 0;  // data records, header excluded
};
std::expected<FileCheck, FileError> check_file(std::istream& in, FileType type,
                                               const Limits& limits);

}  // namespace actiondrop::batch
