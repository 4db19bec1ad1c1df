#pragma once
// An account's funds and the transfers taken from them (docs/lifecycle.md, "Funds"). The
// balance is the deposits less the cleared payouts and the transfers, never negative, and
// always the sum of the funds entries.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ledger/time.hpp"

namespace actiondrop::ledger {

// A make-good or other payment to a partner outside any action, from a funds_transfers file.
enum class TransferType { MakeGood, Bonus, PaidPlacement };
std::string_view transfer_type_name(TransferType t);  // "MAKE_GOOD"
std::optional<TransferType> parse_transfer_type(std::string_view s);

struct Transfer {
    std::int64_t key = 0;     // the store's row key; 0 until stored
    std::string transfer_id;  // generated
    std::string account_id;
    std::string partner_id;
    std::string campaign_id;
    TransferType type = TransferType::MakeGood;
    std::int64_t amount = 0;  // > 0, minor units of the account currency
    Instant payment_date{};   // shown on the invoice as its event date
    Instant applied_at{};     // the batch's processing time; what the invoice calendar compares
    std::string comments;
    std::string invoice_id;  // empty until it is on an invoice
    friend bool operator==(const Transfer&, const Transfer&) = default;
};

// One line of `report funds`: money in (a deposit) or out (a clearing or a transfer).
struct FundsEntry {
    enum class Kind { Deposit, Clearing, Transfer };
    Kind kind = Kind::Deposit;
    std::int64_t amount = 0;  // > 0; a deposit adds it, the others take it
    Instant at{};
    std::string reference;  // the deposit's reference, the action id or the transfer id

    std::int64_t signed_amount() const { return kind == Kind::Deposit ? amount : -amount; }
    friend bool operator==(const FundsEntry&, const FundsEntry&) = default;
};

std::string_view funds_entry_kind_name(FundsEntry::Kind k);  // "DEPOSIT", "CLEARING", "TRANSFER"
std::optional<FundsEntry::Kind> parse_funds_entry_kind(std::string_view s);

// The sum of the entries; nullopt beyond int64 (no balance can be that large).
std::optional<std::int64_t> balance_of(std::span<const FundsEntry> entries);

}  // namespace actiondrop::ledger
