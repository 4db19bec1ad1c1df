#include "store/sqlite/migrations.hpp"

#include <array>
#include <string>

namespace actiondrop::store::sqlite {

namespace {

// Instants are INTEGER milliseconds since the Unix epoch, dates 'YYYY-MM-DD', decimals
// their exact text, statuses and operations the names the CLI prints (docs/formats.md,
// "The JSON of an action").
constexpr const char* kVersion1 = R"sql(
CREATE TABLE catalog_accounts (
    account_id TEXT NOT NULL PRIMARY KEY,
    document   TEXT NOT NULL            -- the account as JSON (catalog_codec)
) WITHOUT ROWID;

CREATE TABLE fx_rates (
    ord              INTEGER NOT NULL PRIMARY KEY,  -- position in the catalog
    currency         TEXT NOT NULL,
    account_currency TEXT NOT NULL,
    rate             TEXT NOT NULL,
    effective_from   TEXT NOT NULL
);

-- Next values of the ledger's sequences: action seq (creation order) and history entry id.
CREATE TABLE counters (
    name  TEXT NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('action_seq', 1), ('history_entry', 1);

-- A rowid table keyed by seq (creation order): the batch's writes go by integer key, and
-- an advertiser's file, usually in date order, then touches neighbouring pages.
CREATE TABLE actions (
    seq                 INTEGER PRIMARY KEY,
    account_id          TEXT NOT NULL,
    action_id           TEXT NOT NULL,
    campaign_id         TEXT NOT NULL,
    tracker_id          TEXT NOT NULL,
    partner_id          TEXT NOT NULL,
    order_id            TEXT NOT NULL,
    customer_id         TEXT NOT NULL,
    customer_status     TEXT NOT NULL,
    promo_code          TEXT NOT NULL,
    event_date          INTEGER NOT NULL,
    reported_event_date INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    amount              INTEGER NOT NULL,
    items               BLOB NOT NULL,          -- action_codec
    payout              INTEGER NOT NULL,
    locking_date        INTEGER NOT NULL,
    clearing_date       INTEGER NOT NULL,
    status              TEXT NOT NULL,
    finance_status      TEXT NOT NULL,
    parent_action_id    TEXT NOT NULL,
    modification_count  INTEGER NOT NULL,
    outside_terms       INTEGER NOT NULL,
    contract_id         TEXT NOT NULL,
    contract_version    INTEGER NOT NULL,
    creation            BLOB NOT NULL,          -- action_codec
    UNIQUE (account_id, action_id)
);
-- Every index ends in the rowid (seq), so "newest" and "oldest first" need no sort.
CREATE INDEX actions_by_account ON actions (account_id);
CREATE INDEX actions_by_order ON actions (account_id, order_id, tracker_id);
CREATE INDEX actions_by_customer ON actions (account_id, tracker_id, customer_id);
CREATE INDEX actions_by_parent ON actions (account_id, parent_action_id);
CREATE INDEX actions_by_cap ON actions (account_id, partner_id, contract_id, event_date);

-- Appended in entry order (a rowid table), with a small integer index to find an action's
-- entries: far cheaper to grow by a million entries than a table clustered by action id.
-- No foreign key: a batch writes an entry only after its action, and the check would cost
-- one more B-tree search per entry.
CREATE TABLE history (
    entry_id         INTEGER PRIMARY KEY,   -- global insertion order
    action_seq       INTEGER NOT NULL,      -- actions.seq: the entry's action
    at               INTEGER NOT NULL,
    batch_id         TEXT NOT NULL,
    line             INTEGER NOT NULL,
    operation        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    old_amount       INTEGER NOT NULL,
    new_amount       INTEGER NOT NULL,
    old_payout       INTEGER NOT NULL,
    new_payout       INTEGER NOT NULL,
    old_status       TEXT NOT NULL,
    new_status       TEXT NOT NULL,
    contract_id      TEXT NOT NULL,
    contract_version INTEGER,
    note             TEXT NOT NULL
);
CREATE INDEX history_by_action ON history (action_seq);

CREATE TABLE batches (
    batch_id          TEXT NOT NULL UNIQUE,
    account_id        TEXT NOT NULL,
    inbox             TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    size              INTEGER NOT NULL,
    type              TEXT NOT NULL,
    state             TEXT NOT NULL,
    status            TEXT NOT NULL,
    received_at       INTEGER NOT NULL,
    completed_at      INTEGER,
    attempts          INTEGER NOT NULL,
    total             INTEGER NOT NULL,
    applied           INTEGER NOT NULL,
    rejected          INTEGER NOT NULL,
    error_code        TEXT NOT NULL,
    error_message     TEXT NOT NULL,
    error_line        INTEGER,
    error_counts_json TEXT NOT NULL
);
CREATE INDEX batches_by_content ON batches (account_id, sha256);

-- A rowid table, because incremental blob I/O (streaming large outputs) needs a rowid.
CREATE TABLE batch_outputs (
    id       INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
    ord      INTEGER NOT NULL,
    name     TEXT NOT NULL,
    content  BLOB NOT NULL,
    UNIQUE (batch_id, ord)
);
)sql";

// Files pulled from SFTP inboxes (README.md, "SFTP pull inboxes"): an original left on the
// server is remembered by (inbox, remote path, size, mtime), so that it is pulled once
// across restarts; the primary key is the claim, so that two services sharing the store
// never both take it.
constexpr const char* kVersion2 = R"sql(
CREATE TABLE sftp_pulls (
    inbox       TEXT NOT NULL,
    remote_path TEXT NOT NULL,     -- where the original is while it is processed
    size        INTEGER NOT NULL,
    mtime       INTEGER NOT NULL,  -- the server's clock, seconds: compared only with itself
    file_name   TEXT NOT NULL,     -- the name as the advertiser gave it
    claim       TEXT NOT NULL,     -- the local copy's name in the inbox's .processing/
    state       TEXT NOT NULL,     -- claimed | fetched | finished
    claimed_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (inbox, remote_path, size, mtime)
) WITHOUT ROWID;
CREATE INDEX sftp_pulls_open ON sftp_pulls (inbox, state);
)sql";

// History entries name their batch by a small integer (history_batches.id) instead of the
// batch id's text: the largest table of a ledger becomes a third smaller, and a batch of a
// million rows writes 45 MB less.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE history_batches (
    id       INTEGER PRIMARY KEY,
    batch_id TEXT NOT NULL UNIQUE
);
INSERT INTO history_batches (batch_id) SELECT batch_id FROM history GROUP BY batch_id ORDER BY min(entry_id);
CREATE TABLE history_v3 (
    entry_id         INTEGER PRIMARY KEY,   -- global insertion order
    action_seq       INTEGER NOT NULL,      -- actions.seq: the entry's action
    at               INTEGER NOT NULL,
    batch            INTEGER NOT NULL,      -- history_batches.id: the entry's batch
    line             INTEGER NOT NULL,
    operation        TEXT NOT NULL,
    reason           TEXT NOT NULL,
    old_amount       INTEGER NOT NULL,
    new_amount       INTEGER NOT NULL,
    old_payout       INTEGER NOT NULL,
    new_payout       INTEGER NOT NULL,
    old_status       TEXT NOT NULL,
    new_status       TEXT NOT NULL,
    contract_id      TEXT NOT NULL,
    contract_version INTEGER,
    note             TEXT NOT NULL
);
INSERT INTO history_v3
    SELECT h.entry_id, h.action_seq, h.at, b.id, h.line, h.operation, h.reason, h.old_amount,
           h.new_amount, h.old_payout, h.new_payout, h.old_status, h.new_status, h.contract_id,
           h.contract_version, h.note
    FROM history h JOIN history_batches b ON b.batch_id = h.batch_id ORDER BY h.entry_id;
DROP TABLE history;
ALTER TABLE history_v3 RENAME TO history;
CREATE INDEX history_by_action ON history (action_seq);
)sql";

// Version 4: failed deliveries of a committed batch are counted apart from the attempts
// to apply it, so that an outbox that refuses answers ends in a quarantine instead of
// retries for ever (docs/ingest.md, "Claims").
constexpr const char* kVersion4 = R"sql(
ALTER TABLE batches ADD COLUMN delivery_failures INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 5: the life cycle and the money behind it (docs/lifecycle.md). An action gains
// cleared_at and invoice_id; an account's funds are entries (deposits, clearing debits,
// transfer debits) whose sum is its balance; transfers wait for an invoice; an invoice and
// its lines never change once issued (the triggers refuse it).
constexpr const char* kVersion5 = R"sql(
ALTER TABLE actions ADD COLUMN cleared_at INTEGER;
ALTER TABLE actions ADD COLUMN invoice_id TEXT NOT NULL DEFAULT '';

-- In the order made (id): the funds report lists them so, with the running balance.
CREATE TABLE funds_entries (
    id         INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,               -- DEPOSIT | CLEARING | TRANSFER
    amount     INTEGER NOT NULL CHECK (amount > 0),
    at         INTEGER NOT NULL,
    reference  TEXT NOT NULL,               -- the deposit's text, the action or transfer id
    item       INTEGER                      -- CLEARING: actions.seq; TRANSFER: transfers.seq
);
CREATE INDEX funds_entries_by_account ON funds_entries (account_id);
-- Nothing is taken from the balance twice.
CREATE UNIQUE INDEX funds_entries_once ON funds_entries (kind, item) WHERE item IS NOT NULL;

-- Make-goods and other payments from funds_transfers files (docs/lifecycle.md, "Funds").
CREATE TABLE transfers (
    seq          INTEGER PRIMARY KEY,
    transfer_id  TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    partner_id   TEXT NOT NULL,
    campaign_id  TEXT NOT NULL,
    type         TEXT NOT NULL,             -- MAKE_GOOD | BONUS | PAID_PLACEMENT
    amount       INTEGER NOT NULL CHECK (amount > 0),
    payment_date INTEGER NOT NULL,
    applied_at   INTEGER NOT NULL,
    comments     TEXT NOT NULL,
    batch_id     TEXT NOT NULL,
    invoice_id   TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, transfer_id)
);
CREATE INDEX transfers_waiting ON transfers (account_id, invoice_id);

CREATE TABLE invoices (
    invoice_id   TEXT NOT NULL PRIMARY KEY,
    account_id   TEXT NOT NULL,
    partner_id   TEXT NOT NULL,
    invoice_date INTEGER NOT NULL,
    local_date   TEXT NOT NULL,             -- YYYY-MM-DD in the account's zone
    currency     TEXT NOT NULL,             -- the account's when issued
    total        INTEGER NOT NULL,
    issued_at    INTEGER NOT NULL           -- the run that issued it
) WITHOUT ROWID;
CREATE INDEX invoices_by_account ON invoices (account_id, invoice_date);

CREATE TABLE invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES invoices (invoice_id),
    ord        INTEGER NOT NULL,            -- by kind, then id, bytewise
    kind       TEXT NOT NULL,               -- ACTION or the transfer type
    item       INTEGER NOT NULL,            -- actions.seq or transfers.seq
    id         TEXT NOT NULL,               -- action id or transfer id
    event_date INTEGER NOT NULL,            -- a transfer's payment date
    cleared_at INTEGER NOT NULL,            -- a transfer's applied_at
    payout     INTEGER NOT NULL,
    comments   TEXT NOT NULL,
    PRIMARY KEY (invoice_id, ord)
) WITHOUT ROWID;

CREATE TRIGGER invoices_never_change BEFORE UPDATE ON invoices
BEGIN SELECT RAISE(ABORT, 'an issued invoice never changes'); END;
CREATE TRIGGER invoices_never_go BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'an issued invoice never changes'); END;
CREATE TRIGGER invoice_lines_never_change BEFORE UPDATE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'an issued invoice never changes'); END;
CREATE TRIGGER invoice_lines_never_go BEFORE DELETE ON invoice_lines
BEGIN SELECT RAISE(ABORT, 'an issued invoice never changes'); END;
)sql";

// Version 6: a pull names the service that took it, so that services sharing a pull inbox
// each finish only their own (docs/postgres.md, "Instances").
constexpr const char* kVersion6 = R"sql(
ALTER TABLE sftp_pulls ADD COLUMN owner TEXT NOT NULL DEFAULT '';
)sql";

// Version 7: a pull's claim has a lease, renewed by its owner; another service takes over a
// pull whose lease has ended (docs/postgres.md, "Claims and leases"). NULL: no lease (a claim
// made before), which waits for its owner.
constexpr const char* kVersion7 = R"sql(
ALTER TABLE sftp_pulls ADD COLUMN lease_until INTEGER;
)sql";

// Version 8: the LOCK, CLEAR and OVERDUE entries of a lifecycle run are no longer a row each
// (docs/lifecycle.md, "A run's entries in SQLite"). A run is one row of lifecycle_runs, and
// each action names the run that locked it, cleared it and made it overdue; the history an
// auditor reads, the view `history`, shows those entries as the rows the run would have
// written: dated at the locking date, cleared_at and the clearing date, with the action's
// amount, payout and contract (final once locked), the run's note, and ids of the range the
// run took from the counter: its locks in seq order, then its clears and its overdue actions,
// each in the queue's order. The rows written so far are history_rows; run_entries defines a
// run's entries once, for the view and for an action's own history (action_rows.cpp).
constexpr const char* kVersion8 = R"sql(
ALTER TABLE history RENAME TO history_rows;
ALTER TABLE actions ADD COLUMN lock_run INTEGER;     -- lifecycle_runs.run: the run that locked it,
ALTER TABLE actions ADD COLUMN clear_run INTEGER;    -- cleared it,
ALTER TABLE actions ADD COLUMN overdue_run INTEGER;  -- made it overdue
CREATE TABLE lifecycle_runs (
    run         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,   -- the run's time
    first_entry INTEGER NOT NULL,   -- the first id of its entries: locks, then clears, then overdues
    locks       INTEGER NOT NULL,   -- how many actions it locked,
    clears      INTEGER NOT NULL,   -- cleared,
    overdues    INTEGER NOT NULL,   -- made overdue
    batch       INTEGER NOT NULL,   -- history_batches.id of the empty batch id
    note        TEXT NOT NULL
);
-- A run's entries, each with the first id of its part of the run's range (part_entry) and its
-- place in that part (k1, k2): LOCK by seq, CLEAR and OVERDUE in the queue's order.
CREATE VIEW run_entries AS
    SELECT a.seq AS action_seq, r.run, r.first_entry AS part_entry, a.seq AS k1, '' AS k2,
           a.locking_date AS at, r.batch, 'LOCK' AS operation, 'PENDING' AS old_status, a.amount,
           a.payout, a.contract_id, a.contract_version, r.note
    FROM actions a JOIN lifecycle_runs r ON r.run = a.lock_run
    UNION ALL
    SELECT a.seq, r.run, r.first_entry + r.locks, a.clearing_date, a.action_id, a.cleared_at,
           r.batch, 'CLEAR', 'APPROVED', a.amount, a.payout, a.contract_id, a.contract_version,
           r.note
    FROM actions a JOIN lifecycle_runs r ON r.run = a.clear_run
    UNION ALL
    SELECT a.seq, r.run, r.first_entry + r.locks + r.clears, a.clearing_date, a.action_id,
           a.clearing_date, r.batch, 'OVERDUE', 'APPROVED', a.amount, a.payout, a.contract_id,
           a.contract_version, r.note
    FROM actions a JOIN lifecycle_runs r ON r.run = a.overdue_run;
CREATE VIEW history AS
    SELECT entry_id, action_seq, at, batch, line, operation, reason, old_amount, new_amount,
           old_payout, new_payout, old_status, new_status, contract_id, contract_version, note
    FROM history_rows
    UNION ALL
    SELECT part_entry - 1 + row_number() OVER (PARTITION BY run, operation ORDER BY k1, k2),
           action_seq, at, batch, 0, operation, '', amount, amount, payout, payout, old_status,
           'APPROVED', contract_id, contract_version, note
    FROM run_entries;
)sql";

// Version 9: a lifecycle run's clearing debits are no rows either (docs/lifecycle.md, "A
// run's entries in SQLite"). The run's row names its account, the number of its debits (the
// actions it cleared with a payout above 0) and their sum, and the first id of the range of
// funds entry ids they take, in the queue's order; the funds entries an auditor reads, the
// view `funds_entries`, show them as the rows the run would have written, dated at cleared_at
// with the action's payout and id. The rows written so far, deposits, transfer debits and
// the debits of runs before this version, are funds_rows; a new row takes the id after both
// the rows' and the last run's range (add_funds_entry). An account's balance is its rows less
// the sum of its runs' debits (read_balance). The runs before this version have no range
// (first_funds NULL) and their debits are rows.
constexpr const char* kVersion9 = R"sql(
ALTER TABLE funds_entries RENAME TO funds_rows;
ALTER TABLE lifecycle_runs ADD COLUMN account_id TEXT NOT NULL DEFAULT '';
ALTER TABLE lifecycle_runs ADD COLUMN first_funds INTEGER;  -- the first id of its debits
ALTER TABLE lifecycle_runs ADD COLUMN debits INTEGER NOT NULL DEFAULT 0;   -- how many
ALTER TABLE lifecycle_runs ADD COLUMN debited INTEGER NOT NULL DEFAULT 0;  -- their sum
CREATE INDEX lifecycle_runs_by_account ON lifecycle_runs (account_id, debited);
-- A run's debits, each with the first id of the run's range and its place in it (k1, k2: the
-- queue's order).
CREATE VIEW run_debits AS
    SELECT a.account_id, r.run, r.first_funds, a.clearing_date AS k1, a.action_id AS k2,
           a.payout AS amount, a.cleared_at AS at, a.action_id AS reference, a.seq AS item
    FROM actions a JOIN lifecycle_runs r ON r.run = a.clear_run
    WHERE r.first_funds IS NOT NULL AND a.payout > 0;
CREATE VIEW funds_entries AS
    SELECT id, account_id, kind, amount, at, reference, item FROM funds_rows
    UNION ALL
    SELECT first_funds - 1 + row_number() OVER (PARTITION BY run ORDER BY k1, k2), account_id,
           'CLEARING', amount, at, reference, item
    FROM run_debits;
)sql";

// Version 10: the invoices whose files a service wrote to every outbox, so that the services
// sharing a store, or one whose state folder was made again, write an invoice's files once
// (docs/lifecycle.md, "Invoices in the outboxes"). Before it, each state folder's
// STATE_DIR/invoices/ was the only record; a service's next run carries its record in.
constexpr const char* kVersion10 = R"sql(
CREATE TABLE invoice_files (
    invoice_id TEXT NOT NULL PRIMARY KEY REFERENCES invoices (invoice_id),
    written_at INTEGER NOT NULL  -- when the first service wrote them
) WITHOUT ROWID;
)sql";

// Version 11: whether a record is a service's claim (1), which a service applies again until
// it is decided, or a command-line run's (0); and the undecided claims of an account, found
// at once, so that a file waits for the account's earlier files that are not applied yet
// (docs/ingest.md, "Arrival order"). Records written before it count as command-line runs'.
constexpr const char* kVersion11 = R"sql(
ALTER TABLE batches ADD COLUMN claim INTEGER NOT NULL DEFAULT 0;
CREATE INDEX batches_open ON batches (account_id) WHERE state = 'claimed' AND claim = 1;
)sql";

constexpr std::array kSteps = {kVersion1, kVersion2, kVersion3, kVersion4,  kVersion5, kVersion6,
                               kVersion7, kVersion8, kVersion9, kVersion10, kVersion11};

int read_version(Database& db) {
    Use q(db.cached("SELECT version FROM schema_version"));
    if (!q->step()) throw StoreError(db.path() + ": schema_version is empty");
    return static_cast<int>(q->int64_at(0));
}

void ensure_version_table(Database& db) {
    Transaction tx(db);
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    db.exec(
        "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM "
        "schema_version)");
    tx.commit();
}

}  // namespace

int latest_schema_version() { return static_cast<int>(kSteps.size()); }

int schema_version(Database& db) {
    Use q(db.cached(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'"));
    if (!q->step() || q->int64_at(0) == 0) return 0;
    return read_version(db);
}

int run_migrations(Database& db) {
    ensure_version_table(db);
    const int latest = latest_schema_version();
    for (;;) {
        Transaction tx(db);
        // Read inside the write transaction: another process may have migrated meanwhile.
        const int current = read_version(db);
        if (current > latest) {
            throw StoreError(db.path() + ": the database has schema version " +
                             std::to_string(current) + ", newer than this program's " +
                             std::to_string(latest));
        }
        if (current == latest) {
            tx.commit();
            return current;
        }
        db.exec(kSteps[static_cast<std::size_t>(current)]);
        Statement& update = db.cached("UPDATE schema_version SET version = ?1");
        Use u(update);
        u->bind(1, std::int64_t{current + 1});
        u->run();
        tx.commit();
    }
}

}  // namespace actiondrop::store::sqlite
