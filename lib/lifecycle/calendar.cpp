#include "lifecycle/calendar.hpp"

#include <stdexcept>
#include <string>

namespace actiondrop::lifecycle {

using namespace std::chrono;

// An invoice is named by the local date of its instant. That is the listed (or N-th) day
// itself, unless the zone skipped that whole day (Pacific/Apia on 30 December 2011): then
// its 00:00 is the first instant after the gap, on the next day, and the name says so.

std::optional<InvoiceDate> next_invoice_date(const ledger::InvoiceCalendar& calendar,
                                             ledger::TimeZone tz, ledger::Instant after) {
    if (!calendar.period_ends.empty()) {
        // The period ends are in increasing order (the catalog loader checks it): the first
        // whose next day starts after `after` is the one.
        for (ledger::Days end : calendar.period_ends) {
            const ledger::Days day = end + days{1};
            const ledger::Instant at = ledger::start_of_local_day(day, tz);
            if (at > after) return InvoiceDate{at, ledger::local_day(at, tz)};
        }
        return std::nullopt;
    }
    const int n = calendar.monthly_on_day;
    if (n < 1 || n > 28)
        throw std::invalid_argument("invoice calendar: monthly_on_day " + std::to_string(n) +
                                    " is not 1 to 28");
    const year_month_day today{ledger::local_day(after, tz)};
    const year_month month{today.year(), today.month()};
    // Day N of the month holding `after` if it starts later, else day N of the next month,
    // which starts after every instant of this month.
    for (int ahead = 0; ahead < 2; ++ahead) {
        const ledger::Days date{(month + months{ahead}) / std::chrono::day{unsigned(n)}};
        const ledger::Instant at = ledger::start_of_local_day(date, tz);
        if (at > after) return InvoiceDate{at, ledger::local_day(at, tz)};
    }
    throw std::logic_error("invoice calendar: no monthly date after an instant");
}

std::vector<InvoiceDate> invoice_dates(const ledger::InvoiceCalendar& calendar, ledger::TimeZone tz,
                                       ledger::Instant from, ledger::Instant to) {
    std::vector<InvoiceDate> dates;
    for (auto d = next_invoice_date(calendar, tz, from); d && d->at <= to;
         d = next_invoice_date(calendar, tz, d->at))
        dates.push_back(*d);
    return dates;
}

}  // namespace actiondrop::lifecycle
