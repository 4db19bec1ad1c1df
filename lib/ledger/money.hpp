#pragma once
// Money in integer minor units of an ISO 4217 currency, and strict decimal parsing.
// Nothing here uses floating point: amounts are int64 minor units, rates and percents
// are exact decimals (mantissa, scale), and products are computed exactly in 256 bits.
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

namespace actiondrop::ledger {

struct Currency {
    std::string_view code;  // "USD"
    int digits;             // minor digits: 2 for USD, 0 for JPY, 3 for KWD
};

// The ISO 4217 table; nullptr for an unknown code. Codes match exactly (upper case).
const Currency* find_currency(std::string_view code);

// An exact non-negative decimal: value = mantissa / 10^scale, scale = digits written
// after the point ("12.50" has scale 2).
struct Decimal {
    std::int64_t mantissa = 0;
    int scale = 0;
    friend bool operator==(const Decimal&, const Decimal&) = default;
};

// Input amounts (docs/rules.md, "Writing an amount"): plain decimal, '.' separator, no
// sign, no exponent, no thousands separator, 1..12 integer digits, at most 3 fraction
// digits. The error is a short human message ("sign not allowed", ...), the code is always
// MALFORMED.
std::expected<Decimal, std::string> parse_amount(std::string_view text);

// Rates and percents in the catalog: same syntax, up to 12 integer digits and 10
// fraction digits.
std::expected<Decimal, std::string> parse_rate(std::string_view text);

// Minor units of a currency from a decimal; fails when it has more fraction digits
// than the currency (12.345 USD, 5.5 JPY).
std::expected<std::int64_t, std::string> to_minor(const Decimal& value, const Currency& currency);

// "1234.50" for 123450 USD minor units; "1235" for JPY; exactly the currency's digits.
std::string format_minor(std::int64_t minor, const Currency& currency);
// "8", "1.085" — a decimal as written, for messages and storage.
std::string format_decimal(const Decimal& value);

struct Money {
    std::int64_t minor = 0;
    const Currency* currency = nullptr;
    std::string str() const { return format_minor(minor, *currency); }
};

// Computed amounts are int64 minor units too. A result beyond that range is nullopt, never
// an exception: the values come from a user's file, and the rules make it the row's
// MALFORMED (docs/rules.md, "Amounts are integers").

// Exact line payout: amount (minor units of `from`) x rate x percent / 100, in minor
// units of `to`, rounded once, half away from zero. rate is account currency per unit
// of `from` (1 when equal).
std::optional<std::int64_t> percent_of(std::int64_t amount_minor, const Currency& from,
                                       const Decimal& rate, const Decimal& percent,
                                       const Currency& to);

// A line amount scaled by quantity: amount x new_qty / old_qty, rounded once (half away
// from zero). old_qty must be > 0.
std::optional<std::int64_t> scale_line(std::int64_t amount_minor, std::int64_t new_qty,
                                       std::int64_t old_qty);

// a + b: an order's lines, a payout's lines.
std::optional<std::int64_t> add_minor(std::int64_t a, std::int64_t b);

}  // namespace actiondrop::ledger
