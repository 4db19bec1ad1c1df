#pragma once
// The port of the life cycle's money (docs/lifecycle.md): what a lifecycle run reads of an
// account and carries out in one transaction, the funds ledger (deposits, clearing debits,
// transfer debits, whose sum is the balance), and the invoices, which never change once
// issued. The decisions themselves are lib/lifecycle's; the store only reads and writes.
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/catalog.hpp"
#include "ledger/funds.hpp"
#include "lifecycle/book.hpp"
#include "lifecycle/invoice.hpp"
#include "lifecycle/run.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

class LifecycleLedger {
public:
    virtual ~LifecycleLedger() = default;

    // What a run at `now` reads of the account (lifecycle/book.hpp): the actions a step may
    // touch, the transfers on no invoice, the balance and the last invoice date issued.
    virtual lifecycle::AccountBook load_book(std::string_view account_id, ledger::Instant now) = 0;

    // Carries the decisions out in one transaction: locks, clears with their debits, the
    // first OVERDUE of an action, invoices with their lines, and the history entries of each.
    // A decision already carried out (an action no longer PENDING, DUE or OVERDUE, an invoice
    // already issued) is skipped, so the same decisions twice change nothing. Decisions that
    // no longer fit the ledger (an invoice line whose action is gone from CLEARED, a balance
    // that would go below 0) roll everything back with a StoreError.
    virtual void apply_run(std::string_view account_id,
                           const lifecycle::RunDecisions& decisions) = 0;

    // A lifecycle run of one account at `now`: what load_book, lifecycle::decide_run and
    // apply_run would do, in one write transaction, so that no batch commits in between, and
    // step by step over the store's rows, without the account's book in memory
    // (docs/lifecycle.md, "How the store runs a step"). Returns the decisions.
    // Given a sink, the decisions on single actions go to it as they are made, before the
    // commit, and the returned decisions keep only their counts (lifecycle::DecisionSink); a
    // run that throws has committed nothing, whatever the sink took.
    virtual lifecycle::RunDecisions run_lifecycle(const ledger::Account& account,
                                                  ledger::Instant now,
                                                  lifecycle::DecisionSink* sink) = 0;
    lifecycle::RunDecisions run_lifecycle(const ledger::Account& account, ledger::Instant now) {
        return run_lifecycle(account, now, nullptr);
    }

    // Adds a DEPOSIT of `amount` (> 0, minor units) at `at`; returns the new balance, or
    // nullopt (and adds nothing) when the balance would pass int64.
    virtual std::optional<std::int64_t> deposit(std::string_view account_id, std::int64_t amount,
                                                ledger::Instant at, std::string_view reference) = 0;
    // The sum of the account's funds entries.
    virtual std::int64_t balance(std::string_view account_id) = 0;
    // Every funds entry of the account, in the order they were made.
    virtual std::vector<ledger::FundsEntry> funds_entries(std::string_view account_id) = 0;

    // The account's invoices with their lines, by invoice date, then id.
    virtual std::vector<lifecycle::Invoice> invoices(std::string_view account_id) = 0;
    virtual std::optional<lifecycle::Invoice> invoice(std::string_view invoice_id) = 0;

    // The ids of the account's invoices whose files no service has recorded as written to
    // every outbox of its config (docs/lifecycle.md, "Invoices in the outboxes"), by invoice
    // date, then id. Costs a look at each of the account's invoices in the store's record.
    virtual std::vector<std::string> invoices_without_files(std::string_view account_id) = 0;
    // Records that the files of these issued invoices were written, at `at` (for one carried
    // in from a state folder's record, when it was carried in); an invoice already recorded
    // keeps its first time.
    virtual void record_invoice_files(std::span<const std::string> invoice_ids,
                                      ledger::Instant at) = 0;
};

}  // namespace actiondrop::store
