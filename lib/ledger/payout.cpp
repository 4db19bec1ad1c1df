#include "ledger/payout.hpp"

#include <algorithm>
#include <stdexcept>

namespace actiondrop::ledger {

namespace {

struct ChosenRule {
    const PayoutRule* rule = nullptr;
    bool from_promo = false;  // a promo rule is applied as it is, without category percents
};

// docs/rules.md, "Which rule": a valid promo, else the customer status, else the default.
ChosenRule choose_rule(const ContractVersion& version, const Action& action, Instant t) {
    if (!action.promo_code.empty()) {
        for (const auto& promo : version.promo_codes) {
            if (promo.code == action.promo_code && promo.valid_at(t)) return {&promo.rule, true};
        }
    }
    if (!action.customer_status.empty()) {
        const auto it = version.customer_status.find(action.customer_status);
        if (it != version.customer_status.end()) return {&it->second, false};
    }
    return {&version.default_rule, false};
}

}  // namespace

std::expected<PayoutQuote, ErrorCode> compute_payout(const Catalog& catalog, const Account& account,
                                                     const Action& action,
                                                     Instant evaluation_time) {
    if (account.currency == nullptr || action.currency == nullptr)
        throw std::invalid_argument("compute_payout: account and action need a currency");

    const Contract* contract = account.contract_for(action.partner_id, action.tracker_id);
    if (contract == nullptr) return std::unexpected(ErrorCode::ContractNotFound);
    const ContractVersion* version = contract->version_at(evaluation_time);
    if (version == nullptr) return std::unexpected(ErrorCode::ContractNotFound);

    PayoutQuote quote{0, contract, version};
    const ChosenRule chosen = choose_rule(*version, action, evaluation_time);
    if (chosen.rule->kind == PayoutRule::Kind::Fixed) {
        quote.payout = chosen.rule->fixed;
        return quote;
    }

    const auto rate = catalog.fx_rate(action.currency->code, account.currency->code,
                                      local_day(action.event_date, account.timezone));
    if (!rate) return std::unexpected(ErrorCode::FxRateNotFound);

    if (action.items.empty()) {
        const auto payout = percent_of(action.amount, *action.currency, *rate, chosen.rule->percent,
                                       *account.currency);
        if (!payout) return std::unexpected(ErrorCode::Malformed);
        quote.payout = *payout;
        return quote;
    }
    for (const auto& item : action.items) {
        Decimal percent = chosen.rule->percent;
        if (!chosen.from_promo) {
            const auto it = version->categories.find(item.category);
            if (it != version->categories.end()) percent = it->second;
        }
        const auto line =
            percent_of(item.amount, *action.currency, *rate, percent, *account.currency);
        const auto sum = line ? add_minor(quote.payout, *line) : std::nullopt;
        if (!sum) return std::unexpected(ErrorCode::Malformed);
        quote.payout = *sum;
    }
    return quote;
}

}  // namespace actiondrop::ledger
