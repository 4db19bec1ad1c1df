#pragma once
// What the rules need to know of the ledger beyond the catalog. The store implements it
// for one batch (reads inside the batch's transaction, a cache, writes in key order);
// unit tests implement it with a map. Returned pointers stay valid until the view is
// flushed or destroyed; the rules change the pointed-to action in place and then report
// it with changed().
#include <string_view>
#include <vector>

#include "ledger/action.hpp"
#include "ledger/funds.hpp"

namespace actiondrop::ledger {

struct CapTotals {
    std::int64_t payout = 0;  // sum of payouts, account currency minor units
    std::int64_t count = 0;
};

class LedgerView {
public:
    virtual ~LedgerView() = default;

    virtual Action* find(std::string_view account_id, std::string_view action_id) = 0;
    // The newest (last created) action of the account with this order id and tracker.
    virtual Action* find_by_order(std::string_view account_id, std::string_view order_id,
                                  std::string_view tracker_id) = 0;
    // The newest action of this tracker with this customer id (chained conversions).
    virtual Action* latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                        std::string_view customer_id) = 0;
    // Direct children (parent_action_id == parent), oldest first.
    virtual std::vector<Action*> children(std::string_view account_id,
                                          std::string_view parent_action_id) = 0;
    // Non-reversed, within-terms actions of the partner under the contract whose event
    // date is in [from, to).
    virtual CapTotals cap_totals(std::string_view account_id, std::string_view partner_id,
                                 std::string_view contract_id, Instant from, Instant to) = 0;

    // The rules changed *action in place; record it and its history entry.
    virtual void changed(Action& action, HistoryEntry entry) = 0;
    // A new action (key 0); returns the stored copy.
    virtual Action& created(Action action, HistoryEntry entry) = 0;

    // The account's funds balance as the batch sees it: the transfers it made are taken.
    virtual std::int64_t funds_balance(std::string_view account_id) = 0;
    // A transfer taken from the account's funds (its key is 0): stored, with its TRANSFER
    // funds entry dated at its applied_at. The rules checked the balance covers it.
    virtual void transferred(Transfer transfer) = 0;
};

}  // namespace actiondrop::ledger
