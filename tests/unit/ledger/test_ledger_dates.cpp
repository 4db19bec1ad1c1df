#include <doctest/doctest.h>

#include <string>

#include "ledger/dates.hpp"

using namespace actiondrop::ledger;

namespace {

TimeZone new_york() {
    TimeZone tz = find_time_zone("America/New_York");
    REQUIRE(tz != nullptr);
    return tz;
}

Instant at(std::string_view text, TimeZone tz = nullptr) { return parse_instant(text, tz).value(); }

Locking end_of_month(int months, int days) {
    return Locking{Locking::After::EndOfMonth, months, days};
}
Locking event_day(int days) { return Locking{Locking::After::EventDay, 0, days}; }

std::string locks(const Locking& rule, std::string_view event, TimeZone tz) {
    return format_instant(locking_date(rule, at(event, tz), tz));
}

std::string clears(const Clearing& rule, std::string_view locking, TimeZone tz) {
    return format_instant(clearing_date(rule, at(locking, tz), tz));
}

// "[from, to)" in UTC text.
std::string period(Limit::Period p, std::string_view t, TimeZone tz) {
    const auto [from, to] = cap_period(p, at(t, tz), tz);
    return "[" + format_instant(from) + ", " + format_instant(to) + ")";
}

}  // namespace

// ---- docs/rules.md, "A worked example" ----

TEST_CASE("the worked example of docs/rules.md in UTC: locks 2026-02-28, clears 2026-03-21") {
    const Instant event = at("2026-01-15T12:00:00Z");
    const Instant lock = locking_date(end_of_month(0, 27), event, nullptr);
    CHECK(format_instant(lock) == "2026-02-28T00:00:00Z");
    CHECK(format_instant(clearing_date(Clearing{0, 20}, lock, nullptr)) == "2026-03-21T00:00:00Z");
}

TEST_CASE("the worked example of docs/rules.md in America/New_York: midnights are local") {
    const TimeZone ny = new_york();
    const Instant event = at("2026-01-15T12:00:00", ny);
    const Instant lock = locking_date(end_of_month(0, 27), event, ny);
    CHECK(format_instant(lock) == "2026-02-28T05:00:00Z");  // 00:00 EST
    CHECK(lock == at("2026-02-28", ny));
    const Instant clear = clearing_date(Clearing{0, 20}, lock, ny);
    CHECK(format_instant(clear) == "2026-03-21T04:00:00Z");  // 00:00 EDT, after the DST change
    CHECK(clear == at("2026-03-21", ny));
}

// ---- locking: event_day ----

TEST_CASE("event_day locks at the start of the next local day plus D days") {
    CHECK(locks(event_day(0), "2026-01-15T10:00:00Z", nullptr) == "2026-01-16T00:00:00Z");
    CHECK(locks(event_day(7), "2026-01-15T10:00:00Z", nullptr) == "2026-01-23T00:00:00Z");
    CHECK(locks(event_day(27), "2026-01-15T00:00:00Z", nullptr) == "2026-02-12T00:00:00Z");
}

TEST_CASE("event_day counts from the event's day in the account's zone") {
    const TimeZone ny = new_york();
    // 2026-01-16T03:00Z is 22:00 on the 15th in New York.
    CHECK(locks(event_day(0), "2026-01-16T03:00:00Z", ny) == "2026-01-16T05:00:00Z");
    CHECK(locks(event_day(0), "2026-01-16T03:00:00Z", nullptr) == "2026-01-17T00:00:00Z");
}

TEST_CASE("event_day across month and year ends") {
    CHECK(locks(event_day(0), "2026-01-31T23:59:59Z", nullptr) == "2026-02-01T00:00:00Z");
    CHECK(locks(event_day(27), "2026-01-31T12:00:00Z", nullptr) == "2026-02-28T00:00:00Z");
    CHECK(locks(event_day(1), "2026-12-31T12:00:00Z", nullptr) == "2027-01-02T00:00:00Z");
}

TEST_CASE("event_day in a leap year") {
    CHECK(locks(event_day(27), "2028-02-01T12:00:00Z", nullptr) == "2028-02-29T00:00:00Z");
    CHECK(locks(event_day(0), "2028-02-28T12:00:00Z", nullptr) == "2028-02-29T00:00:00Z");
    CHECK(locks(event_day(0), "2028-02-29T12:00:00Z", nullptr) == "2028-03-01T00:00:00Z");
    CHECK(locks(event_day(0), "2026-02-28T12:00:00Z", nullptr) == "2026-03-01T00:00:00Z");
}

// ---- locking: end_of_month ----

TEST_CASE("end_of_month locks at the first of the next month plus M months and D days") {
    CHECK(locks(end_of_month(0, 0), "2026-01-15T12:00:00Z", nullptr) == "2026-02-01T00:00:00Z");
    CHECK(locks(end_of_month(1, 0), "2026-01-15T12:00:00Z", nullptr) == "2026-03-01T00:00:00Z");
    CHECK(locks(end_of_month(2, 10), "2026-01-15T12:00:00Z", nullptr) == "2026-04-11T00:00:00Z");
}

TEST_CASE("end_of_month from the 31st of January") {
    CHECK(locks(end_of_month(0, 27), "2026-01-31T23:00:00Z", nullptr) == "2026-02-28T00:00:00Z");
    CHECK(locks(end_of_month(1, 0), "2026-01-31T23:00:00Z", nullptr) == "2026-03-01T00:00:00Z");
    CHECK(locks(end_of_month(1, 27), "2026-01-31T23:00:00Z", nullptr) == "2026-03-28T00:00:00Z");
    // Days past a month's end run on into the next (a catalog allows up to 366).
    CHECK(locks(end_of_month(0, 30), "2026-01-31T23:00:00Z", nullptr) == "2026-03-03T00:00:00Z");
    CHECK(locks(end_of_month(0, 366), "2026-01-31T23:00:00Z", nullptr) == "2027-02-02T00:00:00Z");
}

TEST_CASE("end_of_month rolls over the year") {
    CHECK(locks(end_of_month(0, 5), "2026-12-31T12:00:00Z", nullptr) == "2027-01-06T00:00:00Z");
    CHECK(locks(end_of_month(13, 0), "2026-11-15T12:00:00Z", nullptr) == "2028-01-01T00:00:00Z");
}

TEST_CASE("end_of_month in a leap year") {
    CHECK(locks(end_of_month(0, 28), "2028-01-10T12:00:00Z", nullptr) == "2028-02-29T00:00:00Z");
    CHECK(locks(end_of_month(0, 0), "2028-02-29T12:00:00Z", nullptr) == "2028-03-01T00:00:00Z");
}

TEST_CASE("end_of_month uses the event's month in the account's zone") {
    const TimeZone ny = new_york();
    // 2026-02-01T02:00Z is still January 31 in New York.
    CHECK(locks(end_of_month(0, 0), "2026-02-01T02:00:00Z", ny) == "2026-02-01T05:00:00Z");
    CHECK(locks(end_of_month(0, 0), "2026-02-01T02:00:00Z", nullptr) == "2026-03-01T00:00:00Z");
}

// ---- locking around DST changes ----

TEST_CASE("locking on the day after the spring-forward change in New York") {
    const TimeZone ny = new_york();
    // 2026-03-08 loses 02:00-03:00; midnight of the 8th is EST, of the 9th EDT.
    CHECK(locks(event_day(0), "2026-03-07T20:00:00", ny) == "2026-03-08T05:00:00Z");
    CHECK(locks(event_day(0), "2026-03-08T12:00:00", ny) == "2026-03-09T04:00:00Z");
    // An event in the gap is at 03:00 EDT, still on the 8th.
    CHECK(locks(event_day(0), "2026-03-08T02:30:00", ny) == "2026-03-09T04:00:00Z");
}

TEST_CASE("locking on the day after the fall-back change in New York") {
    const TimeZone ny = new_york();
    // 2026-11-01 repeats 01:00-02:00; midnight of the 1st is EDT, of the 2nd EST.
    CHECK(locks(event_day(0), "2026-10-31T20:00:00", ny) == "2026-11-01T04:00:00Z");
    CHECK(locks(event_day(0), "2026-11-01T01:30:00", ny) == "2026-11-02T05:00:00Z");
    // The second 01:30 (EST, 06:30Z) is on the same local day.
    CHECK(locks(event_day(0), "2026-11-01T06:30:00Z", ny) == "2026-11-02T05:00:00Z");
}

TEST_CASE("end_of_month locking across the DST changes keeps local midnight") {
    const TimeZone ny = new_york();
    CHECK(locks(end_of_month(0, 0), "2026-02-20T12:00:00", ny) == "2026-03-01T05:00:00Z");
    CHECK(locks(end_of_month(0, 10), "2026-02-20T12:00:00", ny) == "2026-03-11T04:00:00Z");
    CHECK(locks(end_of_month(0, 0), "2026-10-20T12:00:00", ny) == "2026-11-01T04:00:00Z");
    CHECK(locks(end_of_month(0, 1), "2026-10-20T12:00:00", ny) == "2026-11-02T05:00:00Z");
}

TEST_CASE("open-ended trackers lock 730 days after the event") {
    const Instant event = at("2026-01-15T10:30:00Z");
    CHECK(format_instant(event + open_ended_lock) == "2028-01-15T10:30:00Z");
}

// ---- clearing ----

TEST_CASE("clearing is the first of the month after locking plus M months and D days") {
    CHECK(clears(Clearing{0, 0}, "2026-02-28T00:00:00Z", nullptr) == "2026-03-01T00:00:00Z");
    CHECK(clears(Clearing{0, 20}, "2026-02-28T00:00:00Z", nullptr) == "2026-03-21T00:00:00Z");
    CHECK(clears(Clearing{2, 20}, "2026-02-28T00:00:00Z", nullptr) == "2026-05-21T00:00:00Z");
}

TEST_CASE("clearing from a lock at the first of a month counts from the next month") {
    CHECK(clears(Clearing{0, 0}, "2026-03-01T00:00:00Z", nullptr) == "2026-04-01T00:00:00Z");
}

TEST_CASE("clearing rolls over the year") {
    CHECK(clears(Clearing{0, 20}, "2026-12-28T00:00:00Z", nullptr) == "2027-01-21T00:00:00Z");
    CHECK(clears(Clearing{1, 0}, "2026-12-01T00:00:00Z", nullptr) == "2027-02-01T00:00:00Z");
}

TEST_CASE("clearing into a leap February") {
    CHECK(clears(Clearing{0, 28}, "2028-01-15T00:00:00Z", nullptr) == "2028-02-29T00:00:00Z");
}

TEST_CASE("clearing after an approval uses the approval's local month") {
    const TimeZone ny = new_york();
    // Approved at 23:30 on January 31 in New York, already February 1 in UTC.
    CHECK(clears(Clearing{0, 20}, "2026-02-01T04:30:00Z", ny) == "2026-02-21T05:00:00Z");
    CHECK(clears(Clearing{0, 20}, "2026-02-01T04:30:00Z", nullptr) == "2026-03-21T00:00:00Z");
}

// ---- cap periods ----

TEST_CASE("cap_period day") {
    CHECK(period(Limit::Period::Day, "2026-01-15T10:00:00Z", nullptr) ==
          "[2026-01-15T00:00:00Z, 2026-01-16T00:00:00Z)");
}

TEST_CASE("cap_period day of 23 hours on the spring-forward change") {
    CHECK(period(Limit::Period::Day, "2026-03-08T12:00:00", new_york()) ==
          "[2026-03-08T05:00:00Z, 2026-03-09T04:00:00Z)");
}

TEST_CASE("cap_period day of 25 hours on the fall-back change") {
    CHECK(period(Limit::Period::Day, "2026-11-01T12:00:00", new_york()) ==
          "[2026-11-01T04:00:00Z, 2026-11-02T05:00:00Z)");
}

TEST_CASE("cap_period week starts on Monday") {
    // 2026-01-15 is a Thursday.
    CHECK(period(Limit::Period::Week, "2026-01-15T10:00:00Z", nullptr) ==
          "[2026-01-12T00:00:00Z, 2026-01-19T00:00:00Z)");
    // A Monday is the first day of its week, a Sunday the last.
    CHECK(period(Limit::Period::Week, "2026-01-12T00:00:00Z", nullptr) ==
          "[2026-01-12T00:00:00Z, 2026-01-19T00:00:00Z)");
    CHECK(period(Limit::Period::Week, "2026-01-18T23:59:59Z", nullptr) ==
          "[2026-01-12T00:00:00Z, 2026-01-19T00:00:00Z)");
}

TEST_CASE("cap_period week across the year end") {
    // 2026-01-01 is a Thursday; its week began on Monday 2025-12-29.
    CHECK(period(Limit::Period::Week, "2026-01-01T10:00:00Z", nullptr) ==
          "[2025-12-29T00:00:00Z, 2026-01-05T00:00:00Z)");
}

TEST_CASE("cap_period week in the account's zone") {
    // Monday 2026-01-19T03:00Z is still Sunday evening in New York.
    CHECK(period(Limit::Period::Week, "2026-01-19T03:00:00Z", new_york()) ==
          "[2026-01-12T05:00:00Z, 2026-01-19T05:00:00Z)");
}

TEST_CASE("cap_period month") {
    CHECK(period(Limit::Period::Month, "2026-02-15T10:00:00Z", nullptr) ==
          "[2026-02-01T00:00:00Z, 2026-03-01T00:00:00Z)");
    CHECK(period(Limit::Period::Month, "2026-12-31T23:00:00Z", nullptr) ==
          "[2026-12-01T00:00:00Z, 2027-01-01T00:00:00Z)");
    CHECK(period(Limit::Period::Month, "2028-02-29T10:00:00Z", nullptr) ==
          "[2028-02-01T00:00:00Z, 2028-03-01T00:00:00Z)");
}

TEST_CASE("cap_period month across DST in New York") {
    CHECK(period(Limit::Period::Month, "2026-03-15T12:00:00", new_york()) ==
          "[2026-03-01T05:00:00Z, 2026-04-01T04:00:00Z)");
}

TEST_CASE("cap_period quarter is a calendar quarter") {
    CHECK(period(Limit::Period::Quarter, "2026-01-01T00:00:00Z", nullptr) ==
          "[2026-01-01T00:00:00Z, 2026-04-01T00:00:00Z)");
    CHECK(period(Limit::Period::Quarter, "2026-03-31T23:59:59Z", nullptr) ==
          "[2026-01-01T00:00:00Z, 2026-04-01T00:00:00Z)");
    CHECK(period(Limit::Period::Quarter, "2026-05-20T00:00:00Z", nullptr) ==
          "[2026-04-01T00:00:00Z, 2026-07-01T00:00:00Z)");
    CHECK(period(Limit::Period::Quarter, "2026-08-01T00:00:00Z", nullptr) ==
          "[2026-07-01T00:00:00Z, 2026-10-01T00:00:00Z)");
    CHECK(period(Limit::Period::Quarter, "2026-12-31T00:00:00Z", nullptr) ==
          "[2026-10-01T00:00:00Z, 2027-01-01T00:00:00Z)");
}

TEST_CASE("cap_period quarter in the account's zone") {
    // 2026-04-01T02:00Z is still March 31 in New York: the first quarter.
    CHECK(period(Limit::Period::Quarter, "2026-04-01T02:00:00Z", new_york()) ==
          "[2026-01-01T05:00:00Z, 2026-04-01T04:00:00Z)");
}

TEST_CASE("cap_period contract is all time") {
    const auto [from, to] =
        cap_period(Limit::Period::Contract, at("2026-01-15T00:00:00Z"), nullptr);
    CHECK(from == Instant::min());
    CHECK(to == Instant::max());
}

TEST_CASE("every cap period holds its instant") {
    const TimeZone ny = new_york();
    const Instant t = at("2026-11-01T01:30:00", ny);
    for (auto p : {Limit::Period::Day, Limit::Period::Week, Limit::Period::Month,
                   Limit::Period::Quarter, Limit::Period::Contract}) {
        const auto [from, to] = cap_period(p, t, ny);
        CHECK(from <= t);
        CHECK(t < to);
    }
}
