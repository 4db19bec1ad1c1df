#pragma once
// Step 1 of a run, the lock (docs/lifecycle.md, "Lock"): every PENDING action whose locking
// date has passed becomes APPROVED. Open-ended actions carry their 730-day locking date from
// their creation (docs/rules.md, "Open-ended trackers"), so they lock here too.
#include <span>
#include <vector>

#include "lifecycle/book.hpp"

namespace actiondrop::lifecycle {

struct Lock {
    std::int64_t key = 0;
    std::string action_id;
    Instant at{};  // its locking date: the LOCK history entry is dated there, not at the run
    ledger::FinanceStatus finance_status = ledger::FinanceStatus::Due;  // or OutsideTerms
    friend bool operator==(const Lock&, const Lock&) = default;
};

// Whether an action locks in a run at `now`: it is PENDING and its locking date has come. A
// store may run it as a criterion over its rows (docs/lifecycle.md, "How the store runs a
// step").
inline bool locks_at(ledger::Status status, Instant locking_date, Instant now) {
    return status == ledger::Status::Pending && locking_date <= now;
}

// The finance status an action locks with: an action over a cap locks with payout 0 and stays
// outside terms; every other is DUE.
inline ledger::FinanceStatus locked_finance_status(ledger::FinanceStatus before) {
    return before == ledger::FinanceStatus::OutsideTerms ? ledger::FinanceStatus::OutsideTerms
                                                         : ledger::FinanceStatus::Due;
}

// In the order the actions were created (their key): the order of the LOCK entries' ids. The
// order of the locks changes nothing else (each is dated at its own locking date), and it is
// the order a store reads and appends its rows in fastest (docs/lifecycle.md, "Scale").
std::vector<Lock> decide_locks(std::span<const ActionState> actions, Instant now);

}  // namespace actiondrop::lifecycle
