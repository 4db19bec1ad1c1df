#include "lifecycle/clear.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>

namespace actiondrop::lifecycle {

ClearQueue::ClearQueue(std::int64_t balance, Instant now) : balance_(balance), now_(now) {
    // The funds balance is never negative (docs/lifecycle.md, "Funds"); one that is would make
    // every due action overdue, 0 payouts too, and write that into their histories.
    if (balance < 0)
        throw std::invalid_argument("the funds balance " + std::to_string(balance) +
                                    " is negative");
}

bool ClearQueue::decide(const QueueItem& a, ClearDecisions& d, DecisionSink* sink) {
    if (a.payout < 0)
        throw std::invalid_argument("action " + std::string(a.action_id) +
                                    " has a negative payout");
    // Strict order: once one payout is not covered, nothing after it clears, not even a
    // smaller payout or a 0 one, so an earlier payout is never jumped.
    if (!stopped_ && a.payout <= balance_) {
        balance_ -= a.payout;
        d.balance_after = balance_;
        const Instant cleared_at = a.overdue ? now_ : a.clearing_date;
        ++d.cleared;
        Clear c{a.key, std::string(a.action_id), a.payout, cleared_at, a.overdue};
        if (sink) {
            sink->cleared(c);
            return true;
        }
        // A 0 payout moves no money and makes no funds entry. The funds are taken on the
        // clearing date (cleared_at), not whenever a run comes: a late run writes the same
        // funds ledger as a timely one.
        if (a.payout > 0)
            d.debits.push_back(ledger::FundsEntry{ledger::FundsEntry::Kind::Clearing, a.payout,
                                                  cleared_at, c.action_id});
        d.clears.push_back(std::move(c));
        return true;
    }
    stopped_ = true;
    d.balance_after = balance_;
    ++d.left_overdue;
    d.newly_overdue += !a.overdue;
    // A gauge: beyond int64 it shows the largest amount rather than wrap.
    if (__builtin_add_overflow(d.overdue_total, a.payout, &d.overdue_total))
        d.overdue_total = INT64_MAX;
    Overdue o{a.key, std::string(a.action_id), a.payout, a.clearing_date, !a.overdue};
    if (sink)
        sink->overdue(o);
    else
        d.overdue.push_back(std::move(o));
    return false;
}

ClearDecisions decide_clearing(std::span<const ActionState> actions, std::int64_t balance,
                               Instant now) {
    ClearQueue clear(balance, now);
    std::vector<const ActionState*> queue;
    for (const ActionState& a : actions)
        if (in_clear_queue(a.status, a.finance_status, a.clearing_date, now)) queue.push_back(&a);
    std::sort(queue.begin(), queue.end(), [](const ActionState* x, const ActionState* y) {
        return std::tie(x->clearing_date, x->action_id) < std::tie(y->clearing_date, y->action_id);
    });

    ClearDecisions d;
    d.balance_after = balance;
    for (const ActionState* a : queue)
        clear.decide(QueueItem{a->key, a->action_id, a->payout, a->clearing_date,
                               a->finance_status == ledger::FinanceStatus::Overdue},
                     d);
    return d;
}

}  // namespace actiondrop::lifecycle
