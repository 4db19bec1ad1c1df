#pragma once
// The PostgreSQL implementation of Store and of a batch's transaction (docs/postgres.md).
//
// A batch's transaction keeps the actions it has read or written in the same write-behind
// cache as SQLite's (store/write_behind.hpp). Its writes go in bulk: the changed actions
// through COPY into a temporary table and one INSERT and one UPDATE … FROM, the history
// through COPY straight into its table. Writers of the ledger take turns on the counters
// row lock, which every batch takes first, whichever instance it runs in.
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/cap_totals_cache.hpp"
#include "store/postgres/pg.hpp"
#include "store/store.hpp"
#include "store/write_behind.hpp"

namespace actiondrop::store::postgres {

class PostgresStore final : public Store, public LifecycleLedger {
public:
    explicit PostgresStore(const std::string& url);

    int migrate() override;
    LifecycleLedger* lifecycle_ledger() override { return this; }
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
    void for_each_change(
        std::string_view account_id,
        const std::function<void(const ledger::Action&, const ledger::HistoryEntry&)>& fn) override;
    void for_each_action(std::string_view account_id,
                         const std::function<void(const ledger::Action&)>& fn) override;

    // The life cycle's money: postgres_lifecycle.cpp.
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

private:
    friend class PostgresBatch;
    lifecycle::AccountBook read_book(std::string_view account_id, ledger::Instant now);
    void write_run(std::string_view account_id, const lifecycle::RunDecisions& decisions);
    std::vector<lifecycle::Invoice> read_invoices(const char* sql, std::string_view key);
    std::optional<BatchRecord> one_batch(const char* sql, std::string_view a, std::string_view b);

    std::string url_;
    Connection db_;
    bool batch_open_ = false;
};

class PostgresBatch final : public BatchTransaction, public KeyOrder {
public:
    PostgresBatch(PostgresStore& store, std::string batch_id);
    ~PostgresBatch() override;

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

    // Rows in seq order: the lookups of a chunk go to the server in a few statements.
    KeyOrder* key_order() override { return this; }
    void prefetch(std::string_view account_id, std::vector<std::string_view> action_ids) override;
    std::vector<std::optional<ActionKey>> action_keys(
        std::string_view account_id, const std::vector<std::string_view>& action_ids) override;
    // On a connection of its own, which sees what was committed before this batch began:
    // every writer of the ledger waits for this batch's lock meanwhile.
    std::unique_ptr<ReadAhead> read_ahead(std::string_view account_id,
                                          const std::vector<std::int64_t>& keys) override;
    void prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                       std::unique_ptr<ReadAhead> ahead = nullptr) override;

    void flush() override;
    void commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) override;
    void rollback() override;

private:
    void require_open() const;
    ledger::Action* adopt(const Result& r, int row);
    // A newer of the query's first row (if any) and an unwritten action (if any).
    ledger::Action* newest(const Result& r, ledger::Action* pending);
    std::int64_t history_batch(std::string_view batch_id);
    void write_pending();
    struct PgReadAhead;

    PostgresStore& store_;
    Connection& db_;
    std::string batch_id_;
    bool open_ = false;
    bool temp_table_ = false;  // batch_actions made in this transaction
    WriteBehind cache_;
    CapTotalsCache caps_;  // the periods this batch asked for (store/cap_totals_cache.hpp)
    std::unique_ptr<Connection> reader_;  // read_ahead()'s, on its thread
    bool reader_failed_ = false;

    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> history_batches_;
    std::unordered_map<std::string, std::int64_t, Hash, std::equal_to<>> balances_;
    // Ids that prefetch() asked for and the store has not (account, NUL, id), until the next
    // flush: find() answers them without a round trip. Nothing else writes the ledger while
    // the batch holds its lock, and created() takes an id out.
    std::unordered_set<std::string, Hash, std::equal_to<>> absent_;
    std::string absent_key_;
    const std::string& absent_key(std::string_view account_id, std::string_view action_id) {
        absent_key_.assign(account_id);
        absent_key_ += '\0';
        absent_key_ += action_id;
        return absent_key_;
    }
    std::string items_buffer_, creation_buffer_, copy_buffer_;
};

}  // namespace actiondrop::store::postgres
