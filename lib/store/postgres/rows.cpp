#include "store/postgres/rows.hpp"

#include "store/action_codec.hpp"

namespace actiondrop::store::postgres {

using namespace actiondrop::ledger;

namespace {

[[noreturn]] void damaged(std::string_view column, std::string_view value) {
    throw StoreError("damaged " + std::string(column) + " value \"" + std::string(value) + "\"");
}

template <typename T>
T must(std::optional<T> value, std::string_view column, std::string_view text) {
    if (!value) damaged(column, text);
    return *value;
}

// COPY text fields, tab-separated.
void field(std::string& out, std::string_view text) {
    append_copy_text(out, text);
    out += '\t';
}
void field(std::string& out, std::int64_t value) {
    out += std::to_string(value);
    out += '\t';
}
void field(std::string& out, std::optional<std::int64_t> value) {
    if (value)
        field(out, *value);
    else
        out += "\\N\t";
}
void bytes_field(std::string& out, std::string_view bytes) {
    append_copy_bytes(out, bytes);
    out += '\t';
}
// The last field of a line.
void end_line(std::string& out) {
    if (!out.empty() && out.back() == '\t') out.back() = '\n';
}

}  // namespace

const char* const kUpsertBatch =
    "INSERT INTO batches (" PG_BATCH_COLUMNS
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
    "$19, $20, $21) ON CONFLICT (batch_id) DO UPDATE SET account_id = $2, inbox = $3, file_name = "
    "$4, "
    "sha256 = $5, size = $6, type = $7, state = $8, status = $9, received_at = $10, "
    "completed_at = $11, attempts = $12, total = $13, applied = $14, rejected = $15, "
    "error_code = $16, error_message = $17, error_line = $18, error_counts_json = $19, "
    "delivery_failures = $20, claim = $21 "
    // A record never goes back to claimed, and a decided status is never replaced: an attempt
    // that started before another one committed the batch cannot undo that commit.
    "WHERE (batches.state = 'claimed' OR EXCLUDED.state <> 'claimed') "
    "AND (batches.status = '' OR batches.status = EXCLUDED.status)";

void read_action(const Result& r, int row, Action& a) {
    a.account_id = r.text(row, 0);
    a.action_id = r.text(row, 1);
    a.key = r.int64(row, 2);
    a.campaign_id = r.text(row, 3);
    a.tracker_id = r.text(row, 4);
    a.partner_id = r.text(row, 5);
    a.order_id = r.text(row, 6);
    a.customer_id = r.text(row, 7);
    a.customer_status = r.text(row, 8);
    a.promo_code = r.text(row, 9);
    a.event_date = instant_from_millis(r.int64(row, 10));
    a.reported_event_date = instant_from_millis(r.int64(row, 11));
    a.created_at = instant_from_millis(r.int64(row, 12));
    a.currency = nullptr;
    if (std::string_view code = r.text(row, 13); !code.empty()) {
        a.currency = find_currency(code);
        if (a.currency == nullptr) damaged("currency", code);
    }
    a.amount = r.int64(row, 14);
    a.items = decode_items(r.bytes(row, 15));
    a.payout = r.int64(row, 16);
    a.locking_date = instant_from_millis(r.int64(row, 17));
    a.clearing_date = instant_from_millis(r.int64(row, 18));
    a.status = must(parse_status(r.text(row, 19)), "status", r.text(row, 19));
    a.finance_status =
        must(parse_finance_status(r.text(row, 20)), "finance_status", r.text(row, 20));
    a.parent_action_id = r.text(row, 21);
    a.modification_count = static_cast<int>(r.int64(row, 22));
    a.outside_terms = r.int64(row, 23) != 0;
    a.contract_id = r.text(row, 24);
    a.contract_version = instant_from_millis(r.int64(row, 25));
    a.creation = decode_creation(r.bytes(row, 26));
}

Action read_action(const Result& r, int row) {
    Action a;
    read_action(r, row, a);
    return a;
}

Action read_reported_action(const Result& r, int row) {
    Action a = read_action(r, row);
    a.cleared_at = instant_from_millis(r.optional_int64(row, kActionColumns));
    a.invoice_id = r.text(row, kActionColumns + 1);
    return a;
}

void append_action_line(std::string& out, const Action& a, bool stored, std::string& items,
                        std::string& creation) {
    encode_items(a.items, items);
    encode_creation(a.creation, creation);
    field(out, a.account_id);
    field(out, a.action_id);
    field(out, a.key);
    field(out, a.campaign_id);
    field(out, a.tracker_id);
    field(out, a.partner_id);
    field(out, a.order_id);
    field(out, a.customer_id);
    field(out, a.customer_status);
    field(out, a.promo_code);
    field(out, millis(a.event_date));
    field(out, millis(a.reported_event_date));
    field(out, millis(a.created_at));
    field(out, a.currency != nullptr ? a.currency->code : std::string_view());
    field(out, a.amount);
    bytes_field(out, items);
    field(out, a.payout);
    field(out, millis(a.locking_date));
    field(out, millis(a.clearing_date));
    field(out, status_name(a.status));
    field(out, finance_status_name(a.finance_status));
    field(out, a.parent_action_id);
    field(out, std::int64_t{a.modification_count});
    field(out, std::int64_t{a.outside_terms ? 1 : 0});
    field(out, a.contract_id);
    field(out, millis(a.contract_version));
    bytes_field(out, creation);
    out += stored ? "t\n" : "f\n";
}

void append_history_line(std::string& out, std::int64_t entry_id, std::int64_t action_seq,
                         std::int64_t batch, const HistoryEntry& e) {
    field(out, entry_id);
    field(out, action_seq);
    field(out, millis(e.at));
    field(out, batch);
    field(out, e.line);
    field(out, operation_name(e.operation));
    field(out, e.reason);
    field(out, e.old_amount);
    field(out, e.new_amount);
    field(out, e.old_payout);
    field(out, e.new_payout);
    field(out, status_name(e.old_status));
    field(out, status_name(e.new_status));
    field(out, e.contract_id);
    field(out, millis(e.contract_version));
    field(out, e.note);
    end_line(out);
}

HistoryEntry read_history(const Result& r, int row) {
    HistoryEntry e;
    e.at = instant_from_millis(r.int64(row, 2));
    e.batch_id = r.text(row, 3);
    e.line = r.int64(row, 4);
    const std::string_view op = r.text(row, 5);
    e.operation = op.empty() ? Operation::None : must(parse_operation(op), "operation", op);
    e.reason = r.text(row, 6);
    e.old_amount = r.int64(row, 7);
    e.new_amount = r.int64(row, 8);
    e.old_payout = r.int64(row, 9);
    e.new_payout = r.int64(row, 10);
    e.old_status = must(parse_status(r.text(row, 11)), "old_status", r.text(row, 11));
    e.new_status = must(parse_status(r.text(row, 12)), "new_status", r.text(row, 12));
    e.contract_id = r.text(row, 13);
    e.contract_version = instant_from_millis(r.optional_int64(row, 14));
    e.note = r.text(row, 15);
    return e;
}

void bind_batch(Params& p, const BatchRecord& r) {
    p.text(r.batch_id)
        .text(r.account_id)
        .text(r.inbox)
        .text(r.file_name)
        .text(r.sha256)
        .int64(r.size)
        .text(r.type)
        .text(state_name(r.state))
        .text(r.status)
        .int64(millis(r.received_at))
        .int64(millis(r.completed_at))
        .int64(std::int64_t{r.attempts})
        .int64(r.total)
        .int64(r.applied)
        .int64(r.rejected)
        .text(r.error_code)
        .text(r.error_message)
        .int64(r.error_line)
        .text(r.error_counts_json)
        .int64(std::int64_t{r.delivery_failures})
        .int64(std::int64_t{r.claim ? 1 : 0});
}

BatchRecord read_batch(const Result& r, int row) {
    BatchRecord b;
    b.batch_id = r.text(row, 0);
    b.account_id = r.text(row, 1);
    b.inbox = r.text(row, 2);
    b.file_name = r.text(row, 3);
    b.sha256 = r.text(row, 4);
    b.size = r.int64(row, 5);
    b.type = r.text(row, 6);
    const auto state = r.text(row, 7);
    const auto parsed = parse_state(state);
    if (!parsed)
        throw StoreError("batch " + b.batch_id + ": unknown journal state '" + std::string(state) +
                         "'");
    b.state = *parsed;
    b.status = r.text(row, 8);
    b.received_at = instant_from_millis(r.int64(row, 9));
    b.completed_at = instant_from_millis(r.optional_int64(row, 10));
    b.attempts = static_cast<int>(r.int64(row, 11));
    b.total = r.int64(row, 12);
    b.applied = r.int64(row, 13);
    b.rejected = r.int64(row, 14);
    b.error_code = r.text(row, 15);
    b.error_message = r.text(row, 16);
    b.error_line = r.optional_int64(row, 17);
    b.error_counts_json = r.text(row, 18);
    b.delivery_failures = static_cast<int>(r.int64(row, 19));
    b.claim = r.int64(row, 20) != 0;
    return b;
}

std::int64_t history_batch_id(Connection& db, std::string_view batch_id) {
    Params p;
    p.text(batch_id);
    // The statement that adds the id returns it; one that finds it there already does not.
    Result added = db.run(
        "INSERT INTO history_batches (batch_id) VALUES ($1) ON CONFLICT (batch_id) DO NOTHING "
        "RETURNING id",
        p);
    if (added.rows() == 1) return added.int64(0, 0);
    Result found = db.run("SELECT id FROM history_batches WHERE batch_id = $1", p);
    if (found.rows() != 1)
        throw StoreError(db.where() + ": history batch " + std::string(batch_id) + " vanished");
    return found.int64(0, 0);
}

std::int64_t read_balance(Connection& db, std::string_view account_id) {
    Params p;
    p.text(account_id);
    Result r = db.run(
        "SELECT coalesce(sum(CASE kind WHEN 'DEPOSIT' THEN amount ELSE -amount END), 0) "
        "FROM funds_entries WHERE account_id = $1",
        p);
    return r.int64(0, 0);
}

void add_funds_entry(Connection& db, std::string_view account_id, FundsEntry::Kind kind,
                     std::int64_t amount, Instant at, std::string_view reference,
                     std::optional<std::int64_t> item) {
    Params p;
    p.text(account_id)
        .text(funds_entry_kind_name(kind))
        .int64(amount)
        .int64(millis(at))
        .text(reference)
        .int64(item);
    db.run(
        "INSERT INTO funds_entries (account_id, kind, amount, at, reference, item) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        p);
}

std::int64_t insert_transfer(Connection& db, const Transfer& t, std::string_view batch_id) {
    Params p;
    p.text(t.transfer_id)
        .text(t.account_id)
        .text(t.partner_id)
        .text(t.campaign_id)
        .text(transfer_type_name(t.type))
        .int64(t.amount)
        .int64(millis(t.payment_date))
        .int64(millis(t.applied_at))
        .text(t.comments)
        .text(batch_id);
    Result r = db.run(
        "INSERT INTO transfers (transfer_id, account_id, partner_id, campaign_id, type, amount, "
        "payment_date, applied_at, comments, batch_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
        "$9, $10) RETURNING seq",
        p);
    const std::int64_t seq = r.int64(0, 0);
    add_funds_entry(db, t.account_id, FundsEntry::Kind::Transfer, t.amount, t.applied_at,
                    t.transfer_id, seq);
    return seq;
}

}  // namespace actiondrop::store::postgres
