#include "ledger/money.hpp"

#include <algorithm>
#include <boost/multiprecision/cpp_int.hpp>
#include <limits>
#include <stdexcept>

namespace actiondrop::ledger {

namespace {

// ISO 4217 list one: active currency and fund codes with a defined minor unit (the
// precious metals and special codes such as XAU or XDR have none and are left out).
// Sorted by code so that lookups can bisect.
constexpr Currency currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
    {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2},
    {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2},
    {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2},
    {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0},
    {"XCD", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2}, {"ZWL", 2},
};

static_assert(std::ranges::is_sorted(currencies, {}, &Currency::code),
              "the currency table must stay sorted for binary search");

constexpr std::int64_t pow10(int n) {
    std::int64_t p = 1;
    for (int i = 0; i < n; ++i) p *= 10;
    return p;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The character that starts at text[at], for a message: a whole UTF-8 sequence, so that the
// message (which goes into result and errors files) stays UTF-8; a byte that starts no valid
// sequence is written as an escape such as \xFF.
std::string character_at(std::string_view text, std::size_t at) {
    const auto lead = static_cast<unsigned char>(text[at]);
    const std::size_t length = lead < 0x80                    ? 1
                               : lead >= 0xC2 && lead <= 0xDF ? 2
                               : lead >= 0xE0 && lead <= 0xEF ? 3
                               : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                              : 0;
    bool whole = length > 0 && at + length <= text.size();
    for (std::size_t i = 1; whole && i < length; ++i)
        whole = (static_cast<unsigned char>(text[at + i]) & 0xC0) == 0x80;
    if (whole) return std::string(text.substr(at, length));
    static constexpr char hex[] = "0123456789ABCDEF";
    return std::string{'\\', 'x', hex[lead >> 4], hex[lead & 0xF]};
}

// int64 holds any 18-digit number; more significant digits than that cannot be exact.
constexpr std::size_t max_significant_digits = 18;

// The one decimal grammar (docs/rules.md, "Writing an amount"), with limits that differ
// between amounts and rates.
// Checks go from the most telling message to the least, so "-1e3" says "sign".
std::expected<Decimal, std::string> parse_decimal(std::string_view text, std::size_t max_integer,
                                                  std::size_t max_fraction, std::string_view what) {
    if (text.empty()) return std::unexpected(std::string(what) + " is empty");
    for (char c : text) {
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f')
            return std::unexpected("spaces are not allowed in " + std::string(what));
    }
    if (text.front() == '+' || text.front() == '-')
        return std::unexpected("a sign is not allowed in " + std::string(what));
    for (char c : text) {
        if (c == 'e' || c == 'E')
            return std::unexpected("an exponent is not allowed in " + std::string(what));
        if (c == ',')
            return std::unexpected("',' is not allowed in " + std::string(what) +
                                   " (no thousands separator; the decimal separator is '.')");
    }
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (!is_digit(text[i]) && text[i] != '.')
            return std::unexpected("unexpected character '" + character_at(text, i) + "' in " +
                                   std::string(what));
    }
    const auto point = text.find('.');
    if (point != std::string_view::npos && text.find('.', point + 1) != std::string_view::npos)
        return std::unexpected("more than one '.' in " + std::string(what));
    const std::string_view integer = text.substr(0, point);
    const std::string_view fraction =
        point == std::string_view::npos ? std::string_view{} : text.substr(point + 1);
    if (integer.empty())
        return std::unexpected("a digit is required before '.' in " + std::string(what));
    if (point != std::string_view::npos && fraction.empty())
        return std::unexpected("a digit is required after '.' in " + std::string(what));
    if (integer.size() > max_integer)
        return std::unexpected("more than " + std::to_string(max_integer) + " integer digits in " +
                               std::string(what));
    if (fraction.size() > max_fraction)
        return std::unexpected("more than " + std::to_string(max_fraction) + " decimal places in " +
                               std::string(what));

    std::string digits = std::string(integer) + std::string(fraction);
    const auto first = digits.find_first_not_of('0');
    digits.erase(0, first == std::string::npos ? digits.size() : first);
    if (digits.size() > max_significant_digits)
        return std::unexpected("more than " + std::to_string(max_significant_digits) +
                               " significant digits in " + std::string(what));
    Decimal result;
    for (char c : digits) result.mantissa = result.mantissa * 10 + (c - '0');
    result.scale = static_cast<int>(fraction.size());
    return result;
}

using Big = boost::multiprecision::int256_t;

Big big_pow10(int n) {
    Big p = 1;
    for (int i = 0; i < n; ++i) p *= 10;
    return p;
}

// numerator / denominator rounded half away from zero; denominator > 0. nullopt when the
// result is beyond int64.
std::optional<std::int64_t> round_half_away(const Big& numerator, const Big& denominator) {
    Big quotient = numerator / denominator;  // truncates toward zero
    const Big remainder = numerator % denominator;
    const Big twice = remainder < 0 ? Big(-remainder * 2) : Big(remainder * 2);
    if (twice >= denominator) quotient += numerator < 0 ? -1 : 1;
    if (quotient > std::numeric_limits<std::int64_t>::max() ||
        quotient < std::numeric_limits<std::int64_t>::min())
        return std::nullopt;
    return quotient.convert_to<std::int64_t>();
}

}  // namespace

const Currency* find_currency(std::string_view code) {
    const auto it = std::ranges::lower_bound(currencies, code, {}, &Currency::code);
    if (it == std::ranges::end(currencies) || it->code != code) return nullptr;
    return &*it;
}

std::expected<Decimal, std::string> parse_amount(std::string_view text) {
    return parse_decimal(text, 12, 3, "amount");
}

std::expected<Decimal, std::string> parse_rate(std::string_view text) {
    return parse_decimal(text, 12, 10, "rate");
}

std::expected<std::int64_t, std::string> to_minor(const Decimal& value, const Currency& currency) {
    if (value.scale > currency.digits) {
        return std::unexpected(
            std::string(currency.code) + " allows " + std::to_string(currency.digits) +
            (currency.digits == 1 ? " decimal place" : " decimal places") + ", got " +
            std::to_string(value.scale) + " in " + format_decimal(value));
    }
    const std::int64_t factor = pow10(currency.digits - value.scale);
    if (value.mantissa > std::numeric_limits<std::int64_t>::max() / factor)
        return std::unexpected("amount " + format_decimal(value) + " is too large");
    return value.mantissa * factor;
}

std::string format_minor(std::int64_t minor, const Currency& currency) {
    // Through unsigned, so that INT64_MIN has a magnitude too.
    const bool negative = minor < 0;
    std::uint64_t magnitude =
        negative ? std::uint64_t(0) - static_cast<std::uint64_t>(minor) : std::uint64_t(minor);
    std::string digits = std::to_string(magnitude);
    const auto d = static_cast<std::size_t>(currency.digits);
    if (digits.size() <= d) digits.insert(0, d + 1 - digits.size(), '0');
    if (d > 0) digits.insert(digits.size() - d, 1, '.');
    if (negative) digits.insert(0, 1, '-');
    return digits;
}

std::string format_decimal(const Decimal& value) {
    return format_minor(value.mantissa, Currency{"", value.scale});
}

std::optional<std::int64_t> percent_of(std::int64_t amount_minor, const Currency& from,
                                       const Decimal& rate, const Decimal& percent,
                                       const Currency& to) {
    // amount/10^from x rate.m/10^rate.s x percent.m/10^percent.s / 100, in units of 10^-to.
    const Big numerator =
        Big(amount_minor) * rate.mantissa * percent.mantissa * big_pow10(to.digits);
    const Big denominator = big_pow10(from.digits + rate.scale + percent.scale + 2);
    return round_half_away(numerator, denominator);
}

std::optional<std::int64_t> scale_line(std::int64_t amount_minor, std::int64_t new_qty,
                                       std::int64_t old_qty) {
    if (old_qty <= 0) throw std::invalid_argument("scale_line: quantity at creation must be > 0");
    return round_half_away(Big(amount_minor) * new_qty, Big(old_qty));
}

std::optional<std::int64_t> add_minor(std::int64_t a, std::int64_t b) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
    return sum;
}

}  // namespace actiondrop::ledger
