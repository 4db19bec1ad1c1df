#include "lifecycle/run.hpp"

#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include "lifecycle/calendar.hpp"

namespace actiondrop::lifecycle {

namespace {

using ledger::FinanceStatus;
using ledger::Status;

// Actions by id, to carry decisions out.
class ActionIndex {
public:
    explicit ActionIndex(std::vector<ActionState>& actions) {
        for (ActionState& a : actions) by_id_.emplace(a.action_id, &a);
    }
    ActionState& operator[](std::string_view id) const {
        const auto it = by_id_.find(id);
        if (it == by_id_.end())
            throw std::invalid_argument("a lifecycle decision names action " + std::string(id) +
                                        ", which the book does not hold");
        return *it->second;
    }

private:
    std::unordered_map<std::string_view, ActionState*> by_id_;
};

void apply_locks(const ActionIndex& index, const std::vector<Lock>& locks) {
    for (const Lock& l : locks) {
        ActionState& a = index[l.action_id];
        a.status = Status::Approved;
        a.finance_status = l.finance_status;
    }
}

void apply_clearing(const ActionIndex& index, const ClearDecisions& d) {
    for (const Clear& c : d.clears) {
        ActionState& a = index[c.action_id];
        a.finance_status = FinanceStatus::Cleared;
        a.cleared_at = c.cleared_at;
    }
    for (const Overdue& o : d.overdue) index[o.action_id].finance_status = FinanceStatus::Overdue;
}

// Whether a step of a run at `now` may touch the action; a run reads no other.
bool in_play(const ActionState& a, Instant now) {
    switch (a.status) {
        case Status::Pending:
            return a.locking_date <= now;
        case Status::Approved:
            return a.finance_status == FinanceStatus::Due ||
                   a.finance_status == FinanceStatus::Overdue ||
                   a.finance_status == FinanceStatus::Cleared;
        case Status::Reversed:
            return false;
    }
    return false;
}

}  // namespace

bool invoice_calendar_ended(const ledger::Account& account, std::size_t waiting,
                            std::optional<Instant> last_invoice_date,
                            const std::vector<Invoice>& invoices, Instant now) {
    std::optional<Instant> last = last_invoice_date;
    for (const Invoice& inv : invoices) {
        waiting -= inv.lines.size();
        if (!last || *last < inv.invoice_date) last = inv.invoice_date;
    }
    if (waiting == 0) return false;
    const Instant after = last && *last > now ? *last : now;
    return !next_invoice_date(account.invoice_calendar, account.timezone, after);
}

bool RunDecisions::changes_nothing() const {
    return locked == 0 && clearing.cleared == 0 && clearing.newly_overdue == 0 && invoices.empty();
}

RunDecisions decide_run(const ledger::Account& account, const AccountBook& book, Instant now) {
    RunDecisions d;
    d.now = now;
    // Each step sees what the one before decided, on a copy of the few actions in play.
    std::vector<ActionState> work;
    for (const ActionState& a : book.actions)
        if (in_play(a, now)) work.push_back(a);
    const ActionIndex index(work);

    d.locks = decide_locks(work, now);
    d.locked = d.locks.size();
    apply_locks(index, d.locks);
    d.clearing = decide_clearing(work, book.balance, now);
    apply_clearing(index, d.clearing);
    d.invoices = decide_invoices(account, work, book.transfers, book.last_invoice_date, now);
    std::size_t waiting = 0;
    for (const ActionState& a : work)
        waiting += a.finance_status == FinanceStatus::Cleared && a.invoice_id.empty();
    for (const ledger::Transfer& t : book.transfers) waiting += t.invoice_id.empty();
    d.invoice_calendar_ended =
        invoice_calendar_ended(account, waiting, book.last_invoice_date, d.invoices, now);
    return d;
}

void decide_run_invoices(
    const ledger::Account& account, const InvoiceWaiting& waiting,
    const std::function<std::vector<ActionState>(Instant cutoff)>& cleared_before, Instant now,
    RunDecisions& d) {
    std::optional<Instant> oldest = waiting.oldest_cleared_at;
    for (const ledger::Transfer& t : waiting.transfers)
        if (!oldest || t.applied_at < *oldest) oldest = t.applied_at;
    if (const auto cutoff = invoice_cutoff(account, oldest, waiting.last_invoice_date, now))
        d.invoices = decide_invoices(account, cleared_before(*cutoff), waiting.transfers,
                                     waiting.last_invoice_date, now);
    d.invoice_calendar_ended =
        invoice_calendar_ended(account, waiting.cleared_actions + waiting.transfers.size(),
                               waiting.last_invoice_date, d.invoices, now);
}

void apply_run(AccountBook& book, const RunDecisions& d) {
    const ActionIndex index(book.actions);
    apply_locks(index, d.locks);
    apply_clearing(index, d.clearing);
    for (const ledger::FundsEntry& debit : d.clearing.debits) book.balance -= debit.amount;
    if (book.balance < 0)
        throw std::invalid_argument("lifecycle decisions take the balance below 0");

    std::unordered_map<std::string_view, ledger::Transfer*> transfers;
    for (ledger::Transfer& t : book.transfers) transfers.emplace(t.transfer_id, &t);
    for (const Invoice& inv : d.invoices) {
        for (const InvoiceLine& line : inv.lines) {
            if (line.is_action()) {
                ActionState& a = index[line.id];
                a.finance_status = FinanceStatus::Invoiced;
                a.invoice_id = inv.invoice_id;
                continue;
            }
            const auto it = transfers.find(line.id);
            if (it == transfers.end())
                throw std::invalid_argument("a lifecycle decision names transfer " + line.id +
                                            ", which the book does not hold");
            it->second->invoice_id = inv.invoice_id;
        }
        if (!book.last_invoice_date || *book.last_invoice_date < inv.invoice_date)
            book.last_invoice_date = inv.invoice_date;
    }
}

}  // namespace actiondrop::lifecycle
