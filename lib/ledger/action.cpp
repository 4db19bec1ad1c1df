#include "ledger/action.hpp"

#include <array>
#include <utility>

namespace actiondrop::ledger {

namespace {

constexpr std::array<std::pair<Status, std::string_view>, 3> statuses{{
    {Status::Pending, "PENDING"},
    {Status::Approved, "APPROVED"},
    {Status::Reversed, "REVERSED"},
}};

constexpr std::array<std::pair<FinanceStatus, std::string_view>, 7> finance_statuses{{
    {FinanceStatus::Estimated, "ESTIMATED"},
    {FinanceStatus::Due, "DUE"},
    {FinanceStatus::Cleared, "CLEARED"},
    {FinanceStatus::Overdue, "OVERDUE"},
    {FinanceStatus::Invoiced, "INVOICED"},
    {FinanceStatus::Voided, "VOIDED"},
    {FinanceStatus::OutsideTerms, "OUTSIDE_TERMS"},
}};

constexpr std::array<std::pair<Operation, std::string_view>, 10> operations{{
    {Operation::Modify, "MODIFY"},
    {Operation::Reverse, "REVERSE"},
    {Operation::Approve, "APPROVE"},
    {Operation::Reset, "RESET"},
    {Operation::Create, "CREATE"},
    {Operation::Transfer, "TRANSFER"},
    {Operation::Lock, "LOCK"},
    {Operation::Clear, "CLEAR"},
    {Operation::Overdue, "OVERDUE"},
    {Operation::Invoice, "INVOICE"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
    for (const auto& [v, name] : table)
        if (v == value) return name;
    return "";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                             std::string_view name) {
    for (const auto& [v, n] : table)
        if (n == name) return v;
    return std::nullopt;
}

}  // namespace

std::string_view status_name(Status s) { return name_of(statuses, s); }
std::string_view finance_status_name(FinanceStatus s) { return name_of(finance_statuses, s); }
std::string_view operation_name(Operation op) { return name_of(operations, op); }

std::optional<Status> parse_status(std::string_view s) { return value_of(statuses, s); }
std::optional<FinanceStatus> parse_finance_status(std::string_view s) {
    return value_of(finance_statuses, s);
}
std::optional<Operation> parse_operation(std::string_view s) { return value_of(operations, s); }

}  // namespace actiondrop::ledger
