#pragma once
// How actions, history entries and journal records map onto the SQLite tables' columns:
// the SQL texts and the code that binds a value to a statement or reads it from a row.
// Every statement uses the same parameter numbers (?1 = account_id, ...), so one binding
// function serves the INSERT and both UPDATEs.
#include <cstdint>
#include <optional>
#include <string>

#include "ledger/action.hpp"
#include "store/sqlite/sqlite.hpp"
#include "store/store.hpp"

namespace actiondrop::store::sqlite {

extern const char* const kSelectActionByKey;  // ?1 account, ?2 action id
// ?1 account, ?2 .. ?(count + 1) action ids: the actions found, in index order.
std::string select_actions_by_keys_sql(std::size_t count);
// ?1 account, ?2 .. ?(count + 1) seqs: the actions found.
std::string select_actions_by_seqs_sql(std::size_t count);
// ?1 account, ?2 first seq, ?3 last seq: the account's actions between, in seq order.
extern const char* const kSelectActionsBySeqRange;
// ?1 account, ?2 .. ?(count + 1) action ids: action_id, seq and, when `children` is set,
// whether an action of the account names it as parent (else 0).
std::string select_action_keys_sql(std::size_t count, bool children);
// ?1 account, ?2 first id, ?3 last id: as select_action_keys_sql for every action of the
// account with an id between, in id order.
std::string select_action_key_range_sql(bool children);
// ?1 account: a row when any action of the account has a parent.
extern const char* const kSelectAnyChild;
extern const char* const kSelectActionByOrder;     // ?1 account, ?2 order, ?3 tracker: newest
extern const char* const kSelectActionByCustomer;  // ?1 account, ?2 tracker, ?3 customer: newest
extern const char* const kSelectActionChildren;    // ?1 account, ?2 parent: oldest first
// ?1 account, by seq; read by read_reported_action.
extern const char* const kSelectActionsOfAccount;
extern const char* const kSelectReportedAction;  // ?1 account, ?2 action id; the same
extern const char* const kInsertAction;
// Rewrites every column; used when a column of a secondary index changed.
extern const char* const kUpdateActionFull;
// Rewrites only the columns that no secondary index holds, so that SQLite leaves the
// indexes alone: the common case of a modification.
extern const char* const kUpdateActionUnindexed;
extern const char* const kCapTotals;  // ?1 account, ?2 partner, ?3 contract, ?4 from, ?5 to

extern const char* const kSelectHistory;  // ?1 the action's seq; by time, then insertion

extern const char* const kUpsertBatch;
extern const char* const kSelectBatchById;
extern const char* const kSelectCompleteBatch;     // ?1 account, ?2 sha256
extern const char* const kSelectOpenBatch;         // ?1 account, ?2 sha256
extern const char* const kSelectEarlierOpenBatch;  // ?1 account, ?2 batch id
extern const char* const kSelectBatches;
extern const char* const kSelectBatchesOfAccount;

// Binds ?1..?27. `items` and `creation` are scratch buffers that must outlive the step.
void bind_action(Statement& st, const ledger::Action& action, std::string& items,
                 std::string& creation);
// Binds only the parameters of kUpdateActionUnindexed.
void bind_action_unindexed(Statement& st, const ledger::Action& action, std::string& items,
                           std::string& creation);
ledger::Action read_action(const Statement& row);
// The same into an existing action, reusing its strings and vectors.
void read_action(const Statement& row, ledger::Action& into);
// An action and the life cycle's columns after its own (cleared_at, invoice_id), which a
// batch neither reads nor writes.
ledger::Action read_reported_action(const Statement& row);

// The history_batches id of a batch id, given one if it has none yet.
std::int64_t history_batch_id(Database& db, std::string_view batch_id);
// The counters table (action_seq, history_entry): the next number to hand out. A missing
// counter is a store error naming the file.
std::int64_t read_counter(Database& db, std::string_view name);
void write_counter(Database& db, std::string_view name, std::int64_t value);
// An INSERT of `count` history rows at once, 16 parameters each, bound by bind_history_row.
std::string insert_history_rows_sql(std::size_t count);
inline constexpr int kHistoryColumns = 16;
// Binds the row-th row (from 0) of insert_history_rows_sql; `batch` is the history_batches id
// of the entry's batch id.
void bind_history_row(Statement& st, std::size_t row, std::int64_t action_seq,
                      std::int64_t entry_id, std::int64_t batch, const ledger::HistoryEntry& entry);
// The entry's action_id is left to the caller, who asked by it.
ledger::HistoryEntry read_history(const Statement& row);

void bind_batch(Statement& st, const BatchRecord& record);
BatchRecord read_batch(const Statement& row);

inline std::int64_t millis(ledger::Instant t) { return t.time_since_epoch().count(); }
inline ledger::Instant instant_from_millis(std::int64_t ms) {
    return ledger::Instant{std::chrono::milliseconds{ms}};
}
// The same for a column that may be NULL.
inline std::optional<std::int64_t> millis(const std::optional<ledger::Instant>& t) {
    return t ? std::optional(millis(*t)) : std::nullopt;
}
inline std::optional<ledger::Instant> instant_from_millis(std::optional<std::int64_t> ms) {
    return ms ? std::optional(instant_from_millis(*ms)) : std::nullopt;
}

}  // namespace actiondrop::store::sqlite
