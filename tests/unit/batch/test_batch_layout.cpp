#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "batch/layout.hpp"
#include "ledger/errors.hpp"

using actiondrop::batch::check_file;
using actiondrop::batch::FileType;
using actiondrop::batch::Layout;
using actiondrop::batch::Limits;
using actiondrop::batch::Record;
using actiondrop::ledger::error_name;
using actiondrop::ledger::ErrorCode;

namespace {

Record rec(std::vector<std::string> cells, std::int64_t line = 1) {
    Record r;
    r.line = line;
    r.fields = std::move(cells);
    return r;
}

Layout layout(FileType type, std::vector<std::string> header) {
    auto parsed = Layout::parse(type, rec(std::move(header)));
    REQUIRE(parsed.has_value());
    return *parsed;
}

std::string header_error(FileType type, std::vector<std::string> header) {
    auto parsed = Layout::parse(type, rec(std::move(header)));
    if (parsed) return "";
    return std::string(error_name(parsed.error().code));
}

std::string file_error(const std::string& text, FileType type = FileType::Modifications) {
    std::istringstream in(text);
    auto checked = check_file(in, type, Limits{});
    return checked ? "" : std::string(error_name(checked.error().code));
}

}  // namespace

TEST_CASE("layout: file type names") {
    CHECK(actiondrop::batch::parse_file_type("modifications") == FileType::Modifications);
    CHECK(actiondrop::batch::parse_file_type("conversions") == FileType::Conversions);
    CHECK(actiondrop::batch::parse_file_type("funds_transfers") == FileType::FundsTransfers);
    CHECK_FALSE(actiondrop::batch::parse_file_type("Modifications"));
    CHECK_FALSE(actiondrop::batch::parse_file_type(""));
    CHECK(actiondrop::batch::file_type_name(FileType::FundsTransfers) == "funds_transfers");
    CHECK(actiondrop::batch::file_type_name(FileType::Conversions) == "conversions");
}

TEST_CASE("layout: a modification record maps to its row, names matched in any case") {
    auto l = layout(FileType::Modifications,
                    {"actionid", "ORDERID", "ActionTrackerId", "Amount", "CurrencyCode",
                     "customerSTATUS", "Reason", "DispositionCode"});
    auto row = l.modification(
        rec({"A1", "O-9", "19816", "12.50", "USD", "NEW", "ORDER_UPDATE", "STAY"}, 7));
    REQUIRE(row);
    CHECK(row->line == 7);
    CHECK(row->action_id == "A1");
    CHECK(row->order_id == "O-9");
    CHECK(row->tracker_id == "19816");
    CHECK(row->amount == "12.50");
    CHECK(row->currency_code == "USD");
    CHECK(row->customer_status == "NEW");
    CHECK(row->reason == "ORDER_UPDATE");
    CHECK(row->disposition_code == "STAY");
    CHECK(row->items.empty());
}

TEST_CASE("layout: empty cells are absent and values are not trimmed") {
    auto l = layout(FileType::Modifications, {"ActionId", "Amount", "Reason"});
    auto row = l.modification(rec({" A1 ", "", "REJECTED "}));
    REQUIRE(row);
    CHECK(row->action_id == " A1 ");
    CHECK_FALSE(row->amount);
    CHECK(row->reason == "REJECTED ");
    CHECK_FALSE(row->order_id);
}

TEST_CASE("layout: a leading apostrophe directly before = + - @ is removed") {
    auto l = layout(FileType::Modifications, {"ActionId", "Amount", "Reason", "CurrencyCode"});
    auto row = l.modification(rec({"'=A1", "'-5", "'@x", "'+1"}));
    REQUIRE(row);
    CHECK(row->action_id == "=A1");
    CHECK(row->amount == "-5");
    CHECK(row->reason == "@x");
    CHECK(row->currency_code == "+1");
    auto other = l.modification(rec({"'A1", "''=5", "'", "x'=y"}));
    REQUIRE(other);
    CHECK(other->action_id == "'A1");
    CHECK(other->amount == "''=5");  // the apostrophe is not before a formula sign
    CHECK(other->reason == "'");
    CHECK(other->currency_code == "x'=y");
}

TEST_CASE("layout: a record of the wrong width is that row's MALFORMED") {
    auto l = layout(FileType::Modifications, {"ActionId", "Amount", "Reason", "OrderId",
                                              "ActionTrackerId", "Sku1", "Quantity1"});
    auto short_row = l.modification(rec({"A1", "1", "ORDER_UPDATE", "O", "T"}));
    REQUIRE_FALSE(short_row);
    CHECK(short_row.error().code == ErrorCode::Malformed);
    CHECK(short_row.error().message == "record has 5 fields, header has 7");
    auto long_row = l.modification(rec({"A1", "1", "X", "O", "T", "S", "1", "extra"}));
    REQUIRE_FALSE(long_row);
    CHECK(long_row.error().message == "record has 8 fields, header has 7");
}

TEST_CASE("layout: Oid is OrderId") {
    auto l = layout(FileType::Modifications, {"OID", "ActionTrackerId", "Reason"});
    auto row = l.modification(rec({"O-1", "19816", "REJECTED"}));
    REQUIRE(row);
    CHECK(row->order_id == "O-1");
    CHECK_FALSE(row->action_id);
}

TEST_CASE("layout: item groups are collected by index in ascending order") {
    auto l = layout(FileType::Modifications,
                    {"ActionId", "Reason", "Sku10", "Quantity10", "sku2", "NEWSKU2", "Amount2",
                     "Category2", "Quantity2", "Sku3", "Amount"});
    auto row = l.modification(
        rec({"A1", "ORDER_UPDATE", "S10", "4", "S2", "S2b", "9.99", "toys", "1", "", "5.00"}));
    REQUIRE(row);
    CHECK(row->amount == "5.00");
    // Group 3 has only empty cells: not in the row.
    REQUIRE(row->items.size() == 2);
    CHECK(row->items[0].index == 2);
    CHECK(row->items[0].sku == "S2");
    CHECK(row->items[0].new_sku == "S2b");
    CHECK(row->items[0].amount == "9.99");
    CHECK(row->items[0].category == "toys");
    CHECK(row->items[0].quantity == "1");
    CHECK(row->items[1].index == 10);
    CHECK(row->items[1].sku == "S10");
    CHECK(row->items[1].quantity == "4");
    CHECK_FALSE(row->items[1].amount);
}

TEST_CASE("layout: an item field without its Sku stays in its group for the rules to refuse") {
    auto l = layout(FileType::Modifications, {"ActionId", "Reason", "Sku1", "Quantity1"});
    auto row = l.modification(rec({"A1", "ORDER_UPDATE", "", "2"}));
    REQUIRE(row);
    REQUIRE(row->items.size() == 1);
    CHECK_FALSE(row->items[0].sku);
    CHECK(row->items[0].quantity == "2");
}

TEST_CASE("layout: a conversion record maps to its row") {
    auto l = layout(FileType::Conversions,
                    {"ActionId", "CampaignId", "ActionTrackerId", "PartnerId", "Oid", "CustomerId",
                     "CustomerStatus", "PromoCode", "EventDate", "Amount", "CurrencyCode",
                     "ParentActionId", "Sku1", "Quantity1", "Amount1", "Category1"});
    auto row =
        l.conversion(rec({"C1", "CAMP", "19816", "P-77", "O-1", "CU-1", "EXISTING", "FREESHIP0",
                          "2026-01-15T10:00:00Z", "", "EUR", "C0", "SKU-A", "2", "19.90", "books"},
                         3));
    REQUIRE(row);
    CHECK(row->line == 3);
    CHECK(row->action_id == "C1");
    CHECK(row->campaign_id == "CAMP");
    CHECK(row->tracker_id == "19816");
    CHECK(row->partner_id == "P-77");
    CHECK(row->order_id == "O-1");
    CHECK(row->customer_id == "CU-1");
    CHECK(row->customer_status == "EXISTING");
    CHECK(row->promo_code == "FREESHIP0");
    CHECK(row->event_date == "2026-01-15T10:00:00Z");
    CHECK_FALSE(row->amount);
    CHECK(row->currency_code == "EUR");
    CHECK(row->parent_action_id == "C0");
    REQUIRE(row->items.size() == 1);
    CHECK(row->items[0].sku == "SKU-A");
    CHECK(row->items[0].quantity == "2");
    CHECK(row->items[0].amount == "19.90");
    CHECK(row->items[0].category == "books");
}

TEST_CASE("layout: conversions need no identifier column") {
    CHECK(header_error(FileType::Conversions, {"ActionTrackerId", "PartnerId", "Amount"}) == "");
}

TEST_CASE("layout: unknown columns reject the file, naming the column") {
    auto parsed = Layout::parse(FileType::Modifications, rec({"ActionId", "Reason", "Colour"}));
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ErrorCode::UnknownColumn);
    CHECK(parsed.error().message.find("\"Colour\"") != std::string::npos);
    CHECK(parsed.error().message.find("column 3") != std::string::npos);
    CHECK(parsed.error().line == 1);

    const auto m = FileType::Modifications;
    CHECK(header_error(m, {"ActionId", "Reason", ""}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku0"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku01"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku-1"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku1x"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", " ActionId"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "PartnerId"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "EventDate"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(FileType::Conversions, {"ActionId", "NewSku1"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(FileType::Conversions, {"ActionId", "Reason"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(FileType::FundsTransfers, {"PartnerId", "Sku1"}) == "UNKNOWN_COLUMN");
}

TEST_CASE("layout: the empty header cell is reported by its position") {
    auto parsed = Layout::parse(FileType::Modifications, rec({"ActionId", "", "Reason"}));
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().message.find("column 2") != std::string::npos);
}

TEST_CASE("layout: duplicate columns reject the file, also by alias or case") {
    const auto m = FileType::Modifications;
    CHECK(header_error(m, {"ActionId", "Reason", "ActionId"}) == "DUPLICATE_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "actionID"}) == "DUPLICATE_COLUMN");
    CHECK(header_error(m, {"OrderId", "ActionTrackerId", "Reason", "Oid"}) == "DUPLICATE_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "Sku1", "SKU1"}) == "DUPLICATE_COLUMN");
    CHECK(header_error(m, {"ActionId", "Reason", "ErrorCode", "errorcode"}) == "DUPLICATE_COLUMN");
    // Amount and Amount1 are different columns.
    CHECK(header_error(m, {"ActionId", "Reason", "Amount", "Sku1", "Amount1"}) == "");

    auto parsed = Layout::parse(m, rec({"Oid", "ActionTrackerId", "Reason", "ORDERID"}, 3));
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().code == ErrorCode::DuplicateColumn);
    CHECK(parsed.error().message.find("\"ORDERID\"") != std::string::npos);
    CHECK(parsed.error().message.find("\"Oid\"") != std::string::npos);
    CHECK(parsed.error().line == 3);
}

TEST_CASE("layout: modifications need ActionId or OrderId with ActionTrackerId") {
    const auto m = FileType::Modifications;
    CHECK(header_error(m, {"Amount", "Reason"}) == "NO_IDENTIFIER");
    CHECK(header_error(m, {"OrderId", "Reason"}) == "NO_IDENTIFIER");
    CHECK(header_error(m, {"ActionTrackerId", "Reason"}) == "NO_IDENTIFIER");
    CHECK(header_error(m, {"Oid", "ActionTrackerId", "Reason"}) == "");
    CHECK(header_error(m, {"ActionId"}) == "");
    // An unknown column is reported before the missing identifier.
    CHECK(header_error(m, {"Amount", "Bogus"}) == "UNKNOWN_COLUMN");
}

TEST_CASE("layout: ErrorCode and ErrorMessage are accepted and left out of the errors file") {
    auto l = layout(FileType::Modifications,
                    {"ActionId", "ErrorCode", "Amount", "ErrorMessage", "Reason"});
    CHECK(l.width() == 5);
    CHECK(l.errors_header() ==
          std::vector<std::string>{"ActionId", "Amount", "Reason", "ErrorCode", "ErrorMessage"});
    const auto r = rec({"A1", "MALFORMED", "'-5", "bad amount", "ORDER_UPDATE"});
    CHECK(l.original_cells(r) == std::vector<std::string>{"A1", "'-5", "ORDER_UPDATE"});
    auto row = l.modification(r);
    REQUIRE(row);
    CHECK(row->amount == "-5");
    CHECK(row->reason == "ORDER_UPDATE");
}

TEST_CASE("layout: the errors file keeps the header names as written") {
    auto l = layout(FileType::Modifications, {"oid", "ACTIONTRACKERID", "reason"});
    CHECK(l.errors_header() == std::vector<std::string>{"oid", "ACTIONTRACKERID", "reason",
                                                        "ErrorCode", "ErrorMessage"});
}

TEST_CASE("layout: original cells of a record of the wrong width are all kept") {
    // Its cells are not under the columns the header names, so none of them is known to be
    // an old ErrorCode or ErrorMessage: dropping by position would drop data.
    auto l = layout(FileType::Modifications, {"ActionId", "ErrorCode", "Reason"});
    CHECK(l.original_cells(rec({"A1"})) == std::vector<std::string>{"A1"});
    CHECK(l.original_cells(rec({"A1", "X", "R", "extra"})) ==
          std::vector<std::string>{"A1", "X", "R", "extra"});
    auto first =
        layout(FileType::Modifications, {"ErrorCode", "ActionId", "errormessage", "Reason"});
    CHECK(first.original_cells(rec({"X", "A-9", "CONS_FRAUD"})) ==
          std::vector<std::string>{"X", "A-9", "CONS_FRAUD"});
}

TEST_CASE("layout: funds transfer headers") {
    CHECK(header_error(FileType::FundsTransfers,
                       {"TransferType", "PartnerId", "Amount", "CurrencyCode", "PaymentDate",
                        "CampaignId", "Comments", "ErrorCode", "ErrorMessage"}) == "");
    CHECK(header_error(FileType::FundsTransfers, {"transfertype", "partnerid", "AMOUNT"}) == "");
    CHECK(header_error(FileType::FundsTransfers, {"PartnerId", "ActionId"}) == "UNKNOWN_COLUMN");
    CHECK(header_error(FileType::FundsTransfers, {"PartnerId", "PARTNERID"}) == "DUPLICATE_COLUMN");
}

TEST_CASE("layout: asking a layout for the other type's row is a bug") {
    auto l = layout(FileType::Conversions, {"ActionId"});
    CHECK_THROWS_AS((void)l.modification(rec({"A1"})), std::logic_error);
}

TEST_CASE("layout: check_file sees empty files, bad headers and bad records") {
    CHECK(file_error("") == "EMPTY_FILE");
    CHECK(file_error("\n\r\n\n") == "EMPTY_FILE");
    CHECK(file_error("ActionId,Reason\r\n") == "EMPTY_FILE");
    CHECK(file_error("ActionId,Reason\r\n\r\n\r\n") == "EMPTY_FILE");
    CHECK(file_error("ActionId,Colour\r\nA1,red\r\n") == "UNKNOWN_COLUMN");
    CHECK(file_error("ActionId,Reason\r\nA1,\"REJ\r\n") == "MALFORMED_CSV");
    // A short record is a row error, not a file error.
    CHECK(file_error("ActionId,Reason\r\nA1\r\n") == "");

    std::istringstream in(
        "\xEF\xBB\xBFOid,ActionTrackerId,Reason\nO1,T,REJECTED\n\nO2,T,REJECTED\n");
    auto checked = check_file(in, FileType::Modifications, Limits{});
    REQUIRE(checked);
    CHECK(checked->records == 2);
}
