#include <date/date.h>
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "ledger/time.hpp"

using namespace actiondrop::ledger;
using namespace std::chrono;

namespace {

TimeZone zone(std::string_view name) {
    TimeZone tz = find_time_zone(name);
    REQUIRE(tz != nullptr);
    return tz;
}

// The instant as "…Z" text, or the parser's error prefixed with "error: ".
std::string parsed(std::string_view text, TimeZone tz) {
    const auto t = parse_instant(text, tz);
    return t ? format_instant(*t) : "error: " + t.error();
}

bool rejected(std::string_view text, TimeZone tz = nullptr) {
    return !parse_instant(text, tz).has_value();
}

Days date_of(int y, unsigned m, unsigned d) { return Days{year{y} / m / d}; }

}  // namespace

// ---- find_time_zone ----

TEST_CASE("find_time_zone finds IANA zones") {
    CHECK(find_time_zone("America/New_York") != nullptr);
    CHECK(find_time_zone("Europe/Paris") != nullptr);
    CHECK(find_time_zone("UTC") != nullptr);
}

TEST_CASE("find_time_zone returns nullptr for unknown names") {
    CHECK(find_time_zone("Mars/Olympus_Mons") == nullptr);
    CHECK(find_time_zone("america/new_york") == nullptr);
    CHECK(find_time_zone("") == nullptr);
}

// ---- parse_instant: explicit offsets ----

TEST_CASE("parse_instant reads Z") {
    CHECK(parsed("2026-01-15T10:30:00Z", nullptr) == "2026-01-15T10:30:00Z");
}

TEST_CASE("parse_instant ignores the zone when an offset is given") {
    CHECK(parsed("2026-01-15T10:30:00Z", zone("America/New_York")) == "2026-01-15T10:30:00Z");
    CHECK(parsed("2026-01-15T10:30:00+01:00", zone("America/New_York")) == "2026-01-15T09:30:00Z");
}

TEST_CASE("parse_instant reads positive and negative offsets") {
    CHECK(parsed("2026-01-15T10:30:00+05:30", nullptr) == "2026-01-15T05:00:00Z");
    CHECK(parsed("2026-01-15T10:30:00-05:00", nullptr) == "2026-01-15T15:30:00Z");
    CHECK(parsed("2026-01-15T23:30:00-05:00", nullptr) == "2026-01-16T04:30:00Z");
    CHECK(parsed("2026-01-15T10:30:00+00:00", nullptr) == "2026-01-15T10:30:00Z");
    CHECK(parsed("2026-01-15T10:30:00-00:00", nullptr) == "2026-01-15T10:30:00Z");
}

TEST_CASE("parse_instant reads 1 to 3 fraction digits as milliseconds") {
    CHECK(parsed("2026-01-15T10:30:00.5Z", nullptr) == "2026-01-15T10:30:00.500Z");
    CHECK(parsed("2026-01-15T10:30:00.05Z", nullptr) == "2026-01-15T10:30:00.050Z");
    CHECK(parsed("2026-01-15T10:30:00.123Z", nullptr) == "2026-01-15T10:30:00.123Z");
    CHECK(parsed("2026-01-15T10:30:00.000Z", nullptr) == "2026-01-15T10:30:00Z");
    CHECK(parsed("2026-01-15T10:30:00.250+02:00", nullptr) == "2026-01-15T08:30:00.250Z");
}

// ---- parse_instant: local times ----

TEST_CASE("parse_instant without an offset is local time in the zone") {
    CHECK(parsed("2026-01-15T10:30:00", zone("America/New_York")) == "2026-01-15T15:30:00Z");
    CHECK(parsed("2026-07-15T10:30:00", zone("America/New_York")) == "2026-07-15T14:30:00Z");
    CHECK(parsed("2026-01-15T10:30:00.750", zone("Europe/Paris")) == "2026-01-15T09:30:00.750Z");
}

TEST_CASE("parse_instant without an offset and without a zone is UTC") {
    CHECK(parsed("2026-01-15T10:30:00", nullptr) == "2026-01-15T10:30:00Z");
}

TEST_CASE("parse_instant of a bare date is the start of that local day") {
    CHECK(parsed("2026-01-15", nullptr) == "2026-01-15T00:00:00Z");
    CHECK(parsed("2026-01-15", zone("America/New_York")) == "2026-01-15T05:00:00Z");
    CHECK(parsed("2026-07-15", zone("America/New_York")) == "2026-07-15T04:00:00Z");
    CHECK(parsed("2026-01-15", zone("Asia/Tokyo")) == "2026-01-14T15:00:00Z");
}

TEST_CASE("parse_instant of a local time in the DST gap is the end of the gap") {
    // New York skips 02:00-03:00 on 2026-03-08; clocks jump to 03:00 EDT = 07:00Z.
    const TimeZone ny = zone("America/New_York");
    CHECK(parsed("2026-03-08T02:30:00", ny) == "2026-03-08T07:00:00Z");
    CHECK(parsed("2026-03-08T02:00:00", ny) == "2026-03-08T07:00:00Z");
    CHECK(parsed("2026-03-08T02:59:59.999", ny) == "2026-03-08T07:00:00Z");
    CHECK(parsed("2026-03-08T03:00:00", ny) == "2026-03-08T07:00:00Z");
    CHECK(parsed("2026-03-08T01:59:59", ny) == "2026-03-08T06:59:59Z");
}

TEST_CASE("parse_instant of an ambiguous local time is the earlier instant") {
    // New York repeats 01:00-02:00 on 2026-11-01: first as EDT (-4), then as EST (-5).
    const TimeZone ny = zone("America/New_York");
    CHECK(parsed("2026-11-01T01:30:00", ny) == "2026-11-01T05:30:00Z");
    CHECK(parsed("2026-11-01T01:00:00", ny) == "2026-11-01T05:00:00Z");
    CHECK(parsed("2026-11-01T02:00:00", ny) == "2026-11-01T07:00:00Z");
    CHECK(parsed("2026-11-01T00:59:59", ny) == "2026-11-01T04:59:59Z");
}

TEST_CASE("parse_instant of a bare date whose midnight is skipped is the end of the gap") {
    // Santiago moves from -04 to -03 at local midnight on 2026-09-06 (00:00 -> 01:00).
    CHECK(parsed("2026-09-06", zone("America/Santiago")) == "2026-09-06T04:00:00Z");
}

// ---- parse_instant: calendar validation ----

TEST_CASE("parse_instant accepts leap days only in leap years") {
    CHECK(parsed("2028-02-29", nullptr) == "2028-02-29T00:00:00Z");
    CHECK(parsed("2000-02-29T12:00:00Z", nullptr) == "2000-02-29T12:00:00Z");
    CHECK(rejected("2026-02-29"));
    CHECK(rejected("1900-02-29"));
    CHECK(rejected("2100-02-29T00:00:00Z"));
}

TEST_CASE("parse_instant checks the day against the month") {
    CHECK_FALSE(rejected("2026-01-31"));
    CHECK(rejected("2026-04-31"));
    CHECK(rejected("2026-06-31T00:00:00Z"));
    CHECK(rejected("2026-01-00"));
    CHECK(rejected("2026-01-32"));
}

TEST_CASE("parse_instant checks the month") {
    CHECK(rejected("2026-00-10"));
    CHECK(rejected("2026-13-10"));
    CHECK(parsed("2026-13-10", nullptr).find("month") != std::string::npos);
}

TEST_CASE("parse_instant checks the time of day") {
    CHECK_FALSE(rejected("2026-01-15T23:59:59Z"));
    CHECK(rejected("2026-01-15T24:00:00Z"));
    CHECK(rejected("2026-01-15T10:60:00Z"));
    CHECK(rejected("2026-01-15T10:30:60Z"));
}

TEST_CASE("parse_instant checks the offset") {
    CHECK(rejected("2026-01-15T10:30:00+24:00"));
    CHECK(rejected("2026-01-15T10:30:00+05:60"));
    CHECK(rejected("2026-01-15T10:30:00+0500"));
    CHECK(rejected("2026-01-15T10:30:00+05"));
    CHECK(rejected("2026-01-15T10:30:00+05:000"));
    CHECK(rejected("2026-01-15T10:30:00+5:00"));
}

TEST_CASE("parse_instant accepts 1 to 3 fraction digits only") {
    CHECK(rejected("2026-01-15T10:30:00.Z"));
    CHECK(rejected("2026-01-15T10:30:00.1234Z"));
    CHECK(rejected("2026-01-15T10:30:00."));
    CHECK(parsed("2026-01-15T10:30:00.1234Z", nullptr).find("fraction") != std::string::npos);
}

// ---- parse_instant: other shapes ----

TEST_CASE("parse_instant rejects other date shapes") {
    for (auto text : {"",
                      "2026",
                      "2026-01",
                      "2026-1-15",
                      "2026/01/15",
                      "15.01.2026",
                      "20260115",
                      "2026-01-15 10:30:00",
                      "2026-01-15t10:30:00Z",
                      "2026-01-15T10:30:00z",
                      "2026-01-15T10:30Z",
                      "2026-01-15T10:30",
                      "2026-01-15T",
                      "2026-01-15Z",
                      " 2026-01-15",
                      "2026-01-15 ",
                      "2026-01-15T10:30:00 Z",
                      "2026-01-15T1:30:00Z",
                      "2026-01-15T10:30:00ZZ",
                      "+2026-01-15",
                      "2026-01-15T10:30:00UTC",
                      "2026-01-15T10:30:00+05:30x"}) {
        CAPTURE(text);
        CHECK(rejected(text));
    }
}

TEST_CASE("parse_instant's error names the text and the expected form") {
    const auto t = parse_instant("2026/01/15", nullptr);
    REQUIRE_FALSE(t.has_value());
    CHECK(t.error().find("2026/01/15") != std::string::npos);
    CHECK(t.error().find("YYYY-MM-DD") != std::string::npos);
}

// ---- format_instant ----

TEST_CASE("format_instant shows milliseconds only when non-zero") {
    const Instant t = sys_days{year{2026} / 3 / 21} + hours{4};
    CHECK(format_instant(t) == "2026-03-21T04:00:00Z");
    CHECK(format_instant(t + milliseconds{7}) == "2026-03-21T04:00:00.007Z");
    CHECK(format_instant(t + milliseconds{1500}) == "2026-03-21T04:00:01.500Z");
}

TEST_CASE("format_instant of the epoch and before it") {
    CHECK(format_instant(Instant{}) == "1970-01-01T00:00:00Z");
    CHECK(format_instant(Instant{} - milliseconds{1}) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("format_instant round-trips parse_instant") {
    for (auto text :
         {"2026-01-15T10:30:00Z", "2028-02-29T23:59:59.999Z", "1999-12-31T00:00:00.100Z"}) {
        CAPTURE(text);
        CHECK(parsed(text, nullptr) == text);
    }
}

// ---- local_day / start_of_local_day ----

TEST_CASE("local_day in UTC") {
    CHECK(local_day(parse_instant("2026-01-15T23:59:59.999Z", nullptr).value(), nullptr) ==
          date_of(2026, 1, 15));
    CHECK(local_day(parse_instant("2026-01-16T00:00:00Z", nullptr).value(), nullptr) ==
          date_of(2026, 1, 16));
}

TEST_CASE("local_day follows the zone") {
    const TimeZone ny = zone("America/New_York");
    // 03:00Z on the 16th is still the evening of the 15th in New York.
    CHECK(local_day(parse_instant("2026-01-16T03:00:00Z", nullptr).value(), ny) ==
          date_of(2026, 1, 15));
    CHECK(local_day(parse_instant("2026-01-16T05:00:00Z", nullptr).value(), ny) ==
          date_of(2026, 1, 16));
    const TimeZone tokyo = zone("Asia/Tokyo");
    CHECK(local_day(parse_instant("2026-01-15T15:00:00Z", nullptr).value(), tokyo) ==
          date_of(2026, 1, 16));
}

TEST_CASE("local_day before 1970") {
    CHECK(local_day(Instant{} - milliseconds{1}, nullptr) == date_of(1969, 12, 31));
}

TEST_CASE("start_of_local_day in UTC and in a zone") {
    CHECK(format_instant(start_of_local_day(date_of(2026, 1, 15), nullptr)) ==
          "2026-01-15T00:00:00Z");
    CHECK(format_instant(start_of_local_day(date_of(2026, 1, 15), zone("America/New_York"))) ==
          "2026-01-15T05:00:00Z");
    CHECK(format_instant(start_of_local_day(date_of(2026, 7, 15), zone("America/New_York"))) ==
          "2026-07-15T04:00:00Z");
}

TEST_CASE("start_of_local_day on DST change days") {
    const TimeZone ny = zone("America/New_York");
    CHECK(format_instant(start_of_local_day(date_of(2026, 3, 8), ny)) == "2026-03-08T05:00:00Z");
    CHECK(format_instant(start_of_local_day(date_of(2026, 3, 9), ny)) == "2026-03-09T04:00:00Z");
    CHECK(format_instant(start_of_local_day(date_of(2026, 11, 1), ny)) == "2026-11-01T04:00:00Z");
    CHECK(format_instant(start_of_local_day(date_of(2026, 11, 2), ny)) == "2026-11-02T05:00:00Z");
}

TEST_CASE("start_of_local_day when midnight does not exist") {
    CHECK(format_instant(start_of_local_day(date_of(2026, 9, 6), zone("America/Santiago"))) ==
          "2026-09-06T04:00:00Z");
}

TEST_CASE("local_day of start_of_local_day is the same day") {
    const TimeZone ny = zone("America/New_York");
    for (const Days d :
         {date_of(2026, 1, 1), date_of(2026, 3, 8), date_of(2026, 11, 1), date_of(2028, 2, 29)}) {
        CHECK(local_day(start_of_local_day(d, ny), ny) == d);
    }
}

// format_instant puts the text together by hand; date::format is the reference, over instants
// from year 0 to 9999 (leap days, before 1970, with and without milliseconds) and outside.
TEST_CASE("format_instant writes what date::format writes, with milliseconds only when set") {
    using namespace std::chrono;
    const auto reference = [](Instant t) {
        const auto s = floor<seconds>(t);
        std::string text = date::format("%FT%T", s);
        if (const auto ms = (t - s).count(); ms != 0) {
            const std::string digits = std::to_string(ms);
            text += "." + std::string(3 - digits.size(), '0') + digits;
        }
        return text + "Z";
    };
    CHECK(format_instant(Instant{}) == "1970-01-01T00:00:00Z");
    CHECK(format_instant(Instant{milliseconds{-1}}) == "1969-12-31T23:59:59.999Z");
    CHECK(format_instant(Instant{milliseconds{951'782'400'007}}) == "2000-02-29T00:00:00.007Z");
    CHECK(format_instant(Instant{milliseconds{253'402'300'799'000}}) == "9999-12-31T23:59:59Z");
    CHECK(format_instant(Instant{milliseconds{253'402'300'800'000}}) == "10000-01-01T00:00:00Z");
    std::uint64_t x = 88172645463325252ull;       // xorshift: the same instants every run
    const std::int64_t lo = -62'167'219'200'000;  // 0000-01-01
    const std::int64_t span = 253'402'300'800'000 - lo;
    for (int i = 0; i < 200'000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        std::int64_t ms = lo + std::int64_t(x % std::uint64_t(span));
        if (i % 2) ms -= ms % 1000;  // half of them on a whole second
        const Instant t{milliseconds{ms}};
        REQUIRE(format_instant(t) == reference(t));
    }
}
