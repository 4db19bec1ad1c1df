#pragma once
// A lifecycle run of one account (docs/lifecycle.md): lock, then clear, then invoice, each
// step seeing what the one before decided. Pure: the time is `now`, the book is what the
// store read, and the answer is the decisions, which the store carries out in one
// transaction. Idempotent: a run at the same `now` after its decisions were carried out
// decides nothing new.
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "ledger/catalog.hpp"
#include "lifecycle/book.hpp"
#include "lifecycle/clear.hpp"
#include "lifecycle/invoice.hpp"
#include "lifecycle/lock.hpp"

namespace actiondrop::lifecycle {

struct RunDecisions {
    Instant now{};
    std::vector<Lock> locks;
    std::size_t locked = 0;  // locks.size(), kept also when a DecisionSink took the locks
    ClearDecisions clearing;
    std::vector<Invoice> invoices;
    // Cleared actions or transfers still wait for an invoice, and the account's period_ends
    // list has no date after the run (nor after the last one issued): none comes until the
    // catalog lists more. Reported, for the daemon's log and the CLI; it changes nothing.
    bool invoice_calendar_ended = false;

    // Nothing to carry out: no lock, no clear, nothing newly overdue, no invoice. Actions
    // still overdue from an earlier run are only reported.
    bool changes_nothing() const;
    bool operator==(const RunDecisions&) const = default;
};

// What waits for an invoice when a store's run comes to its invoice step: the transfers on no
// invoice, and the count and oldest cleared_at of the cleared actions on none, which a store
// counts without reading them.
struct InvoiceWaiting {
    std::optional<Instant> last_invoice_date;  // the latest invoice date already issued
    std::vector<ledger::Transfer> transfers;
    std::size_t cleared_actions = 0;
    std::optional<Instant> oldest_cleared_at;
};

// The invoice step of a store's run (docs/lifecycle.md, "How the store runs a step"): reads,
// through `cleared_before`, only the cleared actions on no invoice that were cleared before
// lifecycle::invoice_cutoff (the ones this run invoices), and sets d.invoices and
// d.invoice_calendar_ended as decide_run would.
void decide_run_invoices(
    const ledger::Account& account, const InvoiceWaiting& waiting,
    const std::function<std::vector<ActionState>(Instant cutoff)>& cleared_before, Instant now,
    RunDecisions& d);

// For a caller that wants only the counts of a run's decisions (the daemon's log and
// metrics): the decisions on single actions are dropped as they are made.
class CountsOnly final : public DecisionSink {
public:
    void locked(const Lock&) override {}
    void cleared(const Clear&) override {}
    void overdue(const Overdue&) override {}
};

RunDecisions decide_run(const ledger::Account& account, const AccountBook& book, Instant now);

// Whether items are left waiting for an invoice with no date of the calendar to come
// (RunDecisions::invoice_calendar_ended): `waiting` cleared actions and transfers were on no
// invoice before `invoices` were decided.
bool invoice_calendar_ended(const ledger::Account& account, std::size_t waiting,
                            std::optional<Instant> last_invoice_date,
                            const std::vector<Invoice>& invoices, Instant now);

// Carries the decisions out on the book in memory, as the store does in its tables: the
// reference that tests compare a store against. Throws std::invalid_argument when a decision
// names an action or transfer the book does not hold.
void apply_run(AccountBook& book, const RunDecisions& decisions);

}  // namespace actiondrop::lifecycle
