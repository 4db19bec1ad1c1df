#include "lifecycle/clear.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>

namespace actiondrop::lifecycle {

std::int64_t ClearDecisions::overdue_amount() const {
    // A gauge: beyond int64 it shows the largest amount rather than wrap.
    std::int64_t sum = 0;
    for (const Overdue& o : overdue)
        if (__builtin_add_overflow(sum, o.payout, &sum)) return INT64_MAX;
    return sum;
}

ClearDecisions decide_clearing(std::span<const ActionState> actions, std::int64_t balance,
                               Instant now) {
    using ledger::FinanceStatus;
    // The funds balance is never negative (docs/lifecycle.md, "Funds"); one that is would make
    // every due action overdue, 0 payouts too, and write that into their histories.
    if (balance < 0)
        throw std::invalid_argument("the funds balance " + std::to_string(balance) +
                                    " is negative");
    std::vector<const ActionState*> queue;
    for (const ActionState& a : actions) {
        const bool due = a.status == ledger::Status::Approved &&
                         a.finance_status == FinanceStatus::Due && a.clearing_date <= now;
        if (due || a.finance_status == FinanceStatus::Overdue) queue.push_back(&a);
    }
    std::sort(queue.begin(), queue.end(), [](const ActionState* x, const ActionState* y) {
        return std::tie(x->clearing_date, x->action_id) < std::tie(y->clearing_date, y->action_id);
    });

    ClearDecisions d;
    d.balance_after = balance;
    // Strict order: once one payout is not covered, nothing after it clears, not even a
    // smaller payout or a 0 one, so an earlier payout is never jumped.
    bool stopped = false;
    for (const ActionState* a : queue) {
        if (a->payout < 0)
            throw std::invalid_argument("action " + a->action_id + " has a negative payout");
        const bool overdue = a->finance_status == FinanceStatus::Overdue;
        if (!stopped && a->payout <= d.balance_after) {
            d.balance_after -= a->payout;
            const Instant cleared_at = overdue ? now : a->clearing_date;
            d.clears.push_back(Clear{a->key, a->action_id, a->payout, cleared_at, overdue});
            // A 0 payout moves no money and makes no funds entry. The funds are taken on the
            // clearing date (cleared_at), not whenever a run comes: a late run writes the same
            // funds ledger as a timely one.
            if (a->payout > 0)
                d.debits.push_back(ledger::FundsEntry{ledger::FundsEntry::Kind::Clearing, a->payout,
                                                      cleared_at, a->action_id});
            continue;
        }
        stopped = true;
        d.overdue.push_back(Overdue{a->key, a->action_id, a->payout, a->clearing_date, !overdue});
    }
    return d;
}

}  // namespace actiondrop::lifecycle
