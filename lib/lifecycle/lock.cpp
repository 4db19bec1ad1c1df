#include "lifecycle/lock.hpp"

#include <algorithm>
#include <tuple>

namespace actiondrop::lifecycle {

std::vector<Lock> decide_locks(std::span<const ActionState> actions, Instant now) {
    std::vector<Lock> locks;
    for (const ActionState& a : actions) {
        if (a.status != ledger::Status::Pending || a.locking_date > now) continue;
        // An action over a cap locks with payout 0 and stays outside terms; nothing is due.
        const auto finance = a.finance_status == ledger::FinanceStatus::OutsideTerms
                                 ? ledger::FinanceStatus::OutsideTerms
                                 : ledger::FinanceStatus::Due;
        locks.push_back(Lock{a.key, a.action_id, a.locking_date, finance});
    }
    std::sort(locks.begin(), locks.end(), [](const Lock& x, const Lock& y) {
        return std::tie(x.at, x.action_id) < std::tie(y.at, y.action_id);
    });
    return locks;
}

}  // namespace actiondrop::lifecycle
