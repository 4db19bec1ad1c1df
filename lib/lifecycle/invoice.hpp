#pragma once
// Step 3 of a run, the invoices (docs/lifecycle.md, "Invoice"): for each invoice date of the
// account's calendar up to the run's time, one invoice per partner holding the cleared actions
// and the transfers from before that date that are on no invoice yet. Never an empty invoice;
// every item on exactly one.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ledger/catalog.hpp"
#include "ledger/funds.hpp"
#include "lifecycle/book.hpp"

namespace actiondrop::lifecycle {

// One line of an invoice: a cleared action or a transfer.
struct InvoiceLine {
    std::optional<ledger::TransferType> transfer_type;  // nullopt: an action
    std::int64_t key = 0;                               // the action's or transfer's row key
    std::string id;                                     // action id or transfer id
    Instant event_date{};     // an action's event date; a transfer's payment date
    Instant cleared_at{};     // an action's cleared_at; a transfer's applied_at
    std::int64_t payout = 0;  // a transfer's amount
    std::string comments;     // a transfer's comments

    bool is_action() const { return !transfer_type; }
    // "ACTION", or the transfer type: the Kind column.
    std::string_view kind() const;
    friend bool operator==(const InvoiceLine&, const InvoiceLine&) = default;
};

struct Invoice {
    std::string invoice_id;
    std::string account_id;
    std::string partner_id;
    Instant invoice_date{};
    ledger::Days local_date{};  // the invoice date in the account's zone
    // The account's currency when the invoice is issued: every line is in it, and a stored
    // invoice keeps it whatever the catalog says later.
    const ledger::Currency* currency = nullptr;
    std::vector<InvoiceLine> lines;  // by kind, then id, bytewise; never empty
    std::int64_t total = 0;          // the sum of the lines

    std::size_t action_count() const;
    std::size_t transfer_count() const;
    friend bool operator==(const Invoice&, const Invoice&) = default;
};

// INV-<account>-<YYYYMMDD>-<partner>, the date being the local invoice date.
std::string invoice_id(std::string_view account_id, ledger::Days local_date,
                       std::string_view partner_id);

// The invoices that `now` calls for, by invoice date, then partner id. `actions` are read for
// CLEARED ones, `transfers` for those on no invoice. Dates considered are those after both the
// oldest such item and `last_invoice_date`, up to and including `now`; an earlier date is
// never issued (again).
std::vector<Invoice> decide_invoices(const ledger::Account& account,
                                     std::span<const ActionState> actions,
                                     std::span<const ledger::Transfer> transfers,
                                     std::optional<Instant> last_invoice_date, Instant now);

// What decide_invoices will put on invoices, without holding every item: given the oldest
// item waiting (its cleared_at or applied_at), the latest invoice date of the calendar after
// both it and `last_invoice_date`, up to and including `now`. A run at `now` invoices exactly
// the items waiting since before that date; nullopt when it invoices nothing. A store reads
// only those items (docs/lifecycle.md, "How the store runs a step").
std::optional<Instant> invoice_cutoff(const ledger::Account& account,
                                      std::optional<Instant> oldest_waiting,
                                      std::optional<Instant> last_invoice_date, Instant now);

}  // namespace actiondrop::lifecycle
