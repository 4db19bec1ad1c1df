#pragma once
// An action (a conversion) and its history (docs/rules.md, "What each operation does";
// docs/formats.md, "The JSON of an action").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/money.hpp"
#include "ledger/time.hpp"

namespace actiondrop::ledger {

enum class Status { Pending, Approved, Reversed };
enum class FinanceStatus { Estimated, Due, Cleared, Overdue, Invoiced, Voided, OutsideTerms };
// Lock, Clear, Overdue and Invoice are the life cycle's own steps (docs/lifecycle.md); no row
// of a batch file has them.
enum class Operation {
    None,
    Modify,
    Reverse,
    Approve,
    Reset,
    Create,
    Transfer,
    Lock,
    Clear,
    Overdue,
    Invoice
};

std::string_view status_name(Status s);  // "PENDING"
std::string_view finance_status_name(FinanceStatus s);
std::string_view operation_name(Operation op);  // "MODIFY"; "" for None
std::optional<Status> parse_status(std::string_view s);
std::optional<FinanceStatus> parse_finance_status(std::string_view s);
std::optional<Operation> parse_operation(std::string_view s);

struct Item {
    std::string sku;
    std::string category;
    std::int64_t quantity = 0;
    std::int64_t amount = 0;  // line amount, minor units of the action's currency
    friend bool operator==(const Item&, const Item&) = default;
};

// What RESET restores: the action as it was created.
struct CreationState {
    std::int64_t amount = 0;
    std::vector<Item> items;
    std::string customer_status;
    std::int64_t payout = 0;
    bool outside_terms = false;
    friend bool operator==(const CreationState&, const CreationState&) = default;
};

struct Action {
    std::int64_t key = 0;  // the store's row key; 0 until stored
    std::string action_id;
    std::string account_id;
    std::string campaign_id;
    std::string tracker_id;
    std::string partner_id;
    std::string order_id;
    std::string customer_id;
    std::string customer_status;  // "", "NEW" or "EXISTING"
    std::string promo_code;
    Instant event_date{};           // effective event date (after late-conversion rule)
    Instant reported_event_date{};  // as the file said
    Instant created_at{};
    const Currency* currency = nullptr;  // original currency of the sale
    std::int64_t amount = 0;             // order amount, minor units of `currency`
    std::vector<Item> items;
    std::int64_t payout = 0;  // minor units of the account currency
    Instant locking_date{};
    Instant clearing_date{};
    Status status = Status::Pending;
    FinanceStatus finance_status = FinanceStatus::Estimated;
    std::string parent_action_id;
    int modification_count = 0;
    bool outside_terms = false;
    std::string contract_id;     // contract and version used for the payout
    Instant contract_version{};  // the version's effective_from
    CreationState creation;
    // The life cycle's (docs/lifecycle.md): set by a lifecycle run, never by a batch.
    std::optional<Instant> cleared_at;  // when its payout cleared
    std::string invoice_id;             // the invoice it is on; "" until invoiced

    // docs/rules.md, "Locked means the date has passed": an approved action, or one whose
    // locking date has passed, is locked.
    bool locked_at(Instant now) const { return status == Status::Approved || locking_date <= now; }
};

// One entry of an action's history: every change, who and why.
struct HistoryEntry {
    std::string action_id;
    Instant at{};
    std::string batch_id;
    std::int64_t line = 0;
    Operation operation = Operation::None;
    std::string reason;  // reason code, disposition code, or PARENT_REVERSED
    std::int64_t old_amount = 0, new_amount = 0;
    std::int64_t old_payout = 0, new_payout = 0;
    Status old_status = Status::Pending, new_status = Status::Pending;
    std::string contract_id;
    std::optional<Instant> contract_version;
    std::string note;  // free text, e.g. "reported event date 2025-12-01T..."
};

}  // namespace actiondrop::ledger
