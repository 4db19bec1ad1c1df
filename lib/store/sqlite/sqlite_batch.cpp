#include <algorithm>
#include <filesystem>
#include <system_error>

#include "store/sqlite/action_rows.hpp"
#include "store/sqlite/funds_rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace actiondrop::store::sqlite {

using namespace actiondrop::ledger;

namespace {

constexpr int kKeyOrderCacheKiB = 16 * 1024;

// The values in ascending order, each once.
template <typename T>
std::vector<T> sorted_distinct(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
}

}  // namespace

// Defined before the constructor, which destroys `reader_` when it throws.
struct SqliteBatch::Reader {
    explicit Reader(const std::string& path) : db(path) {
        // Each page is read once, in key order: a small cache does.
        db.set_cache_kib(2 * 1024);
        by_seqs = &db.cached(select_actions_by_seqs_sql(kPrefetchIds));
        by_range = &db.cached(kSelectActionsBySeqRange);
    }
    Database db;
    Statement* by_seqs;
    Statement* by_range;
};

struct SqliteBatch::SqliteReadAhead final : ReadAhead {
    std::string account_id;
    std::vector<std::int64_t> asked;  // ascending, distinct
    std::vector<Action> actions;      // those of `asked` that were stored
};

SqliteBatch::SqliteBatch(SqliteStore& store, std::string batch_id)
    : store_(store), db_(store.db_), batch_id_(std::move(batch_id)) {
    if (store_.batch_open_)
        throw std::logic_error("a batch transaction is already open on this store");
    // A ledger moved away fails the batch before its work, not only at its commit; and before
    // its read-ahead connection opens the path (docs/architecture.md, "The ledger file").
    if (auto problem = db_.file_problem(); !problem.empty()) throw StoreError(problem);
    select_by_key_ = &db_.cached(kSelectActionByKey);
    select_by_keys_ = &db_.cached(select_actions_by_keys_sql(kPrefetchIds));
    select_by_seqs_ = &db_.cached(select_actions_by_seqs_sql(kPrefetchIds));
    select_by_seq_range_ = &db_.cached(kSelectActionsBySeqRange);
    has_child_ = &db_.cached(kSelectAnyChild);
    keys_of_ = &db_.cached(select_action_keys_sql(kPrefetchIds, false));
    keys_children_of_ = &db_.cached(select_action_keys_sql(kPrefetchIds, true));
    key_range_ = &db_.cached(select_action_key_range_sql(false));
    key_range_children_ = &db_.cached(select_action_key_range_sql(true));
    select_by_order_ = &db_.cached(kSelectActionByOrder);
    select_by_customer_ = &db_.cached(kSelectActionByCustomer);
    select_children_ = &db_.cached(kSelectActionChildren);
    insert_action_ = &db_.cached(kInsertAction);
    update_full_ = &db_.cached(kUpdateActionFull);
    update_unindexed_ = &db_.cached(kUpdateActionUnindexed);
    insert_history_ = &db_.cached(insert_history_rows_sql(1));
    insert_history_rows_ = &db_.cached(insert_history_rows_sql(kHistoryRows));
    cap_totals_ = &db_.cached(kCapTotals);
    db_.exec("BEGIN IMMEDIATE");
    open_ = true;
    store_.batch_open_ = true;
    try {
        const std::int64_t next_seq = read_counter(db_, "action_seq");
        cache_.start(next_seq, read_counter(db_, "history_entry"));
    } catch (...) {
        rollback();
        throw;
    }
}

SqliteBatch::~SqliteBatch() {
    try {
        rollback();
    } catch (const StoreError&) {
        // A failed rollback leaves nothing committed: SQLite undoes it on the next open.
    }
}

void SqliteBatch::require_open() const {
    if (!open_) throw std::logic_error("batch transaction " + batch_id_ + " is already finished");
}

Action* SqliteBatch::find(std::string_view account_id, std::string_view action_id) {
    require_open();
    if (WriteBehind::Entry* entry = cache_.cached(account_id, action_id)) return &entry->action;
    Use q(*select_by_key_);
    q->bind_text(1, account_id);
    q->bind_text(2, action_id);
    return q->step() ? adopt(*q) : nullptr;
}

void SqliteBatch::prefetch(std::string_view account_id, std::vector<std::string_view> action_ids) {
    require_open();
    // Ids in index order: the searches walk the index and the table forward, so the pages
    // they share are read once and stay in the page cache for the writes of the flush.
    action_ids = sorted_distinct(std::move(action_ids));
    std::erase_if(action_ids,
                  [&](std::string_view id) { return cache_.cached(account_id, id) != nullptr; });
    // Several ids per statement: one statement run per id costs more than its search.
    for (std::size_t first = 0; first < action_ids.size(); first += kPrefetchIds) {
        Use q(*select_by_keys_);
        q->bind_text(1, account_id);
        for (std::size_t i = 0; i < kPrefetchIds; ++i) {
            // A short last group repeats its last id: IN ignores the repetition.
            const std::size_t at = std::min(first + i, action_ids.size() - 1);
            q->bind_text(static_cast<int>(i) + 2, action_ids[at]);
        }
        while (q->step()) adopt(*q);
    }
}

void SqliteBatch::read_by_seqs(Statement& by_seqs, Statement& by_range, std::string_view account_id,
                               const std::vector<std::int64_t>& seqs,
                               const std::function<void(const Statement&)>& take) {
    // By rowid alone, no search of the id index: a run of close keys by one forward walk of
    // the table (a row walked over costs about what a search does), the others by searches,
    // many per statement.
    constexpr std::int64_t kMostApart = 2;  // keys of one walk: at most one row between
    constexpr std::size_t kShortestWalk = 16;
    std::vector<std::int64_t> searched;
    auto search = [&](bool all) {
        while (searched.size() >= kPrefetchIds || (all && !searched.empty())) {
            const std::size_t count = std::min(kPrefetchIds, searched.size());
            Use q(by_seqs);
            q->bind_text(1, account_id);
            for (std::size_t i = 0; i < kPrefetchIds; ++i)
                q->bind(static_cast<int>(i) + 2, searched[std::min(i, count - 1)]);
            while (q->step()) take(*q);
            searched.erase(searched.begin(), searched.begin() + static_cast<std::ptrdiff_t>(count));
        }
    };
    for (std::size_t first = 0; first < seqs.size();) {
        std::size_t last = first;
        while (last + 1 < seqs.size() && seqs[last + 1] - seqs[last] <= kMostApart) ++last;
        if (last - first + 1 < kShortestWalk) {
            searched.insert(searched.end(), seqs.begin() + static_cast<std::ptrdiff_t>(first),
                            seqs.begin() + static_cast<std::ptrdiff_t>(last + 1));
            search(false);
        } else {
            Use q(by_range);
            q->bind_text(1, account_id);
            q->bind(2, seqs[first]);
            q->bind(3, seqs[last]);
            std::size_t next = first;
            while (q->step()) {
                const std::int64_t seq = q->int64_at(2);
                while (next <= last && seqs[next] < seq) ++next;
                if (next <= last && seqs[next] == seq) take(*q);
            }
        }
        first = last + 1;
    }
    search(true);
}

std::unique_ptr<KeyOrder::ReadAhead> SqliteBatch::read_ahead(
    std::string_view account_id, const std::vector<std::int64_t>& keys) {
    // Runs on another thread than the rest of the batch: touches only the reader and what
    // it returns. The batch holds the write lock, so no commit can come between its reads.
    // A reader that fails only costs speed: prefetch_keys() then reads through the batch.
    if (reader_failed_) return nullptr;
    try {
        if (!reader_) reader_ = std::make_unique<Reader>(db_.path());
        auto ahead = std::make_unique<SqliteReadAhead>();
        ahead->account_id = account_id;
        ahead->asked = sorted_distinct(keys);
        ahead->actions.reserve(ahead->asked.size());
        read_by_seqs(
            *reader_->by_seqs, *reader_->by_range, account_id, ahead->asked,
            [&](const Statement& row) { read_action(row, ahead->actions.emplace_back()); });
        return ahead;
    } catch (const StoreError&) {
        reader_failed_ = true;
        return nullptr;
    }
}

void SqliteBatch::prefetch_keys(std::string_view account_id, const std::vector<std::int64_t>& keys,
                                std::unique_ptr<ReadAhead> ahead) {
    require_open();
    use_key_order_cache();
    std::vector<std::int64_t> seqs = sorted_distinct(keys);
    auto* read = dynamic_cast<SqliteReadAhead*>(ahead.get());
    if (read != nullptr && read->account_id == account_id) {
        // As committed before this batch: true unless this batch has written the row since
        // (a row it changed and has not written yet is still in the cache, which wins).
        for (Action& action : read->actions)
            if (!cache_.written(action.key)) cache_.adopt(std::move(action));
        // What the reader was asked for and this batch has not written is known now: in the
        // cache, or not stored at all.
        std::erase_if(seqs, [&](std::int64_t seq) {
            return !cache_.written(seq) &&
                   std::binary_search(read->asked.begin(), read->asked.end(), seq);
        });
    }
    read_by_seqs(*select_by_seqs_, *select_by_seq_range_, account_id, seqs,
                 [&](const Statement& row) { adopt(row); });
}

void SqliteBatch::use_key_order_cache() {
    // Rows in key order need each page once, and the id index is walked once: a small page
    // cache does, and leaves the memory to the rows the caller holds to put them in order.
    if (!small_cache_) {
        db_.set_cache_kib(kKeyOrderCacheKiB);
        small_cache_ = true;
    }
}

std::vector<std::optional<KeyOrder::ActionKey>> SqliteBatch::action_keys(
    std::string_view account_id, const std::vector<std::string_view>& action_ids) {
    require_open();
    use_key_order_cache();
    // Answered by the database alone: anything changed or created is written first.
    if (cache_.any_pending()) write_pending();
    bool any_child = false;
    {
        Use q(*has_child_);
        q->bind_text(1, account_id);
        any_child = q->step();
    }
    const bool in_order = std::is_sorted(action_ids.begin(), action_ids.end());
    std::vector<std::string_view> ids = action_ids;
    if (!in_order) std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<std::optional<ActionKey>> found(ids.size());
    // Ids close together in index order (a caller that sorts them) by one walk of the index;
    // when the walk meets many more entries than ids, the rest by searches of their own.
    std::size_t walked = 0;
    if (!ids.empty()) {
        Use q(any_child ? *key_range_children_ : *key_range_);
        q->bind_text(1, account_id);
        q->bind_text(2, ids.front());
        q->bind_text(3, ids.back());
        std::size_t budget = 2 * ids.size() + 64;
        while (walked < ids.size() && budget > 0 && q->step()) {
            --budget;
            const std::string_view id = q->text_at(0);
            while (walked < ids.size() && ids[walked] < id) ++walked;
            if (walked < ids.size() && ids[walked] == id)
                found[walked++] = ActionKey{q->int64_at(1), q->int64_at(2) != 0};
        }
        if (budget > 0) walked = ids.size();  // the walk ended: the ids not met do not exist
    }
    Statement& st = any_child ? *keys_children_of_ : *keys_of_;
    for (std::size_t first = walked; first < ids.size(); first += kPrefetchIds) {
        const std::size_t count = std::min(kPrefetchIds, ids.size() - first);
        Use q(st);
        q->bind_text(1, account_id);
        for (std::size_t i = 0; i < kPrefetchIds; ++i)
            q->bind_text(static_cast<int>(i) + 2, ids[first + std::min(i, count - 1)]);
        const auto begin = ids.begin() + static_cast<std::ptrdiff_t>(first);
        const auto end = begin + static_cast<std::ptrdiff_t>(count);
        while (q->step()) {
            const auto at = std::lower_bound(begin, end, q->text_at(0));
            if (at == end || *at != q->text_at(0)) continue;
            found[static_cast<std::size_t>(at - ids.begin())] =
                ActionKey{q->int64_at(1), q->int64_at(2) != 0};
        }
    }
    std::vector<std::optional<ActionKey>> keys;
    keys.reserve(action_ids.size());
    std::size_t at = 0;
    for (std::string_view id : action_ids) {
        if (in_order)
            while (ids[at] != id) ++at;
        else
            at = static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) -
                                          ids.begin());
        keys.push_back(found[at]);
    }
    return keys;
}

Action* SqliteBatch::newest(Statement& query, Action* pending) {
    // Unwritten actions were created after every written one, so a pending match is newer.
    if (pending != nullptr) return pending;
    return query.step() ? adopt(query) : nullptr;
}

Action* SqliteBatch::find_by_order(std::string_view account_id, std::string_view order_id,
                                   std::string_view tracker_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    Action* pending = cache_.pending_by_order(account_id, order_id, tracker_id);
    Use q(*select_by_order_);
    q->bind_text(1, account_id);
    q->bind_text(2, order_id);
    q->bind_text(3, tracker_id);
    return newest(*q, pending);
}

Action* SqliteBatch::latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                         std::string_view customer_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    Action* pending = cache_.pending_by_customer(account_id, tracker_id, customer_id);
    Use q(*select_by_customer_);
    q->bind_text(1, account_id);
    q->bind_text(2, tracker_id);
    q->bind_text(3, customer_id);
    return newest(*q, pending);
}

std::vector<Action*> SqliteBatch::children(std::string_view account_id,
                                           std::string_view parent_action_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    std::vector<Action*> found;
    {
        Use q(*select_children_);
        q->bind_text(1, account_id);
        q->bind_text(2, parent_action_id);
        while (q->step()) found.push_back(adopt(*q));
    }
    cache_.add_pending_children(account_id, parent_action_id, found);
    return found;
}

CapTotals SqliteBatch::cap_totals(std::string_view account_id, std::string_view partner_id,
                                  std::string_view contract_id, Instant from, Instant to) {
    require_open();
    if (const CapTotals* known = caps_.find(account_id, partner_id, contract_id, from, to))
        return *known;
    // Payouts and statuses change in memory; the sums are the database's once written.
    if (cache_.any_dirty()) write_pending();
    Use q(*cap_totals_);
    q->bind_text(1, account_id);
    q->bind_text(2, partner_id);
    q->bind_text(3, contract_id);
    q->bind(4, millis(from));
    q->bind(5, millis(to));
    CapTotals totals;
    if (q->step()) {
        totals.payout = q->int64_at(0);
        totals.count = q->int64_at(1);
    }
    caps_.keep(account_id, partner_id, contract_id, from, to, totals);
    return totals;
}

void SqliteBatch::changed(Action& action, HistoryEntry entry) {
    require_open();
    caps_.changed();
    cache_.changed(action, std::move(entry));
}

Action& SqliteBatch::created(Action action, HistoryEntry entry) {
    require_open();
    Action& stored = cache_.created(std::move(action), std::move(entry));
    caps_.created(stored);
    return stored;
}

std::int64_t SqliteBatch::funds_balance(std::string_view account_id) {
    require_open();
    auto known = balances_.find(account_id);
    if (known == balances_.end())
        known = balances_.emplace(std::string(account_id), read_balance(db_, account_id)).first;
    return known->second;
}

// Written at once, not behind: transfers are few, and what the rules read of them is the
// balance, kept here.
void SqliteBatch::transferred(Transfer transfer) {
    const std::int64_t before = funds_balance(transfer.account_id);
    if (transfer.amount <= 0 || transfer.amount > before)
        throw std::logic_error("transfer " + transfer.transfer_id + " is not covered by the funds");
    insert_transfer(db_, transfer, batch_id_);
    balances_[transfer.account_id] = before - transfer.amount;
}

std::int64_t SqliteBatch::history_batch(std::string_view batch_id) {
    // Nearly always the batch's own id: asked once, then remembered.
    if (last_history_batch_ && last_history_batch_->first == batch_id)
        return last_history_batch_->second;
    auto known = history_batches_.find(batch_id);
    if (known == history_batches_.end()) {
        const std::int64_t id = history_batch_id(db_, batch_id);
        known = history_batches_.emplace(std::string(batch_id), id).first;
    }
    last_history_batch_ = &*known;
    return known->second;
}

void SqliteBatch::write_pending() {
    // An action's row by its integer key; the indexes rewritten only when one of their
    // columns changed.
    auto write_action = [this](const Action& action, bool stored, bool indexed_changed) {
        Statement& st = !stored           ? *insert_action_
                        : indexed_changed ? *update_full_
                                          : *update_unindexed_;
        Use q(st);
        if (&st == update_unindexed_)
            bind_action_unindexed(st, action, items_buffer_, creation_buffer_);
        else
            bind_action(st, action, items_buffer_, creation_buffer_);
        q->run();
    };
    // Queued in entry order, which is the history table's key: appended at its end.
    // Several rows per statement: one statement run per entry costs more than its insert.
    auto write_history = [this](const std::vector<WriteBehind::QueuedHistory>& history) {
        std::size_t done = 0;
        for (; done + kHistoryRows <= history.size(); done += kHistoryRows) {
            Use q(*insert_history_rows_);
            for (std::size_t row = 0; row < kHistoryRows; ++row) {
                const WriteBehind::QueuedHistory& queued = history[done + row];
                bind_history_row(*q, row, queued.action_key, queued.entry_id,
                                 history_batch(queued.entry.batch_id), queued.entry);
            }
            q->run();
        }
        for (; done < history.size(); ++done) {
            const WriteBehind::QueuedHistory& queued = history[done];
            Use q(*insert_history_);
            bind_history_row(*q, 0, queued.action_key, queued.entry_id,
                             history_batch(queued.entry.batch_id), queued.entry);
            q->run();
        }
    };
    cache_.write(write_action, write_history);
}

void SqliteBatch::flush() {
    require_open();
    write_pending();
    cache_.clear();
}

void SqliteBatch::commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) {
    require_open();
    if (record.batch_id != batch_id_)
        throw std::logic_error("commit(): record of batch " + record.batch_id + " in batch " +
                               batch_id_);
    {
        // The state this attempt started from must still be the stored one (docs/ingest.md,
        // "The journal of a batch"): a batch committed meanwhile is never committed again.
        Use q(db_.cached("SELECT state, status FROM batches WHERE batch_id = ?1"));
        q->bind_text(1, batch_id_);
        if (q->step() && (q->text_at(0) != "claimed" || !q->text_at(1).empty()))
            throw BatchCommittedElsewhere("batch " + batch_id_ +
                                          " was committed by another attempt (" +
                                          std::string(q->text_at(0)) + ", " +
                                          std::string(q->text_at(1)) + "); this one is dropped");
    }
    write_pending();
    write_counter(db_, "action_seq", cache_.next_key());
    write_counter(db_, "history_entry", cache_.next_history_entry());
    {
        Use q(db_.cached(kUpsertBatch));
        bind_batch(*q, record);
        q->run();
    }
    // Outputs given replace the stored ones; a chunk's commit without outputs keeps them.
    if (!outputs.empty()) {
        Use del(db_.cached("DELETE FROM batch_outputs WHERE batch_id = ?1"));
        del->bind_text(1, batch_id_);
        del->run();
    }
    std::int64_t ord = 0;
    for (const BatchOutput& output : outputs) {
        std::error_code ec;
        const std::uintmax_t size = std::filesystem::file_size(output.content, ec);
        if (ec)
            throw StoreError(output.content.string() +
                             ": cannot read output file: " + ec.message());
        const std::string path = output.content.string();
        {
            Use q(
                db_.cached("INSERT INTO batch_outputs (batch_id, ord, name, content) VALUES (?1, "
                           "?2, ?3, ?4)"));
            q->bind_text(1, batch_id_);
            q->bind(2, ord++);
            q->bind_text(3, output.name);
            q->bind_zeroblob(4, static_cast<std::int64_t>(size));
            q->run();
        }
        db_.write_blob_from_file("batch_outputs", "content", db_.last_insert_rowid(), path);
    }
    reader_.reset();  // a reader left open would hold back the checkpoint
    db_.commit();
    open_ = false;
    store_.batch_open_ = false;
    cache_.clear();
    caps_.clear();
    restore_page_cache();
}

void SqliteBatch::restore_page_cache() {
    if (!small_cache_) return;
    small_cache_ = false;
    db_.set_cache_kib(kCacheKiB);
}

void SqliteBatch::rollback() {
    if (!open_) return;
    reader_.reset();
    cache_.clear();
    caps_.clear();
    balances_.clear();
    open_ = false;
    store_.batch_open_ = false;
    db_.exec("ROLLBACK");
    restore_page_cache();
}

}  // namespace actiondrop::store::sqlite
