// The life cycle's money in SQLite (store/lifecycle_ledger.hpp, docs/lifecycle.md): an
// account's book for a run, the run carried out in one transaction, the funds ledger and the
// invoices.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <vector>

#include "lifecycle/calendar.hpp"
#include "lifecycle/queue_order.hpp"
#include "store/catalog_codec.hpp"
#include "store/sqlite/action_rows.hpp"
#include "store/sqlite/funds_rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace actiondrop::store::sqlite {

using namespace actiondrop::ledger;

namespace {

// A run's history entries are of no batch: they name the empty batch id, line 0, and say
// in their note which run wrote them.
constexpr std::string_view kNoBatch = "";

std::int64_t changes(Database& db) { return sqlite3_changes64(db.handle()); }

// Appends the history entries of a run, taking the amounts, payout and contract from the
// action's row as it is now.
class HistoryWriter {
public:
    HistoryWriter(Database& db, Instant now)
        : db_(db),
          next_entry_(read_counter(db, "history_entry")),
          batch_(history_batch_id(db, kNoBatch)),
          note_("lifecycle run at " + format_instant(now)) {}

    void add(std::int64_t seq, Instant at, Operation op, Status old_status,
             std::string_view reason) {
        Use q(db_.cached(
            "INSERT INTO history_rows (entry_id, action_seq, at, batch, line, operation, reason, "
            "old_amount, new_amount, old_payout, new_payout, old_status, new_status, contract_id, "
            "contract_version, note) SELECT ?1, seq, ?2, ?3, 0, ?4, ?5, amount, amount, payout, "
            "payout, ?6, status, contract_id, contract_version, ?7 FROM actions WHERE seq = ?8"));
        q->bind(1, next_entry_++);
        q->bind(2, millis(at));
        q->bind(3, batch_);
        q->bind_text(4, operation_name(op));
        q->bind_text(5, reason);
        q->bind_text(6, status_name(old_status));
        q->bind_text(7, note_);
        q->bind(8, seq);
        q->run();
    }

    void finish() { write_counter(db_, "history_entry", next_entry_); }

private:
    Database& db_;
    std::int64_t next_entry_;
    std::int64_t batch_;
    std::string note_;
};

[[noreturn]] void out_of_date(Database& db, const std::string& what) {
    throw StoreError(db.path() + ": a lifecycle decision no longer fits the ledger: " + what);
}

#define ACTION_STATE_COLUMNS                                                                 \
    "seq, action_id, partner_id, status, finance_status, payout, event_date, locking_date, " \
    "clearing_date, cleared_at, invoice_id"

// Reads the rows of a SELECT of ACTION_STATE_COLUMNS.
void read_action_states(Database& db, Statement& q, std::vector<lifecycle::ActionState>& out) {
    while (q.step()) {
        lifecycle::ActionState& a = out.emplace_back();
        a.key = q.int64_at(0);
        a.action_id = q.text_at(1);
        a.partner_id = q.text_at(2);
        const auto status = parse_status(q.text_at(3));
        const auto finance = parse_finance_status(q.text_at(4));
        if (!status || !finance)
            throw StoreError(db.path() + ": damaged status of action " + a.action_id);
        a.status = *status;
        a.finance_status = *finance;
        a.payout = q.int64_at(5);
        a.event_date = instant_from_millis(q.int64_at(6));
        a.locking_date = instant_from_millis(q.int64_at(7));
        a.clearing_date = instant_from_millis(q.int64_at(8));
        a.cleared_at = instant_from_millis(q.optional_int64_at(9));
        a.invoice_id = q.text_at(10);
    }
}

// The account's transfers on no invoice, in the order made.
std::vector<Transfer> read_transfers(Database& db, std::string_view account_id) {
    std::vector<Transfer> transfers;
    {
        Use q(db.cached(
            "SELECT seq, transfer_id, partner_id, campaign_id, type, amount, payment_date, "
            "applied_at, comments FROM transfers WHERE account_id = ?1 AND invoice_id = '' "
            "ORDER BY seq"));
        q->bind_text(1, account_id);
        while (q->step()) {
            Transfer& t = transfers.emplace_back();
            t.key = q->int64_at(0);
            t.transfer_id = q->text_at(1);
            t.account_id = account_id;
            t.partner_id = q->text_at(2);
            t.campaign_id = q->text_at(3);
            const auto type = parse_transfer_type(q->text_at(4));
            if (!type) throw StoreError(db.path() + ": damaged type of transfer " + t.transfer_id);
            t.type = *type;
            t.amount = q->int64_at(5);
            t.payment_date = instant_from_millis(q->int64_at(6));
            t.applied_at = instant_from_millis(q->int64_at(7));
            t.comments = q->text_at(8);
        }
    }
    return transfers;
}

ledger::Status read_status(Database& db, std::string_view text, std::string_view action_id) {
    const auto status = parse_status(text);
    if (!status)
        throw StoreError(db.path() + ": damaged status of action " + std::string(action_id));
    return *status;
}

ledger::FinanceStatus read_finance_status(Database& db, std::string_view text,
                                          std::string_view action_id) {
    const auto finance = parse_finance_status(text);
    if (!finance)
        throw StoreError(db.path() + ": damaged finance status of action " +
                         std::string(action_id));
    return *finance;
}

// How a run's lock and clear go through the tables (docs/lifecycle.md, "How the store runs a
// step"). Each step reads its actions once, as compact rows in its own order (an ORDER BY that
// SQLite sorts), and streams them through the rule of lib/lifecycle, each decision to the sink
// or kept; the clear counts and sums its debits as its rows go by. The run's history entries
// and debits are its row in lifecycle_runs (record_run). The actions then change in one
// UPDATE over the set the rules' criteria and the clear's cut describe. Parameters: ?1
// account, ?2 the run's time; ?3, ?4 the clearing date and action id of the first action the
// balance does not cover (the cut), ?5 1 when there is one; ?6 the run.
//
// lifecycle::locks_at: PENDING with locking_date <= now.
#define LOCKS "(status = 'PENDING' AND locking_date <= ?2)"
// lifecycle::in_clear_queue, over the actions as the lock leaves them (a PENDING action that
// locks is DUE unless it is outside terms).
#define QUEUE                                                                 \
    "((status = 'APPROVED' AND finance_status IN ('DUE', 'OVERDUE') AND "     \
    "clearing_date <= ?2) OR (status = 'PENDING' AND locking_date <= ?2 AND " \
    "finance_status <> 'OUTSIDE_TERMS' AND clearing_date <= ?2))"
// Ahead of the cut: the actions the clear takes, a prefix of the queue in its order (clearing
// date, then action id; the column's collation is BINARY, so ids compare bytewise, as
// std::string does).
#define CLEARS "(?5 = 0 OR (clearing_date, action_id) < (?3, ?4))"
#define CLEARED_AT "(CASE WHEN finance_status = 'OVERDUE' THEN ?2 ELSE clearing_date END)"
// A cleared action waiting for an invoice (lifecycle::InvoiceWaiting).
#define WAITING "(status = 'APPROVED' AND finance_status = 'CLEARED' AND invoice_id = '')"

// The page cache while the clear's queue is sorted (docs/lifecycle.md, "Scale"). SQLite gives
// a sort as much memory as the page cache, and keeps what it sorted in memory when it fits: a
// queue of a million actions sorted with the store's 64 MiB cache took 2.0 s and 137 MiB;
// with 16 MiB, 1.6 s and 38 MiB, the sort spilling to a temporary file and merged from there.
// The sort is done by the statement's first step; the cache is the store's again for the
// writes that follow, which need it (with 16 MiB throughout, the run took a quarter longer).
// The pass that gathers the queue into the program's memory runs on it too.
class SortPageCache {
public:
    static constexpr int kKiB = 16 * 1024;
    explicit SortPageCache(Database& db) : db_(db) { db_.set_cache_kib(kKiB); }
    ~SortPageCache() {
        try {
            db_.set_cache_kib(kCacheKiB);
        } catch (const std::exception&) {
            // A pragma that fails leaves the smaller cache, which is slower, not wrong.
        }
    }
    SortPageCache(const SortPageCache&) = delete;
    SortPageCache& operator=(const SortPageCache&) = delete;

private:
    Database& db_;
};

// A run's clearing debits: the actions it clears with a payout above 0, and their sum.
struct Debits {
    std::int64_t count = 0;
    std::int64_t sum = 0;
};

// The cut of the clear: where the prefix of the queue that the balance covers ends.
struct Cut {
    bool some = false;
    Instant clearing_date{};
    std::string action_id;
};

// A run's LOCK, CLEAR and OVERDUE entries and its clearing debits are no rows
// (docs/lifecycle.md, "A run's entries in SQLite"): the run is one row of lifecycle_runs,
// which takes the next ids of the history counter for the entries, its locks' first, then its
// clears', then its overdue actions', and the next funds entry ids for its debits; the
// UPDATE names it in each action it locks, clears or makes overdue. Returns the run; 0 when it
// changes nothing, and then no row.
std::int64_t record_run(Database& db, std::string_view account_id, Instant now, std::size_t locks,
                        std::size_t clears, std::size_t overdues, const Debits& debits) {
    if (locks + clears + overdues == 0) return 0;
    const std::int64_t first_entry = read_counter(db, "history_entry");
    const std::int64_t first_funds = next_funds_entry(db);
    const std::int64_t batch = history_batch_id(db, kNoBatch);
    const std::string note = "lifecycle run at " + format_instant(now);  // bound, not copied
    Use q(db.cached(
        "INSERT INTO lifecycle_runs (run, at, first_entry, locks, clears, overdues, batch, note, "
        "account_id, first_funds, debits, debited) VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?11)"));
    q->bind(1, millis(now));
    q->bind(2, first_entry);
    q->bind(3, static_cast<std::int64_t>(locks));
    q->bind(4, static_cast<std::int64_t>(clears));
    q->bind(5, static_cast<std::int64_t>(overdues));
    q->bind(6, batch);
    q->bind_text(7, note);
    q->bind_text(8, account_id);
    q->bind(9, first_funds);
    q->bind(10, debits.count);
    q->bind(11, debits.sum);
    q->run();
    const std::int64_t run = db.last_insert_rowid();
    write_counter(db, "history_entry",
                  first_entry + static_cast<std::int64_t>(locks + clears + overdues));
    return run;
}

// The clear: each action of its queue, given in queue order, through lifecycle::ClearQueue.
// The clears are a prefix of the queue; their debits (payout > 0) are no rows but the run's
// (record_run), counted here; the cut is the first action the balance does not cover.
class ClearStep {
public:
    ClearStep(std::int64_t balance, Instant now, lifecycle::ClearDecisions& d,
              lifecycle::DecisionSink* sink)
        : now_(now), clear_(balance, now), d_(d), sink_(sink) {
        d_.balance_after = balance;
    }

    void take(const lifecycle::QueueItem& a) {
        if (clear_.decide(a, d_, sink_)) {
            // Its cleared_at (docs/lifecycle.md, "Clear"), as CLEARED_AT sets it.
            const Instant at = a.overdue ? now_ : a.clearing_date;
            if (!oldest_cleared_at || at < *oldest_cleared_at) oldest_cleared_at = at;
            // A 0 payout moves no money and makes no funds entry (docs/lifecycle.md, "Clear").
            if (a.payout > 0) {
                ++debits.count;
                debits.sum += a.payout;  // at most the balance, which fits
            }
            return;
        }
        if (!cut.some) cut = Cut{true, a.clearing_date, std::string(a.action_id)};
    }

    Cut cut;
    Debits debits;
    std::optional<Instant> oldest_cleared_at;  // of the actions it clears

private:
    Instant now_;
    lifecycle::ClearQueue clear_;
    lifecycle::ClearDecisions& d_;
    lifecycle::DecisionSink* sink_;
};

// The lock, the clear's queue gathered and the actions waiting for an invoice counted: one
// pass over the account's actions that lock, are in the queue (as the lock leaves them) or
// wait for an invoice, in the order they were created (seq, the rows' own order, so no
// sort). Those that lock go through the lock's rule, each decision to `sink` or kept; the
// queue's go to `queue`, which puts them in queue order in memory until it is full; those
// waiting are counted in `waiting`. Returns how many of those that lock the queue holds.
std::size_t lock_and_gather_queue(Database& db, std::string_view account_id, Instant now,
                                  lifecycle::RunDecisions& d, lifecycle::DecisionSink* sink,
                                  lifecycle::QueueOrder& queue,
                                  lifecycle::InvoiceWaiting& waiting) {
    std::size_t queued = 0;
    {
        Use q(
            db.cached("SELECT seq, action_id, status, finance_status, locking_date, "
                      "clearing_date, payout, cleared_at FROM actions WHERE account_id = ?1 "
                      "AND (" LOCKS " OR " QUEUE " OR " WAITING ") ORDER BY seq"));
        q->bind_text(1, account_id);
        q->bind(2, millis(now));
        while (q->step()) {
            const std::string_view id = q->text_at(1);
            ledger::Status status = read_status(db, q->text_at(2), id);
            ledger::FinanceStatus finance = read_finance_status(db, q->text_at(3), id);
            if (finance == ledger::FinanceStatus::Cleared) {
                // Selected as WAITING: neither locks nor is in the queue, and the run leaves it.
                if (status != ledger::Status::Approved)
                    throw StoreError(db.path() + ": the run's criteria selected action " +
                                     std::string(id) + ", cleared but not approved");
                if (!q->optional_int64_at(7))
                    throw StoreError(db.path() + ": a cleared action of account " +
                                     std::string(account_id) + " has no cleared_at");
                const Instant at = instant_from_millis(*q->optional_int64_at(7));
                ++waiting.cleared_actions;
                if (!waiting.oldest_cleared_at || at < *waiting.oldest_cleared_at)
                    waiting.oldest_cleared_at = at;
                continue;
            }
            const Instant locking_date = instant_from_millis(q->int64_at(4));
            const Instant clearing_date = instant_from_millis(q->int64_at(5));
            const bool locks = lifecycle::locks_at(status, locking_date, now);
            if (locks) {
                lifecycle::Lock l{q->int64_at(0), std::string(id), locking_date,
                                  lifecycle::locked_finance_status(finance)};
                status = ledger::Status::Approved;
                finance = l.finance_status;
                ++d.locked;
                if (sink)
                    sink->locked(l);
                else
                    d.locks.push_back(std::move(l));
            }
            if (!lifecycle::in_clear_queue(status, finance, clearing_date, now)) {
                if (locks) continue;
                throw StoreError(db.path() + ": the run's criteria selected action " +
                                 std::string(id) + ", which neither locks nor is in the queue");
            }
            queued += locks;
            (void)queue.add(lifecycle::QueueItem{q->int64_at(0), id, q->int64_at(6), clearing_date,
                                                 finance == ledger::FinanceStatus::Overdue});
        }
    }
    return queued;
}

// The clear, when its queue was too large for the program's memory: the queue, as the lock
// leaves it, read again in queue order, sorted by SQLite (on the small page cache, so that a
// run's memory does not grow with the account).
void stream_clearing(Database& db, std::string_view account_id, Instant now, ClearStep& step) {
    Use q(
        db.cached("SELECT seq, action_id, status, finance_status, locking_date, payout, "
                  "clearing_date FROM actions WHERE account_id = ?1 AND " QUEUE
                  " ORDER BY clearing_date, action_id"));
    q->bind_text(1, account_id);
    q->bind(2, millis(now));
    bool more = false;
    {
        const SortPageCache sort_cache(db);
        more = q->step();
    }
    for (; more; more = q->step()) {
        const std::int64_t seq = q->int64_at(0);
        const std::string_view id = q->text_at(1);
        ledger::Status status = read_status(db, q->text_at(2), id);
        ledger::FinanceStatus finance = read_finance_status(db, q->text_at(3), id);
        const std::int64_t payout = q->int64_at(5);
        const Instant clearing_date = instant_from_millis(q->int64_at(6));
        if (lifecycle::locks_at(status, instant_from_millis(q->int64_at(4)), now)) {
            status = ledger::Status::Approved;
            finance = lifecycle::locked_finance_status(finance);
        }
        if (!lifecycle::in_clear_queue(status, finance, clearing_date, now))
            throw StoreError(db.path() + ": the clear's criterion selected action " +
                             std::string(id) + ", which is not in its queue");
        step.take(lifecycle::QueueItem{seq, id, payout, clearing_date,
                                       finance == ledger::FinanceStatus::Overdue});
    }
}

// The actions' side of the lock and the clear: one UPDATE of the rows that change, those that
// lock, those the clear takes and those that become overdue, each naming the run (the SET
// expressions read each row as it was). When the clear takes nothing and makes nothing
// overdue (`queue_changes` false), the rows that lock are the only ones, none of them in the
// queue, and a simpler statement changes them the same way: most runs, and a tenth less time
// for a run that locks a million actions (docs/lifecycle.md, "Scale"). Returns how many rows
// changed.
std::int64_t update_actions(Database& db, std::string_view account_id, Instant now, const Cut& cut,
                            std::int64_t run, bool queue_changes) {
    if (!queue_changes) {
        Use q(db.cached(
            "UPDATE actions SET status = 'APPROVED', lock_run = ?6, finance_status = CASE "
            "finance_status WHEN 'OUTSIDE_TERMS' THEN 'OUTSIDE_TERMS' ELSE 'DUE' END WHERE "
            "account_id = ?1 AND " LOCKS));
        q->bind_text(1, account_id);
        q->bind(2, millis(now));
        q->bind(6, run);
        q->run();
        return changes(db);
    }
    Use q(
        db.cached("UPDATE actions SET status = 'APPROVED', lock_run = CASE WHEN " LOCKS
                  " THEN lifecycle_tally(0, ?6, 0) ELSE lock_run END, clear_run = CASE WHEN " QUEUE
                  " AND " CLEARS
                  " THEN lifecycle_tally(1, ?6, payout) ELSE clear_run END, overdue_run = "
                  "CASE WHEN " QUEUE " AND NOT " CLEARS " AND finance_status <> 'OVERDUE' THEN "
                  "lifecycle_tally(2, ?6, 0) ELSE overdue_run END, "
                  "finance_status = CASE WHEN NOT " QUEUE
                  " THEN (CASE finance_status WHEN 'OUTSIDE_TERMS' THEN 'OUTSIDE_TERMS' ELSE 'DUE' "
                  "END) WHEN " CLEARS
                  " THEN 'CLEARED' ELSE 'OVERDUE' END, cleared_at = CASE WHEN " QUEUE " AND " CLEARS
                  " THEN " CLEARED_AT " ELSE cleared_at END WHERE account_id = ?1 AND (" LOCKS
                  " OR (" QUEUE " AND (" CLEARS " OR finance_status <> 'OVERDUE')))"));
    q->bind_text(1, account_id);
    q->bind(2, millis(now));
    q->bind(3, millis(cut.clearing_date));
    q->bind_text(4, cut.action_id);
    q->bind(5, std::int64_t{cut.some ? 1 : 0});
    q->bind(6, run);
    q->run();
    return changes(db);
}

// Issues the invoices decided, with their lines, and marks what they hold INVOICED (history
// INVOICE). An invoice issued before is skipped whole; a line whose action or transfer is not
// waiting for an invoice rolls the run back.
void write_invoices(Database& db, HistoryWriter& history, std::string_view account_id,
                    const std::vector<lifecycle::Invoice>& invoices, Instant now) {
    for (const lifecycle::Invoice& inv : invoices) {
        const std::string local = format_day(inv.local_date);
        {
            Use q(db.cached(
                "INSERT INTO invoices (invoice_id, account_id, partner_id, invoice_date, "
                "local_date, currency, total, issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                "ON CONFLICT DO NOTHING"));
            q->bind_text(1, inv.invoice_id);
            q->bind_text(2, account_id);
            q->bind_text(3, inv.partner_id);
            q->bind(4, millis(inv.invoice_date));
            q->bind_text(5, local);
            q->bind_text(6, inv.currency ? inv.currency->code : std::string_view{});
            q->bind(7, inv.total);
            q->bind(8, millis(now));
            q->run();
        }
        if (changes(db) == 0) continue;  // issued before: an invoice is issued once
        std::int64_t ord = 0;
        for (const lifecycle::InvoiceLine& line : inv.lines) {
            {
                Use q(db.cached(
                    "INSERT INTO invoice_lines (invoice_id, ord, kind, item, id, event_date, "
                    "cleared_at, payout, comments) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
                q->bind_text(1, inv.invoice_id);
                q->bind(2, ord++);
                q->bind_text(3, line.kind());
                q->bind(4, line.key);
                q->bind_text(5, line.id);
                q->bind(6, millis(line.event_date));
                q->bind(7, millis(line.cleared_at));
                q->bind(8, line.payout);
                q->bind_text(9, line.comments);
                q->run();
            }
            if (line.is_action()) {
                {
                    Use q(db.cached(
                        "UPDATE actions SET finance_status = 'INVOICED', invoice_id = ?3 WHERE "
                        "seq = ?1 AND account_id = ?2 AND finance_status = 'CLEARED' AND "
                        "invoice_id = '' AND payout = ?4"));
                    q->bind(1, line.key);
                    q->bind_text(2, account_id);
                    q->bind_text(3, inv.invoice_id);
                    q->bind(4, line.payout);
                    q->run();
                }
                if (changes(db) != 1)
                    out_of_date(db, inv.invoice_id + " holds action " + line.id +
                                        ", which is not a cleared action on no invoice");
                history.add(line.key, inv.invoice_date, Operation::Invoice, Status::Approved,
                            inv.invoice_id);
            } else {
                {
                    Use q(db.cached(
                        "UPDATE transfers SET invoice_id = ?3 WHERE seq = ?1 AND account_id = ?2 "
                        "AND invoice_id = '' AND amount = ?4"));
                    q->bind(1, line.key);
                    q->bind_text(2, account_id);
                    q->bind_text(3, inv.invoice_id);
                    q->bind(4, line.payout);
                    q->run();
                }
                if (changes(db) != 1)
                    out_of_date(db, inv.invoice_id + " holds transfer " + line.id +
                                        ", which is not a transfer on no invoice");
            }
        }
    }
}

}  // namespace

lifecycle::AccountBook SqliteStore::read_book(std::string_view account_id, Instant now) {
    lifecycle::AccountBook book;
    {
        Use q(db_.cached("SELECT " ACTION_STATE_COLUMNS
                         " FROM actions WHERE account_id = ?1 AND ((status = 'PENDING' AND "
                         "locking_date <= ?2) OR (status = 'APPROVED' AND "
                         "finance_status IN ('DUE', 'OVERDUE', 'CLEARED'))) ORDER BY seq"));
        q->bind_text(1, account_id);
        q->bind(2, millis(now));
        read_action_states(db_, *q, book.actions);
    }
    book.transfers = read_transfers(db_, account_id);
    book.balance = read_balance(db_, account_id);
    Use q(db_.cached("SELECT max(invoice_date) FROM invoices WHERE account_id = ?1"));
    q->bind_text(1, account_id);
    if (q->step()) book.last_invoice_date = instant_from_millis(q->optional_int64_at(0));
    return book;
}

void SqliteStore::write_run(std::string_view account_id, const lifecycle::RunDecisions& d) {
    HistoryWriter history(db_, d.now);

    for (const lifecycle::Lock& l : d.locks) {
        Use q(
            db_.cached("UPDATE actions SET status = 'APPROVED', finance_status = ?3 "
                       "WHERE seq = ?1 AND account_id = ?2 AND status = 'PENDING'"));
        q->bind(1, l.key);
        q->bind_text(2, account_id);
        q->bind_text(3, finance_status_name(l.finance_status));
        q->run();
        if (changes(db_) == 1) history.add(l.key, l.at, Operation::Lock, Status::Pending, "");
    }

    for (const lifecycle::Clear& c : d.clearing.clears) {
        {
            Use q(db_.cached(
                "UPDATE actions SET finance_status = 'CLEARED', cleared_at = ?3 WHERE seq = ?1 "
                "AND account_id = ?2 AND status = 'APPROVED' AND finance_status IN ('DUE', "
                "'OVERDUE') AND payout = ?4"));
            q->bind(1, c.key);
            q->bind_text(2, account_id);
            q->bind(3, millis(c.cleared_at));
            q->bind(4, c.payout);
            q->run();
        }
        if (changes(db_) == 0) continue;  // carried out before
        history.add(c.key, c.cleared_at, Operation::Clear, Status::Approved, "");
        // A 0 payout moves no money and makes no funds entry (docs/lifecycle.md, "Clear").
        if (c.payout > 0)
            add_funds_entry(db_, account_id, FundsEntry::Kind::Clearing, c.payout, c.cleared_at,
                            c.action_id, c.key);
    }

    for (const lifecycle::Overdue& o : d.clearing.overdue) {
        if (!o.first_time) continue;
        Use q(db_.cached(
            "UPDATE actions SET finance_status = 'OVERDUE' WHERE seq = ?1 AND account_id = ?2 "
            "AND status = 'APPROVED' AND finance_status = 'DUE'"));
        q->bind(1, o.key);
        q->bind_text(2, account_id);
        q->run();
        if (changes(db_) == 1)
            history.add(o.key, o.due_at, Operation::Overdue, Status::Approved, "");
    }

    write_invoices(db_, history, account_id, d.invoices, d.now);
    history.finish();

    if (read_balance(db_, account_id) < 0)
        out_of_date(db_, "the clearing debits take the balance of account " +
                             std::string(account_id) + " below 0");
}

lifecycle::AccountBook SqliteStore::load_book(std::string_view account_id, Instant now) {
    return read_book(account_id, now);
}

void SqliteStore::apply_run(std::string_view account_id, const lifecycle::RunDecisions& d) {
    Transaction tx(db_);
    write_run(account_id, d);
    tx.commit();
}

lifecycle::RunDecisions SqliteStore::run_lifecycle(const Account& account, Instant now,
                                                   lifecycle::DecisionSink* sink) {
    // Set-based (docs/lifecycle.md, "How the store runs a step"): the steps' rules decide on
    // compact rows streamed in their order and the store writes sets of rows, so that a run
    // holds no account's book in memory; lifecycle::decide_run and apply_run, on a book in
    // memory, are the reference it is tested against.
    Transaction tx(db_);
    lifecycle::RunDecisions d;
    d.now = now;
    const std::int64_t balance = read_balance(db_, account.id);
    std::size_t locked_into_queue = 0;
    lifecycle::QueueOrder queue(queue_memory_);
    lifecycle::InvoiceWaiting waiting;  // before the run; its clears are added below
    {
        // The pass reads every row once: the small cache, so that the pages it leaves and the
        // queue in memory do not add up (docs/lifecycle.md, "Scale").
        const SortPageCache scan_cache(db_);
        locked_into_queue = lock_and_gather_queue(db_, account.id, now, d, sink, queue, waiting);
    }
    ClearStep clear(balance, now, d.clearing, sink);
    if (queue.over())
        stream_clearing(db_, account.id, now, clear);
    else
        queue.drain([&](const lifecycle::QueueItem& a) { clear.take(a); });
    const Cut& cut = clear.cut;
    const Debits& debits = clear.debits;
    const std::int64_t run = record_run(db_, account.id, now, d.locked, d.clearing.cleared,
                                        d.clearing.newly_overdue, debits);
    // Every action a decision changes, once: the locked ones, and those of the queue that
    // clear or become overdue, less the locked ones among them.
    const std::size_t changed =
        d.locked + d.clearing.cleared + d.clearing.newly_overdue - locked_into_queue;
    const bool queue_changes = d.clearing.cleared + d.clearing.newly_overdue > 0;
    tally_ = RunTally{};
    if (changed > 0 &&
        update_actions(db_, account.id, now, cut, run, queue_changes) != std::int64_t(changed))
        out_of_date(db_, "the actions the lock and the clear change are not those decided");
    // The UPDATE marked, row by row, what the run's row says: as many actions locked, cleared
    // and made overdue by it, and the debits it recorded those of the actions it cleared, so
    // that the entries and the funds entries the views show are the run's decisions, and add
    // up to the balance it leaves. lifecycle_tally counted each mark as the UPDATE set it; no
    // other row can name a run made in this transaction. (A run that only locks changed only
    // the rows that lock: the UPDATE's count is the check.)
    if (queue_changes && (tally_.beyond || tally_.locked != std::int64_t(d.locked) ||
                          tally_.cleared != std::int64_t(d.clearing.cleared) ||
                          tally_.overdue != std::int64_t(d.clearing.newly_overdue) ||
                          tally_.debits != debits.count || tally_.debited != debits.sum))
        out_of_date(db_, "the actions that name the run are not those it decided on");
    // The invoices: only the items this run puts on one are read (lifecycle::invoice_cutoff).
    // Waiting now: those of before the run (a run changes none of them), and its clears.
    waiting.cleared_actions += d.clearing.cleared;
    if (clear.oldest_cleared_at &&
        (!waiting.oldest_cleared_at || *clear.oldest_cleared_at < *waiting.oldest_cleared_at))
        waiting.oldest_cleared_at = clear.oldest_cleared_at;
    {
        Use q(db_.cached("SELECT max(invoice_date) FROM invoices WHERE account_id = ?1"));
        q->bind_text(1, account.id);
        if (q->step()) waiting.last_invoice_date = instant_from_millis(q->optional_int64_at(0));
    }
    waiting.transfers = read_transfers(db_, account.id);
    lifecycle::decide_run_invoices(
        account, waiting,
        [&](Instant cutoff) {
            std::vector<lifecycle::ActionState> cleared;
            Use q(db_.cached("SELECT " ACTION_STATE_COLUMNS
                             " FROM actions WHERE account_id = ?1 AND status = 'APPROVED' AND "
                             "finance_status = 'CLEARED' AND invoice_id = '' AND cleared_at < ?2 "
                             "ORDER BY seq"));
            q->bind_text(1, account.id);
            q->bind(2, millis(cutoff));
            read_action_states(db_, *q, cleared);
            return cleared;
        },
        now, d);
    if (!d.invoices.empty()) {
        HistoryWriter history(db_, now);
        write_invoices(db_, history, account.id, d.invoices, now);
        history.finish();
    }
    if (read_balance(db_, account.id) != d.clearing.balance_after)
        out_of_date(db_, "the balance of account " + account.id +
                             " after the clearing debits is not the one decided");
    tx.commit();
    return d;
}

std::optional<std::int64_t> SqliteStore::deposit(std::string_view account_id, std::int64_t amount,
                                                 Instant at, std::string_view reference) {
    if (amount <= 0) throw std::invalid_argument("a deposit must be more than 0");
    Transaction tx(db_);
    std::int64_t after = 0;
    if (__builtin_add_overflow(read_balance(db_, account_id), amount, &after)) return std::nullopt;
    add_funds_entry(db_, account_id, FundsEntry::Kind::Deposit, amount, at, reference,
                    std::nullopt);
    tx.commit();
    return after;
}

std::int64_t SqliteStore::balance(std::string_view account_id) {
    return read_balance(db_, account_id);
}

std::vector<FundsEntry> SqliteStore::funds_entries(std::string_view account_id) {
    // The view funds_entries, with the account in each of its parts: SQLite does not push the
    // condition into the view's ranked part, and would rank every account's debits to list
    // one account's entries (migrations.cpp, version 9).
    Use q(db_.cached(
        "SELECT kind, amount, at, reference FROM (SELECT id, kind, amount, at, reference FROM "
        "funds_rows WHERE account_id = ?1 UNION ALL SELECT first_funds - 1 + row_number() OVER "
        "(PARTITION BY run ORDER BY k1, k2), 'CLEARING', amount, at, reference FROM run_debits "
        "WHERE account_id = ?1) ORDER BY id"));
    q->bind_text(1, account_id);
    std::vector<FundsEntry> entries;
    while (q->step()) {
        FundsEntry& e = entries.emplace_back();
        const std::string_view kind = q->text_at(0);
        const auto parsed = parse_funds_entry_kind(kind);
        if (!parsed)
            throw StoreError(db_.path() + ": damaged funds entry kind \"" + std::string(kind) +
                             "\"");
        e.kind = *parsed;
        e.amount = q->int64_at(1);
        e.at = instant_from_millis(q->int64_at(2));
        e.reference = q->text_at(3);
    }
    return entries;
}

std::vector<lifecycle::Invoice> SqliteStore::read_invoices(const char* sql, std::string_view key) {
    std::vector<lifecycle::Invoice> out;
    {
        Use q(db_.cached(sql));
        q->bind_text(1, key);
        while (q->step()) {
            lifecycle::Invoice& inv = out.emplace_back();
            inv.invoice_id = q->text_at(0);
            inv.account_id = q->text_at(1);
            inv.partner_id = q->text_at(2);
            inv.invoice_date = instant_from_millis(q->int64_at(3));
            inv.local_date = parse_day(q->text_at(4));
            inv.currency = find_currency(q->text_at(5));
            if (!inv.currency)
                throw StoreError(db_.path() + ": damaged currency of invoice " + inv.invoice_id);
            inv.total = q->int64_at(6);
        }
    }
    for (lifecycle::Invoice& inv : out) {
        Use q(db_.cached(
            "SELECT kind, item, id, event_date, cleared_at, payout, comments FROM invoice_lines "
            "WHERE invoice_id = ?1 ORDER BY ord"));
        q->bind_text(1, inv.invoice_id);
        while (q->step()) {
            lifecycle::InvoiceLine& line = inv.lines.emplace_back();
            if (const std::string_view kind = q->text_at(0); kind != "ACTION") {
                line.transfer_type = parse_transfer_type(kind);
                if (!line.transfer_type)
                    throw StoreError(db_.path() + ": damaged line kind of invoice " +
                                     inv.invoice_id);
            }
            line.key = q->int64_at(1);
            line.id = q->text_at(2);
            line.event_date = instant_from_millis(q->int64_at(3));
            line.cleared_at = instant_from_millis(q->int64_at(4));
            line.payout = q->int64_at(5);
            line.comments = q->text_at(6);
        }
    }
    return out;
}

#define INVOICE_COLUMNS \
    "invoice_id, account_id, partner_id, invoice_date, local_date, currency, total"

std::vector<lifecycle::Invoice> SqliteStore::invoices(std::string_view account_id) {
    return read_invoices("SELECT " INVOICE_COLUMNS
                         " FROM invoices WHERE account_id = ?1 ORDER BY invoice_date, invoice_id",
                         account_id);
}

std::optional<lifecycle::Invoice> SqliteStore::invoice(std::string_view invoice_id) {
    auto found =
        read_invoices("SELECT " INVOICE_COLUMNS " FROM invoices WHERE invoice_id = ?1", invoice_id);
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

std::vector<std::string> SqliteStore::invoices_without_files(std::string_view account_id) {
    std::vector<std::string> out;
    Use q(
        db_.cached("SELECT i.invoice_id FROM invoices i WHERE i.account_id = ?1 AND NOT EXISTS "
                   "(SELECT 1 FROM invoice_files f WHERE f.invoice_id = i.invoice_id) "
                   "ORDER BY i.invoice_date, i.invoice_id"));
    q->bind_text(1, account_id);
    while (q->step()) out.emplace_back(q->text_at(0));
    return out;
}

void SqliteStore::record_invoice_files(std::span<const std::string> invoice_ids, Instant at) {
    if (invoice_ids.empty()) return;
    Transaction tx(db_);
    for (const std::string& id : invoice_ids) {
        Use q(
            db_.cached("INSERT INTO invoice_files (invoice_id, written_at) VALUES (?1, ?2) "
                       "ON CONFLICT (invoice_id) DO NOTHING"));
        q->bind_text(1, id);
        q->bind(2, millis(at));
        q->step();
    }
    tx.commit();
}

// lifecycle_tally(part, run, payout): counts one mark of a run's UPDATE in the store's tally
// (0 LOCK, 1 CLEAR with its payout, 2 OVERDUE) and returns the run, which the UPDATE sets.
void SqliteStore::register_run_tally() {
    auto tally = [](sqlite3_context* context, int, sqlite3_value** argv) {
        auto& t = *static_cast<RunTally*>(sqlite3_user_data(context));
        switch (sqlite3_value_int(argv[0])) {
            case 0:
                ++t.locked;
                break;
            case 1:
                ++t.cleared;
                if (const std::int64_t payout = sqlite3_value_int64(argv[2]); payout > 0) {
                    ++t.debits;
                    t.beyond = t.beyond || __builtin_add_overflow(t.debited, payout, &t.debited);
                }
                break;
            default:
                ++t.overdue;
        }
        sqlite3_result_value(context, argv[1]);
    };
    // Not SQLITE_DETERMINISTIC: SQLite would then evaluate a call with constant arguments once
    // per statement. Only statements may call it, not the schema.
    if (sqlite3_create_function_v2(db_.handle(), "lifecycle_tally", 3,
                                   SQLITE_UTF8 | SQLITE_DIRECTONLY, &tally_, tally, nullptr,
                                   nullptr, nullptr) != SQLITE_OK)
        throw StoreError(db_.path() +
                         ": cannot register lifecycle_tally: " + sqlite3_errmsg(db_.handle()));
}

}  // namespace actiondrop::store::sqlite
