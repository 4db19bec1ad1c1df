#pragma once
// The checks of a batch row that need neither ledger nor catalog (docs/rules.md, steps 1-4
// of "Row checks of a modification", steps 1-2 of "Row checks of a conversion"): value
// syntax (MALFORMED) and the presence of required fields. Shared by the rules and by
// check_*_form, so that `actiondrop validate` and a real run agree on every form error.
#include <expected>
#include <optional>
#include <string>
#include <vector>

#include "ledger/funds.hpp"
#include "ledger/money.hpp"
#include "ledger/reasons.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::ledger {

struct RowError {
    ErrorCode code = ErrorCode::None;
    std::string message;
};

// The values result_NAME shows for a row on an action: before and after for amounts and
// payouts (the action as it is, twice, for a rejected row that found it). Shared by the rules.
void show(RowResult& result, const Account& account, const Action& before, const Action& after);

// One item group of a modification row, its values parsed.
struct ItemChange {
    int index = 0;
    std::string sku;
    std::optional<std::string> new_sku;
    std::optional<std::int64_t> quantity;
    std::optional<Decimal> amount;
    std::optional<std::string> category;
    // Sku<i> alone only names the item.
    bool specifies_change() const { return new_sku || quantity || amount || category; }
};

struct ModificationValues {
    std::optional<Decimal> amount;
    const Currency* currency = nullptr;  // CurrencyCode when given
    std::optional<std::string> customer_status;
    std::vector<ItemChange> items;  // groups with at least one field, in index order
    bool specifies_changes() const;
};

// MALFORMED: amount and quantity syntax, unknown currency, customer status, an item field
// without its Sku<i>, two groups naming the same SKU.
std::expected<ModificationValues, RowError> parse_modification_values(const ModificationRow& row);

// MISSING_IDENTIFIER -> MISSING_REASON -> UNKNOWN_REASON; the reason's kind when Reason is
// given.
std::expected<std::optional<ReasonKind>, RowError> check_modification_fields(
    const ModificationRow& row);

struct ConversionLine {
    int index = 0;  // the i of Sku<i>
    std::string sku;
    std::string category;
    std::int64_t quantity = 1;
    Decimal amount;
};

struct ConversionValues {
    std::optional<Decimal> amount;
    const Currency* currency = nullptr;  // CurrencyCode, else the default given to the parser
    std::optional<std::string> customer_status;
    std::optional<Instant> event_date;
    std::vector<ConversionLine> items;
};

// MALFORMED for a conversion row. Dates without an offset are read in `tz`; amounts are
// checked against `currency`'s digits when the currency is known (CurrencyCode, else
// `default_currency`, which may be null when no account is known).
std::expected<ConversionValues, RowError> parse_conversion_values(const ConversionRow& row,
                                                                  TimeZone tz,
                                                                  const Currency* default_currency);

// MISSING_FIELD: ActionTrackerId, PartnerId, OrderId, EventDate, and Amount or items.
std::optional<RowError> check_conversion_fields(const ConversionRow& row);

struct TransferValues {
    std::optional<TransferType> type;
    std::optional<Decimal> amount;
    const Currency* currency = nullptr;  // CurrencyCode when given
    std::optional<Instant> payment_date;
};

// MALFORMED for a funds-transfer row: TransferType, Amount (> 0, and in the digits of
// `account_currency` when one is known), CurrencyCode, PaymentDate (read in `tz`, not after
// `now`), Comments (at most 255 characters).
std::expected<TransferValues, RowError> parse_transfer_values(const TransferRow& row, TimeZone tz,
                                                              const Currency* account_currency,
                                                              Instant now);

// MISSING_FIELD: TransferType, PartnerId, Amount.
std::optional<RowError> check_transfer_fields(const TransferRow& row);

// The value in the file's own words, for messages ("Amount2", "Quantity1").
std::string item_field(std::string_view name, int index);

// MALFORMED for an amount the row would compute (a scaled line, an order's sum, a payout)
// beyond the int64 of minor units that every amount is: "<field>: <what> would be beyond ...".
RowError beyond_largest_amount(std::string_view field, std::string_view what);

}  // namespace actiondrop::ledger
