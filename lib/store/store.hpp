#pragma once
// Persistence of the catalog, the action ledger and the batch journal (docs/ingest.md,
// "The journal of a batch"; README.md, "How a file is applied exactly once").
// SQLite is the embedded default; PostgreSQL will implement the same interface.
// Failures of the machine (disk full, database locked too long, corrupt file) are
// thrown as StoreError; nothing a user's file contains can make this layer fail.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/batch_state.hpp"
#include "ledger/action.hpp"
#include "ledger/catalog.hpp"
#include "ledger/view.hpp"

namespace actiondrop::store {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One file's durable journal record (docs/ingest.md, "The journal of a batch"). Keyed by
// batch_id; indexed by (account_id, sha256).
struct BatchRecord {
    std::string batch_id;
    std::string account_id;
    std::string inbox;      // "" for `actiondrop apply` without --inbox
    std::string file_name;  // the name as uploaded
    std::string sha256;     // hex
    std::int64_t size = 0;
    std::string type;       // modifications | conversions | funds_transfers
    BatchState state = BatchState::Claimed;  // moved only through apply/journal.hpp
    std::string status;     // "" until decided, then COMPLETE | REJECTED
    ledger::Instant received_at{};
    std::optional<ledger::Instant> completed_at;
    int attempts = 0;       // processing attempts (quarantine after 3 crashes)
    int delivery_failures = 0;  // failed deliveries after the commit (quarantine after 3)
    std::int64_t total = 0, applied = 0, rejected = 0;
    std::string error_code;     // file-level code when REJECTED
    std::string error_message;
    std::optional<std::int64_t> error_line;
    std::string error_counts_json = "{}";  // code -> count
};

// An output file of a batch (result_, errors_, _summary.json), kept in the store with
// the batch so that it can be (re)delivered until delivered.
struct BatchOutput {
    std::string name;                 // e.g. "result_foo.csv"
    std::filesystem::path content;    // a local file holding the bytes (streamed in)
};

// A file pulled from an SFTP inbox (README.md, "SFTP pull inboxes"), from its claim until
// the remote original is dealt with. Keyed by (inbox, remote_path, size, mtime).
struct PullRecord {
    std::string inbox;
    std::string remote_path;  // the original's path on the server while it is processed
    std::int64_t size = 0;
    std::int64_t mtime = 0;   // the server's clock
    std::string file_name;    // the name as the advertiser gave it
    std::string claim;        // the local copy's name in the inbox's spool `.processing/`
    std::string state;        // claimed | fetched | finished
    ledger::Instant claimed_at{};
    std::optional<ledger::Instant> finished_at;
};

// One batch's unit of work: a write transaction, seen by the rules as the ledger.
// Reads see the transaction's own writes. Changes are buffered and written in key order
// by flush() (called by the apply layer every few thousand rows to bound memory;
// pointers handed out before a flush become invalid). Nothing is durable until commit().
class BatchTransaction : public ledger::LedgerView {
public:
    // A hint that the next rows will look these actions up: a store may read them now, in
    // its own key order, so that each of its pages is read once. The default reads nothing.
    virtual void prefetch(std::string_view account_id, std::vector<std::string_view> action_ids) {
        (void)account_id;
        (void)action_ids;
    }
    // Where an action sits in the store's key order, and whether another action names it
    // as its parent (a reversal of it may then change those children too).
    struct ActionKey {
        std::int64_t key = 0;
        bool has_children = false;
    };
    // For each id, its action's ActionKey, or nullopt when the account has no such action.
    // Rows sorted by these keys make the store read and write each of its pages once.
    // An empty answer means that this store has no key order to offer.
    virtual std::vector<std::optional<ActionKey>> action_keys(
        std::string_view account_id, const std::vector<std::string_view>& action_ids) {
        (void)account_id;
        (void)action_ids;
        return {};
    }
    // Actions read by read_ahead(), for prefetch_keys().
    struct ReadAhead {
        virtual ~ReadAhead() = default;
    };
    // Reads the stored actions of these keys (from action_keys(), ascending) as they were
    // when this transaction began, on the calling thread: one other thread may call it while
    // the transaction is used, but not while it commits or rolls back. nullptr when the
    // store cannot (the default): prefetch_keys() then reads them itself.
    virtual std::unique_ptr<ReadAhead> read_ahead(std::string_view account_id,
                                                  const std::vector<std::int64_t>& keys) {
        (void)account_id;
        (void)keys;
        return nullptr;
    }
    // prefetch() of actions known by the keys that action_keys() gave, in ascending order.
    // The actions in `ahead` that this transaction has not written since are taken from it;
    // the others are read now.
    virtual void prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                               std::unique_ptr<ReadAhead> ahead = nullptr) {
        (void)account_id;
        (void)keys;
        (void)ahead;
    }
    virtual void flush() = 0;
    // Writes the final journal record and the outputs, and commits everything at once.
    virtual void commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) = 0;
    // Drops every change of this transaction (also done by the destructor).
    virtual void rollback() = 0;
};

class Store {
public:
    virtual ~Store() = default;

    // Runs the versioned migrations up to the current schema; returns its version.
    virtual int migrate() = 0;

    // The whole catalog (time zones looked up again from their names).
    virtual ledger::Catalog load_catalog() = 0;
    virtual void save_catalog(const ledger::Catalog& catalog) = 0;

    // Journal.
    virtual std::optional<BatchRecord> find_batch(std::string_view batch_id) = 0;
    // The COMPLETE batch of this account with this content, if any (DUPLICATE_FILE).
    virtual std::optional<BatchRecord> find_complete_batch(std::string_view account_id,
                                                           std::string_view sha256) = 0;
    // An unfinished (claimed, no status) batch of this account and content, to resume.
    virtual std::optional<BatchRecord> find_open_batch(std::string_view account_id,
                                                       std::string_view sha256) = 0;
    virtual std::vector<BatchRecord> list_batches(std::optional<std::string_view> account_id) = 0;
    // Inserts or updates the record in its own transaction.
    virtual void put_batch(const BatchRecord& record) = 0;
    // The stored outputs of a batch: (name, bytes) in the order they were committed.
    virtual std::vector<std::pair<std::string, std::string>> batch_outputs(std::string_view batch_id) = 0;

    // Pulls. claim_pull inserts the record and returns true, or returns false when that
    // (inbox, remote_path, size, mtime) is already known: pulled before, or by another service.
    virtual bool claim_pull(const PullRecord& record) = 0;
    virtual std::optional<PullRecord> find_pull(std::string_view inbox, std::string_view remote_path,
                                                std::int64_t size, std::int64_t mtime) = 0;
    // The records of an inbox that are not finished, oldest claim first.
    virtual std::vector<PullRecord> open_pulls(std::string_view inbox) = 0;
    // Updates the state (and finished_at) of a record.
    virtual void put_pull(const PullRecord& record) = 0;
    // Forgets a claim whose download failed, so that the file is taken again later.
    virtual void forget_pull(const PullRecord& record) = 0;

    // Starts a batch's write transaction (one at a time per store).
    virtual std::unique_ptr<BatchTransaction> begin_batch(std::string_view batch_id) = 0;

    // Reads for the CLI and reports.
    virtual std::optional<ledger::Action> action(std::string_view account_id,
                                                 std::string_view action_id) = 0;
    virtual std::vector<ledger::HistoryEntry> history(std::string_view account_id,
                                                      std::string_view action_id) = 0;
    virtual void for_each_action(std::string_view account_id,
                                 const std::function<void(const ledger::Action&)>& fn) = 0;
};

// "sqlite:/path/to/ledger.db" (or a plain path). Creates the file if needed.
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace actiondrop::store
