// Money parsing and arithmetic (lib/ledger/money.*). The input is up to five lines: an
// amount, a rate, a percent, a sale currency and a payout currency ("12.50\n1.085\n8\nEUR\nUSD").
// Besides crashes and UB it checks that every decimal parse_amount or parse_rate accepts
// formats back (format_decimal) to the text without its leading integer zeros and parses
// again to the same value; that an amount is always a valid rate; that to_minor and
// format_minor agree; and that percent_of and scale_line equal an independent exact
// computation in 128 bits wherever that fits, are symmetric in the sign of the amount,
// and give no value exactly when the result leaves int64.
#include <cstdint>
#include <limits>
#include <string>

#include "fuzz_support.hpp"
#include "ledger/money.hpp"

using namespace actiondrop;
using ledger::Decimal;
using Wide = __int128;

namespace {

// The text a parsed decimal must format back to: leading integer zeros dropped.
std::string canonical(std::string_view text) {
    std::string s(text);
    while (s.size() > 1 && s[0] == '0' && s[1] != '.') s.erase(0, 1);
    return s;
}

void check_decimal(std::string_view text, const std::expected<Decimal, std::string>& parsed,
                   bool rate) {
    if (!parsed) {
        fuzz::check(!parsed.error().empty(), "a refused decimal says why");
        return;
    }
    const Decimal d = *parsed;
    fuzz::check(d.mantissa >= 0 && d.scale >= 0 && d.scale <= (rate ? 10 : 3), "decimal range");
    const std::string formatted = ledger::format_decimal(d);
    fuzz::check(formatted == canonical(text), "format_decimal gives back the text");
    auto again = rate ? ledger::parse_rate(formatted) : ledger::parse_amount(formatted);
    fuzz::check(again && *again == d, "a formatted decimal parses to the same value");
}

Wide pow10(int n) {
    Wide p = 1;
    for (int i = 0; i < n; ++i) p *= 10;
    return p;
}

// numerator / denominator, half away from zero, when it fits in int64.
std::optional<std::int64_t> rounded(Wide numerator, Wide denominator) {
    Wide q = numerator / denominator;
    const Wide r = numerator % denominator;
    if ((r < 0 ? -r : r) * 2 >= denominator) q += numerator < 0 ? -1 : 1;
    if (q > std::numeric_limits<std::int64_t>::max() ||
        q < std::numeric_limits<std::int64_t>::min())
        return std::nullopt;
    return static_cast<std::int64_t>(q);
}

void check_percent_of(std::int64_t amount, const ledger::Currency& from, const Decimal& rate,
                      const Decimal& percent, const ledger::Currency& to) {
    const auto got = ledger::percent_of(amount, from, rate, percent, to);
    const auto negated = ledger::percent_of(-amount, from, rate, percent, to);
    fuzz::check(got.has_value() == negated.has_value() && (!got || *got == -*negated),
                "percent_of is symmetric in the sign of the amount");
    // amount x rate.m x percent.m x 10^to, when it fits in 127 bits.
    Wide numerator = amount;
    for (Wide factor : {Wide(rate.mantissa), Wide(percent.mantissa), pow10(to.digits)})
        if (__builtin_mul_overflow(numerator, factor, &numerator)) return;
    const Wide denominator = pow10(from.digits + rate.scale + percent.scale + 2);
    const auto expected = rounded(numerator, denominator);
    fuzz::check(got == expected, "percent_of equals the exact 128-bit result");
}

void check_scale_line(std::int64_t amount, std::int64_t new_qty, std::int64_t old_qty) {
    const auto got = ledger::scale_line(amount, new_qty, old_qty);
    const auto expected = rounded(Wide(amount) * new_qty, old_qty);
    fuzz::check(got == expected, "scale_line equals the exact 128-bit result");
    if (new_qty == old_qty) fuzz::check(got == amount, "scale_line by q/q keeps the amount");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto line = fuzz::lines_of(fuzz::text_of(data, size), 5);

    const auto amount = ledger::parse_amount(line[0]);
    check_decimal(line[0], amount, false);
    const auto amount_as_rate = ledger::parse_rate(line[0]);
    check_decimal(line[0], amount_as_rate, true);
    if (amount) fuzz::check(amount_as_rate && *amount_as_rate == *amount, "an amount is a rate");

    const auto rate = ledger::parse_rate(line[1]);
    check_decimal(line[1], rate, true);
    const auto percent = ledger::parse_rate(line[2]);
    check_decimal(line[2], percent, true);

    const ledger::Currency* from = ledger::find_currency(line[3]);
    if (from) fuzz::check(from->code == line[3], "find_currency finds that very code");
    const ledger::Currency* to = line[4].empty() ? from : ledger::find_currency(line[4]);
    if (!from || !amount) return 0;

    const auto minor = ledger::to_minor(*amount, *from);
    fuzz::check(minor.has_value() == (amount->scale <= from->digits),
                "to_minor refuses exactly the amounts with too many decimals");
    if (!minor) return 0;
    fuzz::check(Wide(*minor) == Wide(amount->mantissa) * pow10(from->digits - amount->scale),
                "to_minor scales exactly");
    // Written with the currency's digits, the minor units read back unchanged.
    const std::string written = ledger::format_minor(*minor, *from);
    const auto read = ledger::parse_rate(written);
    fuzz::check(read && read->mantissa == *minor && read->scale == from->digits,
                "format_minor gives the minor units with the currency's digits");
    fuzz::check(ledger::format_minor(-*minor, *from) == (*minor ? "-" + written : written),
                "a negative amount formats with a sign");

    if (to && rate && percent) check_percent_of(*minor, *from, *rate, *percent, *to);
    // Quantities are at most 9 digits (rules_form.cpp); reuse the rate and percent mantissas.
    if (rate && percent && rate->mantissa <= 999'999'999 && percent->mantissa <= 999'999'999 &&
        percent->mantissa > 0)
        check_scale_line(*minor, rate->mantissa, percent->mantissa);
    return 0;
}
