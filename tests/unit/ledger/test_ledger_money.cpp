#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "ledger/money.hpp"

using namespace actiondrop::ledger;

namespace {

const Currency& cur(std::string_view code) {
    const Currency* c = find_currency(code);
    REQUIRE(c != nullptr);
    return *c;
}

// The error message of a rejected amount; fails the test when the amount parses.
std::string amount_error(std::string_view text) {
    const auto parsed = parse_amount(text);
    REQUIRE_FALSE(parsed.has_value());
    return parsed.error();
}

bool mentions(const std::string& message, std::string_view word) {
    return message.find(word) != std::string::npos;
}

}  // namespace

// ---- ISO 4217 table ----

TEST_CASE("find_currency knows two-decimal currencies") {
    for (auto code : {"USD", "EUR", "GBP", "CHF", "CAD", "AUD", "MXN", "BRL", "INR", "CNY"}) {
        CAPTURE(code);
        CHECK(cur(code).digits == 2);
        CHECK(cur(code).code == code);
    }
}

TEST_CASE("find_currency knows every zero-decimal currency") {
    for (auto code : {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                      "UYI", "VND", "VUV", "XAF", "XOF", "XPF"}) {
        CAPTURE(code);
        CHECK(cur(code).digits == 0);
    }
}

TEST_CASE("find_currency knows every three-decimal currency") {
    for (auto code : {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}) {
        CAPTURE(code);
        CHECK(cur(code).digits == 3);
    }
}

TEST_CASE("find_currency knows the four-decimal units of account") {
    CHECK(cur("CLF").digits == 4);
    CHECK(cur("UYW").digits == 4);
}

TEST_CASE("find_currency rejects unknown, lower-case and padded codes") {
    CHECK(find_currency("XYZ") == nullptr);
    CHECK(find_currency("usd") == nullptr);
    CHECK(find_currency("Usd") == nullptr);
    CHECK(find_currency(" USD") == nullptr);
    CHECK(find_currency("USD ") == nullptr);
    CHECK(find_currency("US") == nullptr);
    CHECK(find_currency("USDD") == nullptr);
    CHECK(find_currency("") == nullptr);
}

TEST_CASE("find_currency leaves out codes without a minor unit") {
    CHECK(find_currency("XAU") == nullptr);
    CHECK(find_currency("XDR") == nullptr);
    CHECK(find_currency("XXX") == nullptr);
}

TEST_CASE("find_currency finds the first and last codes of the table") {
    CHECK(find_currency("AED") != nullptr);
    CHECK(find_currency("ZWL") != nullptr);
}

// ---- parse_amount: accepted forms ----

TEST_CASE("parse_amount reads integers") {
    CHECK(parse_amount("0").value() == Decimal{0, 0});
    CHECK(parse_amount("5").value() == Decimal{5, 0});
    CHECK(parse_amount("1000").value() == Decimal{1000, 0});
}

TEST_CASE("parse_amount keeps the written scale") {
    CHECK(parse_amount("12.50").value() == Decimal{1250, 2});
    CHECK(parse_amount("12.5").value() == Decimal{125, 1});
    CHECK(parse_amount("0.001").value() == Decimal{1, 3});
    CHECK(parse_amount("0.0").value() == Decimal{0, 1});
}

TEST_CASE("parse_amount accepts leading zeros") {
    CHECK(parse_amount("007").value() == Decimal{7, 0});
    CHECK(parse_amount("0.5").value() == Decimal{5, 1});
}

TEST_CASE("parse_amount accepts 12 integer digits and 3 fraction digits") {
    CHECK(parse_amount("999999999999").value() == Decimal{999999999999, 0});
    CHECK(parse_amount("999999999999.999").value() == Decimal{999999999999999, 3});
}

// ---- parse_amount: rejected forms, each with a message naming the fault ----

TEST_CASE("parse_amount rejects an exponent") {
    CHECK(mentions(amount_error("1e3"), "exponent"));
    CHECK(mentions(amount_error("1E3"), "exponent"));
    CHECK(mentions(amount_error("1.5e+2"), "exponent"));
}

TEST_CASE("parse_amount rejects a minus sign") {
    CHECK(mentions(amount_error("-5"), "sign"));
    CHECK(mentions(amount_error("-0.50"), "sign"));
}

TEST_CASE("parse_amount rejects a plus sign") { CHECK(mentions(amount_error("+5"), "sign")); }

TEST_CASE("parse_amount rejects a thousands separator") {
    CHECK(mentions(amount_error("1,000.00"), "','"));
    CHECK(mentions(amount_error("1,000.00"), "thousands"));
}

TEST_CASE("parse_amount rejects a decimal comma") { CHECK(mentions(amount_error("5,50"), "','")); }

TEST_CASE("parse_amount rejects spaces anywhere") {
    CHECK(mentions(amount_error(" 5"), "space"));
    CHECK(mentions(amount_error("5 "), "space"));
    CHECK(mentions(amount_error("1 000"), "space"));
    CHECK(mentions(amount_error("\t5"), "space"));
}

TEST_CASE("parse_amount rejects the empty string") { CHECK(mentions(amount_error(""), "empty")); }

TEST_CASE("parse_amount rejects a missing integer part") {
    CHECK(mentions(amount_error(".5"), "before '.'"));
    CHECK(mentions(amount_error("."), "before '.'"));
}

TEST_CASE("parse_amount rejects a missing fraction after the point") {
    CHECK(mentions(amount_error("5."), "after '.'"));
}

TEST_CASE("parse_amount rejects two points") {
    CHECK(mentions(amount_error("1.2.3"), "more than one '.'"));
}

TEST_CASE("parse_amount rejects 13 integer digits") {
    CHECK(mentions(amount_error("1000000000000"), "12 integer digits"));
    CHECK(mentions(amount_error("1000000000000.00"), "12 integer digits"));
}

TEST_CASE("parse_amount rejects more than 3 fraction digits") {
    CHECK(mentions(amount_error("1.2345"), "3 decimal places"));
}

TEST_CASE("parse_amount rejects other characters") {
    CHECK(mentions(amount_error("$5"), "'$'"));
    CHECK(mentions(amount_error("5USD"), "'U'"));
    CHECK(mentions(amount_error("0x10"), "'x'"));
    CHECK(mentions(amount_error("1-2"), "'-'"));
    CHECK(mentions(amount_error("NaN"), "'N'"));
}

TEST_CASE("parse_amount quotes a character outside ASCII whole, so its message stays UTF-8") {
    CHECK(mentions(amount_error("1\xC3\xA9"), "'\xC3\xA9'"));                  // é
    CHECK(mentions(amount_error("\xEF\xBC\x91"), "'\xEF\xBC\x91'"));           // full-width 1
    CHECK(mentions(amount_error("5\xE2\x82\xAC"), "'\xE2\x82\xAC'"));          // €
    CHECK(mentions(amount_error("1\xF0\x9F\x92\xB0"), "'\xF0\x9F\x92\xB0'"));  // 💰
    // Bytes that are not UTF-8 (a CLI argument, not a checked file) are written as escapes.
    CHECK(mentions(amount_error("1\xFF"), "'\\xFF'"));
    CHECK(mentions(amount_error("1\xC3"), "'\\xC3'"));
}

// ---- parse_rate ----

TEST_CASE("parse_rate accepts 10 fraction digits") {
    CHECK(parse_rate("1.0850000000").value() == Decimal{10850000000, 10});
    CHECK(parse_rate("0.0000000001").value() == Decimal{1, 10});
}

TEST_CASE("parse_rate reads percents") {
    CHECK(parse_rate("8").value() == Decimal{8, 0});
    CHECK(parse_rate("3.5").value() == Decimal{35, 1});
}

TEST_CASE("parse_rate rejects 11 fraction digits and 13 integer digits") {
    CHECK_FALSE(parse_rate("1.00000000001").has_value());
    CHECK_FALSE(parse_rate("1000000000000").has_value());
}

TEST_CASE("parse_rate has the same syntax rules as amounts") {
    CHECK_FALSE(parse_rate("-1").has_value());
    CHECK_FALSE(parse_rate("1e2").has_value());
    CHECK_FALSE(parse_rate(".5").has_value());
    CHECK_FALSE(parse_rate("5.").has_value());
    CHECK_FALSE(parse_rate("").has_value());
}

TEST_CASE("parse_rate refuses more significant digits than int64 holds exactly") {
    const auto parsed = parse_rate("123456789012.1234567891");
    REQUIRE_FALSE(parsed.has_value());
    CHECK(mentions(parsed.error(), "significant digits"));
}

// ---- to_minor ----

TEST_CASE("to_minor pads to the currency's digits") {
    CHECK(to_minor(Decimal{123, 1}, cur("USD")).value() == 1230);  // 12.3 USD
    CHECK(to_minor(Decimal{12, 0}, cur("USD")).value() == 1200);
    CHECK(to_minor(Decimal{1250, 2}, cur("USD")).value() == 1250);
    CHECK(to_minor(Decimal{5, 0}, cur("JPY")).value() == 5);
    CHECK(to_minor(Decimal{1, 3}, cur("KWD")).value() == 1);  // 0.001 KWD
    CHECK(to_minor(Decimal{1, 0}, cur("CLF")).value() == 10000);
}

TEST_CASE("to_minor rejects more decimals than the currency has") {
    const auto usd = to_minor(parse_amount("12.345").value(), cur("USD"));
    REQUIRE_FALSE(usd.has_value());
    CHECK(mentions(usd.error(), "USD"));
    CHECK(mentions(usd.error(), "2 decimal places"));

    const auto jpy = to_minor(parse_amount("5.5").value(), cur("JPY"));
    REQUIRE_FALSE(jpy.has_value());
    CHECK(mentions(jpy.error(), "JPY"));
}

TEST_CASE("to_minor accepts trailing zeros only up to the currency's digits") {
    CHECK(to_minor(Decimal{500, 2}, cur("JPY")).has_value() == false);  // 5.00 JPY
    CHECK(to_minor(Decimal{0, 0}, cur("JPY")).value() == 0);
}

TEST_CASE("to_minor of the largest amount in the smallest unit does not overflow") {
    CHECK(to_minor(Decimal{999999999999, 0}, cur("CLF")).value() == 9999999999990000);
}

// ---- format_minor / format_decimal ----

TEST_CASE("format_minor writes exactly the currency's digits") {
    CHECK(format_minor(123450, cur("USD")) == "1234.50");
    CHECK(format_minor(0, cur("USD")) == "0.00");
    CHECK(format_minor(5, cur("USD")) == "0.05");
    CHECK(format_minor(1235, cur("JPY")) == "1235");
    CHECK(format_minor(1, cur("KWD")) == "0.001");
    CHECK(format_minor(12345, cur("CLF")) == "1.2345");
}

TEST_CASE("format_minor writes negative amounts with a leading minus") {
    CHECK(format_minor(-5, cur("USD")) == "-0.05");
    CHECK(format_minor(-123450, cur("USD")) == "-1234.50");
    CHECK(format_minor(std::numeric_limits<std::int64_t>::min(), cur("JPY")) ==
          "-9223372036854775808");
}

TEST_CASE("Money::str formats in its currency") {
    CHECK(Money{1999, &cur("EUR")}.str() == "19.99");
}

TEST_CASE("format_decimal writes the decimal as written") {
    CHECK(format_decimal(Decimal{8, 0}) == "8");
    CHECK(format_decimal(Decimal{1085, 3}) == "1.085");
    CHECK(format_decimal(Decimal{1250, 2}) == "12.50");
    CHECK(format_decimal(Decimal{1, 10}) == "0.0000000001");
}

TEST_CASE("format_decimal round-trips parse_rate") {
    for (auto text : {"0", "8", "3.5", "1.0850000000", "0.001", "123456789012"}) {
        CAPTURE(text);
        CHECK(format_decimal(parse_rate(text).value()) == text);
    }
}

// ---- percent_of ----

TEST_CASE("percent_of in the same currency") {
    // 100.00 USD x 8% = 8.00
    CHECK(percent_of(10000, cur("USD"), Decimal{1, 0}, Decimal{8, 0}, cur("USD")) == 800);
    // 123.45 x 10% = 12.345 -> 12.35 (half away from zero)
    CHECK(percent_of(12345, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == 1235);
    // 123.44 x 10% = 12.344 -> 12.34
    CHECK(percent_of(12344, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == 1234);
}

TEST_CASE("percent_of rounds an exact half away from zero") {
    // 0.05 x 10% = 0.005 -> 0.01
    CHECK(percent_of(5, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == 1);
    // 0.25 x 10% = 0.025 -> 0.03 (banker's rounding would give 0.02)
    CHECK(percent_of(25, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == 3);
    // 0.04 x 10% = 0.004 -> 0.00
    CHECK(percent_of(4, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == 0);
}

TEST_CASE("percent_of rounds negative amounts away from zero too") {
    CHECK(percent_of(-25, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == -3);
    CHECK(percent_of(-24, cur("USD"), Decimal{1, 0}, Decimal{10, 0}, cur("USD")) == -2);
}

TEST_CASE("percent_of with fractional percent") {
    // 99.99 x 3.5% = 3.49965 -> 3.50
    CHECK(percent_of(9999, cur("USD"), Decimal{1, 0}, Decimal{35, 1}, cur("USD")) == 350);
}

TEST_CASE("percent_of converts with the FX rate exactly") {
    // 100.00 EUR x 1.0850000000 USD/EUR x 8% = 8.68 USD
    CHECK(percent_of(10000, cur("EUR"), Decimal{10850000000, 10}, Decimal{8, 0}, cur("USD")) ==
          868);
    // 33.33 EUR x 1.0850000000 x 10% = 3.6163050 -> 3.62 USD
    CHECK(percent_of(3333, cur("EUR"), Decimal{10850000000, 10}, Decimal{10, 0}, cur("USD")) ==
          362);
}

TEST_CASE("percent_of across currencies with different minor digits") {
    // 1000 JPY x 0.0067 USD/JPY x 10% = 0.67 USD
    CHECK(percent_of(1000, cur("JPY"), Decimal{67, 4}, Decimal{10, 0}, cur("USD")) == 67);
    // 10.00 USD x 150.5 JPY/USD x 10% = 150.5 JPY -> 151
    CHECK(percent_of(1000, cur("USD"), Decimal{1505, 1}, Decimal{10, 0}, cur("JPY")) == 151);
    // 1.000 KWD x 3.25 USD/KWD x 5% = 0.1625 USD -> 0.16
    CHECK(percent_of(1000, cur("KWD"), Decimal{325, 2}, Decimal{5, 0}, cur("USD")) == 16);
}

TEST_CASE("percent_of is exact where a double would round wrongly") {
    // 1.005 x 100% in 2 digits: a double holds 1.00499999..., the exact half rounds up.
    CHECK(percent_of(1005, cur("KWD"), Decimal{1, 0}, Decimal{100, 0}, cur("USD")) == 101);
}

TEST_CASE("percent_of of the largest amounts stays exact") {
    // 999999999999.999 KWD x 999999999999.9999999999 x 100% is beyond int64: no payout, and
    // no exception either, since the amount came from a user's file.
    const std::int64_t amount = 999999999999999;
    CHECK(percent_of(amount, cur("KWD"), Decimal{9999999999999999, 4}, Decimal{100, 0},
                     cur("USD")) == std::nullopt);
    CHECK(percent_of(-amount, cur("KWD"), Decimal{9999999999999999, 4}, Decimal{100, 0},
                     cur("USD")) == std::nullopt);
    // 999999999999.999 KWD x 1 x 0% = 0, with every intermediate product beyond int64.
    CHECK(percent_of(amount, cur("KWD"), Decimal{9999999999999999, 4}, Decimal{0, 0}, cur("USD")) ==
          0);
    // 999999999999.999 KWD x 1.0000000000 x 100% = 999999999999.999 -> 1000000000000.00 USD
    CHECK(percent_of(amount, cur("KWD"), Decimal{10000000000, 10}, Decimal{100, 0}, cur("USD")) ==
          100000000000000);
}

TEST_CASE("percent_of of zero is zero") {
    CHECK(percent_of(0, cur("USD"), Decimal{10850000000, 10}, Decimal{8, 0}, cur("USD")) == 0);
}

// ---- scale_line ----

TEST_CASE("scale_line scales by quantity and rounds once") {
    CHECK(scale_line(3000, 2, 3) == 2000);
    CHECK(scale_line(1000, 1, 3) == 333);  // 333.33...
    CHECK(scale_line(1000, 2, 3) == 667);  // 666.66...
    CHECK(scale_line(1001, 1, 2) == 501);  // 500.5 -> 501
    CHECK(scale_line(1000, 0, 3) == 0);
    CHECK(scale_line(1000, 6, 3) == 2000);
}

TEST_CASE("scale_line gives no amount beyond int64") {
    // 999999999999.99 USD x 1,000,000: what a modification's Quantity<i> can ask of a line.
    CHECK(scale_line(99999999999999, 1000000, 1) == std::nullopt);
    CHECK(scale_line(-99999999999999, 1000000, 1) == std::nullopt);
    // The largest line amount that still fits, reached through a quotient.
    CHECK(scale_line(std::numeric_limits<std::int64_t>::max(), 3, 3) ==
          std::numeric_limits<std::int64_t>::max());
}

TEST_CASE("add_minor adds within int64 and refuses beyond") {
    const std::int64_t max = std::numeric_limits<std::int64_t>::max();
    CHECK(add_minor(max - 1, 1) == max);
    CHECK(add_minor(max, 1) == std::nullopt);
    CHECK(add_minor(std::numeric_limits<std::int64_t>::min(), -1) == std::nullopt);
    CHECK(add_minor(-5, 3) == -2);
}

TEST_CASE("scale_line refuses a zero quantity at creation") {
    CHECK_THROWS_AS(scale_line(1000, 1, 0), std::invalid_argument);
}
