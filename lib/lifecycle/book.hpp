#pragma once
// What a lifecycle run reads of one account (docs/lifecycle.md, "A run"): the
// actions the life cycle may move, the transfers on no invoice yet, the funds balance and the
// last invoice date issued. The store fills it; the steps only read it and answer with
// decisions, which the store (or apply_run, in memory) then carries out.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/action.hpp"
#include "ledger/funds.hpp"
#include "ledger/time.hpp"

namespace actiondrop::lifecycle {

using ledger::Instant;

// The part of an action that the life cycle reads and moves.
struct ActionState {
    std::int64_t key = 0;  // the store's row key, passed through to the decisions
    std::string action_id;
    std::string partner_id;
    ledger::Status status = ledger::Status::Pending;
    ledger::FinanceStatus finance_status = ledger::FinanceStatus::Estimated;
    std::int64_t payout = 0;  // minor units of the account currency
    Instant event_date{};
    Instant locking_date{};
    Instant clearing_date{};
    std::optional<Instant> cleared_at;  // set when it clears
    std::string invoice_id;             // set when it is invoiced

    friend bool operator==(const ActionState&, const ActionState&) = default;
};

// One account's book at the start of a run. `actions` must hold at least every action that a
// step may touch (PENDING ones whose locking date has passed, APPROVED ones that are DUE,
// OVERDUE or CLEARED); others may be there too and are left alone. `transfers` likewise holds
// at least every transfer on no invoice yet.
struct AccountBook {
    std::vector<ActionState> actions;
    std::vector<ledger::Transfer> transfers;
    std::int64_t balance = 0;                  // the account's funds, >= 0
    std::optional<Instant> last_invoice_date;  // the latest invoice date already issued
};

}  // namespace actiondrop::lifecycle
