#pragma once
// The cap totals a batch has asked for, kept up to date as it creates actions, for any store
// (ledger/view.hpp, cap_totals). A file of conversions for a capped partner asks for the
// totals of the same period at every row; summing the period's actions in the store each
// time made such a file quadratic (100,000 rows: minutes). The store sums a period once per
// batch; the actions the batch creates then add to it here. Any other change (a reversal, a
// new payout) forgets everything: the next question goes to the store again.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/action.hpp"
#include "ledger/view.hpp"

namespace actiondrop::store {

class CapTotalsCache {
public:
    const ledger::CapTotals* find(std::string_view account_id, std::string_view partner_id,
                                  std::string_view contract_id, ledger::Instant from,
                                  ledger::Instant to) const {
        for (const Entry& e : entries_)
            if (e.from == from && e.to == to && e.account_id == account_id &&
                e.partner_id == partner_id && e.contract_id == contract_id)
                return &e.totals;
        return nullptr;
    }
    void keep(std::string_view account_id, std::string_view partner_id,
              std::string_view contract_id, ledger::Instant from, ledger::Instant to,
              ledger::CapTotals totals) {
        entries_.push_back(Entry{std::string(account_id), std::string(partner_id),
                                 std::string(contract_id), from, to, totals});
    }
    // A new action: it counts in the periods of its partner and contract that hold its event
    // date, as the store's sum would count it (not reversed, within terms).
    void created(const ledger::Action& a) {
        if (a.status == ledger::Status::Reversed || a.outside_terms) return;
        for (Entry& e : entries_)
            if (a.event_date >= e.from && a.event_date < e.to && e.account_id == a.account_id &&
                e.partner_id == a.partner_id && e.contract_id == a.contract_id) {
                // Past int64 is past any maximum: the rule reads it as over.
                if (__builtin_add_overflow(e.totals.payout, a.payout, &e.totals.payout))
                    e.totals.payout = INT64_MAX;
                ++e.totals.count;
            }
    }
    // A stored action changed: what it counted for is no longer known here.
    void changed() { entries_.clear(); }
    void clear() { entries_.clear(); }

private:
    struct Entry {
        std::string account_id, partner_id, contract_id;
        ledger::Instant from, to;
        ledger::CapTotals totals;
    };
    // Few: one per limit period a file's rows fall in.
    std::vector<Entry> entries_;
};

}  // namespace actiondrop::store
