#include "ledger/funds.hpp"

#include <array>
#include <utility>

#include "ledger/money.hpp"

namespace actiondrop::ledger {

namespace {

constexpr std::array<std::pair<TransferType, std::string_view>, 3> transfer_types{{
    {TransferType::MakeGood, "MAKE_GOOD"},
    {TransferType::Bonus, "BONUS"},
    {TransferType::PaidPlacement, "PAID_PLACEMENT"},
}};

}  // namespace

std::string_view transfer_type_name(TransferType t) {
    for (const auto& [v, name] : transfer_types)
        if (v == t) return name;
    return "";
}

std::optional<TransferType> parse_transfer_type(std::string_view s) {
    for (const auto& [v, name] : transfer_types)
        if (name == s) return v;
    return std::nullopt;
}

std::optional<FundsEntry::Kind> parse_funds_entry_kind(std::string_view s) {
    for (auto k :
         {FundsEntry::Kind::Deposit, FundsEntry::Kind::Clearing, FundsEntry::Kind::Transfer})
        if (funds_entry_kind_name(k) == s) return k;
    return std::nullopt;
}

std::string_view funds_entry_kind_name(FundsEntry::Kind k) {
    switch (k) {
        case FundsEntry::Kind::Deposit:
            return "DEPOSIT";
        case FundsEntry::Kind::Clearing:
            return "CLEARING";
        case FundsEntry::Kind::Transfer:
            return "TRANSFER";
    }
    return "";
}

std::optional<std::int64_t> balance_of(std::span<const FundsEntry> entries) {
    std::int64_t sum = 0;
    for (const FundsEntry& e : entries) {
        // add_minor checks the range; a debit is added as its negative.
        const auto next = add_minor(sum, e.signed_amount());
        if (!next) return std::nullopt;
        sum = *next;
    }
    return sum;
}

}  // namespace actiondrop::ledger
