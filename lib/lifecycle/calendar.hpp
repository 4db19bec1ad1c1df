#pragma once
// The invoice calendar of an account (docs/lifecycle.md, "Invoice calendars"): invoices are
// dated 00:00 local time on day N of every month, or on the day after each listed period end,
// in the account's time zone. A midnight that a DST change skips is the first instant after
// the gap, as everywhere else (docs/rules.md, "Dates and times in files").
#include <optional>
#include <vector>

#include "ledger/catalog.hpp"

namespace actiondrop::lifecycle {

struct InvoiceDate {
    ledger::Instant at;      // 00:00 local time (or the first instant after a DST gap)
    ledger::Days local_day;  // the local date of `at` (not always the calendar day: a skipped
                             // day falls on the next); it names the invoice
    friend bool operator==(const InvoiceDate&, const InvoiceDate&) = default;
};

// The first invoice date of the calendar strictly after `after`; nullopt when a period_ends
// calendar lists no later date. monthly_on_day must be 1 to 28 (the catalog's rule).
std::optional<InvoiceDate> next_invoice_date(const ledger::InvoiceCalendar& calendar,
                                             ledger::TimeZone tz, ledger::Instant after);

// Every invoice date in (from, to], in order.
std::vector<InvoiceDate> invoice_dates(const ledger::InvoiceCalendar& calendar, ledger::TimeZone tz,
                                       ledger::Instant from, ledger::Instant to);

}  // namespace actiondrop::lifecycle
