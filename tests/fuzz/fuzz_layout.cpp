// The header layout of a batch file (lib/batch/layout.*). The first input byte picks the
// file type (modifications, conversions, funds_transfers); the rest is the file. Besides
// crashes and UB it checks that check_file's verdict (what `actiondrop validate` and the
// pre-check before applying say) agrees with reading the records and parsing the header
// here; that a header error is a header code on the header's line; and that an errors_
// file built from this one is accepted again: its header (errors_header) parses, and each
// record, as original_cells plus ErrorCode and ErrorMessage and written and read back as
// write_csv_record and CsvReader do, maps to the same row as the original record did.
#include <cstdint>
#include <sstream>

#include "batch/layout.hpp"
#include "batch/outputs.hpp"
#include "fuzz_records.hpp"
#include "fuzz_support.hpp"

using namespace actiondrop;
using ledger::ErrorCode;

namespace {

// Known (reported): outputs.cpp's formula_safe also protects a cell starting with a tab or
// CR, but layout.cpp drops the ' only before = + - @, so such a cell comes back from an
// errors_ file with a ' in front. Make this plain == once both sides agree.
bool same_cell(const ledger::Cell& original, const ledger::Cell& again) {
    if (original && again && (original->starts_with('\t') || original->starts_with('\r')))
        return *again == "'" + *original;
    return original == again;
}

bool same_items(const std::vector<ledger::ItemGroup>& a, const std::vector<ledger::ItemGroup>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].index != b[i].index || !same_cell(a[i].sku, b[i].sku) ||
            !same_cell(a[i].new_sku, b[i].new_sku) || !same_cell(a[i].quantity, b[i].quantity) ||
            !same_cell(a[i].amount, b[i].amount) || !same_cell(a[i].category, b[i].category))
            return false;
    }
    return true;
}

bool same_row(const ledger::ModificationRow& a, const ledger::ModificationRow& b) {
    return same_cell(a.action_id, b.action_id) && same_cell(a.order_id, b.order_id) &&
           same_cell(a.tracker_id, b.tracker_id) && same_cell(a.amount, b.amount) &&
           same_cell(a.currency_code, b.currency_code) &&
           same_cell(a.customer_status, b.customer_status) && same_cell(a.reason, b.reason) &&
           same_cell(a.disposition_code, b.disposition_code) && same_items(a.items, b.items);
}

bool same_row(const ledger::ConversionRow& a, const ledger::ConversionRow& b) {
    return same_cell(a.action_id, b.action_id) && same_cell(a.campaign_id, b.campaign_id) &&
           same_cell(a.tracker_id, b.tracker_id) && same_cell(a.partner_id, b.partner_id) &&
           same_cell(a.order_id, b.order_id) && same_cell(a.customer_id, b.customer_id) &&
           same_cell(a.customer_status, b.customer_status) &&
           same_cell(a.promo_code, b.promo_code) && same_cell(a.event_date, b.event_date) &&
           same_cell(a.amount, b.amount) && same_cell(a.currency_code, b.currency_code) &&
           same_cell(a.parent_action_id, b.parent_action_id) && same_items(a.items, b.items);
}

bool same_row(const ledger::TransferRow& a, const ledger::TransferRow& b) {
    return same_cell(a.transfer_type, b.transfer_type) && same_cell(a.partner_id, b.partner_id) &&
           same_cell(a.amount, b.amount) && same_cell(a.currency_code, b.currency_code) &&
           same_cell(a.payment_date, b.payment_date) && same_cell(a.campaign_id, b.campaign_id) &&
           same_cell(a.comments, b.comments);
}

template <typename Map>
void check_rows_again(const batch::Layout& layout, const batch::Layout& again,
                      const batch::Record& original, const batch::Record& reread, Map map) {
    const auto first = map(layout, original);
    const auto second = map(again, reread);
    // Known (layout.cpp, reported): a record short by exactly the header's ignored
    // columns (ErrorCode, ErrorMessage) is MALFORMED, but its errors_ line has the full
    // width and maps. Remove this exception once original_cells keeps such a record short.
    if (!first && second && layout.original_cells(original).size() + 2 == again.width()) return;
    fuzz::check(first.has_value() == second.has_value(),
                "an errors_ file record maps as the original did");
    if (first)
        fuzz::check(same_row(*first, *second), "an errors_ file record maps to the same row");
    else
        fuzz::check(first.error().code == ErrorCode::Malformed, "a record maps or is MALFORMED");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto type = static_cast<batch::FileType>(data[0] % 3);
    const std::string_view file = fuzz::text_of(data + 1, size - 1);
    const batch::Limits limits;

    std::istringstream in{std::string(file)};
    const auto checked = batch::check_file(in, type, limits);

    const fuzz::ReadFile read = fuzz::read_records(file, limits);
    if (read.error) {
        // The reader stops at its first error; a bad header before it wins.
        std::optional<ErrorCode> header_error;
        if (!read.records.empty())
            if (auto l = batch::Layout::parse(type, read.records[0]); !l)
                header_error = l.error().code;
        fuzz::check(!checked && checked.error().code == header_error.value_or(read.error->code),
                    "check_file gives the reader's or the header's error");
        return 0;
    }
    if (read.records.empty()) {
        fuzz::check(!checked && checked.error().code == ErrorCode::EmptyFile,
                    "no record is EMPTY_FILE");
        return 0;
    }
    const batch::Record& header = read.records[0];
    const auto layout = batch::Layout::parse(type, header);
    if (!layout) {
        const ErrorCode code = layout.error().code;
        fuzz::check(code == ErrorCode::UnknownColumn || code == ErrorCode::DuplicateColumn ||
                        code == ErrorCode::NoIdentifier,
                    "a header error is a header code");
        fuzz::check(layout.error().line == header.line, "a header error names the header line");
        fuzz::check(!checked && checked.error().code == code, "check_file gives the header error");
        return 0;
    }
    const auto records = static_cast<std::int64_t>(read.records.size()) - 1;
    if (records == 0) {
        fuzz::check(!checked && checked.error().code == ErrorCode::EmptyFile,
                    "a header alone is EMPTY_FILE");
    } else {
        fuzz::check(checked && checked->records == records, "check_file counts the data records");
    }
    fuzz::check(layout->width() == header.fields.size() && layout->type() == type,
                "the layout is the header's");

    // The errors_ file of this one, uploaded again.
    const auto errors_header = layout->errors_header();
    fuzz::check(errors_header.size() >= 2 && errors_header.size() <= header.fields.size() + 2,
                "errors_header drops only ignored columns");
    std::ostringstream errors_file;
    batch::write_csv_record(errors_file, errors_header);
    for (std::size_t i = 1; i < read.records.size(); ++i) {
        auto cells = layout->original_cells(read.records[i]);
        cells.push_back("MALFORMED");
        cells.push_back("a message, with a comma");
        batch::write_csv_record(errors_file, cells);
    }
    const fuzz::ReadFile reread = fuzz::read_records(errors_file.str(), limits);
    fuzz::check(!reread.error && reread.records.size() == read.records.size(),
                "an errors_ file reads back");
    const auto again = batch::Layout::parse(type, reread.records[0]);
    fuzz::check(again.has_value(), "an errors_ file header is accepted again");
    fuzz::check(again->errors_header() == errors_header, "an errors_ file repeats its header");
    for (std::size_t i = 1; i < read.records.size(); ++i) {
        if (type == batch::FileType::Modifications)
            check_rows_again(
                *layout, *again, read.records[i], reread.records[i],
                [](const batch::Layout& l, const batch::Record& r) { return l.modification(r); });
        else if (type == batch::FileType::Conversions)
            check_rows_again(
                *layout, *again, read.records[i], reread.records[i],
                [](const batch::Layout& l, const batch::Record& r) { return l.conversion(r); });
        else
            check_rows_again(
                *layout, *again, read.records[i], reread.records[i],
                [](const batch::Layout& l, const batch::Record& r) { return l.transfer(r); });
    }
    return 0;
}
