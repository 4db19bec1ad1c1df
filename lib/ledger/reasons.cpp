#include "ledger/reasons.hpp"

#include <array>

namespace actiondrop::ledger {

namespace {
// The reversal reasons of impact.com's modification files, as docs/rules.md lists them
// ("Reason and disposition").
constexpr std::array<std::string_view, 13> reversal_reasons{"REJECTED",
                                                            "CONS_INFO_INVALID",
                                                            "CONS_ERROR",
                                                            "CONS_FRAUD",
                                                            "ITEM_RETURNED",
                                                            "ITEM_OUT_OF_STOCK",
                                                            "ORDER_ERROR",
                                                            "PUB_ACT_DISPUTE",
                                                            "ADV_ACT_DISPUTE",
                                                            "NOT_COMPLIANCE_TERMS",
                                                            "TEST_ACTION",
                                                            "MP_RETURNED",
                                                            "OTHER"};
}  // namespace

std::optional<ReasonKind> find_reason(std::string_view code) {
    if (code == reason_order_update) return ReasonKind::OrderUpdate;
    if (code == reason_reset) return ReasonKind::Reset;
    for (auto r : reversal_reasons)
        if (code == r) return ReasonKind::Reversal;
    return std::nullopt;
}

}  // namespace actiondrop::ledger
