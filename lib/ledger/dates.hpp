#pragma once
// Locking and clearing dates (docs/rules.md, "Locking date", "Clearing date"), computed in
// the account's time zone.
#include "ledger/catalog.hpp"

namespace actiondrop::ledger {

// event_day: start of the local day after the event's day, plus D days.
// end_of_month: start of the local month after the event's month, plus M months, D days.
Instant locking_date(const Locking& rule, Instant event, TimeZone tz);

// Start of the local month after the locking date's month, plus M months and D days.
Instant clearing_date(const Clearing& rule, Instant locking, TimeZone tz);

// Open-ended trackers lock 730 days after the event (unless approved earlier).
inline constexpr auto open_ended_lock = std::chrono::days{730};

// The cap period holding `t` in `tz`: [start, end). Weeks start on Monday; quarters are
// calendar quarters; Contract is all time.
std::pair<Instant, Instant> cap_period(Limit::Period period, Instant t, TimeZone tz);

}  // namespace actiondrop::ledger
