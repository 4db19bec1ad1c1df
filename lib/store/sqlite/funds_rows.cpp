#include "store/sqlite/funds_rows.hpp"

#include "store/sqlite/action_rows.hpp"

namespace actiondrop::store::sqlite {

using namespace actiondrop::ledger;

// next_funds_entry, as an expression.
#define NEXT_FUNDS_ENTRY                                                                        \
    "max(coalesce((SELECT max(id) FROM funds_rows), 0), coalesce((SELECT first_funds + "        \
    "debits - 1 FROM lifecycle_runs WHERE first_funds IS NOT NULL ORDER BY run DESC LIMIT 1), " \
    "0)) + 1"

std::int64_t next_funds_entry(Database& db) {
    Use q(db.cached("SELECT " NEXT_FUNDS_ENTRY));
    q->step();
    return q->int64_at(0);
}

void add_funds_entry(Database& db, std::string_view account_id, FundsEntry::Kind kind,
                     std::int64_t amount, Instant at, std::string_view reference,
                     std::optional<std::int64_t> item) {
    // The id after every row's and after the range of the last run's debits, which are no rows
    // (docs/lifecycle.md, "A run's entries in SQLite"; next_funds_entry).
    Use q(
        db.cached("INSERT INTO funds_rows (id, account_id, kind, amount, at, reference, item) "
                  "VALUES (" NEXT_FUNDS_ENTRY ", ?1, ?2, ?3, ?4, ?5, ?6)"));
    q->bind_text(1, account_id);
    q->bind_text(2, funds_entry_kind_name(kind));
    q->bind(3, amount);
    q->bind(4, millis(at));
    q->bind_text(5, reference);
    q->bind(6, item);
    q->run();
}

std::int64_t read_balance(Database& db, std::string_view account_id) {
    // The rows, less the debits of the runs, which are no rows: the same sum as that of the view
    // funds_entries, without computing each debit.
    Use q(db.cached(
        "SELECT (SELECT coalesce(sum(CASE kind WHEN 'DEPOSIT' THEN amount ELSE -amount END), 0) "
        "FROM funds_rows WHERE account_id = ?1) - (SELECT coalesce(sum(debited), 0) FROM "
        "lifecycle_runs WHERE account_id = ?1)"));
    q->bind_text(1, account_id);
    q->step();
    return q->int64_at(0);
}

std::int64_t insert_transfer(Database& db, const Transfer& t, std::string_view batch_id) {
    {
        Use q(
            db.cached("INSERT INTO transfers (transfer_id, account_id, partner_id, campaign_id, "
                      "type, amount, "
                      "payment_date, applied_at, comments, batch_id) VALUES (?1, ?2, ?3, ?4, ?5, "
                      "?6, ?7, ?8, ?9, ?10)"));
        q->bind_text(1, t.transfer_id);
        q->bind_text(2, t.account_id);
        q->bind_text(3, t.partner_id);
        q->bind_text(4, t.campaign_id);
        q->bind_text(5, transfer_type_name(t.type));
        q->bind(6, t.amount);
        q->bind(7, millis(t.payment_date));
        q->bind(8, millis(t.applied_at));
        q->bind_text(9, t.comments);
        q->bind_text(10, batch_id);
        q->run();
    }
    const std::int64_t seq = db.last_insert_rowid();
    add_funds_entry(db, t.account_id, FundsEntry::Kind::Transfer, t.amount, t.applied_at,
                    t.transfer_id, seq);
    return seq;
}

}  // namespace actiondrop::store::sqlite
