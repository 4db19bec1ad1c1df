#pragma once
// Builders shared by the lifecycle tests: accounts with an invoice calendar, actions in a
// given state, transfers, and the text of decisions for readable checks.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "ledger/catalog.hpp"
#include "lifecycle/run.hpp"

namespace actiondrop::lifecycle::testing {

using ledger::FinanceStatus;
using ledger::Instant;
using ledger::Status;

// A test's own literal: a bad one is a bug in the test. Without an offset it is in `tz`.
inline Instant at(std::string_view text, ledger::TimeZone tz = nullptr) {
    auto t = ledger::parse_instant(text, tz);
    if (!t) throw std::invalid_argument("bad test instant: " + std::string(text));
    return *t;
}

inline ledger::TimeZone zone(std::string_view name) {
    ledger::TimeZone tz = ledger::find_time_zone(name);
    if (!tz) throw std::invalid_argument("unknown zone " + std::string(name));
    return tz;
}

inline ledger::Days day(std::string_view text) { return ledger::local_day(at(text), nullptr); }

inline ledger::Account account(std::string id = "1000", std::string_view tz = "UTC",
                               int monthly_on_day = 1) {
    ledger::Account a;
    a.id = std::move(id);
    a.name = "Acme Outdoor";
    a.currency = ledger::find_currency("USD");
    a.timezone_name = std::string(tz);
    a.timezone = zone(tz);
    a.invoice_calendar.monthly_on_day = monthly_on_day;
    return a;
}

// An action locked and due: APPROVED, DUE, with its clearing date.
inline ActionState due(std::string id, std::int64_t payout, Instant clearing,
                       std::string partner = "P-77") {
    ActionState a;
    a.action_id = std::move(id);
    a.partner_id = std::move(partner);
    a.status = Status::Approved;
    a.finance_status = FinanceStatus::Due;
    a.payout = payout;
    a.event_date = clearing - std::chrono::days{40};
    a.locking_date = clearing - std::chrono::days{20};
    a.clearing_date = clearing;
    return a;
}

// An action still pending, locking and clearing on the given dates.
inline ActionState pending(std::string id, std::int64_t payout, Instant locking, Instant clearing,
                           std::string partner = "P-77") {
    ActionState a = due(std::move(id), payout, clearing, std::move(partner));
    a.status = Status::Pending;
    a.finance_status = FinanceStatus::Estimated;
    a.locking_date = locking;
    a.event_date = locking - std::chrono::days{30};
    return a;
}

inline ActionState cleared(std::string id, std::int64_t payout, Instant cleared_at,
                           std::string partner = "P-77") {
    ActionState a = due(std::move(id), payout, cleared_at, std::move(partner));
    a.finance_status = FinanceStatus::Cleared;
    a.cleared_at = cleared_at;
    return a;
}

inline ledger::Transfer transfer(std::string id, std::int64_t amount, Instant applied_at,
                                 std::string partner = "P-77",
                                 ledger::TransferType type = ledger::TransferType::MakeGood) {
    ledger::Transfer t;
    t.transfer_id = std::move(id);
    t.account_id = "1000";
    t.partner_id = std::move(partner);
    t.type = type;
    t.amount = amount;
    t.payment_date = applied_at - std::chrono::days{1};
    t.applied_at = applied_at;
    return t;
}

// "A1 B2": the action ids of decisions, in their order.
template <typename Decisions>
std::string ids(const Decisions& decisions) {
    std::string out;
    for (const auto& d : decisions) out += (out.empty() ? "" : " ") + d.action_id;
    return out;
}

// "INV-1000-20260301-P-77[A1 T1] ...": invoices with their lines' ids.
inline std::string invoices_text(const std::vector<Invoice>& invoices) {
    std::string out;
    for (const Invoice& inv : invoices) {
        out += (out.empty() ? "" : " ") + inv.invoice_id + "[";
        for (std::size_t i = 0; i < inv.lines.size(); ++i) out += (i ? " " : "") + inv.lines[i].id;
        out += "]";
    }
    return out;
}

inline const ActionState& find(const AccountBook& book, std::string_view id) {
    for (const ActionState& a : book.actions)
        if (a.action_id == id) return a;
    throw std::invalid_argument("no action " + std::string(id) + " in the book");
}

}  // namespace actiondrop::lifecycle::testing
