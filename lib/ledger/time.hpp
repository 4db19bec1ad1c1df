#pragma once
// Instants, time zones and the date syntax of batch files (docs/rules.md,
// "Dates and times in files").
// The core never reads the clock: every function takes the instants it needs.
#include <chrono>
#include <expected>
#include <string>
#include <string_view>

namespace date {
class time_zone;
}

namespace actiondrop::ledger {

using Instant = std::chrono::sys_time<std::chrono::milliseconds>;
using Days = std::chrono::sys_days;
using TimeZone = const date::time_zone*;  // looked up once by the catalog loader

// Looks up an IANA zone name; nullptr when unknown. Only the catalog loader calls it.
TimeZone find_time_zone(std::string_view name);

// "YYYY-MM-DDThh:mm:ss[.fff]" + "Z" or "±hh:mm"; without an offset, or a bare
// "YYYY-MM-DD" (start of that day), in `tz`. A local time inside a DST gap is the first
// instant after the gap; an ambiguous one the earlier instant. Error text for MALFORMED.
std::expected<Instant, std::string> parse_instant(std::string_view text, TimeZone tz);

// "2026-03-21T04:00:00Z" (milliseconds shown only when non-zero).
std::string format_instant(Instant t);

// Calendar helpers in a zone.
Days local_day(Instant t, TimeZone tz);             // the local date holding t
Instant start_of_local_day(Days day, TimeZone tz);  // 00:00 local (first instant after a gap)

}  // namespace actiondrop::ledger
