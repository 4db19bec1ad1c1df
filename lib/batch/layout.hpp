#pragma once
// The columns of a batch file (SPEC §4.1, §4.2): the header is checked once
// (case-insensitive names, aliases, item groups Sku<i>..., ErrorCode/ErrorMessage
// ignored, unknown or duplicate columns and a missing identifier reject the file), then
// each record is mapped to the ledger's row type. A record with more or fewer fields
// than the header is that row's MALFORMED.
#include <expected>
#include <string>
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

    // The header as the errors_ file repeats it: the original columns without any
    // ErrorCode/ErrorMessage, then ErrorCode,ErrorMessage.
    std::vector<std::string> errors_header() const;
    // A record's original cells in errors_header() order (without the ignored columns).
    std::vector<std::string> original_cells(const Record& r) const;

    FileType type() const { return type_; }

private:
    FileType type_ = FileType::Modifications;
    struct Column;
    std::vector<std::string> names_;      // as in the file
    std::vector<int> roles_;              // internal
    std::vector<int> item_index_;         // item group index per column, or 0
    std::vector<bool> ignored_;           // ErrorCode / ErrorMessage
};

}  // namespace actiondrop::batch
