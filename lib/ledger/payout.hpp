#pragma once
// The payout engine (docs/rules.md, "Payout"): which contract version, which rule, how much.
#include <expected>

#include "ledger/action.hpp"
#include "ledger/catalog.hpp"
#include "ledger/errors.hpp"

namespace actiondrop::ledger {

struct PayoutQuote {
    std::int64_t payout = 0;  // account currency minor units
    const Contract* contract = nullptr;
    const ContractVersion* version = nullptr;
};

// The payout of `action` (its tracker, partner, customer status, promo code, currency,
// amount and items) under the version in force at `evaluation_time`; promo validity is
// judged at `evaluation_time`; the FX rate is the latest effective on the local date of
// action.event_date. Errors: CONTRACT_NOT_FOUND, FX_RATE_NOT_FOUND, and MALFORMED when the
// payout would be beyond the int64 of minor units an amount is.
std::expected<PayoutQuote, ErrorCode> compute_payout(const Catalog& catalog, const Account& account,
                                                     const Action& action, Instant evaluation_time);

}  // namespace actiondrop::ledger
