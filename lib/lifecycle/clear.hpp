#pragma once
// Step 2 of a run, the clear (docs/lifecycle.md, "Clear"): the due and overdue actions are
// taken from the funds balance in one strict order, and the first one the balance does not
// cover stops the queue: it and everything after it are overdue.
#include <span>
#include <string_view>
#include <vector>

#include "ledger/funds.hpp"
#include "lifecycle/book.hpp"
#include "lifecycle/lock.hpp"

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

// Takes a run's decisions on single actions as they are made, in the order the decisions list
// them (the locks, then the clears, then the overdue actions), instead of their being kept in
// the decisions: a run over a million actions then holds none of them in memory
// (docs/lifecycle.md, "Scale"). The counts and sums are kept either way.
class DecisionSink {
public:
    virtual ~DecisionSink() = default;
    virtual void locked(const Lock& l) = 0;
    virtual void cleared(const Clear& c) = 0;
    virtual void overdue(const Overdue& o) = 0;
};

struct ClearDecisions {
    std::vector<Clear> clears;               // in queue order
    std::vector<Overdue> overdue;            // every action left overdue, in queue order
    std::vector<ledger::FundsEntry> debits;  // one per cleared payout > 0, dated at cleared_at
    std::int64_t balance_after = 0;
    // Kept also when a DecisionSink took the clears and the overdue actions instead.
    std::size_t cleared = 0;         // clears.size()
    std::size_t left_overdue = 0;    // overdue.size()
    std::size_t newly_overdue = 0;   // those of them overdue for the first time
    std::int64_t overdue_total = 0;  // their payouts; beyond int64 the largest amount

    // The payouts of the actions left overdue: a gauge, beyond int64 the largest amount.
    std::int64_t overdue_amount() const { return overdue_total; }
    bool operator==(const ClearDecisions&) const = default;
};

// Whether an action is in the queue of a run at `now`: DUE or OVERDUE (so APPROVED) with
// clearing_date <= now. An OVERDUE action always is, except at a run earlier than the one that
// found it overdue: it was not due yet at that time (docs/lifecycle.md, "Decisions where the
// specification leaves room"). A store may run it as a criterion over its rows.
inline bool in_clear_queue(ledger::Status status, ledger::FinanceStatus finance,
                           Instant clearing_date, Instant now) {
    return status == ledger::Status::Approved &&
           (finance == ledger::FinanceStatus::Due || finance == ledger::FinanceStatus::Overdue) &&
           clearing_date <= now;
}

// One action of the queue, as a store streams it: no more than the clear reads.
struct QueueItem {
    std::int64_t key = 0;
    std::string_view action_id;
    std::int64_t payout = 0;
    Instant clearing_date{};
    bool overdue = false;  // OVERDUE before this run
};

// The clear one action at a time, for actions given in queue order (clearing date, then action
// id, bytewise): the rule decide_clearing runs, for a store that streams its queue instead of
// holding it. The actions it clears are a prefix of the queue; the first one it does not
// clear ends the prefix, and every later one is overdue.
class ClearQueue {
public:
    // Throws std::invalid_argument when `balance` is negative.
    ClearQueue(std::int64_t balance, Instant now);

    // Decides the next action of the queue and adds the decision to `d` (its counts and
    // balance_after; its clears, overdue and debits, or, given a sink, the sink's clear or
    // overdue). Returns true when it clears. Throws std::invalid_argument on a negative
    // payout.
    bool decide(const QueueItem& a, ClearDecisions& d, DecisionSink* sink = nullptr);

    // The balance left after the clears decided so far.
    std::int64_t balance() const { return balance_; }
    // Whether an action did not clear: the prefix has ended.
    bool stopped() const { return stopped_; }

private:
    std::int64_t balance_;
    Instant now_;
    bool stopped_ = false;
};

// The queue is every APPROVED action that is DUE with clearing_date <= now, and every OVERDUE
// one, ordered by clearing date, then action id (bytewise). `balance` is the account's funds.
ClearDecisions decide_clearing(std::span<const ActionState> actions, std::int64_t balance,
                               Instant now);

}  // namespace actiondrop::lifecycle
