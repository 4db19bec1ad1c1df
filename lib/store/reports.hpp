#pragma once
// The port of the reads outside a batch: what `actiondrop action` and `actiondrop report` show,
// the ledger as last committed.
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "ledger/action.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

class Reports {
public:
    virtual ~Reports() = default;

    virtual std::optional<ledger::Action> action(std::string_view account_id,
                                                 std::string_view action_id) = 0;
    virtual std::vector<ledger::HistoryEntry> history(std::string_view account_id,
                                                      std::string_view action_id) = 0;
    // Every action of the account, in the store's key order, as one moment of the store: a
    // batch that commits meanwhile is in none of it. `fn` may read the store meanwhile (it
    // reads the same moment), and must not write to it.
    virtual void for_each_action(std::string_view account_id,
                                 const std::function<void(const ledger::Action&)>& fn) = 0;
    // Every history entry of the account's actions with its action as it is now: action by
    // action in for_each_action's order, each action's entries in history()'s order, as one
    // moment of the store. `fn` must not use the store. By default for_each_action and
    // history(); a store that pays a round trip per statement reads them in pages instead.
    virtual void for_each_change(
        std::string_view account_id,
        const std::function<void(const ledger::Action&, const ledger::HistoryEntry&)>& fn) {
        for_each_action(account_id, [&](const ledger::Action& a) {
            for (const auto& entry : history(account_id, a.action_id)) fn(a, entry);
        });
    }
};

}  // namespace actiondrop::store
