#pragma once
// The reason codes a modification row may give (docs/rules.md, "Reason and disposition").
#include <optional>
#include <string_view>

namespace actiondrop::ledger {

enum class ReasonKind { OrderUpdate, Reversal, Reset };

inline constexpr std::string_view reason_order_update = "ORDER_UPDATE";
inline constexpr std::string_view reason_reset = "RESET";
// Written in a child's history when its parent's reversal reverses it.
inline constexpr std::string_view reason_parent_reversed = "PARENT_REVERSED";

// What a reason code means; nullopt when the code is unknown (codes match exactly).
std::optional<ReasonKind> find_reason(std::string_view code);

}  // namespace actiondrop::ledger
