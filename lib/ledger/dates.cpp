#include "ledger/dates.hpp"

#include <stdexcept>

namespace actiondrop::ledger {

namespace {

using namespace std::chrono;

// The first day of the month holding `day`, moved by `months` (calendar months).
Days first_of_month(Days day, int month_count) {
    const year_month_day ymd{day};
    return Days{(year_month{ymd.year(), ymd.month()} + months{month_count}) / 1};
}

}  // namespace

Instant locking_date(const Locking& rule, Instant event, TimeZone tz) {
    const Days event_day = local_day(event, tz);
    switch (rule.after) {
        case Locking::After::EventDay:
            return start_of_local_day(event_day + days{1 + rule.days}, tz);
        case Locking::After::EndOfMonth:
            return start_of_local_day(first_of_month(event_day, 1 + rule.months) + days{rule.days},
                                      tz);
    }
    throw std::logic_error("unknown Locking::After");
}

Instant clearing_date(const Clearing& rule, Instant locking, TimeZone tz) {
    return start_of_local_day(
        first_of_month(local_day(locking, tz), 1 + rule.months) + days{rule.days}, tz);
}

std::pair<Instant, Instant> cap_period(Limit::Period period, Instant t, TimeZone tz) {
    const Days day = local_day(t, tz);
    switch (period) {
        case Limit::Period::Day:
            return {start_of_local_day(day, tz), start_of_local_day(day + days{1}, tz)};
        case Limit::Period::Week: {
            const Days monday = day - (weekday{day} - Monday);
            return {start_of_local_day(monday, tz), start_of_local_day(monday + weeks{1}, tz)};
        }
        case Limit::Period::Month:
            return {start_of_local_day(first_of_month(day, 0), tz),
                    start_of_local_day(first_of_month(day, 1), tz)};
        case Limit::Period::Quarter: {
            const unsigned month = unsigned{year_month_day{day}.month()};
            const int into_quarter = static_cast<int>((month - 1) % 3);
            return {start_of_local_day(first_of_month(day, -into_quarter), tz),
                    start_of_local_day(first_of_month(day, 3 - into_quarter), tz)};
        }
        case Limit::Period::Contract:
            break;
    }
    return {Instant::min(), Instant::max()};
}

}  // namespace actiondrop::ledger
