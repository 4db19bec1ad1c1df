// docs/lifecycle.md, "Invoice calendars".
#include <doctest/doctest.h>

#include "lifecycle/calendar.hpp"
#include "lifecycle_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

namespace {

ledger::InvoiceCalendar monthly(int n) {
    ledger::InvoiceCalendar c;
    c.monthly_on_day = n;
    return c;
}

ledger::InvoiceCalendar period_ends(std::initializer_list<std::string_view> dates) {
    ledger::InvoiceCalendar c;
    for (auto d : dates) c.period_ends.push_back(day(d));
    return c;
}

// The next invoice date after `after` in UTC text, or "none".
std::string next(const ledger::InvoiceCalendar& c, std::string_view after,
                 ledger::TimeZone tz = nullptr) {
    auto d = next_invoice_date(c, tz, at(after, tz));
    return d ? ledger::format_instant(d->at) : "none";
}

std::string dates(const ledger::InvoiceCalendar& c, std::string_view from, std::string_view to,
                  ledger::TimeZone tz = nullptr) {
    std::string out;
    for (const InvoiceDate& d : invoice_dates(c, tz, at(from, tz), at(to, tz)))
        out += (out.empty() ? "" : " ") + ledger::format_instant(d.at);
    return out;
}

}  // namespace

TEST_CASE("monthly on day 1: 00:00 on the first of every month, strictly after the instant") {
    const auto c = monthly(1);
    CHECK(next(c, "2026-01-15T12:00:00Z") == "2026-02-01T00:00:00Z");
    CHECK(next(c, "2026-01-31T23:59:59.999Z") == "2026-02-01T00:00:00Z");
    CHECK(next(c, "2026-02-01T00:00:00Z") == "2026-03-01T00:00:00Z");
    CHECK(next(c, "2026-12-05T00:00:00Z") == "2027-01-01T00:00:00Z");
    CHECK(dates(c, "2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z") ==
          "2026-02-01T00:00:00Z 2026-03-01T00:00:00Z 2026-04-01T00:00:00Z");
}

TEST_CASE("monthly on day 15: the 15th of this month until it starts, then of the next") {
    const auto c = monthly(15);
    CHECK(next(c, "2026-01-10T08:00:00Z") == "2026-01-15T00:00:00Z");
    CHECK(next(c, "2026-01-14T23:59:59Z") == "2026-01-15T00:00:00Z");
    CHECK(next(c, "2026-01-15T00:00:00Z") == "2026-02-15T00:00:00Z");
    CHECK(next(c, "2026-01-20T00:00:00Z") == "2026-02-15T00:00:00Z");
    CHECK(dates(c, "2026-01-01", "2026-04-15") ==
          "2026-01-15T00:00:00Z 2026-02-15T00:00:00Z 2026-03-15T00:00:00Z 2026-04-15T00:00:00Z");
    CHECK(dates(c, "2026-01-15", "2026-02-14T23:59:59Z").empty());
}

TEST_CASE("day 28, the last day every month has, is in February too") {
    CHECK(dates(monthly(28), "2026-01-28", "2026-03-28") ==
          "2026-02-28T00:00:00Z 2026-03-28T00:00:00Z");
}

TEST_CASE("monthly_on_day outside 1 to 28 is a bug of the caller, never a quiet date") {
    CHECK_THROWS_AS(next_invoice_date(monthly(31), nullptr, at("2026-01-01")),
                    std::invalid_argument);
    CHECK_THROWS_AS(next_invoice_date(monthly(0), nullptr, at("2026-01-01")),
                    std::invalid_argument);
}

TEST_CASE("a 4-4-5 period_ends list: invoices at 00:00 on the day after each period end") {
    // Periods of 4, 4 and 5 weeks, ending on Fridays, as in the Asia/Tokyo account of
    // etc/catalog.yaml (in UTC here).
    const auto c = period_ends(
        {"2026-01-30", "2026-02-27", "2026-04-03", "2026-05-01", "2026-05-29", "2026-07-03"});
    CHECK(dates(c, "2026-01-01", "2026-12-31") ==
          "2026-01-31T00:00:00Z 2026-02-28T00:00:00Z 2026-04-04T00:00:00Z "
          "2026-05-02T00:00:00Z 2026-05-30T00:00:00Z 2026-07-04T00:00:00Z");
    // The period end day itself is still in the period.
    CHECK(next(c, "2026-01-30T23:59:59Z") == "2026-01-31T00:00:00Z");
    CHECK(next(c, "2026-01-31T00:00:00Z") == "2026-02-28T00:00:00Z");
    CHECK(next(c, "2026-03-15T00:00:00Z") == "2026-04-04T00:00:00Z");
    // After the last listed period there is no invoice date until the catalog lists more.
    CHECK(next(c, "2026-07-04T00:00:00Z") == "none");
    CHECK(next(c, "2027-01-01T00:00:00Z") == "none");
}

TEST_CASE("America/New_York: invoice dates are local midnights across the DST weeks") {
    const ledger::TimeZone ny = zone("America/New_York");
    // Weekly period ends on Saturdays around 8 March 2026 (clocks go forward at 02:00) and
    // 1 November 2026 (clocks go back at 02:00): midnight is EST (-05:00) or EDT (-04:00).
    const auto weekly = period_ends(
        {"2026-02-28", "2026-03-07", "2026-03-14", "2026-10-24", "2026-10-31", "2026-11-07"});
    CHECK(dates(weekly, "2026-02-01", "2026-12-01", ny) ==
          "2026-03-01T05:00:00Z 2026-03-08T05:00:00Z 2026-03-15T04:00:00Z "
          "2026-10-25T04:00:00Z 2026-11-01T04:00:00Z 2026-11-08T05:00:00Z");
    // Monthly on day 8: the Sunday of the change starts in EST, the next month in EDT.
    CHECK(next(monthly(8), "2026-03-01T00:00:00", ny) == "2026-03-08T05:00:00Z");
    CHECK(next(monthly(8), "2026-03-08T00:00:00", ny) == "2026-04-08T04:00:00Z");
    CHECK(next(monthly(1), "2026-10-15T00:00:00", ny) == "2026-11-01T04:00:00Z");
    CHECK(next(monthly(1), "2026-11-01T00:00:00", ny) == "2026-12-01T05:00:00Z");
    // The last instant of 7 March local is before the 8 March date, the first of 8 March is not.
    CHECK(next(weekly, "2026-03-08T04:59:59.999Z", ny) == "2026-03-08T05:00:00Z");
    CHECK(next(weekly, "2026-03-08T05:00:00Z", ny) == "2026-03-15T04:00:00Z");
    // The local date names the invoice.
    const auto d = next_invoice_date(weekly, ny, at("2026-03-08T00:00:00Z"));
    REQUIRE(d);
    CHECK(d->local_day == day("2026-03-08"));
}

TEST_CASE("Asia/Tokyo: local midnight is 15:00 UTC the day before, and names the invoice") {
    const ledger::TimeZone tokyo = zone("Asia/Tokyo");
    const auto d = next_invoice_date(monthly(1), tokyo, at("2026-01-15T00:00:00", tokyo));
    REQUIRE(d);
    CHECK(ledger::format_instant(d->at) == "2026-01-31T15:00:00Z");
    CHECK(d->local_day == day("2026-02-01"));
    CHECK(next(monthly(1), "2026-01-31T14:59:59Z", tokyo) == "2026-01-31T15:00:00Z");
    CHECK(next(monthly(1), "2026-01-31T15:00:00Z", tokyo) == "2026-02-28T15:00:00Z");
    // The 4-4-5 calendar of etc/catalog.yaml's Tokyo account.
    const auto c = period_ends({"2026-01-30", "2026-02-27", "2026-04-03"});
    CHECK(dates(c, "2026-01-01", "2026-12-31", tokyo) ==
          "2026-01-30T15:00:00Z 2026-02-27T15:00:00Z 2026-04-03T15:00:00Z");
}

TEST_CASE("an invoice date whose whole local day was skipped is named by the day it falls on") {
    // Samoa moved across the date line: 30 December 2011 never happened in Pacific/Apia, and
    // 00:00 that day is the first instant after the gap, 00:00 on 31 December. The invoice id
    // carries the local date of that instant, a date the partner's calendar has.
    const ledger::TimeZone apia = zone("Pacific/Apia");
    const auto d = next_invoice_date(period_ends({"2011-12-29"}), apia, at("2011-12-01T00:00:00Z"));
    REQUIRE(d);
    CHECK(ledger::format_instant(d->at) == "2011-12-30T10:00:00Z");
    CHECK(d->local_day == day("2011-12-31"));
    CHECK(d->local_day == ledger::local_day(d->at, apia));
}

TEST_CASE("a midnight in a DST gap is the first instant after it, and an ambiguous one the first") {
    // America/Santiago moves from 00:00 to 01:00 on 6 September 2026: the invoice of day 6 is
    // at 01:00 -03 (04:00Z), still on the 6th. America/Havana goes back from 01:00 to 00:00 on
    // 1 November 2026: 00:00 happens twice, and the invoice takes the first (04:00Z).
    CHECK(next(monthly(6), "2026-08-20T00:00:00Z", zone("America/Santiago")) ==
          "2026-09-06T04:00:00Z");
    CHECK(next(monthly(6), "2026-09-06T03:59:59Z", zone("America/Santiago")) ==
          "2026-09-06T04:00:00Z");
    CHECK(next(monthly(6), "2026-09-06T04:00:00Z", zone("America/Santiago")) ==
          "2026-10-06T03:00:00Z");
    CHECK(next(monthly(1), "2026-10-15T00:00:00Z", zone("America/Havana")) ==
          "2026-11-01T04:00:00Z");
    CHECK(next(monthly(1), "2026-11-01T04:30:00Z", zone("America/Havana")) ==
          "2026-12-01T05:00:00Z");
}
