#include "lifecycle/invoice.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <tuple>

#include "ledger/money.hpp"
#include "lifecycle/calendar.hpp"

namespace actiondrop::lifecycle {

namespace {

// An item waiting for an invoice, with the instant the calendar compares.
struct Pending {
    Instant since{};
    std::string partner_id;
    InvoiceLine line;
};

}  // namespace

std::string_view InvoiceLine::kind() const {
    return transfer_type ? ledger::transfer_type_name(*transfer_type) : "ACTION";
}

std::size_t Invoice::action_count() const {
    return static_cast<std::size_t>(
        std::count_if(lines.begin(), lines.end(), [](const auto& l) { return l.is_action(); }));
}

std::size_t Invoice::transfer_count() const { return lines.size() - action_count(); }

std::string invoice_id(std::string_view account_id, ledger::Days local_date,
                       std::string_view partner_id) {
    const std::chrono::year_month_day ymd{local_date};
    char digits[16];
    std::snprintf(digits, sizeof digits, "%04d%02u%02u", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()));
    return "INV-" + std::string(account_id) + "-" + digits + "-" + std::string(partner_id);
}

std::vector<Invoice> decide_invoices(const ledger::Account& account,
                                     std::span<const ActionState> actions,
                                     std::span<const ledger::Transfer> transfers,
                                     std::optional<Instant> last_invoice_date, Instant now) {
    std::vector<Pending> waiting;
    for (const ActionState& a : actions) {
        if (a.finance_status != ledger::FinanceStatus::Cleared || !a.invoice_id.empty()) continue;
        if (!a.cleared_at)
            throw std::invalid_argument("cleared action " + a.action_id + " has no cleared_at");
        waiting.push_back(Pending{*a.cleared_at, a.partner_id,
                                  InvoiceLine{std::nullopt, a.key, a.action_id, a.event_date,
                                              *a.cleared_at, a.payout, ""}});
    }
    for (const ledger::Transfer& t : transfers) {
        if (!t.invoice_id.empty()) continue;
        waiting.push_back(Pending{t.applied_at, t.partner_id,
                                  InvoiceLine{t.type, t.key, t.transfer_id, t.payment_date,
                                              t.applied_at, t.amount, t.comments}});
    }
    std::sort(waiting.begin(), waiting.end(),
              [](const Pending& x, const Pending& y) { return x.since < y.since; });

    std::vector<Invoice> invoices;
    auto next = waiting.begin();
    while (next != waiting.end()) {
        // The first date after the oldest waiting item (and after the last one issued): every
        // date before it would find nothing, and none is issued twice.
        Instant after = next->since;
        if (last_invoice_date && *last_invoice_date > after) after = *last_invoice_date;
        const std::optional<InvoiceDate> date =
            next_invoice_date(account.invoice_calendar, account.timezone, after);
        if (!date || date->at > now) break;

        std::map<std::string, Invoice> by_partner;  // bytewise partner order
        for (; next != waiting.end() && next->since < date->at; ++next) {
            Invoice& inv = by_partner[next->partner_id];
            if (inv.invoice_id.empty()) {
                inv.invoice_id = invoice_id(account.id, date->local_day, next->partner_id);
                inv.account_id = account.id;
                inv.partner_id = next->partner_id;
                inv.invoice_date = date->at;
                inv.local_date = date->local_day;
                inv.currency = account.currency;
            }
            const auto total = ledger::add_minor(inv.total, next->line.payout);
            if (!total)
                throw std::overflow_error("invoice " + inv.invoice_id + ": total beyond int64");
            inv.total = *total;
            inv.lines.push_back(std::move(next->line));
        }
        for (auto& [partner, inv] : by_partner) {
            std::sort(inv.lines.begin(), inv.lines.end(),
                      [](const InvoiceLine& x, const InvoiceLine& y) {
                          return std::tuple{x.kind(), std::string_view{x.id}} <
                                 std::tuple{y.kind(), std::string_view{y.id}};
                      });
            invoices.push_back(std::move(inv));
        }
        last_invoice_date = date->at;
    }
    return invoices;
}

std::optional<Instant> invoice_cutoff(const ledger::Account& account,
                                      std::optional<Instant> oldest_waiting,
                                      std::optional<Instant> last_invoice_date, Instant now) {
    if (!oldest_waiting) return std::nullopt;
    // decide_invoices issues dates after max(oldest, last) one by one while they are <= now,
    // each taking what waits since before it: every item older than the last such date is
    // taken, and no later one, since the next date after it is past `now`.
    Instant after = *oldest_waiting;
    if (last_invoice_date && *last_invoice_date > after) after = *last_invoice_date;
    const std::vector<InvoiceDate> dates =
        invoice_dates(account.invoice_calendar, account.timezone, after, now);
    if (dates.empty()) return std::nullopt;
    return dates.back().at;
}

}  // namespace actiondrop::lifecycle
