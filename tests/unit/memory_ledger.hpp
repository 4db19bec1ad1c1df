#pragma once
// An in-memory LedgerView for unit tests: actions in a map, history in a vector, every
// query answered by scanning. Pointers stay valid because map nodes never move.
#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ledger/view.hpp"

namespace actiondrop::ledger::testing {

class MemoryLedger : public LedgerView {
public:
    std::map<std::pair<std::string, std::string>, Action> actions;  // (account, action id)
    std::vector<HistoryEntry> history;
    int changed_calls = 0;
    std::vector<std::pair<std::string, std::int64_t>> deposits;  // (account, amount)
    std::vector<Transfer> transfers;

    // Stores an action as if created earlier (no history entry); returns the stored copy.
    Action& put(Action action) {
        action.key = ++last_key_;
        auto k = std::make_pair(action.account_id, action.action_id);
        actions.insert_or_assign(k, std::move(action));
        return actions.at(k);
    }

    Action* find(std::string_view account_id, std::string_view action_id) override {
        auto it = actions.find({std::string(account_id), std::string(action_id)});
        return it == actions.end() ? nullptr : &it->second;
    }

    Action* find_by_order(std::string_view account_id, std::string_view order_id,
                          std::string_view tracker_id) override {
        return newest([&](const Action& a) {
            return a.account_id == account_id && a.order_id == order_id &&
                   a.tracker_id == tracker_id;
        });
    }

    Action* latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                std::string_view customer_id) override {
        return newest([&](const Action& a) {
            return a.account_id == account_id && a.tracker_id == tracker_id &&
                   a.customer_id == customer_id;
        });
    }

    std::vector<Action*> children(std::string_view account_id,
                                  std::string_view parent_action_id) override {
        std::vector<Action*> out;
        for (auto& [k, a] : actions)
            if (a.account_id == account_id && a.parent_action_id == parent_action_id)
                out.push_back(&a);
        std::sort(out.begin(), out.end(),
                  [](const Action* x, const Action* y) { return x->key < y->key; });
        return out;
    }

    CapTotals cap_totals(std::string_view account_id, std::string_view partner_id,
                         std::string_view contract_id, Instant from, Instant to) override {
        CapTotals totals;
        for (const auto& [k, a] : actions) {
            if (a.account_id != account_id || a.partner_id != partner_id ||
                a.contract_id != contract_id)
                continue;
            if (a.status == Status::Reversed || a.outside_terms) continue;
            if (a.event_date < from || a.event_date >= to) continue;
            totals.payout += a.payout;
            totals.count += 1;
        }
        return totals;
    }

    void changed(Action& action, HistoryEntry entry) override {
        ++changed_calls;
        (void)action;
        history.push_back(std::move(entry));
    }

    Action& created(Action action, HistoryEntry entry) override {
        history.push_back(std::move(entry));
        return put(std::move(action));
    }

    std::int64_t funds_balance(std::string_view account_id) override {
        std::int64_t sum = 0;
        for (const auto& [account, amount] : deposits)
            if (account == account_id) sum += amount;
        for (const auto& t : transfers)
            if (t.account_id == account_id) sum -= t.amount;
        return sum;
    }

    void transferred(Transfer transfer) override { transfers.push_back(std::move(transfer)); }

    // The history entries of one action, oldest first.
    std::vector<HistoryEntry> history_of(std::string_view action_id) const {
        std::vector<HistoryEntry> out;
        for (const auto& e : history)
            if (e.action_id == action_id) out.push_back(e);
        return out;
    }

private:
    template <class Pred>
    Action* newest(Pred pred) {
        Action* best = nullptr;
        for (auto& [k, a] : actions)
            if (pred(a) && (!best || a.key > best->key)) best = &a;
        return best;
    }

    std::int64_t last_key_ = 0;
};

}  // namespace actiondrop::ledger::testing
