#pragma once
// The SQLite implementation of Store and of a batch's transaction (README.md, "How a file
// is applied exactly once").
//
// A batch's transaction keeps the actions it has read or written in its write-behind cache
// (store/write_behind.hpp); changes are written in key (seq) order when the cache is flushed,
// so that B-tree updates go through the pages in order, and an action's row is updated by its
// integer key, not searched by its id. Queries by order, customer or parent also see actions
// created and not yet written; cap totals write pending changes first.
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/cap_totals_cache.hpp"
#include "store/sqlite/action_rows.hpp"
#include "store/sqlite/sqlite.hpp"
#include "store/store.hpp"
#include "store/write_behind.hpp"

namespace actiondrop::store::sqlite {

class SqliteStore final : public Store, public LifecycleLedger {
public:
    explicit SqliteStore(const std::string& path);
    // The connection's run tally points at this object (sqlite_lifecycle.cpp).
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    int migrate() override;
    LifecycleLedger* lifecycle_ledger() override { return this; }
    std::string problem() const override { return db_.file_problem(); }
    ledger::Catalog load_catalog() override;
    void save_catalog(const ledger::Catalog& catalog) override;

    std::optional<BatchRecord> find_batch(std::string_view batch_id) override;
    std::optional<BatchRecord> find_complete_batch(std::string_view account_id,
                                                   std::string_view sha256) override;
    std::optional<BatchRecord> find_open_batch(std::string_view account_id,
                                               std::string_view sha256) override;
    std::optional<BatchRecord> find_earlier_open_batch(std::string_view account_id,
                                                       std::string_view batch_id) override;
    bool hold_batch(std::string_view batch_id) override;
    void release_batch(std::string_view batch_id) override;
    std::vector<BatchRecord> list_batches(std::optional<std::string_view> account_id) override;
    void put_batch(const BatchRecord& record) override;
    std::vector<std::pair<std::string, std::string>> batch_outputs(
        std::string_view batch_id) override;

    bool claim_pull(const PullRecord& record) override;
    std::optional<PullRecord> find_pull(std::string_view inbox, std::string_view remote_path,
                                        std::int64_t size, std::int64_t mtime) override;
    std::vector<PullRecord> open_pulls(std::string_view inbox, std::string_view owner) override;
    void put_pull(const PullRecord& record) override;
    void forget_pull(const PullRecord& record) override;
    std::size_t renew_pulls(std::string_view inbox, std::string_view owner,
                            std::chrono::milliseconds lease) override;
    std::vector<TakenPull> take_over_pulls(std::string_view inbox, std::string_view owner,
                                           std::chrono::milliseconds lease) override;

    std::unique_ptr<BatchTransaction> begin_batch(std::string_view batch_id) override;

    std::optional<ledger::Action> action(std::string_view account_id,
                                         std::string_view action_id) override;
    std::vector<ledger::HistoryEntry> history(std::string_view account_id,
                                              std::string_view action_id) override;
    void for_each_action(std::string_view account_id,
                         const std::function<void(const ledger::Action&)>& fn) override;

    // The life cycle's money: sqlite_lifecycle.cpp.
    lifecycle::AccountBook load_book(std::string_view account_id, ledger::Instant now) override;
    void apply_run(std::string_view account_id, const lifecycle::RunDecisions& decisions) override;
    using LifecycleLedger::run_lifecycle;
    lifecycle::RunDecisions run_lifecycle(const ledger::Account& account, ledger::Instant now,
                                          lifecycle::DecisionSink* sink) override;
    std::optional<std::int64_t> deposit(std::string_view account_id, std::int64_t amount,
                                        ledger::Instant at, std::string_view reference) override;
    std::int64_t balance(std::string_view account_id) override;
    std::vector<ledger::FundsEntry> funds_entries(std::string_view account_id) override;
    std::vector<lifecycle::Invoice> invoices(std::string_view account_id) override;
    std::optional<lifecycle::Invoice> invoice(std::string_view invoice_id) override;
    std::vector<std::string> invoices_without_files(std::string_view account_id) override;
    void record_invoice_files(std::span<const std::string> invoice_ids,
                              ledger::Instant at) override;
    // The most memory a run's clear puts its queue in order with (lifecycle::QueueOrder);
    // a larger queue is sorted by SQLite (docs/lifecycle.md, "Scale"). Tests set 0.
    void set_queue_memory(std::size_t bytes) { queue_memory_ = bytes; }

    // A million queued actions with ids of up to about 20 bytes.
    static constexpr std::size_t kQueueMemory = std::size_t{64} << 20;

private:
    friend class SqliteBatch;
    // The parts of the life cycle's calls, inside a transaction the caller holds.
    lifecycle::AccountBook read_book(std::string_view account_id, ledger::Instant now);
    void write_run(std::string_view account_id, const lifecycle::RunDecisions& decisions);
    std::vector<lifecycle::Invoice> read_invoices(const char* sql, std::string_view key);
    std::optional<BatchRecord> one_batch(const char* sql, std::string_view a, std::string_view b);

    // What a run's UPDATE marked, counted by the SQL function lifecycle_tally as it marks
    // (sqlite_lifecycle.cpp); registered on the connection with this object's address.
    struct RunTally {
        std::int64_t locked = 0, cleared = 0, overdue = 0, debits = 0, debited = 0;
        bool beyond = false;  // debited passed int64
    };
    void register_run_tally();

    // hold_batch()'s marks: a lock on one byte of the ledger file each (sqlite_store.cpp).
    // Declared before the connection, so that its descriptor is closed after SQLite's.
    struct Holds {
        int fd = -1;
        std::set<std::string, std::less<>> held;
        Holds() = default;
        Holds(const Holds&) = delete;
        Holds& operator=(const Holds&) = delete;
        ~Holds();
    } holds_;
    Database db_;
    bool batch_open_ = false;
    std::size_t queue_memory_ = kQueueMemory;
    RunTally tally_;
};

class SqliteBatch final : public BatchTransaction, public KeyOrder {
public:
    SqliteBatch(SqliteStore& store, std::string batch_id);
    ~SqliteBatch() override;

    ledger::Action* find(std::string_view account_id, std::string_view action_id) override;
    ledger::Action* find_by_order(std::string_view account_id, std::string_view order_id,
                                  std::string_view tracker_id) override;
    ledger::Action* latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                        std::string_view customer_id) override;
    std::vector<ledger::Action*> children(std::string_view account_id,
                                          std::string_view parent_action_id) override;
    ledger::CapTotals cap_totals(std::string_view account_id, std::string_view partner_id,
                                 std::string_view contract_id, ledger::Instant from,
                                 ledger::Instant to) override;
    void changed(ledger::Action& action, ledger::HistoryEntry entry) override;
    ledger::Action& created(ledger::Action action, ledger::HistoryEntry entry) override;
    std::int64_t funds_balance(std::string_view account_id) override;
    void transferred(ledger::Transfer transfer) override;

    // SQLite keeps actions in rowid (seq) order: each page read and written once.
    KeyOrder* key_order() override { return this; }
    void prefetch(std::string_view account_id, std::vector<std::string_view> action_ids) override;
    std::unique_ptr<ReadAhead> read_ahead(std::string_view account_id,
                                          const std::vector<std::int64_t>& keys) override;
    void prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                       std::unique_ptr<ReadAhead> ahead = nullptr) override;
    std::vector<std::optional<ActionKey>> action_keys(
        std::string_view account_id, const std::vector<std::string_view>& action_ids) override;
    void flush() override;
    void commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) override;
    void rollback() override;

private:
    struct SqliteReadAhead;
    // The read connection of read_ahead(): it sees what was committed before this
    // transaction began, and nothing of this transaction's own writes.
    struct Reader;

    void require_open() const;
    // Reads the account's rows of `seqs` (ascending, distinct) through two statements of
    // one connection; `take` gets each row found.
    static void read_by_seqs(Statement& by_seqs, Statement& by_range, std::string_view account_id,
                             const std::vector<std::int64_t>& seqs,
                             const std::function<void(const Statement&)>& take);
    // The cached action of a row just read, reading it into the cache if new.
    ledger::Action* adopt(const Statement& row) {
        return cache_.adopt(row.text_at(0), row.text_at(1),
                            // Read in place: an action is large, and moving it twice costs
                            // more than its columns.
                            [&row](ledger::Action& into) { read_action(row, into); });
    }
    // The history_batches id of a batch id, added in this transaction if new.
    std::int64_t history_batch(std::string_view batch_id);
    // Writes dirty actions and queued history in key order; the cache stays.
    void write_pending();
    void restore_page_cache();
    // The small page cache of key order (action_keys, prefetch_keys) until the batch ends.
    void use_key_order_cache();
    // A newer of a database row (if any) and an unwritten action (if any).
    ledger::Action* newest(Statement& query, ledger::Action* pending);

    SqliteStore& store_;
    Database& db_;
    std::string batch_id_;
    bool open_ = false;
    bool small_cache_ = false;  // rows come in key order (prefetch_keys): see there

    // The actions read and written, and what is still to be written (store/write_behind.hpp).
    WriteBehind cache_;
    CapTotalsCache caps_;  // the periods this batch asked for (store/cap_totals_cache.hpp)
    std::unique_ptr<Reader> reader_;
    // history_batches ids known to this transaction (added ones vanish with its rollback,
    // and so does this map, which lives no longer than the transaction).
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> history_batches_;
    const std::pair<const std::string, std::int64_t>* last_history_batch_ = nullptr;
    bool reader_failed_ = false;  // touched by read_ahead() alone
    // Funds balances read by this transaction, less the transfers it made since: the batch
    // holds the write lock, so nothing else moves them meanwhile.
    std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> balances_;

    std::string items_buffer_, creation_buffer_;

    Statement* select_by_key_;
    static constexpr std::size_t kPrefetchIds = 64;
    Statement* select_by_keys_;       // kPrefetchIds ids at once
    Statement* select_by_seqs_;       // kPrefetchIds seqs at once
    Statement* select_by_seq_range_;  // the seqs between two
    Statement* has_child_;            // does any action of the account have a parent?
    Statement* keys_of_;              // seq of kPrefetchIds ids
    Statement* keys_children_of_;     // seq and whether it has children, of kPrefetchIds ids
    Statement* key_range_;            // seqs of the ids between two ids
    Statement* key_range_children_;   // and whether each has children
    Statement* select_by_order_;
    Statement* select_by_customer_;
    Statement* select_children_;
    Statement* insert_action_;
    Statement* update_full_;
    Statement* update_unindexed_;
    Statement* insert_history_;  // one entry
    static constexpr std::size_t kHistoryRows = 32;
    Statement* insert_history_rows_;  // kHistoryRows entries at once
    Statement* cap_totals_;
};

}  // namespace actiondrop::store::sqlite
