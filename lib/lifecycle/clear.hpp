#pragma once
// Step 2 of a run, the clear (docs/lifecycle.md, "Clear"): the due and overdue actions are
// taken from the funds balance in one strict order, and the first one the balance does not
// cover stops the queue: it and everything after it are overdue.
#include <span>
#include <vector>

#include "ledger/funds.hpp"
#include "lifecycle/book.hpp"

namespace actiondrop::lifecycle {

struct Clear {
    std::int64_t key = 0;
    std::string action_id;
    std::int64_t payout = 0;
    Instant cleared_at{};  // its clearing date; the run's time if it was overdue
    bool was_overdue = false;
    friend bool operator==(const Clear&, const Clear&) = default;
};

struct Overdue {
    std::int64_t key = 0;
    std::string action_id;
    std::int64_t payout = 0;
    Instant due_at{};         // its clearing date; the OVERDUE history entry is dated there
    bool first_time = false;  // it becomes overdue in this run: one OVERDUE history entry
    friend bool operator==(const Overdue&, const Overdue&) = default;
};

struct ClearDecisions {
    std::vector<Clear> clears;               // in queue order
    std::vector<Overdue> overdue;            // every action left overdue, in queue order
    std::vector<ledger::FundsEntry> debits;  // one per cleared payout > 0, dated at cleared_at
    std::int64_t balance_after = 0;

    std::int64_t overdue_amount() const;
    bool operator==(const ClearDecisions&) const = default;
};

// The queue is every APPROVED action that is DUE with clearing_date <= now, and every OVERDUE
// one, ordered by clearing date, then action id (bytewise). `balance` is the account's funds.
ClearDecisions decide_clearing(std::span<const ActionState> actions, std::int64_t balance,
                               Instant now);

}  // namespace actiondrop::lifecycle
