#pragma once
// The catalog's accounts as JSON documents, one per account, exact both ways: decimals
// as their text, instants as integer milliseconds, dates as YYYY-MM-DD, time zones and
// currencies by name (looked up again when decoded).
#include <string>
#include <string_view>

#include "ledger/catalog.hpp"

namespace actiondrop::store {

std::string encode_account(const ledger::Account& account);
// Throws StoreError when the document is damaged or names an unknown zone or currency.
ledger::Account decode_account(std::string_view document);

std::string format_day(ledger::Days day);  // "2026-01-31"
// Throws StoreError when the text is not a valid date.
ledger::Days parse_day(std::string_view text);

// Decimals in the store: format_decimal's text, read back exactly.
std::string format_stored_decimal(const ledger::Decimal& value);
ledger::Decimal parse_stored_decimal(std::string_view text);

}  // namespace actiondrop::store
