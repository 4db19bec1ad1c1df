// The life cycle's money on PostgreSQL (store/lifecycle_ledger.hpp, docs/lifecycle.md,
// docs/postgres.md "The life cycle"). A run decides step by step, the rules of lib/lifecycle
// on each step's actions read through a cursor, and one statement changes the actions of both
// steps and appends their history entries and debits in the decisions' order
// (carry_out_run). Decisions made elsewhere (apply_run) are carried out by statements over
// arrays of them, a chunk at a time, each changing its actions and appending their entries
// the same way.
#include <algorithm>
#include <string>
#include <vector>

#include "store/catalog_codec.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/postgres/rows.hpp"

namespace actiondrop::store::postgres {

using namespace actiondrop::ledger;

namespace {

// Decisions per statement (arrays of this many items are a few megabytes of text), and rows per
// FETCH of a run's cursors.
constexpr std::size_t kChunk = 50'000;

// The state a decision expects of a row (status, finance status, payout...), as a condition
// the planner cannot estimate from the table's statistics. A run changes the state of most of
// an account's actions in its own transaction, so the statistics are wrong for its later
// statements: they said no action was APPROVED while a million were, and the planner then
// scanned every action once for each of a chunk's 50,000 decisions (hours). Hidden like this,
// the rows are estimated by the account alone, and each chunk is one pass over the actions or
// one lookup per decision (docs/postgres.md, "The life cycle";
// tests/e2e/postgres/test_lifecycle_stale_statistics.sh).
#define EXPECTED_STATE(condition) "(CASE WHEN " condition " THEN true ELSE false END)"

// A run's history entries are of no batch: they name the empty batch id, line 0, and say
// in their note which run wrote them.
constexpr std::string_view kNoBatch = "";

[[noreturn]] void out_of_date(Connection& db, const std::string& what) {
    throw StoreError(db.where() + ": a lifecycle decision no longer fits the ledger: " + what);
}

// The account's funds, until the transaction ends: deposits take turns with each other and
// with the runs, which decide on the balance. Taken after the writers' turn (the counters),
// never before it, so that no two transactions wait on each other.
void lock_funds(Connection& db, std::string_view account_id) {
    Params key;
    key.text(account_id);
    db.run("SELECT pg_advisory_xact_lock(hashtext('actiondrop funds ' || $1::text))", key);
}

// The history columns a step's statement appends, from the rows its UPDATE returned (`from`,
// by default `upd`: seq, ord, at and the action's amount, payout, status and contract),
// numbered on from $entry (plus `after`, an expression, when given) in the decisions' order.
// $batch is the history batch, $note the run's note.
std::string append_history(const char* operation, const char* old_status, const char* reason,
                           int entry, int batch, int note, const char* order = "ord",
                           const char* from = "upd", const char* after = nullptr) {
    const std::string e = "$" + std::to_string(entry), b = "$" + std::to_string(batch),
                      n = "$" + std::to_string(note);
    return std::string(
               "INSERT INTO history (entry_id, action_seq, at, batch, line, operation, reason, "
               "old_amount, new_amount, old_payout, new_payout, old_status, new_status, "
               "contract_id, contract_version, note) SELECT ") +
           e + "::bigint + " + (after ? std::string(after) + " + " : std::string()) +
           "row_number() OVER (ORDER BY " + order + ") - 1, seq, at, " + b + "::bigint, 0, '" +
           operation + "', " + reason + ", amount, amount, payout, payout, '" + old_status +
           "', status, contract_id, contract_version, " + n + "::text FROM " + from + " ORDER BY " +
           order;
}

// Appends the run's history and keeps the counter of entry ids.
class Entries {
public:
    Entries(Connection& db, Instant now)
        : db_(db), note_("lifecycle run at " + format_instant(now)) {}

    void start() {
        if (started_) return;
        Result r = db_.run("SELECT value FROM counters WHERE name = 'history_entry'");
        if (r.rows() != 1) throw StoreError(db_.where() + ": counter history_entry is missing");
        next_ = r.int64(0, 0);
        batch_ = history_batch_id(db_, kNoBatch);
        started_ = true;
    }
    // Adds the entry id, history batch and note parameters, in that order.
    void bind(Params& p) const { p.int64(next_).int64(batch_).text(note_); }
    void appended(std::int64_t count) { next_ += count; }
    void finish() {
        if (!started_) return;
        Params p;
        p.int64(next_);
        db_.run("UPDATE counters SET value = $1 WHERE name = 'history_entry'", p);
    }

private:
    Connection& db_;
    std::string note_;
    bool started_ = false;
    std::int64_t next_ = 0, batch_ = 0;
};

template <typename T, typename Fn>
void in_chunks(const std::vector<T>& items, Fn&& fn) {
    for (std::size_t first = 0; first < items.size(); first += kChunk)
        fn(std::span<const T>(items.data() + first, std::min(kChunk, items.size() - first)));
}

#define ACTION_STATE_COLUMNS                                                                 \
    "seq, action_id, partner_id, status, finance_status, payout, event_date, locking_date, " \
    "clearing_date, cleared_at, invoice_id"

void read_action_states(Connection& db, const Result& r, std::vector<lifecycle::ActionState>& out) {
    for (int i = 0; i < r.rows(); ++i) {
        lifecycle::ActionState& a = out.emplace_back();
        a.key = r.int64(i, 0);
        a.action_id = r.text(i, 1);
        a.partner_id = r.text(i, 2);
        const auto status = parse_status(r.text(i, 3));
        const auto finance = parse_finance_status(r.text(i, 4));
        if (!status || !finance)
            throw StoreError(db.where() + ": damaged status of action " + a.action_id);
        a.status = *status;
        a.finance_status = *finance;
        a.payout = r.int64(i, 5);
        a.event_date = instant_from_millis(r.int64(i, 6));
        a.locking_date = instant_from_millis(r.int64(i, 7));
        a.clearing_date = instant_from_millis(r.int64(i, 8));
        a.cleared_at = instant_from_millis(r.optional_int64(i, 9));
        a.invoice_id = r.text(i, 10);
    }
}

std::vector<Transfer> read_transfers(Connection& db, std::string_view account_id) {
    Params p;
    p.text(account_id);
    Result r = db.run(
        "SELECT seq, transfer_id, partner_id, campaign_id, type, amount, payment_date, "
        "applied_at, comments FROM transfers WHERE account_id = $1 AND invoice_id = '' "
        "ORDER BY seq",
        p);
    std::vector<Transfer> transfers;
    for (int i = 0; i < r.rows(); ++i) {
        Transfer& t = transfers.emplace_back();
        t.key = r.int64(i, 0);
        t.transfer_id = r.text(i, 1);
        t.account_id = account_id;
        t.partner_id = r.text(i, 2);
        t.campaign_id = r.text(i, 3);
        const auto type = parse_transfer_type(r.text(i, 4));
        if (!type) throw StoreError(db.where() + ": damaged type of transfer " + t.transfer_id);
        t.type = *type;
        t.amount = r.int64(i, 5);
        t.payment_date = instant_from_millis(r.int64(i, 6));
        t.applied_at = instant_from_millis(r.int64(i, 7));
        t.comments = r.text(i, 8);
    }
    return transfers;
}

void write_locks(Connection& db, Entries& entries, std::string_view account_id,
                 const std::vector<lifecycle::Lock>& locks) {
    static const std::string sql =
        "WITH u AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::bigint[]) WITH ORDINALITY "
        "AS u(seq, fs, at, ord)), upd AS (UPDATE actions a SET status = 'APPROVED', "
        "finance_status = u.fs FROM u WHERE a.seq = u.seq AND a.account_id = $1 AND "
        EXPECTED_STATE("a.status = 'PENDING'") " RETURNING a.seq, u.ord, u.at, a.amount, "
        "a.payout, a.status, "
        "a.contract_id, a.contract_version) " +
        append_history("LOCK", "PENDING", "''", 5, 6, 7);
    in_chunks(locks, [&](std::span<const lifecycle::Lock> chunk) {
        std::vector<std::int64_t> seqs, ats;
        std::vector<std::string_view> statuses;
        for (const lifecycle::Lock& l : chunk) {
            seqs.push_back(l.key);
            statuses.push_back(finance_status_name(l.finance_status));
            ats.push_back(millis(l.at));
        }
        Params p;
        p.text(account_id).int64_array(seqs).text_array(statuses).int64_array(ats);
        entries.bind(p);
        entries.appended(db.run(sql, p).affected());
    });
}

void write_clears(Connection& db, Entries& entries, std::string_view account_id,
                  const std::vector<lifecycle::Clear>& clears) {
    // A 0 payout moves no money and makes no funds entry (docs/lifecycle.md, "Clear").
    static const std::string sql =
        "WITH u AS (SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) WITH "
        "ORDINALITY AS u(seq, at, payout, ord)), upd AS (UPDATE actions a SET finance_status = "
        "'CLEARED', cleared_at = u.at FROM u WHERE a.seq = u.seq AND a.account_id = $1 AND "
        EXPECTED_STATE("a.status = 'APPROVED' AND a.finance_status IN ('DUE', 'OVERDUE') AND "
                       "a.payout = u.payout")
        " RETURNING a.seq, a.action_id, u.ord, u.at, a.amount, a.payout, a.status, "
        "a.contract_id, a.contract_version), debits AS (INSERT INTO funds_entries (account_id, "
        "kind, amount, at, reference, item) SELECT $1, 'CLEARING', payout, at, action_id, seq "
        "FROM upd WHERE payout > 0 ORDER BY ord) " +
        append_history("CLEAR", "APPROVED", "''", 5, 6, 7);
    in_chunks(clears, [&](std::span<const lifecycle::Clear> chunk) {
        std::vector<std::int64_t> seqs, ats, payouts;
        for (const lifecycle::Clear& c : chunk) {
            seqs.push_back(c.key);
            ats.push_back(millis(c.cleared_at));
            payouts.push_back(c.payout);
        }
        Params p;
        p.text(account_id).int64_array(seqs).int64_array(ats).int64_array(payouts);
        entries.bind(p);
        entries.appended(db.run(sql, p).affected());
    });
}

void write_overdue(Connection& db, Entries& entries, std::string_view account_id,
                   const std::vector<lifecycle::Overdue>& overdue) {
    static const std::string sql =
        "WITH u AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS "
        "u(seq, at, ord)), upd AS (UPDATE actions a SET finance_status = 'OVERDUE' FROM u "
        "WHERE a.seq = u.seq AND a.account_id = $1 AND "
        EXPECTED_STATE("a.status = 'APPROVED' AND a.finance_status = 'DUE'")
        " RETURNING a.seq, u.ord, u.at, a.amount, a.payout, a.status, "
        "a.contract_id, a.contract_version) " +
        append_history("OVERDUE", "APPROVED", "''", 4, 5, 6);
    std::vector<lifecycle::Overdue> first;
    for (const lifecycle::Overdue& o : overdue)
        if (o.first_time) first.push_back(o);
    in_chunks(first, [&](std::span<const lifecycle::Overdue> chunk) {
        std::vector<std::int64_t> seqs, ats;
        for (const lifecycle::Overdue& o : chunk) {
            seqs.push_back(o.key);
            ats.push_back(millis(o.due_at));
        }
        Params p;
        p.text(account_id).int64_array(seqs).int64_array(ats);
        entries.bind(p);
        entries.appended(db.run(sql, p).affected());
    });
}

// Issues the invoices decided, with their lines, and marks what they hold INVOICED (history
// INVOICE). An invoice issued before is skipped whole; a line whose action or transfer is not
// waiting for an invoice rolls the run back.
void write_invoices(Connection& db, Entries& entries, std::string_view account_id,
                    const std::vector<lifecycle::Invoice>& invoices, Instant now) {
    static const std::string mark_actions =
        "WITH u AS (SELECT * FROM unnest($2::bigint[], $3::bigint[]) WITH ORDINALITY AS "
        "u(seq, payout, ord)), upd AS (UPDATE actions a SET finance_status = 'INVOICED', "
        "invoice_id = $4 FROM u WHERE a.seq = u.seq AND a.account_id = $1 AND "
        EXPECTED_STATE("a.finance_status = 'CLEARED' AND a.invoice_id = '' AND a.payout = u.payout")
        " RETURNING a.seq, u.ord, "
        "$8::bigint AS at, a.amount, a.payout, a.status, a.contract_id, a.contract_version) " +
        append_history("INVOICE", "APPROVED", "$4::text", 5, 6, 7);
    for (const lifecycle::Invoice& inv : invoices) {
        {
            Params p;
            p.text(inv.invoice_id)
                .text(account_id)
                .text(inv.partner_id)
                .int64(millis(inv.invoice_date))
                .text(format_day(inv.local_date))
                .text(inv.currency ? inv.currency->code : std::string_view{})
                .int64(inv.total)
                .int64(millis(now));
            Result r = db.run(
                "INSERT INTO invoices (invoice_id, account_id, partner_id, invoice_date, "
                "local_date, currency, total, issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                "ON CONFLICT DO NOTHING",
                p);
            if (r.affected() == 0) continue;  // issued before: an invoice is issued once
        }
        std::vector<const lifecycle::InvoiceLine*> lines;
        for (const lifecycle::InvoiceLine& line : inv.lines) lines.push_back(&line);
        std::int64_t ord = 0;
        in_chunks(lines, [&](std::span<const lifecycle::InvoiceLine* const> chunk) {
            std::vector<std::string_view> kinds, ids, comments;
            std::vector<std::int64_t> items, events, cleared, payouts;
            for (const lifecycle::InvoiceLine* line : chunk) {
                kinds.push_back(line->kind());
                items.push_back(line->key);
                ids.push_back(line->id);
                events.push_back(millis(line->event_date));
                cleared.push_back(millis(line->cleared_at));
                payouts.push_back(line->payout);
                comments.push_back(line->comments);
            }
            Params p;
            p.text(inv.invoice_id)
                .int64(ord)
                .text_array(kinds)
                .int64_array(items)
                .text_array(ids)
                .int64_array(events)
                .int64_array(cleared)
                .int64_array(payouts)
                .text_array(comments);
            db.run(
                "INSERT INTO invoice_lines (invoice_id, ord, kind, item, id, event_date, "
                "cleared_at, payout, comments) SELECT $1, $2::bigint + n - 1, kind, item, id, "
                "event_date, cleared_at, payout, comments FROM unnest($3::text[], $4::bigint[], "
                "$5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[]) WITH "
                "ORDINALITY AS u(kind, item, id, event_date, cleared_at, payout, comments, n)",
                p);
            ord += static_cast<std::int64_t>(chunk.size());

            std::vector<std::int64_t> action_seqs, action_payouts, transfer_seqs, transfer_amounts;
            for (const lifecycle::InvoiceLine* line : chunk) {
                if (line->is_action()) {
                    action_seqs.push_back(line->key);
                    action_payouts.push_back(line->payout);
                } else {
                    transfer_seqs.push_back(line->key);
                    transfer_amounts.push_back(line->payout);
                }
            }
            if (!action_seqs.empty()) {
                Params m;
                m.text(account_id)
                    .int64_array(action_seqs)
                    .int64_array(action_payouts)
                    .text(inv.invoice_id);
                entries.bind(m);
                m.int64(millis(inv.invoice_date));
                const std::int64_t marked = db.run(mark_actions, m).affected();
                if (marked != static_cast<std::int64_t>(action_seqs.size()))
                    out_of_date(db,
                                inv.invoice_id +
                                    " holds an action that is not a cleared action on no invoice");
                entries.appended(marked);
            }
            if (!transfer_seqs.empty()) {
                Params t;
                t.text(account_id)
                    .int64_array(transfer_seqs)
                    .int64_array(transfer_amounts)
                    .text(inv.invoice_id);
                const std::int64_t marked =
                    db.run(
                          "UPDATE transfers t SET invoice_id = $4 FROM unnest($2::bigint[], "
                          "$3::bigint[]) AS u(seq, amount) WHERE t.seq = u.seq AND t.account_id "
                          "= $1 AND " EXPECTED_STATE("t.invoice_id = '' AND t.amount = u.amount"),
                          t)
                        .affected();
                if (marked != static_cast<std::int64_t>(transfer_seqs.size()))
                    out_of_date(db, inv.invoice_id + " holds a transfer that is not on no invoice");
            }
        });
    }
}

// How run_lifecycle carries the lock and the clear out (docs/postgres.md, "The life cycle"):
// the rules of lib/lifecycle decide on each step's actions read through a cursor in the
// step's order, a chunk at a time, each decision going to the sink or into the decisions as
// it is made; the clear reads its queue as the lock will leave it. Then one statement changes
// every action either step decided on, each row once, and appends their history entries and
// debits in the decisions' order. Parameters: $1 account, $2 the run's time; the clear's cut
// (the first action the balance does not cover) $3 its clearing date, $4 its action id, $5 1
// when there is one. The actions' ids compare bytewise (their column is COLLATE "C"), as the
// rules compare them.
#define PG_LOCKS "status = 'PENDING' AND locking_date <= $2::bigint"
// lifecycle::in_clear_queue over the actions as the lock leaves them: a PENDING action that
// locks is DUE, unless it is outside terms.
#define PG_QUEUE                                                                              \
    "((status = 'APPROVED' AND finance_status IN ('DUE', 'OVERDUE') AND "                     \
    "clearing_date <= $2::bigint) OR (status = 'PENDING' AND locking_date <= $2::bigint AND " \
    "finance_status <> 'OUTSIDE_TERMS' AND clearing_date <= $2::bigint))"
#define PG_AHEAD_OF_CUT "($5::int = 0 OR (clearing_date, action_id) < ($3::bigint, $4::text))"
#define PG_QUEUE_ORDER "clearing_date, action_id"

// Reads the rows of `select` through a cursor, kChunk rows at a time, so that no more are in
// memory at once; calls `row(result, i)` for each, in order.
template <typename Fn>
void for_each_row(Connection& db, const char* cursor, const std::string& select,
                  const Params& params, Fn&& row) {
    db.run(std::string("DECLARE ") + cursor + " NO SCROLL CURSOR FOR " + select, params);
    const std::string fetch = "FETCH " + std::to_string(kChunk) + " FROM " + cursor;
    for (;;) {
        const Result r = db.run(fetch);
        for (int i = 0; i < r.rows(); ++i) row(r, i);
        if (r.rows() < static_cast<int>(kChunk)) break;
    }
    db.run(std::string("CLOSE ") + cursor);
}

Params run_params(std::string_view account_id, Instant now) {
    Params p;
    p.text(account_id).int64(millis(now));
    return p;
}

// The lock's decisions, in seq order. Returns how many of the actions that lock the clear's
// queue holds.
std::size_t decide_locks(Connection& db, std::string_view account_id, Instant now,
                         lifecycle::RunDecisions& d, lifecycle::DecisionSink* sink) {
    std::size_t queued = 0;
    for_each_row(
        db, "lifecycle_locks",
        "SELECT seq, action_id, status, finance_status, locking_date, clearing_date FROM actions "
        "WHERE account_id = $1 AND " PG_LOCKS " ORDER BY seq",
        run_params(account_id, now), [&](const Result& r, int i) {
            const std::string_view id = r.text(i, 1);
            const auto status = parse_status(r.text(i, 2));
            const auto finance = parse_finance_status(r.text(i, 3));
            if (!status || !finance)
                throw StoreError(db.where() + ": damaged status of action " + std::string(id));
            const Instant locking_date = instant_from_millis(r.int64(i, 4));
            if (!lifecycle::locks_at(*status, locking_date, now))
                throw StoreError(db.where() + ": the lock's criterion selected action " +
                                 std::string(id) + ", which does not lock");
            lifecycle::Lock l{r.int64(i, 0), std::string(id), locking_date,
                              lifecycle::locked_finance_status(*finance)};
            queued += lifecycle::in_clear_queue(Status::Approved, l.finance_status,
                                                instant_from_millis(r.int64(i, 5)), now);
            ++d.locked;
            if (sink)
                sink->locked(l);
            else
                d.locks.push_back(std::move(l));
        });
    return queued;
}

// The cut of the clear: where the prefix of the queue that the balance covers ends; and the
// clear's debits, the actions it clears with a payout above 0.
struct Cut {
    bool some = false;
    std::int64_t clearing_date = 0;
    std::string action_id;
    std::int64_t debits = 0;
};

// The clear's decisions, over its queue as the lock leaves it, in queue order. Returns the
// cut.
Cut decide_clearing(Connection& db, std::string_view account_id, Instant now, std::int64_t balance,
                    lifecycle::ClearDecisions& d, lifecycle::DecisionSink* sink) {
    lifecycle::ClearQueue clear(balance, now);
    d.balance_after = balance;
    Cut cut;
    for_each_row(
        db, "lifecycle_queue",
        "SELECT seq, action_id, payout, clearing_date, status, finance_status, locking_date FROM "
        "actions WHERE account_id = $1 AND " PG_QUEUE " ORDER BY " PG_QUEUE_ORDER,
        run_params(account_id, now), [&](const Result& r, int i) {
            const std::string_view id = r.text(i, 1);
            const std::int64_t clearing_date = r.int64(i, 3);
            auto status = parse_status(r.text(i, 4));
            auto finance = parse_finance_status(r.text(i, 5));
            if (!status || !finance)
                throw StoreError(db.where() + ": damaged status of action " + std::string(id));
            if (lifecycle::locks_at(*status, instant_from_millis(r.int64(i, 6)), now)) {
                status = Status::Approved;
                finance = lifecycle::locked_finance_status(*finance);
            }
            if (!lifecycle::in_clear_queue(*status, *finance, instant_from_millis(clearing_date),
                                           now))
                throw StoreError(db.where() + ": the clear's criterion selected action " +
                                 std::string(id) + ", which is not in its queue");
            const bool overdue = *finance == FinanceStatus::Overdue;
            const std::int64_t payout = r.int64(i, 2);
            if (clear.decide(lifecycle::QueueItem{r.int64(i, 0), id, payout,
                                                  instant_from_millis(clearing_date), overdue},
                             d, sink)) {
                cut.debits += payout > 0;
            } else if (!cut.some) {
                cut.some = true;
                cut.clearing_date = clearing_date;
                cut.action_id = id;
            }
        });
    return cut;
}

// The history entries of one part of the run (append_history), a part of its statement named
// `name`, from `rows` (a subquery giving append_history's columns), numbered from $6 plus
// `after`.
std::string run_part(const char* name, const char* operation, const char* old_status,
                     const std::string& rows, const char* after, const char* order) {
    return std::string(name) + " AS (" +
           append_history(operation, old_status, "''", 6, 7, 8, order, rows.c_str(), after) +
           " RETURNING 1)";
}

// Carries out the lock's and the clear's decisions: every action that locks, and every queue
// action ahead of the cut (CLEARED, cleared_at its clearing date or T if it was overdue) or
// after it and not yet overdue (OVERDUE), changed once by one UPDATE, whose SET expressions
// read each row as it was; their LOCK entries in seq order, from the rows as the statement
// found them (all of its parts see the ledger before it); their CLEAR entries and debits
// (payout > 0) and their OVERDUE entries in the queue's order, from the rows the UPDATE
// returned. No part joins the actions to anything. When the clear changes nothing, only the
// lock's UPDATE runs.
void carry_out_run(Connection& db, Entries& entries, std::string_view account_id, Instant now,
                   const Cut& cut, const lifecycle::RunDecisions& d,
                   std::size_t locked_into_queue) {
    const std::size_t cleared = d.clearing.cleared, overdue = d.clearing.newly_overdue;
    if (cleared + overdue == 0) {
        if (d.locked == 0) return;
        static const std::string sql =
            "WITH upd AS (UPDATE actions SET status = 'APPROVED', finance_status = CASE "
            "finance_status WHEN 'OUTSIDE_TERMS' THEN 'OUTSIDE_TERMS' ELSE 'DUE' END WHERE "
            "account_id = $1 AND " PG_LOCKS
            " RETURNING seq, seq AS ord, locking_date AS at, amount, payout, status, "
            "contract_id, contract_version) " +
            append_history("LOCK", "PENDING", "''", 3, 4, 5);
        Params lock = run_params(account_id, now);
        entries.bind(lock);
        const std::int64_t written = db.run(sql, lock).affected();
        if (written != static_cast<std::int64_t>(d.locked))
            out_of_date(db, "the actions the lock changes are not those decided");
        entries.appended(written);
        return;
    }
    static const std::string sql =
        "WITH " +
        run_part("locks", "LOCK", "PENDING",
                 "(SELECT seq, locking_date AS at, amount, payout, 'APPROVED' AS status, "
                 "contract_id, contract_version FROM actions WHERE account_id = $1 AND " PG_LOCKS
                 ") l",
                 nullptr, "seq") +
        ", upd AS (UPDATE actions SET status = 'APPROVED', finance_status = CASE WHEN NOT " PG_QUEUE
        " THEN (CASE finance_status WHEN 'OUTSIDE_TERMS' THEN 'OUTSIDE_TERMS' ELSE "
        "'DUE' END) WHEN " PG_AHEAD_OF_CUT
        " THEN 'CLEARED' ELSE 'OVERDUE' END, cleared_at = "
        "CASE WHEN " PG_QUEUE " AND " PG_AHEAD_OF_CUT
        " THEN (CASE WHEN finance_status = "
        "'OVERDUE' THEN $2::bigint ELSE clearing_date END) ELSE cleared_at END WHERE account_id "
        "= $1 AND ((" PG_LOCKS ") OR (" PG_QUEUE " AND (" PG_AHEAD_OF_CUT
        " OR finance_status "
        "<> 'OVERDUE'))) RETURNING seq, action_id, clearing_date, cleared_at, amount, payout, "
        "status, finance_status, contract_id, contract_version), " +
        run_part("clears", "CLEAR", "APPROVED",
                 "(SELECT *, cleared_at AS at FROM upd WHERE finance_status = 'CLEARED') c",
                 "$9::bigint", PG_QUEUE_ORDER) +
        ", " +
        // The rows already overdue that stay so are not in `upd`.
        run_part("overdues", "OVERDUE", "APPROVED",
                 "(SELECT *, clearing_date AS at FROM upd WHERE finance_status = 'OVERDUE') o",
                 "$10::bigint", PG_QUEUE_ORDER) +
        ", debits AS (INSERT INTO funds_entries (account_id, kind, amount, at, reference, item) "
        "SELECT $1, 'CLEARING', payout, cleared_at, action_id, seq FROM upd WHERE finance_status "
        "= 'CLEARED' AND payout > 0 ORDER BY " PG_QUEUE_ORDER
        " RETURNING 1) "
        "SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM locks), (SELECT count(*) FROM "
        "clears), (SELECT count(*) FROM overdues), (SELECT count(*) FROM debits)";
    Params p = run_params(account_id, now);
    p.int64(cut.clearing_date).text(cut.action_id).int64(cut.some ? 1 : 0);
    entries.bind(p);
    p.int64(static_cast<std::int64_t>(d.locked))
        .int64(static_cast<std::int64_t>(d.locked + cleared));
    const Result r = db.run(sql, p);
    // Every action a decision changes, once: the locked ones, and those of the queue that
    // clear or become overdue, less the locked ones among them.
    const auto n = [](std::size_t count) { return static_cast<std::int64_t>(count); };
    if (r.int64(0, 0) != n(d.locked + cleared + overdue - locked_into_queue) ||
        r.int64(0, 1) != n(d.locked) || r.int64(0, 2) != n(cleared) ||
        r.int64(0, 3) != n(overdue) || r.int64(0, 4) != cut.debits)
        out_of_date(db, "the actions the lock and the clear change are not those decided");
    entries.appended(static_cast<std::int64_t>(d.locked + cleared + overdue));
}

// The invoices of a run: only the items it puts on one are read (lifecycle::invoice_cutoff).
void run_invoices(Connection& db, Entries& entries, const Account& account, Instant now,
                  lifecycle::RunDecisions& d) {
    Params a;
    a.text(account.id);
    lifecycle::InvoiceWaiting waiting;
    waiting.last_invoice_date = instant_from_millis(
        db.run("SELECT max(invoice_date) FROM invoices WHERE account_id = $1", a)
            .optional_int64(0, 0));
    waiting.transfers = read_transfers(db, account.id);
    {
        const Result r = db.run(
            "SELECT count(*), count(cleared_at), min(cleared_at) FROM actions WHERE account_id = "
            "$1 AND status = 'APPROVED' AND finance_status = 'CLEARED' AND invoice_id = ''",
            a);
        if (r.int64(0, 0) != r.int64(0, 1))
            throw StoreError(db.where() + ": a cleared action of account " + account.id +
                             " has no cleared_at");
        waiting.cleared_actions = static_cast<std::size_t>(r.int64(0, 0));
        waiting.oldest_cleared_at = instant_from_millis(r.optional_int64(0, 2));
    }
    lifecycle::decide_run_invoices(
        account, waiting,
        [&](Instant cutoff) {
            std::vector<lifecycle::ActionState> cleared;
            Params p;
            p.text(account.id).int64(millis(cutoff));
            read_action_states(db,
                               db.run("SELECT " ACTION_STATE_COLUMNS
                                      " FROM actions WHERE account_id = $1 AND status = "
                                      "'APPROVED' AND finance_status = 'CLEARED' AND invoice_id = "
                                      "'' AND cleared_at < $2 ORDER BY seq",
                                      p),
                               cleared);
            return cleared;
        },
        now, d);
    write_invoices(db, entries, account.id, d.invoices, now);
}

}  // namespace

lifecycle::AccountBook PostgresStore::read_book(std::string_view account_id, Instant now) {
    lifecycle::AccountBook book;
    {
        Params p;
        p.text(account_id).int64(millis(now));
        Result r = db_.run("SELECT " ACTION_STATE_COLUMNS
                           " FROM actions WHERE account_id = $1 AND ((status = 'PENDING' AND "
                           "locking_date <= $2) OR (status = 'APPROVED' AND "
                           "finance_status IN ('DUE', 'OVERDUE', 'CLEARED'))) ORDER BY seq",
                           p);
        read_action_states(db_, r, book.actions);
    }
    book.transfers = read_transfers(db_, account_id);
    book.balance = read_balance(db_, account_id);
    Params p;
    p.text(account_id);
    Result r = db_.run("SELECT max(invoice_date) FROM invoices WHERE account_id = $1", p);
    book.last_invoice_date = instant_from_millis(r.optional_int64(0, 0));
    return book;
}

void PostgresStore::write_run(std::string_view account_id, const lifecycle::RunDecisions& d) {
    // The writers of the ledger take turns on the counters (docs/postgres.md, "Instances").
    db_.run("SELECT value FROM counters WHERE name IN ('action_seq', 'history_entry') FOR UPDATE");
    lock_funds(db_, account_id);
    Entries entries(db_, d.now);
    entries.start();
    write_locks(db_, entries, account_id, d.locks);
    write_clears(db_, entries, account_id, d.clearing.clears);
    write_overdue(db_, entries, account_id, d.clearing.overdue);
    write_invoices(db_, entries, account_id, d.invoices, d.now);
    entries.finish();
    if (read_balance(db_, account_id) < 0)
        out_of_date(db_, "the clearing debits take the balance of account " +
                             std::string(account_id) + " below 0");
}

lifecycle::AccountBook PostgresStore::load_book(std::string_view account_id, Instant now) {
    return read_book(account_id, now);
}

void PostgresStore::apply_run(std::string_view account_id, const lifecycle::RunDecisions& d) {
    Transaction tx(db_);
    write_run(account_id, d);
    tx.commit();
}

lifecycle::RunDecisions PostgresStore::run_lifecycle(const Account& account, Instant now,
                                                     lifecycle::DecisionSink* sink) {
    // Set-based (see carry_out_run): the steps decide on rows read through cursors, so that no
    // account's book is held in memory, and one statement carries the lock and the clear out;
    // lifecycle::decide_run and apply_run, on a book in memory, are the reference it is tested
    // against.
    Transaction tx(db_);
    // Taken first: no batch or other run changes the ledger meanwhile (docs/postgres.md,
    // "Instances"), and no deposit the account's balance.
    db_.run("SELECT value FROM counters WHERE name IN ('action_seq', 'history_entry') FOR UPDATE");
    lock_funds(db_, account.id);
    lifecycle::RunDecisions d;
    d.now = now;
    const std::int64_t balance = read_balance(db_, account.id);
    Entries entries(db_, now);
    entries.start();
    const std::size_t locked_into_queue = decide_locks(db_, account.id, now, d, sink);
    const Cut cut = decide_clearing(db_, account.id, now, balance, d.clearing, sink);
    carry_out_run(db_, entries, account.id, now, cut, d, locked_into_queue);
    run_invoices(db_, entries, account, now, d);
    entries.finish();
    if (read_balance(db_, account.id) != d.clearing.balance_after)
        out_of_date(db_, "the balance of account " + account.id +
                             " after the clearing debits is not the one decided");
    tx.commit();
    return d;
}

std::optional<std::int64_t> PostgresStore::deposit(std::string_view account_id, std::int64_t amount,
                                                   Instant at, std::string_view reference) {
    if (amount <= 0) throw std::invalid_argument("a deposit must be more than 0");
    Transaction tx(db_);
    // Serialized with the other deposits of the account, so that the overflow check holds,
    // and with the runs, which decide on the balance.
    lock_funds(db_, account_id);
    std::int64_t after = 0;
    if (__builtin_add_overflow(read_balance(db_, account_id), amount, &after)) return std::nullopt;
    add_funds_entry(db_, account_id, FundsEntry::Kind::Deposit, amount, at, reference,
                    std::nullopt);
    tx.commit();
    return after;
}

std::int64_t PostgresStore::balance(std::string_view account_id) {
    return read_balance(db_, account_id);
}

std::vector<FundsEntry> PostgresStore::funds_entries(std::string_view account_id) {
    Params p;
    p.text(account_id);
    Result r = db_.run(
        "SELECT kind, amount, at, reference FROM funds_entries WHERE account_id = $1 ORDER BY id",
        p);
    std::vector<FundsEntry> entries;
    for (int i = 0; i < r.rows(); ++i) {
        FundsEntry& e = entries.emplace_back();
        const std::string_view kind = r.text(i, 0);
        const auto parsed = parse_funds_entry_kind(kind);
        if (!parsed)
            throw StoreError(db_.where() + ": damaged funds entry kind \"" + std::string(kind) +
                             "\"");
        e.kind = *parsed;
        e.amount = r.int64(i, 1);
        e.at = instant_from_millis(r.int64(i, 2));
        e.reference = r.text(i, 3);
    }
    return entries;
}

std::vector<lifecycle::Invoice> PostgresStore::read_invoices(const char* sql,
                                                             std::string_view key) {
    std::vector<lifecycle::Invoice> out;
    {
        Params p;
        p.text(key);
        Result r = db_.run(sql, p);
        for (int i = 0; i < r.rows(); ++i) {
            lifecycle::Invoice& inv = out.emplace_back();
            inv.invoice_id = r.text(i, 0);
            inv.account_id = r.text(i, 1);
            inv.partner_id = r.text(i, 2);
            inv.invoice_date = instant_from_millis(r.int64(i, 3));
            inv.local_date = parse_day(r.text(i, 4));
            inv.currency = find_currency(r.text(i, 5));
            if (!inv.currency)
                throw StoreError(db_.where() + ": damaged currency of invoice " + inv.invoice_id);
            inv.total = r.int64(i, 6);
        }
    }
    for (lifecycle::Invoice& inv : out) {
        Params p;
        p.text(inv.invoice_id);
        Result r = db_.run(
            "SELECT kind, item, id, event_date, cleared_at, payout, comments FROM invoice_lines "
            "WHERE invoice_id = $1 ORDER BY ord",
            p);
        for (int i = 0; i < r.rows(); ++i) {
            lifecycle::InvoiceLine& line = inv.lines.emplace_back();
            if (const std::string_view kind = r.text(i, 0); kind != "ACTION") {
                line.transfer_type = parse_transfer_type(kind);
                if (!line.transfer_type)
                    throw StoreError(db_.where() + ": damaged line kind of invoice " +
                                     inv.invoice_id);
            }
            line.key = r.int64(i, 1);
            line.id = r.text(i, 2);
            line.event_date = instant_from_millis(r.int64(i, 3));
            line.cleared_at = instant_from_millis(r.int64(i, 4));
            line.payout = r.int64(i, 5);
            line.comments = r.text(i, 6);
        }
    }
    return out;
}

#define INVOICE_COLUMNS \
    "invoice_id, account_id, partner_id, invoice_date, local_date, currency, total"

std::vector<lifecycle::Invoice> PostgresStore::invoices(std::string_view account_id) {
    return read_invoices("SELECT " INVOICE_COLUMNS
                         " FROM invoices WHERE account_id = $1 ORDER BY invoice_date, invoice_id",
                         account_id);
}

std::optional<lifecycle::Invoice> PostgresStore::invoice(std::string_view invoice_id) {
    auto found =
        read_invoices("SELECT " INVOICE_COLUMNS " FROM invoices WHERE invoice_id = $1", invoice_id);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

std::vector<std::string> PostgresStore::invoices_without_files(std::string_view account_id) {
    Params p;
    p.text(account_id);
    // OFFSET 0 keeps the look a probe of the record's key per invoice of the account: as an
    // anti-join, the planner hashes the whole record, every account's, at every run.
    Result r = db_.run(
        "SELECT i.invoice_id FROM invoices i WHERE i.account_id = $1 AND NOT EXISTS "
        "(SELECT 1 FROM invoice_files f WHERE f.invoice_id = i.invoice_id OFFSET 0) "
        "ORDER BY i.invoice_date, i.invoice_id",
        p);
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

void PostgresStore::record_invoice_files(std::span<const std::string> invoice_ids, Instant at) {
    if (invoice_ids.empty()) return;
    std::vector<std::string_view> ids(invoice_ids.begin(), invoice_ids.end());
    Params p;
    p.text_array(ids).int64(millis(at));
    db_.run(
        "INSERT INTO invoice_files (invoice_id, written_at) SELECT unnest($1::text[]), $2 "
        "ON CONFLICT (invoice_id) DO NOTHING",
        p);
}

}  // namespace actiondrop::store::postgres
