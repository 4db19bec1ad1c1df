#include "store/postgres/migrations.hpp"

#include <array>
#include <string>

namespace actiondrop::store::postgres {

namespace {

// The same ledger as SQLite's (docs/postgres.md, "Schema"), so that a ledger copied from one to
// the other reads the same: instants are BIGINT milliseconds since the Unix epoch, dates
// 'YYYY-MM-DD', decimals their exact text, statuses the names the CLI prints. Every text
// column compares bytewise (COLLATE "C"), as SQLite does, so that ids sort the same on both
// stores whatever the server's locale.
constexpr const char* kVersion1 = R"sql(
CREATE TABLE catalog_accounts (
    account_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    document   TEXT NOT NULL            -- the account as JSON (catalog_codec)
);

CREATE TABLE fx_rates (
    ord              BIGINT NOT NULL PRIMARY KEY,  -- position in the catalog
    currency         TEXT NOT NULL,
    account_currency TEXT NOT NULL,
    rate             TEXT NOT NULL,
    effective_from   TEXT NOT NULL
);

-- Next values of the ledger's sequences: action seq (creation order) and history entry id.
-- A batch or a lifecycle run locks these rows first (FOR UPDATE): writers of the ledger take
-- turns, whichever instance they run in.
CREATE TABLE counters (
    name  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('action_seq', 1), ('history_entry', 1);

CREATE TABLE actions (
    seq                 BIGINT NOT NULL PRIMARY KEY,
    account_id          TEXT COLLATE "C" NOT NULL,
    action_id           TEXT COLLATE "C" NOT NULL,
    campaign_id         TEXT COLLATE "C" NOT NULL,
    tracker_id          TEXT COLLATE "C" NOT NULL,
    partner_id          TEXT COLLATE "C" NOT NULL,
    order_id            TEXT COLLATE "C" NOT NULL,
    customer_id         TEXT COLLATE "C" NOT NULL,
    customer_status     TEXT COLLATE "C" NOT NULL,
    promo_code          TEXT COLLATE "C" NOT NULL,
    event_date          BIGINT NOT NULL,
    reported_event_date BIGINT NOT NULL,
    created_at          BIGINT NOT NULL,
    currency            TEXT COLLATE "C" NOT NULL,
    amount              BIGINT NOT NULL,
    items               BYTEA NOT NULL,          -- action_codec
    payout              BIGINT NOT NULL,
    locking_date        BIGINT NOT NULL,
    clearing_date       BIGINT NOT NULL,
    status              TEXT COLLATE "C" NOT NULL,
    finance_status      TEXT COLLATE "C" NOT NULL,
    parent_action_id    TEXT COLLATE "C" NOT NULL,
    modification_count  BIGINT NOT NULL,
    outside_terms       BIGINT NOT NULL,
    contract_id         TEXT COLLATE "C" NOT NULL,
    contract_version    BIGINT NOT NULL,
    creation            BYTEA NOT NULL,          -- action_codec
    cleared_at          BIGINT,
    invoice_id          TEXT COLLATE "C" NOT NULL DEFAULT '',
    UNIQUE (account_id, action_id)
);
-- Every index ends in seq, so "newest" and "oldest first" read the index in order.
CREATE INDEX actions_by_account ON actions (account_id, seq);
CREATE INDEX actions_by_order ON actions (account_id, order_id, tracker_id, seq);
CREATE INDEX actions_by_customer ON actions (account_id, tracker_id, customer_id, seq);
CREATE INDEX actions_by_parent ON actions (account_id, parent_action_id, seq);
CREATE INDEX actions_by_cap ON actions (account_id, partner_id, contract_id, event_date);

CREATE TABLE history_batches (
    id       BIGSERIAL PRIMARY KEY,
    batch_id TEXT COLLATE "C" NOT NULL UNIQUE
);

-- Appended in entry order; an action's entries found by its seq.
CREATE TABLE history (
    entry_id         BIGINT NOT NULL PRIMARY KEY,   -- global insertion order
    action_seq       BIGINT NOT NULL,               -- actions.seq: the entry's action
    at               BIGINT NOT NULL,
    batch            BIGINT NOT NULL,               -- history_batches.id: the entry's batch
    line             BIGINT NOT NULL,
    operation        TEXT COLLATE "C" NOT NULL,
    reason           TEXT COLLATE "C" NOT NULL,
    old_amount       BIGINT NOT NULL,
    new_amount       BIGINT NOT NULL,
    old_payout       BIGINT NOT NULL,
    new_payout       BIGINT NOT NULL,
    old_status       TEXT COLLATE "C" NOT NULL,
    new_status       TEXT COLLATE "C" NOT NULL,
    contract_id      TEXT COLLATE "C" NOT NULL,
    contract_version BIGINT,
    note             TEXT NOT NULL
);
CREATE INDEX history_by_action ON history (action_seq, entry_id);

-- `ord` keeps the order records were first written in, as SQLite's rowid does.
CREATE TABLE batches (
    ord               BIGSERIAL NOT NULL,
    batch_id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id        TEXT COLLATE "C" NOT NULL,
    inbox             TEXT NOT NULL,
    file_name         TEXT NOT NULL,
    sha256            TEXT COLLATE "C" NOT NULL,
    size              BIGINT NOT NULL,
    type              TEXT NOT NULL,
    state             TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,
    received_at       BIGINT NOT NULL,
    completed_at      BIGINT,
    attempts          BIGINT NOT NULL,
    total             BIGINT NOT NULL,
    applied           BIGINT NOT NULL,
    rejected          BIGINT NOT NULL,
    error_code        TEXT NOT NULL,
    error_message     TEXT NOT NULL,
    error_line        BIGINT,
    error_counts_json TEXT NOT NULL,
    delivery_failures BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX batches_by_content ON batches (account_id, sha256);
CREATE INDEX batches_by_order ON batches (received_at, ord);

CREATE TABLE batch_outputs (
    batch_id TEXT COLLATE "C" NOT NULL REFERENCES batches (batch_id) ON DELETE CASCADE,
    ord      BIGINT NOT NULL,
    name     TEXT NOT NULL,
    content  BYTEA NOT NULL,
    PRIMARY KEY (batch_id, ord)
);

-- Files pulled from pull inboxes: the primary key is the claim, so that two instances
-- sharing the store never both take a remote file.
CREATE TABLE pulls (
    inbox       TEXT COLLATE "C" NOT NULL,
    remote_path TEXT COLLATE "C" NOT NULL,
    size        BIGINT NOT NULL,
    mtime       BIGINT NOT NULL,   -- the server's clock, seconds: compared only with itself
    file_name   TEXT NOT NULL,
    claim       TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,  -- claimed | fetched | finished
    claimed_at  BIGINT NOT NULL,
    finished_at BIGINT,
    owner       TEXT COLLATE "C" NOT NULL DEFAULT '',  -- the service that took it: host:state_dir
    PRIMARY KEY (inbox, remote_path, size, mtime)
);
CREATE INDEX pulls_open ON pulls (inbox, state);

-- The funds ledger, in the order made (id); its sum is the balance.
CREATE TABLE funds_entries (
    id         BIGSERIAL PRIMARY KEY,
    account_id TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,   -- DEPOSIT | CLEARING | TRANSFER
    amount     BIGINT NOT NULL CHECK (amount > 0),
    at         BIGINT NOT NULL,
    reference  TEXT NOT NULL,
    item       BIGINT                       -- CLEARING: actions.seq; TRANSFER: transfers.seq
);
CREATE INDEX funds_entries_by_account ON funds_entries (account_id, id);
-- Nothing is taken from the balance twice.
CREATE UNIQUE INDEX funds_entries_once ON funds_entries (kind, item) WHERE item IS NOT NULL;

CREATE TABLE transfers (
    seq          BIGSERIAL PRIMARY KEY,
    transfer_id  TEXT COLLATE "C" NOT NULL,
    account_id   TEXT COLLATE "C" NOT NULL,
    partner_id   TEXT COLLATE "C" NOT NULL,
    campaign_id  TEXT COLLATE "C" NOT NULL,
    type         TEXT COLLATE "C" NOT NULL,  -- MAKE_GOOD | BONUS | PAID_PLACEMENT
    amount       BIGINT NOT NULL CHECK (amount > 0),
    payment_date BIGINT NOT NULL,
    applied_at   BIGINT NOT NULL,
    comments     TEXT NOT NULL,
    batch_id     TEXT COLLATE "C" NOT NULL,
    invoice_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    UNIQUE (account_id, transfer_id)
);
CREATE INDEX transfers_waiting ON transfers (account_id, invoice_id);

CREATE TABLE invoices (
    invoice_id   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL,
    partner_id   TEXT COLLATE "C" NOT NULL,
    invoice_date BIGINT NOT NULL,
    local_date   TEXT NOT NULL,
    currency     TEXT NOT NULL,
    total        BIGINT NOT NULL,
    issued_at    BIGINT NOT NULL
);
CREATE INDEX invoices_by_account ON invoices (account_id, invoice_date, invoice_id);

CREATE TABLE invoice_lines (
    invoice_id TEXT COLLATE "C" NOT NULL REFERENCES invoices (invoice_id),
    ord        BIGINT NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    item       BIGINT NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    event_date BIGINT NOT NULL,
    cleared_at BIGINT NOT NULL,
    payout     BIGINT NOT NULL,
    comments   TEXT NOT NULL,
    PRIMARY KEY (invoice_id, ord)
);

-- An issued invoice never changes.
CREATE FUNCTION invoices_never_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'an issued invoice never changes'; END $$;
CREATE TRIGGER invoices_never_change BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION invoices_never_change();
CREATE TRIGGER invoice_lines_never_change BEFORE UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION invoices_never_change();
)sql";

// Version 2: a pull's claim has a lease, renewed by its owner; another instance takes over a
// pull whose lease has ended (docs/postgres.md, "Claims and leases"). NULL: no lease.
constexpr const char* kVersion2 = R"sql(
ALTER TABLE pulls ADD COLUMN lease_until BIGINT;
)sql";

// Version 3: the invoices whose files an instance wrote to every outbox, so that the
// instances sharing the store write an invoice's files once (docs/lifecycle.md, "Invoices in
// the outboxes"). Before it, each instance's STATE_DIR/invoices/ was the only record; an
// instance's next run carries its record in.
constexpr const char* kVersion3 = R"sql(
CREATE TABLE invoice_files (
    invoice_id TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES invoices (invoice_id),
    written_at BIGINT NOT NULL  -- when the first instance wrote them
);
)sql";

// Version 4: whether a record is a service's claim (1), which an instance applies again until
// it is decided, or a command-line run's (0); and the undecided claims of an account, found
// at once, so that a file waits for the account's earlier files that are not applied yet,
// whichever instance took them (docs/ingest.md, "Arrival order"). Records written before it
// count as command-line runs'.
constexpr const char* kVersion4 = R"sql(
ALTER TABLE batches ADD COLUMN claim BIGINT NOT NULL DEFAULT 0;
CREATE INDEX batches_open ON batches (account_id, ord) WHERE state = 'claimed' AND claim = 1;
)sql";

constexpr std::array kSteps = {kVersion1, kVersion2, kVersion3, kVersion4};

int read_version(Connection& db) {
    Result r = db.run("SELECT version FROM schema_version");
    if (r.rows() != 1) throw StoreError(db.where() + ": schema_version must hold one row");
    return static_cast<int>(r.int64(0, 0));
}

}  // namespace

int latest_schema_version() { return static_cast<int>(kSteps.size()); }

int schema_version(Connection& db) {
    Result r = db.run("SELECT to_regclass('schema_version') IS NOT NULL");
    if (!r.boolean(0, 0)) return 0;
    return read_version(db);
}

int run_migrations(Connection& db) {
    Transaction tx(db);
    // One migrator at a time per schema, whichever instance it runs in: a lock that ends with
    // the transaction, which a pooler in transaction mode keeps (docs/postgres.md, "Poolers").
    db.run("SELECT pg_advisory_xact_lock(hashtext('actiondrop migrate ' || current_schema()))");
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)");
    db.exec(
        "INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM "
        "schema_version)");
    const int latest = latest_schema_version();
    int current = read_version(db);
    if (current > latest)
        throw StoreError(db.where() + ": the database has schema version " +
                         std::to_string(current) + ", newer than this program's " +
                         std::to_string(latest));
    for (; current < latest; ++current) db.exec(kSteps[static_cast<std::size_t>(current)]);
    Params p;
    p.int64(std::int64_t{current});
    db.run("UPDATE schema_version SET version = $1", p);
    tx.commit();
    return current;
}

}  // namespace actiondrop::store::postgres
