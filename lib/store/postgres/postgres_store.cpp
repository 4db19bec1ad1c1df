#include "store/postgres/postgres_store.hpp"

#include <algorithm>
#include <tuple>

#include "store/catalog_codec.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/rows.hpp"

namespace actiondrop::store::postgres {

using namespace actiondrop::ledger;

PostgresStore::PostgresStore(const std::string& url) : url_(url), db_(url) {}

int PostgresStore::migrate() { return run_migrations(db_); }

Catalog PostgresStore::load_catalog() {
    Catalog catalog;
    Result accounts =
        db_.run("SELECT account_id, document FROM catalog_accounts ORDER BY account_id");
    for (int i = 0; i < accounts.rows(); ++i) {
        try {
            catalog.accounts.emplace(std::string(accounts.text(i, 0)),
                                     decode_account(accounts.text(i, 1)));
        } catch (const StoreError& e) {
            throw StoreError(db_.where() + ": catalog account " + std::string(accounts.text(i, 0)) +
                             ": " + e.what());
        }
    }
    Result fx = db_.run(
        "SELECT currency, account_currency, rate, effective_from FROM fx_rates ORDER BY ord");
    for (int i = 0; i < fx.rows(); ++i)
        catalog.fx_rates.push_back(FxRate{std::string(fx.text(i, 0)), std::string(fx.text(i, 1)),
                                          parse_stored_decimal(fx.text(i, 2)),
                                          parse_day(fx.text(i, 3))});
    return catalog;
}

void PostgresStore::save_catalog(const Catalog& catalog) {
    Transaction tx(db_);
    db_.run("DELETE FROM catalog_accounts");
    db_.run("DELETE FROM fx_rates");
    for (const auto& [id, account] : catalog.accounts) {
        Params p;
        p.text(id).text(encode_account(account));
        db_.run("INSERT INTO catalog_accounts (account_id, document) VALUES ($1, $2)", p);
    }
    std::int64_t ord = 0;
    for (const FxRate& fx : catalog.fx_rates) {
        Params p;
        p.int64(ord++)
            .text(fx.currency)
            .text(fx.account_currency)
            .text(format_stored_decimal(fx.rate))
            .text(format_day(fx.effective_from));
        db_.run(
            "INSERT INTO fx_rates (ord, currency, account_currency, rate, effective_from) "
            "VALUES ($1, $2, $3, $4, $5)",
            p);
    }
    tx.commit();
}

namespace {

const char* const kSelectBatchById = "SELECT " PG_BATCH_COLUMNS " FROM batches WHERE batch_id = $1";
const char* const kSelectCompleteBatch =
    "SELECT " PG_BATCH_COLUMNS
    " FROM batches WHERE account_id = $1 AND sha256 = $2 AND status = 'COMPLETE' "
    "ORDER BY received_at, ord LIMIT 1";
const char* const kSelectOpenBatch =
    "SELECT " PG_BATCH_COLUMNS
    " FROM batches WHERE account_id = $1 AND sha256 = $2 AND state = 'claimed' "
    "AND status = '' ORDER BY received_at, ord LIMIT 1";
// ord is the order in which records were first written (an upsert keeps it).
const char* const kSelectEarlierOpenBatch =
    "SELECT " PG_BATCH_COLUMNS
    " FROM batches WHERE account_id = $1 AND state = 'claimed' AND status = '' AND claim = 1 "
    "AND batch_id <> $2 AND ord < coalesce((SELECT ord FROM batches WHERE batch_id = $2), "
    "9223372036854775807) ORDER BY ord LIMIT 1";

}  // namespace

std::optional<BatchRecord> PostgresStore::one_batch(const char* sql, std::string_view a,
                                                    std::string_view b) {
    Params p;
    p.text(a);
    if (!b.empty()) p.text(b);
    Result r = db_.run(sql, p);
    if (r.rows() == 0) return std::nullopt;
    return read_batch(r, 0);
}

std::optional<BatchRecord> PostgresStore::find_batch(std::string_view batch_id) {
    return one_batch(kSelectBatchById, batch_id, {});
}

std::optional<BatchRecord> PostgresStore::find_complete_batch(std::string_view account_id,
                                                              std::string_view sha256) {
    if (sha256.empty()) return std::nullopt;
    return one_batch(kSelectCompleteBatch, account_id, sha256);
}

std::optional<BatchRecord> PostgresStore::find_open_batch(std::string_view account_id,
                                                          std::string_view sha256) {
    if (sha256.empty()) return std::nullopt;
    return one_batch(kSelectOpenBatch, account_id, sha256);
}

std::optional<BatchRecord> PostgresStore::find_earlier_open_batch(std::string_view account_id,
                                                                  std::string_view batch_id) {
    Params p;
    p.text(account_id);
    p.text(batch_id);
    Result r = db_.run(kSelectEarlierOpenBatch, p);
    if (r.rows() == 0) return std::nullopt;
    return read_batch(r, 0);
}

// No marks here: a session-level lock would not survive a pooler in transaction mode
// (docs/postgres.md, "Poolers"), so an open batch is never taken for one whose attempt died.
bool PostgresStore::hold_batch(std::string_view) { return false; }

void PostgresStore::release_batch(std::string_view) {}

std::vector<BatchRecord> PostgresStore::list_batches(std::optional<std::string_view> account_id) {
    Params p;
    if (account_id) p.text(*account_id);
    Result r =
        db_.run(account_id ? "SELECT " PG_BATCH_COLUMNS
                             " FROM batches WHERE account_id = $1 ORDER BY received_at, ord"
                           : "SELECT " PG_BATCH_COLUMNS " FROM batches ORDER BY received_at, ord",
                p);
    std::vector<BatchRecord> records;
    for (int i = 0; i < r.rows(); ++i) records.push_back(read_batch(r, i));
    return records;
}

void PostgresStore::put_batch(const BatchRecord& record) {
    Params p;
    bind_batch(p, record);
    db_.run(kUpsertBatch, p);  // one statement: its own transaction
}

std::vector<std::pair<std::string, std::string>> PostgresStore::batch_outputs(
    std::string_view batch_id) {
    Params p;
    p.text(batch_id);
    Result r =
        db_.run("SELECT name, content FROM batch_outputs WHERE batch_id = $1 ORDER BY ord", p);
    std::vector<std::pair<std::string, std::string>> outputs;
    for (int i = 0; i < r.rows(); ++i)
        outputs.emplace_back(std::string(r.text(i, 0)), r.bytes(i, 1));
    return outputs;
}

namespace {

// The server's clock in ms since the epoch: leases are measured on it, never on the
// instances' clocks (docs/postgres.md, "Claims and leases").
#define PG_NOW_MS "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

#define PG_PULL_COLUMNS \
    "inbox, remote_path, size, mtime, file_name, claim, state, claimed_at, finished_at, owner"

PullRecord read_pull(const Result& r, int i) {
    PullRecord p;
    p.inbox = r.text(i, 0);
    p.remote_path = r.text(i, 1);
    p.size = r.int64(i, 2);
    p.mtime = r.int64(i, 3);
    p.file_name = r.text(i, 4);
    p.claim = r.text(i, 5);
    p.state = r.text(i, 6);
    p.claimed_at = instant_from_millis(r.int64(i, 7));
    p.finished_at = instant_from_millis(r.optional_int64(i, 8));
    p.owner = r.text(i, 9);
    return p;
}

Params pull_key(const PullRecord& r) {
    Params p;
    p.text(r.inbox).text(r.remote_path).int64(r.size).int64(r.mtime);
    return p;
}

}  // namespace

bool PostgresStore::claim_pull(const PullRecord& record) {
    Params p = pull_key(record);
    p.text(record.file_name)
        .text(record.claim)
        .text(record.state)
        .int64(millis(record.claimed_at))
        .int64(millis(record.finished_at))
        .text(record.owner)
        .int64(static_cast<std::int64_t>(record.lease.count()));
    // The primary key decides between instances that list the same remote file at once.
    Result r = db_.run("INSERT INTO pulls (" PG_PULL_COLUMNS
                       ", lease_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                       "CASE WHEN $11::bigint > 0 THEN " PG_NOW_MS
                       " + $11::bigint END) "
                       "ON CONFLICT DO NOTHING",
                       p);
    return r.affected() == 1;
}

std::optional<PullRecord> PostgresStore::find_pull(std::string_view inbox,
                                                   std::string_view remote_path, std::int64_t size,
                                                   std::int64_t mtime) {
    Params p;
    p.text(inbox).text(remote_path).int64(size).int64(mtime);
    Result r = db_.run("SELECT " PG_PULL_COLUMNS
                       " FROM pulls WHERE inbox = $1 AND remote_path = $2 AND size = $3 AND "
                       "mtime = $4",
                       p);
    if (r.rows() == 0) return std::nullopt;
    return read_pull(r, 0);
}

std::vector<PullRecord> PostgresStore::open_pulls(std::string_view inbox, std::string_view owner) {
    Params p;
    p.text(inbox).text(owner);
    Result r = db_.run("SELECT " PG_PULL_COLUMNS
                       " FROM pulls WHERE inbox = $1 AND state <> 'finished' AND owner IN ($2, '') "
                       "ORDER BY claimed_at, claim",
                       p);
    std::vector<PullRecord> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(read_pull(r, i));
    return out;
}

void PostgresStore::put_pull(const PullRecord& record) {
    Params p = pull_key(record);
    p.text(record.state).int64(millis(record.finished_at)).text(record.claim);
    db_.run(
        "UPDATE pulls SET state = $5, finished_at = $6, claim = $7 "
        "WHERE inbox = $1 AND remote_path = $2 AND size = $3 AND mtime = $4",
        p);
}

void PostgresStore::forget_pull(const PullRecord& record) {
    db_.run("DELETE FROM pulls WHERE inbox = $1 AND remote_path = $2 AND size = $3 AND mtime = $4",
            pull_key(record));
}

std::size_t PostgresStore::renew_pulls(std::string_view inbox, std::string_view owner,
                                       std::chrono::milliseconds lease) {
    Params p;
    p.text(inbox).text(owner).int64(static_cast<std::int64_t>(lease.count()));
    Result r = db_.run("UPDATE pulls SET lease_until = " PG_NOW_MS
                       " + $3::bigint WHERE inbox = $1 AND owner = $2 AND state <> 'finished'",
                       p);
    return static_cast<std::size_t>(r.affected());
}

std::vector<TakenPull> PostgresStore::take_over_pulls(std::string_view inbox,
                                                      std::string_view owner,
                                                      std::chrono::milliseconds lease) {
    Params p;
    p.text(inbox).text(owner).int64(static_cast<std::int64_t>(lease.count()));
    // The rows are locked as they are chosen; an instance that waited for one sees its new
    // lease when it gets it and passes over it.
    Result r = db_.run(
        "UPDATE pulls p SET owner = $2, lease_until = " PG_NOW_MS
        " + $3::bigint FROM ("
        "SELECT inbox, remote_path, size, mtime, owner AS was FROM pulls WHERE inbox = $1 AND "
        "state <> 'finished' AND owner <> $2 AND owner <> '' AND lease_until < " PG_NOW_MS
        " FOR UPDATE) o WHERE p.inbox = o.inbox AND p.remote_path = o.remote_path AND "
        "p.size = o.size AND p.mtime = o.mtime RETURNING p.inbox, p.remote_path, p.size, p.mtime, "
        "p.file_name, p.claim, p.state, p.claimed_at, p.finished_at, p.owner, o.was",
        p);
    std::vector<TakenPull> taken;
    for (int i = 0; i < r.rows(); ++i) {
        TakenPull t{read_pull(r, i), std::string(r.text(i, 10))};
        t.record.lease = lease;
        taken.push_back(std::move(t));
    }
    std::sort(taken.begin(), taken.end(), [](const TakenPull& a, const TakenPull& b) {
        return std::tie(a.record.claimed_at, a.record.claim) <
               std::tie(b.record.claimed_at, b.record.claim);
    });
    return taken;
}

std::unique_ptr<BatchTransaction> PostgresStore::begin_batch(std::string_view batch_id) {
    return std::make_unique<PostgresBatch>(*this, std::string(batch_id));
}

std::optional<Action> PostgresStore::action(std::string_view account_id,
                                            std::string_view action_id) {
    Params p;
    p.text(account_id).text(action_id);
    Result r = db_.run("SELECT " PG_ACTION_COLUMNS
                       ", cleared_at, invoice_id FROM actions WHERE account_id = $1 AND "
                       "action_id = $2",
                       p);
    if (r.rows() == 0) return std::nullopt;
    return read_reported_action(r, 0);
}

// The columns read_history() reads, from `history h JOIN history_batches b`.
#define PG_HISTORY_FROM                                                                          \
    "SELECT h.entry_id, h.action_seq, h.at, b.batch_id, h.line, h.operation, h.reason, "         \
    "h.old_amount, h.new_amount, h.old_payout, h.new_payout, h.old_status, h.new_status, "       \
    "h.contract_id, h.contract_version, h.note FROM history h JOIN history_batches b ON b.id = " \
    "h.batch "

std::vector<HistoryEntry> PostgresStore::history(std::string_view account_id,
                                                 std::string_view action_id) {
    Params p;
    p.text(account_id).text(action_id);
    Result r = db_.run(PG_HISTORY_FROM
                       "WHERE h.action_seq = (SELECT seq FROM actions WHERE account_id = $1 AND "
                       "action_id = $2) ORDER BY h.at, h.entry_id",
                       p);
    std::vector<HistoryEntry> entries;
    for (int i = 0; i < r.rows(); ++i) {
        entries.push_back(read_history(r, i));
        entries.back().action_id = action_id;
    }
    return entries;
}

namespace {

// Reports read an account's actions in pages of this many, by seq: memory stays that of a
// page whatever the account's size (docs/postgres.md, "Reports").
constexpr std::size_t kActionPage = 2000;

// The account's next page of actions, those with a seq above `after`, in seq order.
std::vector<Action> action_page(Connection& db, std::string_view account_id, std::int64_t after) {
    Params p;
    p.text(account_id).int64(after).int64(static_cast<std::int64_t>(kActionPage));
    Result r = db.run("SELECT " PG_ACTION_COLUMNS
                      ", cleared_at, invoice_id FROM actions WHERE account_id = $1 AND "
                      "seq > $2 ORDER BY seq LIMIT $3",
                      p);
    std::vector<Action> page;
    page.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) page.push_back(read_reported_action(r, i));
    return page;
}

}  // namespace

void PostgresStore::for_each_change(
    std::string_view account_id,
    const std::function<void(const Action&, const HistoryEntry&)>& fn) {
    // A page of actions, then the history of all of them in one statement: two round trips
    // per page, not one per action. One moment, as for_each_action's.
    Snapshot snapshot(db_);
    for (std::int64_t after = 0;;) {
        const std::vector<Action> page = action_page(db_, account_id, after);
        if (page.empty()) return;
        std::vector<std::int64_t> seqs;
        seqs.reserve(page.size());
        for (const Action& a : page) seqs.push_back(a.key);
        Params q;
        q.int64_array(seqs);
        Result h = db_.run(PG_HISTORY_FROM
                           "WHERE h.action_seq = ANY($1::int8[]) "
                           "ORDER BY h.action_seq, h.at, h.entry_id",
                           q);
        // Both in seq order: each action's entries follow the entries of the ones before it.
        int row = 0;
        for (const Action& a : page) {
            for (; row < h.rows() && h.int64(row, 1) == a.key; ++row) {
                HistoryEntry e = read_history(h, row);
                e.action_id = a.action_id;
                fn(a, e);
            }
        }
        if (row != h.rows())
            throw StoreError(db_.where() + ": history entries out of order for account " +
                             std::string(account_id));
        if (page.size() < kActionPage) return;
        after = page.back().key;
    }
}

void PostgresStore::for_each_action(std::string_view account_id,
                                    const std::function<void(const Action&)>& fn) {
    // Pages by seq: the callback may use the store between them. All pages, and what the
    // callback reads, are one moment of the store, as SQLite's one statement is: a batch
    // committed meanwhile is in none of it.
    Snapshot snapshot(db_);
    for (std::int64_t after = 0;;) {
        const std::vector<Action> page = action_page(db_, account_id, after);
        for (const Action& a : page) fn(a);
        if (page.size() < kActionPage) return;
        after = page.back().key;
    }
}

}  // namespace actiondrop::store::postgres
