#pragma once
// How actions, history entries and journal records map onto the PostgreSQL tables' columns
// (the same columns as SQLite's, docs/postgres.md "Schema"): the column lists, and the code
// that reads a row or writes one as a COPY line.
#include <cstdint>
#include <optional>
#include <string>

#include "ledger/action.hpp"
#include "ledger/funds.hpp"
#include "store/batch_journal.hpp"
#include "store/postgres/pg.hpp"

namespace actiondrop::store::postgres {

#define PG_ACTION_COLUMNS                                                                      \
    "account_id, action_id, seq, campaign_id, tracker_id, partner_id, order_id, customer_id, " \
    "customer_status, promo_code, event_date, reported_event_date, created_at, currency, "     \
    "amount, items, payout, locking_date, clearing_date, status, finance_status, "             \
    "parent_action_id, modification_count, outside_terms, contract_id, contract_version, creation"
inline constexpr int kActionColumns = 27;

#define PG_BATCH_COLUMNS                                                                        \
    "batch_id, account_id, inbox, file_name, sha256, size, type, state, status, received_at, "  \
    "completed_at, attempts, total, applied, rejected, error_code, error_message, error_line, " \
    "error_counts_json, delivery_failures, claim"

#define PG_HISTORY_COLUMNS                                                                        \
    "entry_id, action_seq, at, batch, line, operation, reason, old_amount, "                      \
    "new_amount, old_payout, new_payout, old_status, new_status, contract_id, contract_version, " \
    "note"

// The action of row `row`, its PG_ACTION_COLUMNS starting at column 0, into `into`.
void read_action(const Result& r, int row, ledger::Action& into);
ledger::Action read_action(const Result& r, int row);
// The same, with cleared_at and invoice_id in the two columns after them.
ledger::Action read_reported_action(const Result& r, int row);

// Appends the action as a COPY text line of PG_ACTION_COLUMNS and `stored` (t/f).
void append_action_line(std::string& out, const ledger::Action& action, bool stored,
                        std::string& items, std::string& creation);
// Appends a history entry as a COPY text line of PG_HISTORY_COLUMNS.
void append_history_line(std::string& out, std::int64_t entry_id, std::int64_t action_seq,
                         std::int64_t batch, const ledger::HistoryEntry& entry);
// An entry read from columns entry_id, action_seq, at, batch_id, line, ... note; the
// entry's action_id is left to the caller, who asked by it.
ledger::HistoryEntry read_history(const Result& r, int row);

// Inserts or replaces a journal record: $1..$20 bound by bind_batch.
extern const char* const kUpsertBatch;
void bind_batch(Params& p, const BatchRecord& record);
BatchRecord read_batch(const Result& r, int row);

// The history_batches id of a batch id, given one if it has none yet.
std::int64_t history_batch_id(Connection& db, std::string_view batch_id);
// The sum of the account's funds entries.
std::int64_t read_balance(Connection& db, std::string_view account_id);
void add_funds_entry(Connection& db, std::string_view account_id, ledger::FundsEntry::Kind kind,
                     std::int64_t amount, ledger::Instant at, std::string_view reference,
                     std::optional<std::int64_t> item);
// Stores the transfer and its TRANSFER debit dated at its applied_at; returns its seq.
std::int64_t insert_transfer(Connection& db, const ledger::Transfer& transfer,
                             std::string_view batch_id);

inline std::int64_t millis(ledger::Instant t) { return t.time_since_epoch().count(); }
inline std::optional<std::int64_t> millis(const std::optional<ledger::Instant>& t) {
    return t ? std::optional(millis(*t)) : std::nullopt;
}
inline ledger::Instant instant_from_millis(std::int64_t ms) {
    return ledger::Instant{std::chrono::milliseconds{ms}};
}
inline std::optional<ledger::Instant> instant_from_millis(std::optional<std::int64_t> ms) {
    return ms ? std::optional(instant_from_millis(*ms)) : std::nullopt;
}

}  // namespace actiondrop::store::postgres
