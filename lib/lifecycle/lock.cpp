#include "lifecycle/lock.hpp"

#include <algorithm>
#include <tuple>

namespace actiondrop::lifecycle {

std::vector<Lock> decide_locks(std::span<const ActionState> actions, Instant now) {
    std::vector<Lock> locks;
    for (const ActionState& a : actions) {
        if (!locks_at(a.status, a.locking_date, now)) continue;
        locks.push_back(
            Lock{a.key, a.action_id, a.locking_date, locked_finance_status(a.finance_status)});
    }
    // A store's keys are unique; the id orders actions that have none yet (key 0).
    std::sort(locks.begin(), locks.end(), [](const Lock& x, const Lock& y) {
        return std::tie(x.key, x.action_id) < std::tie(y.key, y.action_id);
    });
    return locks;
}

}  // namespace actiondrop::lifecycle
