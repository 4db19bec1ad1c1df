#include "store/sqlite/action_rows.hpp"

#include <functional>

#include "store/action_codec.hpp"

namespace actiondrop::store::sqlite {

using namespace actiondrop::ledger;

#define ACTION_COLUMNS                                                                         \
    "account_id, action_id, seq, campaign_id, tracker_id, partner_id, order_id, customer_id, " \
    "customer_status, promo_code, event_date, reported_event_date, created_at, currency, "     \
    "amount, items, payout, locking_date, clearing_date, status, finance_status, "             \
    "parent_action_id, modification_count, outside_terms, contract_id, contract_version, creation"

const char* const kSelectActionByKey =
    "SELECT " ACTION_COLUMNS " FROM actions WHERE account_id = ?1 AND action_id = ?2";
std::string select_actions_by_keys_sql(std::size_t count) {
    std::string sql =
        "SELECT " ACTION_COLUMNS " FROM actions WHERE account_id = ?1 AND action_id IN (";
    for (std::size_t i = 0; i < count; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 2);
    return sql + ")";
}
std::string select_actions_by_seqs_sql(std::size_t count) {
    std::string sql = "SELECT " ACTION_COLUMNS " FROM actions WHERE account_id = ?1 AND seq IN (";
    for (std::size_t i = 0; i < count; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 2);
    return sql + ")";
}
const char* const kSelectActionsBySeqRange =
    "SELECT " ACTION_COLUMNS
    " FROM actions WHERE seq BETWEEN ?2 AND ?3 AND account_id = ?1 ORDER BY seq";
std::string select_action_keys_sql(std::size_t count, bool children) {
    std::string sql =
        children
            ? "SELECT a.action_id, a.seq, EXISTS (SELECT 1 FROM actions c WHERE c.account_id = ?1 "
              "AND c.parent_action_id = a.action_id) FROM actions a "
            : "SELECT a.action_id, a.seq, 0 FROM actions a ";
    sql += "WHERE a.account_id = ?1 AND a.action_id IN (";
    for (std::size_t i = 0; i < count; ++i) sql += (i ? ", ?" : "?") + std::to_string(i + 2);
    return sql + ")";
}
std::string select_action_key_range_sql(bool children) {
    std::string sql =
        children
            ? "SELECT a.action_id, a.seq, EXISTS (SELECT 1 FROM actions c WHERE c.account_id = ?1 "
              "AND c.parent_action_id = a.action_id) FROM actions a "
            : "SELECT a.action_id, a.seq, 0 FROM actions a ";
    return sql + "WHERE a.account_id = ?1 AND a.action_id BETWEEN ?2 AND ?3 ORDER BY a.action_id";
}
// parent_action_id is '' for an action without a parent: the range > '' walks the index.
const char* const kSelectAnyChild =
    "SELECT 1 FROM actions WHERE account_id = ?1 AND parent_action_id > '' LIMIT 1";
const char* const kSelectActionByOrder =
    "SELECT " ACTION_COLUMNS
    " FROM actions WHERE account_id = ?1 AND order_id = ?2 AND tracker_id = ?3 "
    "ORDER BY seq DESC LIMIT 1";
const char* const kSelectActionByCustomer =
    "SELECT " ACTION_COLUMNS
    " FROM actions WHERE account_id = ?1 AND tracker_id = ?2 AND customer_id = ?3 "
    "ORDER BY seq DESC LIMIT 1";
const char* const kSelectActionChildren =
    "SELECT " ACTION_COLUMNS
    " FROM actions WHERE account_id = ?1 AND parent_action_id = ?2 ORDER BY seq";
// What the reports read: every column and the life cycle's two (read_reported_action).
const char* const kSelectActionsOfAccount =
    "SELECT " ACTION_COLUMNS
    ", cleared_at, invoice_id FROM actions WHERE account_id = ?1 ORDER BY seq";
const char* const kSelectReportedAction =
    "SELECT " ACTION_COLUMNS
    ", cleared_at, invoice_id FROM actions WHERE account_id = ?1 AND action_id = ?2";
const char* const kInsertAction =
    "INSERT INTO actions (" ACTION_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)";
const char* const kUpdateActionFull =
    "UPDATE actions SET campaign_id = ?4, tracker_id = ?5, partner_id = ?6, order_id = ?7, "
    "customer_id = ?8, customer_status = ?9, promo_code = ?10, event_date = ?11, "
    "reported_event_date = ?12, created_at = ?13, currency = ?14, amount = ?15, items = ?16, "
    "payout = ?17, locking_date = ?18, clearing_date = ?19, status = ?20, finance_status = ?21, "
    "parent_action_id = ?22, modification_count = ?23, outside_terms = ?24, contract_id = ?25, "
    "contract_version = ?26, creation = ?27 WHERE seq = ?3";
const char* const kUpdateActionUnindexed =
    "UPDATE actions SET campaign_id = ?4, customer_status = ?9, promo_code = ?10, "
    "reported_event_date = ?12, created_at = ?13, currency = ?14, amount = ?15, items = ?16, "
    "payout = ?17, locking_date = ?18, clearing_date = ?19, status = ?20, finance_status = ?21, "
    "modification_count = ?23, outside_terms = ?24, contract_version = ?26, creation = ?27 "
    "WHERE seq = ?3";
const char* const kCapTotals =
    "SELECT coalesce(sum(payout), 0), count(*) FROM actions WHERE account_id = ?1 AND partner_id = "
    "?2 "
    "AND contract_id = ?3 AND event_date >= ?4 AND event_date < ?5 AND status <> 'REVERSED' "
    "AND outside_terms = 0";

// `batch` is the entry's batch as a history_batches id: an integer instead of the batch id's
// 29 characters in every entry makes the table a third smaller and its inserts faster.
#define HISTORY_COLUMNS                                                                           \
    "entry_id, action_seq, at, batch, line, operation, reason, old_amount, "                      \
    "new_amount, old_payout, new_payout, old_status, new_status, contract_id, contract_version, " \
    "note"

// An action's entries: its rows, and the entries of the runs that locked it, cleared it or
// made it overdue, which are no rows (the view run_entries; docs/lifecycle.md, "A run's
// entries in SQLite"). The view `history` numbers a run's entry by its rank in its part of the
// run's range; the part's first id orders it the same among the action's own entries, since
// the part holds no other entry of the action, and needs no ranking of the run's actions.
// ?1 is the action's seq, a value, so that SQLite looks the action up in each part of the view.
const char* const kSelectHistory =
    "SELECT h.entry_id, h.action_seq, h.at, b.batch_id, h.line, h.operation, h.reason, "
    "h.old_amount, h.new_amount, h.old_payout, h.new_payout, h.old_status, h.new_status, "
    "h.contract_id, h.contract_version, h.note FROM history_rows h JOIN history_batches b ON "
    "b.id = h.batch WHERE h.action_seq = ?1 UNION ALL SELECT e.part_entry, e.action_seq, e.at, "
    "b.batch_id, 0, e.operation, '', e.amount, e.amount, e.payout, e.payout, e.old_status, "
    "'APPROVED', e.contract_id, e.contract_version, e.note FROM run_entries e JOIN "
    "history_batches b ON b.id = e.batch WHERE e.action_seq = ?1 ORDER BY 3, 1";

std::int64_t history_batch_id(Database& db, std::string_view batch_id) {
    {
        Use q(db.cached("SELECT id FROM history_batches WHERE batch_id = ?1"));
        q->bind_text(1, batch_id);
        if (q->step()) return q->int64_at(0);
    }
    Use q(db.cached("INSERT INTO history_batches (batch_id) VALUES (?1)"));
    q->bind_text(1, batch_id);
    q->run();
    return db.last_insert_rowid();
}

std::int64_t read_counter(Database& db, std::string_view name) {
    Use q(db.cached("SELECT value FROM counters WHERE name = ?1"));
    q->bind_text(1, name);
    if (!q->step()) throw StoreError(db.path() + ": counter " + std::string(name) + " is missing");
    return q->int64_at(0);
}

void write_counter(Database& db, std::string_view name, std::int64_t value) {
    Use q(db.cached("UPDATE counters SET value = ?2 WHERE name = ?1"));
    q->bind_text(1, name);
    q->bind(2, value);
    q->run();
}

#define BATCH_COLUMNS                                                                           \
    "batch_id, account_id, inbox, file_name, sha256, size, type, state, status, received_at, "  \
    "completed_at, attempts, total, applied, rejected, error_code, error_message, error_line, " \
    "error_counts_json, delivery_failures, claim"

const char* const kUpsertBatch =
    "INSERT INTO batches (" BATCH_COLUMNS
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
    "?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21) ON CONFLICT (batch_id) DO UPDATE SET account_id "
    "= ?2, "
    "inbox = ?3, file_name = ?4, sha256 = ?5, size = ?6, type = ?7, state = ?8, status = ?9, "
    "received_at = ?10, completed_at = ?11, attempts = ?12, total = ?13, applied = ?14, "
    "rejected = ?15, error_code = ?16, error_message = ?17, error_line = ?18, error_counts_json = "
    "?19, delivery_failures = ?20, claim = ?21 "
    // A record never goes back to claimed, and a decided status is never replaced: an attempt
    // that started before another one committed the batch cannot undo that commit.
    "WHERE (batches.state = 'claimed' OR excluded.state <> 'claimed') "
    "AND (batches.status = '' OR batches.status = excluded.status)";
const char* const kSelectBatchById = "SELECT " BATCH_COLUMNS " FROM batches WHERE batch_id = ?1";
const char* const kSelectCompleteBatch =
    "SELECT " BATCH_COLUMNS
    " FROM batches WHERE account_id = ?1 AND sha256 = ?2 AND status = 'COMPLETE' "
    "ORDER BY received_at, rowid LIMIT 1";
const char* const kSelectOpenBatch =
    "SELECT " BATCH_COLUMNS
    " FROM batches WHERE account_id = ?1 AND sha256 = ?2 AND state = 'claimed' "
    "AND status = '' ORDER BY received_at, rowid LIMIT 1";
// The rowid is the order in which records were first written (an upsert keeps it).
const char* const kSelectEarlierOpenBatch =
    "SELECT " BATCH_COLUMNS
    " FROM batches WHERE account_id = ?1 AND state = 'claimed' AND status = '' AND claim = 1 "
    "AND batch_id <> ?2 AND rowid < coalesce((SELECT rowid FROM batches WHERE batch_id = ?2), "
    "9223372036854775807) ORDER BY rowid LIMIT 1";
const char* const kSelectBatches =
    "SELECT " BATCH_COLUMNS " FROM batches ORDER BY received_at, rowid";
const char* const kSelectBatchesOfAccount =
    "SELECT " BATCH_COLUMNS " FROM batches WHERE account_id = ?1 ORDER BY received_at, rowid";

namespace {

[[noreturn]] void damaged(std::string_view column, std::string_view value) {
    throw StoreError("damaged " + std::string(column) + " value \"" + std::string(value) + "\"");
}

template <typename T>
T must(std::optional<T> value, std::string_view column, std::string_view text) {
    if (!value) damaged(column, text);
    return *value;
}

Operation read_operation(std::string_view text) {
    if (text.empty()) return Operation::None;
    return must(parse_operation(text), "operation", text);
}

}  // namespace

void bind_action_unindexed(Statement& st, const Action& a, std::string& items,
                           std::string& creation) {
    encode_items(a.items, items);
    encode_creation(a.creation, creation);
    st.bind(3, a.key);
    st.bind_text(4, a.campaign_id);
    st.bind_text(9, a.customer_status);
    st.bind_text(10, a.promo_code);
    st.bind(12, millis(a.reported_event_date));
    st.bind(13, millis(a.created_at));
    st.bind_text(14, a.currency != nullptr ? a.currency->code : std::string_view());
    st.bind(15, a.amount);
    st.bind_blob(16, items);
    st.bind(17, a.payout);
    st.bind(18, millis(a.locking_date));
    st.bind(19, millis(a.clearing_date));
    st.bind_text(20, status_name(a.status));
    st.bind_text(21, finance_status_name(a.finance_status));
    st.bind(23, std::int64_t{a.modification_count});
    st.bind(24, std::int64_t{a.outside_terms ? 1 : 0});
    st.bind(26, millis(a.contract_version));
    st.bind_blob(27, creation);
}

void bind_action(Statement& st, const Action& a, std::string& items, std::string& creation) {
    bind_action_unindexed(st, a, items, creation);
    // The indexed columns, which an UPDATE of the other columns leaves out.
    st.bind_text(1, a.account_id);
    st.bind_text(2, a.action_id);
    st.bind_text(5, a.tracker_id);
    st.bind_text(6, a.partner_id);
    st.bind_text(7, a.order_id);
    st.bind_text(8, a.customer_id);
    st.bind(11, millis(a.event_date));
    st.bind_text(22, a.parent_action_id);
    st.bind_text(25, a.contract_id);
}

Action read_action(const Statement& row) {
    Action a;
    read_action(row, a);
    return a;
}

void read_action(const Statement& row, Action& a) {
    a.account_id = row.text_at(0);
    a.action_id = row.text_at(1);
    a.key = row.int64_at(2);
    a.campaign_id = row.text_at(3);
    a.tracker_id = row.text_at(4);
    a.partner_id = row.text_at(5);
    a.order_id = row.text_at(6);
    a.customer_id = row.text_at(7);
    a.customer_status = row.text_at(8);
    a.promo_code = row.text_at(9);
    a.event_date = instant_from_millis(row.int64_at(10));
    a.reported_event_date = instant_from_millis(row.int64_at(11));
    a.created_at = instant_from_millis(row.int64_at(12));
    if (std::string_view code = row.text_at(13); !code.empty()) {
        a.currency = find_currency(code);
        if (a.currency == nullptr) damaged("currency", code);
    }
    a.amount = row.int64_at(14);
    a.items = decode_items(row.blob_at(15));
    a.payout = row.int64_at(16);
    a.locking_date = instant_from_millis(row.int64_at(17));
    a.clearing_date = instant_from_millis(row.int64_at(18));
    a.status = must(parse_status(row.text_at(19)), "status", row.text_at(19));
    a.finance_status =
        must(parse_finance_status(row.text_at(20)), "finance_status", row.text_at(20));
    a.parent_action_id = row.text_at(21);
    a.modification_count = static_cast<int>(row.int64_at(22));
    a.outside_terms = row.int64_at(23) != 0;
    a.contract_id = row.text_at(24);
    a.contract_version = instant_from_millis(row.int64_at(25));
    a.creation = decode_creation(row.blob_at(26));
}

Action read_reported_action(const Statement& row) {
    Action a = read_action(row);
    a.cleared_at = instant_from_millis(row.optional_int64_at(27));
    a.invoice_id = row.text_at(28);
    return a;
}

std::string insert_history_rows_sql(std::size_t count) {
    // OR FAIL: a statement of several rows that may abort needs a statement journal (every
    // page it changes written once more); a failure rolls the whole batch back anyway.
    std::string sql = "INSERT OR FAIL INTO history_rows (" HISTORY_COLUMNS ") VALUES ";
    for (std::size_t row = 0; row < count; ++row) {
        sql += row ? ", (" : "(";
        for (int column = 0; column < kHistoryColumns; ++column) {
            if (column) sql += ", ";
            sql +=
                "?" + std::to_string(row * kHistoryColumns + static_cast<std::size_t>(column) + 1);
        }
        sql += ")";
    }
    return sql;
}

void bind_history_row(Statement& st, std::size_t row, std::int64_t action_seq,
                      std::int64_t entry_id, std::int64_t batch, const HistoryEntry& e) {
    const int base = static_cast<int>(row) * kHistoryColumns;
    st.bind(base + 1, entry_id);
    st.bind(base + 2, action_seq);
    st.bind(base + 3, millis(e.at));
    st.bind(base + 4, batch);
    st.bind(base + 5, e.line);
    st.bind_text(base + 6, operation_name(e.operation));
    st.bind_text(base + 7, e.reason);
    st.bind(base + 8, e.old_amount);
    st.bind(base + 9, e.new_amount);
    st.bind(base + 10, e.old_payout);
    st.bind(base + 11, e.new_payout);
    st.bind_text(base + 12, status_name(e.old_status));
    st.bind_text(base + 13, status_name(e.new_status));
    st.bind_text(base + 14, e.contract_id);
    st.bind(base + 15, millis(e.contract_version));
    st.bind_text(base + 16, e.note);
}

HistoryEntry read_history(const Statement& row) {
    HistoryEntry e;
    e.at = instant_from_millis(row.int64_at(2));
    e.batch_id = row.text_at(3);
    e.line = row.int64_at(4);
    e.operation = read_operation(row.text_at(5));
    e.reason = row.text_at(6);
    e.old_amount = row.int64_at(7);
    e.new_amount = row.int64_at(8);
    e.old_payout = row.int64_at(9);
    e.new_payout = row.int64_at(10);
    e.old_status = must(parse_status(row.text_at(11)), "old_status", row.text_at(11));
    e.new_status = must(parse_status(row.text_at(12)), "new_status", row.text_at(12));
    e.contract_id = row.text_at(13);
    e.contract_version = instant_from_millis(row.optional_int64_at(14));
    e.note = row.text_at(15);
    return e;
}

void bind_batch(Statement& st, const BatchRecord& r) {
    st.bind_text(1, r.batch_id);
    st.bind_text(2, r.account_id);
    st.bind_text(3, r.inbox);
    st.bind_text(4, r.file_name);
    st.bind_text(5, r.sha256);
    st.bind(6, r.size);
    st.bind_text(7, r.type);
    st.bind_text(8, state_name(r.state));
    st.bind_text(9, r.status);
    st.bind(10, millis(r.received_at));
    st.bind(11, millis(r.completed_at));
    st.bind(12, std::int64_t{r.attempts});
    st.bind(13, r.total);
    st.bind(14, r.applied);
    st.bind(15, r.rejected);
    st.bind_text(16, r.error_code);
    st.bind_text(17, r.error_message);
    st.bind(18, r.error_line);
    st.bind_text(19, r.error_counts_json);
    st.bind(20, std::int64_t{r.delivery_failures});
    st.bind(21, std::int64_t{r.claim ? 1 : 0});
}

BatchRecord read_batch(const Statement& row) {
    BatchRecord r;
    r.batch_id = row.text_at(0);
    r.account_id = row.text_at(1);
    r.inbox = row.text_at(2);
    r.file_name = row.text_at(3);
    r.sha256 = row.text_at(4);
    r.size = row.int64_at(5);
    r.type = row.text_at(6);
    const auto state = row.text_at(7);
    const auto parsed = parse_state(state);
    if (!parsed)
        throw StoreError("batch " + r.batch_id + ": unknown journal state '" + std::string(state) +
                         "'");
    r.state = *parsed;
    r.status = row.text_at(8);
    r.received_at = instant_from_millis(row.int64_at(9));
    r.completed_at = instant_from_millis(row.optional_int64_at(10));
    r.attempts = static_cast<int>(row.int64_at(11));
    r.total = row.int64_at(12);
    r.applied = row.int64_at(13);
    r.rejected = row.int64_at(14);
    r.error_code = row.text_at(15);
    r.error_message = row.text_at(16);
    r.error_line = row.optional_int64_at(17);
    r.error_counts_json = row.text_at(18);
    r.delivery_failures = static_cast<int>(row.int64_at(19));
    r.claim = row.int64_at(20) != 0;
    return r;
}

}  // namespace actiondrop::store::sqlite
