#include "store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/catalog_codec.hpp"
#include "store/sqlite/action_rows.hpp"
#include "store/sqlite/migrations.hpp"

namespace actiondrop::store::sqlite {

using namespace actiondrop::ledger;

SqliteStore::SqliteStore(const std::string& path) : db_(path) { register_run_tally(); }

int SqliteStore::migrate() { return run_migrations(db_); }

Catalog SqliteStore::load_catalog() {
    Catalog catalog;
    {
        Use q(db_.cached("SELECT account_id, document FROM catalog_accounts ORDER BY account_id"));
        while (q->step()) {
            try {
                catalog.accounts.emplace(std::string(q->text_at(0)), decode_account(q->text_at(1)));
            } catch (const StoreError& e) {
                throw StoreError(db_.path() + ": catalog account " + std::string(q->text_at(0)) +
                                 ": " + e.what());
            }
        }
    }
    Use q(db_.cached(
        "SELECT currency, account_currency, rate, effective_from FROM fx_rates ORDER BY ord"));
    while (q->step()) {
        catalog.fx_rates.push_back(FxRate{std::string(q->text_at(0)), std::string(q->text_at(1)),
                                          parse_stored_decimal(q->text_at(2)),
                                          parse_day(q->text_at(3))});
    }
    return catalog;
}

void SqliteStore::save_catalog(const Catalog& catalog) {
    Transaction tx(db_);
    db_.exec("DELETE FROM catalog_accounts");
    db_.exec("DELETE FROM fx_rates");
    for (const auto& [id, account] : catalog.accounts) {
        const std::string document = encode_account(account);
        Use q(db_.cached("INSERT INTO catalog_accounts (account_id, document) VALUES (?1, ?2)"));
        q->bind_text(1, id);
        q->bind_text(2, document);
        q->run();
    }
    std::int64_t ord = 0;
    for (const FxRate& fx : catalog.fx_rates) {
        const std::string rate = format_stored_decimal(fx.rate);
        const std::string day = format_day(fx.effective_from);
        Use q(db_.cached(
            "INSERT INTO fx_rates (ord, currency, account_currency, rate, effective_from) "
            "VALUES (?1, ?2, ?3, ?4, ?5)"));
        q->bind(1, ord++);
        q->bind_text(2, fx.currency);
        q->bind_text(3, fx.account_currency);
        q->bind_text(4, rate);
        q->bind_text(5, day);
        q->run();
    }
    tx.commit();
}

std::optional<BatchRecord> SqliteStore::one_batch(const char* sql, std::string_view a,
                                                  std::string_view b) {
    Use q(db_.cached(sql));
    q->bind_text(1, a);
    if (!b.empty()) q->bind_text(2, b);
    if (!q->step()) return std::nullopt;
    return read_batch(*q);
}

std::optional<BatchRecord> SqliteStore::find_batch(std::string_view batch_id) {
    return one_batch(kSelectBatchById, batch_id, {});
}

std::optional<BatchRecord> SqliteStore::find_complete_batch(std::string_view account_id,
                                                            std::string_view sha256) {
    if (sha256.empty()) return std::nullopt;
    return one_batch(kSelectCompleteBatch, account_id, sha256);
}

std::optional<BatchRecord> SqliteStore::find_open_batch(std::string_view account_id,
                                                        std::string_view sha256) {
    if (sha256.empty()) return std::nullopt;
    return one_batch(kSelectOpenBatch, account_id, sha256);
}

std::optional<BatchRecord> SqliteStore::find_earlier_open_batch(std::string_view account_id,
                                                                std::string_view batch_id) {
    Use q(db_.cached(kSelectEarlierOpenBatch));
    q->bind_text(1, account_id);
    q->bind_text(2, batch_id);
    if (!q->step()) return std::nullopt;
    return read_batch(*q);
}

namespace {

// The byte of the ledger file that marks a batch (hold_batch): past 1 TiB, far from the bytes
// SQLite locks (about 1 GiB in); a lock needs no data there. FNV-1a, so that every process
// and every build picks the same byte for an id.
off_t hold_byte(std::string_view batch_id) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : batch_id) h = (h ^ c) * 1099511628211ull;
    return (off_t{1} << 40) + static_cast<off_t>(h % (1u << 20));
}

}  // namespace

SqliteStore::Holds::~Holds() {
    if (fd >= 0) ::close(fd);
}

bool SqliteStore::hold_batch(std::string_view batch_id) {
    if (holds_.held.contains(batch_id)) return true;
    if (holds_.fd < 0) {
        // A descriptor of our own: an open-file-description lock is this store's, and no
        // close of SQLite's descriptors drops it. Opened by path: only while the path still
        // names the ledger, or the mark would be taken on another file for good.
        if (auto problem = db_.file_problem(); !problem.empty()) throw StoreError(problem);
        holds_.fd = ::open(db_.path().c_str(), O_RDWR | O_CLOEXEC);
        if (holds_.fd < 0)
            throw StoreError(db_.path() +
                             ": cannot open it to mark a batch: " + std::strerror(errno));
    }
    struct flock lock {};
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = hold_byte(batch_id);
    lock.l_len = 1;
    if (::fcntl(holds_.fd, F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES) return false;
        throw StoreError(db_.path() + ": cannot mark batch " + std::string(batch_id) + ": " +
                         std::strerror(errno));
    }
    holds_.held.emplace(batch_id);
    return true;
}

void SqliteStore::release_batch(std::string_view batch_id) {
    auto it = holds_.held.find(batch_id);
    if (it == holds_.held.end()) return;
    holds_.held.erase(it);
    struct flock lock {};
    lock.l_type = F_UNLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = hold_byte(batch_id);
    lock.l_len = 1;
    (void)::fcntl(holds_.fd, F_OFD_SETLK, &lock);  // the mark goes with the process anyway
}

std::vector<BatchRecord> SqliteStore::list_batches(std::optional<std::string_view> account_id) {
    Use q(db_.cached(account_id ? kSelectBatchesOfAccount : kSelectBatches));
    if (account_id) q->bind_text(1, *account_id);
    std::vector<BatchRecord> records;
    while (q->step()) records.push_back(read_batch(*q));
    return records;
}

void SqliteStore::put_batch(const BatchRecord& record) {
    Transaction tx(db_);
    {
        Use q(db_.cached(kUpsertBatch));
        bind_batch(*q, record);
        q->run();
    }
    tx.commit();
}

std::vector<std::pair<std::string, std::string>> SqliteStore::batch_outputs(
    std::string_view batch_id) {
    Use q(db_.cached("SELECT name, content FROM batch_outputs WHERE batch_id = ?1 ORDER BY ord"));
    q->bind_text(1, batch_id);
    std::vector<std::pair<std::string, std::string>> outputs;
    while (q->step()) outputs.emplace_back(std::string(q->text_at(0)), std::string(q->blob_at(1)));
    return outputs;
}

namespace {

// The store's clock in ms since the epoch, read by SQLite itself (docs/postgres.md, "Claims and
// leases"): on SQLite every service shares one host, and so one clock.
#define SQLITE_NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

constexpr const char* kPullColumns =
    "inbox, remote_path, size, mtime, file_name, claim, state, claimed_at, finished_at, owner";

PullRecord read_pull(const Statement& row) {
    PullRecord r;
    r.inbox = row.text_at(0);
    r.remote_path = row.text_at(1);
    r.size = row.int64_at(2);
    r.mtime = row.int64_at(3);
    r.file_name = row.text_at(4);
    r.claim = row.text_at(5);
    r.state = row.text_at(6);
    r.claimed_at = instant_from_millis(row.int64_at(7));
    r.finished_at = instant_from_millis(row.optional_int64_at(8));
    r.owner = row.text_at(9);
    return r;
}

void bind_pull_key(Statement& st, const PullRecord& r) {
    st.bind_text(1, r.inbox);
    st.bind_text(2, r.remote_path);
    st.bind(3, r.size);
    st.bind(4, r.mtime);
}

}  // namespace

bool SqliteStore::claim_pull(const PullRecord& record) {
    Transaction tx(db_);
    bool inserted = false;
    {
        Use q(db_.cached(
            "INSERT INTO sftp_pulls (inbox, remote_path, size, mtime, file_name, claim, state, "
            "claimed_at, finished_at, owner, lease_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
            "?9, ?10, CASE WHEN ?11 > 0 THEN " SQLITE_NOW_MS
            " + ?11 END) "
            "ON CONFLICT DO NOTHING RETURNING 1"));
        bind_pull_key(*q, record);
        q->bind_text(5, record.file_name);
        q->bind_text(6, record.claim);
        q->bind_text(7, record.state);
        q->bind(8, millis(record.claimed_at));
        q->bind(9, millis(record.finished_at));
        q->bind_text(10, record.owner);
        q->bind(11, static_cast<std::int64_t>(record.lease.count()));
        inserted = q->step();
        while (q->step()) {
        }
    }
    tx.commit();
    return inserted;
}

std::optional<PullRecord> SqliteStore::find_pull(std::string_view inbox,
                                                 std::string_view remote_path, std::int64_t size,
                                                 std::int64_t mtime) {
    Use q(db_.cached(std::string("SELECT ") + kPullColumns +
                     " FROM sftp_pulls WHERE inbox = ?1 AND remote_path = ?2 AND size = ?3 AND "
                     "mtime = ?4"));
    q->bind_text(1, inbox);
    q->bind_text(2, remote_path);
    q->bind(3, size);
    q->bind(4, mtime);
    if (!q->step()) return std::nullopt;
    return read_pull(*q);
}

std::vector<PullRecord> SqliteStore::open_pulls(std::string_view inbox, std::string_view owner) {
    Use q(db_.cached(std::string("SELECT ") + kPullColumns +
                     " FROM sftp_pulls WHERE inbox = ?1 AND state <> 'finished' "
                     "AND owner IN (?2, '') ORDER BY claimed_at, claim"));
    q->bind_text(1, inbox);
    q->bind_text(2, owner);
    std::vector<PullRecord> out;
    while (q->step()) out.push_back(read_pull(*q));
    return out;
}

void SqliteStore::put_pull(const PullRecord& record) {
    Transaction tx(db_);
    {
        Use q(
            db_.cached("UPDATE sftp_pulls SET state = ?5, finished_at = ?6, claim = ?7 "
                       "WHERE inbox = ?1 AND remote_path = ?2 AND size = ?3 AND mtime = ?4"));
        bind_pull_key(*q, record);
        q->bind_text(5, record.state);
        q->bind(6, millis(record.finished_at));
        q->bind_text(7, record.claim);
        q->run();
    }
    tx.commit();
}

void SqliteStore::forget_pull(const PullRecord& record) {
    Transaction tx(db_);
    {
        Use q(db_.cached(
            "DELETE FROM sftp_pulls WHERE inbox = ?1 AND remote_path = ?2 AND size = ?3 AND "
            "mtime = ?4"));
        bind_pull_key(*q, record);
        q->run();
    }
    tx.commit();
}

std::size_t SqliteStore::renew_pulls(std::string_view inbox, std::string_view owner,
                                     std::chrono::milliseconds lease) {
    Transaction tx(db_);
    std::size_t renewed = 0;
    {
        Use q(db_.cached("UPDATE sftp_pulls SET lease_until = " SQLITE_NOW_MS
                         " + ?3 WHERE inbox = ?1 AND owner = ?2 AND state <> 'finished'"));
        q->bind_text(1, inbox);
        q->bind_text(2, owner);
        q->bind(3, static_cast<std::int64_t>(lease.count()));
        q->run();
        renewed = static_cast<std::size_t>(db_.changes());
    }
    tx.commit();
    return renewed;
}

// The pulls of inbox ?1 whose lease has ended, another service's (?2 is the asking one).
#define SQLITE_ENDED_LEASES                                                                \
    " FROM sftp_pulls WHERE inbox = ?1 AND state <> 'finished' AND owner NOT IN (?2, '') " \
    "AND lease_until < " SQLITE_NOW_MS

std::vector<TakenPull> SqliteStore::take_over_pulls(std::string_view inbox, std::string_view owner,
                                                    std::chrono::milliseconds lease) {
    {
        // Asked at every poll, and almost always with nothing to take: a read first, which
        // needs no write lock (a long file holds it), then the write only when needed.
        Use q(db_.cached("SELECT 1" SQLITE_ENDED_LEASES " LIMIT 1"));
        q->bind_text(1, inbox);
        q->bind_text(2, owner);
        if (!q->step()) return {};
        while (q->step()) {
        }
    }
    // One write transaction: what is read as ended is taken before anyone else can.
    Transaction tx(db_);
    std::vector<TakenPull> taken;
    {
        Use q(db_.cached(std::string("SELECT ") + kPullColumns +
                         SQLITE_ENDED_LEASES " ORDER BY claimed_at, claim"));
        q->bind_text(1, inbox);
        q->bind_text(2, owner);
        while (q->step()) {
            TakenPull t{read_pull(*q), ""};
            t.from = t.record.owner;
            t.record.owner = std::string(owner);
            t.record.lease = lease;
            taken.push_back(std::move(t));
        }
    }
    for (const TakenPull& t : taken) {
        Use q(
            db_.cached("UPDATE sftp_pulls SET owner = ?5, lease_until = " SQLITE_NOW_MS
                       " + ?6 WHERE inbox = ?1 AND remote_path = ?2 AND size = ?3 AND mtime = ?4"));
        bind_pull_key(*q, t.record);
        q->bind_text(5, owner);
        q->bind(6, static_cast<std::int64_t>(lease.count()));
        q->run();
    }
    tx.commit();
    return taken;
}

std::unique_ptr<BatchTransaction> SqliteStore::begin_batch(std::string_view batch_id) {
    return std::make_unique<SqliteBatch>(*this, std::string(batch_id));
}

std::optional<Action> SqliteStore::action(std::string_view account_id, std::string_view action_id) {
    Use q(db_.cached(kSelectReportedAction));
    q->bind_text(1, account_id);
    q->bind_text(2, action_id);
    if (!q->step()) return std::nullopt;
    return read_reported_action(*q);
}

std::vector<HistoryEntry> SqliteStore::history(std::string_view account_id,
                                               std::string_view action_id) {
    std::vector<HistoryEntry> entries;
    std::int64_t seq = 0;
    {
        Use find(db_.cached("SELECT seq FROM actions WHERE account_id = ?1 AND action_id = ?2"));
        find->bind_text(1, account_id);
        find->bind_text(2, action_id);
        if (!find->step()) return entries;
        seq = find->int64_at(0);
    }
    Use q(db_.cached(kSelectHistory));
    q->bind(1, seq);
    while (q->step()) {
        entries.push_back(read_history(*q));
        entries.back().action_id = action_id;
    }
    return entries;
}

void SqliteStore::for_each_action(std::string_view account_id,
                                  const std::function<void(const Action&)>& fn) {
    // A statement of its own: the callback may use the store's cached statements meanwhile.
    Statement st = db_.prepare(kSelectActionsOfAccount);
    Use q(st);
    q->bind_text(1, account_id);
    while (q->step()) fn(read_reported_action(*q));
}

}  // namespace actiondrop::store::sqlite
