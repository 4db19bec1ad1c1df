#include <algorithm>
#include <filesystem>
#include <system_error>

#include "store/action_rows.hpp"
#include "store/sqlite_store.hpp"

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

std::int64_t read_counter(Database& db, std::string_view name) {
    Use q(db.cached("SELECT value FROM counters WHERE name = ?1"));
    q->bind_text(1, name);
    if (!q->step()) throw StoreError(db.path() + ": counter " + std::string(name) + " is missing");
    return q->int64_at(0);
}

void write_counter(Database& db, std::string_view name, std::int64_t value) {
    Use q(db.cached("UPDATE counters SET value = ?2 WHERE name = ?1"));
    q->bind_text(1, name);
    q->bind(2, value);
    q->run();
}

}  // namespace

SqliteBatch::SqliteBatch(SqliteStore& store, std::string batch_id)
    : store_(store), db_(store.db_), batch_id_(std::move(batch_id)) {
    if (store_.batch_open_)
        throw std::logic_error("a batch transaction is already open on this store");
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
        next_seq_ = read_counter(db_, "action_seq");
        next_history_entry_ = read_counter(db_, "history_entry");
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

SqliteBatch::Entry* SqliteBatch::cached(std::string_view account_id, std::string_view action_id) {
    auto account = accounts_.find(account_id);
    if (account == accounts_.end()) return nullptr;
    auto it = account->second.find(action_id);
    return it == account->second.end() ? nullptr : &it->second;
}

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

SqliteBatch::Entries& SqliteBatch::entries_of(std::string_view account_id) {
    auto account = accounts_.find(account_id);
    if (account == accounts_.end()) account = accounts_.emplace(std::string(account_id), Entries{}).first;
    return account->second;
}

std::pair<SqliteBatch::Entry*, bool> SqliteBatch::stored_entry(std::string_view account_id,
                                                               std::string_view action_id) {
    if (Entry* entry = cached(account_id, action_id)) return {entry, false};
    Entry& entry = entries_of(account_id).try_emplace(std::string(action_id)).first->second;
    entry.stored = true;
    return {&entry, true};
}

Action* SqliteBatch::adopt(Action&& action) {
    auto [entry, added] = stored_entry(action.account_id, action.action_id);
    if (added) {
        entry->action = std::move(action);
        entry->indexed_hash = indexed_columns_hash(entry->action);
    }
    return &entry->action;
}

Action* SqliteBatch::adopt(const Statement& row) {
    auto [entry, added] = stored_entry(row.text_at(0), row.text_at(1));
    if (added) {
        // Read in place: an action is large, and moving it twice costs more than its columns.
        read_action(row, entry->action);
        entry->indexed_hash = indexed_columns_hash(entry->action);
    }
    return &entry->action;
}

const std::string& SqliteBatch::compose(std::initializer_list<std::string_view> parts) {
    key_.clear();
    for (std::string_view part : parts) {
        const auto size = static_cast<std::uint32_t>(part.size());
        key_.append(reinterpret_cast<const char*>(&size), sizeof size);
        key_.append(part);
    }
    return key_;
}

Action* SqliteBatch::find(std::string_view account_id, std::string_view action_id) {
    require_open();
    if (Entry* entry = cached(account_id, action_id)) return &entry->action;
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
    std::erase_if(action_ids, [&](std::string_view id) { return cached(account_id, id) != nullptr; });
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
    constexpr std::int64_t kMostApart = 2;   // keys of one walk: at most one row between
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

std::unique_ptr<BatchTransaction::ReadAhead> SqliteBatch::read_ahead(
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
        read_by_seqs(*reader_->by_seqs, *reader_->by_range, account_id, ahead->asked,
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
            if (!written(action.key)) adopt(std::move(action));
        // What the reader was asked for and this batch has not written is known now: in the
        // cache, or not stored at all.
        std::erase_if(seqs, [&](std::int64_t seq) {
            return !written(seq) && std::binary_search(read->asked.begin(), read->asked.end(), seq);
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

std::vector<std::optional<BatchTransaction::ActionKey>> SqliteBatch::action_keys(
    std::string_view account_id, const std::vector<std::string_view>& action_ids) {
    require_open();
    use_key_order_cache();
    // Answered by the database alone: anything changed or created is written first.
    if (!dirty_.empty() || !history_.empty()) write_pending();
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
            found[static_cast<std::size_t>(at - ids.begin())] = ActionKey{q->int64_at(1), q->int64_at(2) != 0};
        }
    }
    std::vector<std::optional<ActionKey>> keys;
    keys.reserve(action_ids.size());
    std::size_t at = 0;
    for (std::string_view id : action_ids) {
        if (in_order)
            while (ids[at] != id) ++at;
        else
            at = static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) - ids.begin());
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
    if (indexed_changed_) write_pending();
    auto pending = pending_by_order_.find(compose({account_id, order_id, tracker_id}));
    Use q(*select_by_order_);
    q->bind_text(1, account_id);
    q->bind_text(2, order_id);
    q->bind_text(3, tracker_id);
    return newest(*q, pending == pending_by_order_.end() ? nullptr : pending->second);
}

Action* SqliteBatch::latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                         std::string_view customer_id) {
    require_open();
    if (indexed_changed_) write_pending();
    auto pending = pending_by_customer_.find(compose({account_id, tracker_id, customer_id}));
    Use q(*select_by_customer_);
    q->bind_text(1, account_id);
    q->bind_text(2, tracker_id);
    q->bind_text(3, customer_id);
    return newest(*q, pending == pending_by_customer_.end() ? nullptr : pending->second);
}

std::vector<Action*> SqliteBatch::children(std::string_view account_id,
                                           std::string_view parent_action_id) {
    require_open();
    if (indexed_changed_) write_pending();
    std::vector<Action*> found;
    {
        Use q(*select_children_);
        q->bind_text(1, account_id);
        q->bind_text(2, parent_action_id);
        while (q->step()) found.push_back(adopt(*q));
    }
    if (auto pending = pending_children_.find(compose({account_id, parent_action_id}));
        pending != pending_children_.end())
        found.insert(found.end(), pending->second.begin(), pending->second.end());
    return found;
}

CapTotals SqliteBatch::cap_totals(std::string_view account_id, std::string_view partner_id,
                                  std::string_view contract_id, Instant from, Instant to) {
    require_open();
    // Payouts and statuses change in memory; the sums are the database's once written.
    if (!dirty_.empty()) write_pending();
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
    return totals;
}

void SqliteBatch::queue_history(const Action& action, HistoryEntry entry) {
    // The entry belongs to the action it was reported with, whatever its action_id says.
    history_.push_back(QueuedHistory{action.key, next_history_entry_++, std::move(entry)});
}

void SqliteBatch::changed(Action& action, HistoryEntry entry) {
    require_open();
    Entry* cached_entry = cached(action.account_id, action.action_id);
    if (cached_entry == nullptr || &cached_entry->action != &action)
        throw std::logic_error("changed(): action " + action.action_id +
                               " was not handed out by this batch");
    if (!cached_entry->dirty) {
        cached_entry->dirty = true;
        dirty_.push_back(cached_entry);
    }
    if (indexed_columns_hash(action) != cached_entry->indexed_hash) indexed_changed_ = true;
    queue_history(action, std::move(entry));
}

Action& SqliteBatch::created(Action action, HistoryEntry entry) {
    require_open();
    Entries& entries = entries_of(action.account_id);
    if (entries.contains(action.action_id))
        throw std::logic_error("created(): action " + action.action_id + " already exists");
    action.key = next_seq_++;
    std::string id = action.action_id;
    Entry& stored = entries.emplace(std::move(id), Entry{std::move(action), false, true, 0}).first->second;
    Action& a = stored.action;
    stored.indexed_hash = indexed_columns_hash(a);
    dirty_.push_back(&stored);
    pending_by_order_[compose({a.account_id, a.order_id, a.tracker_id})] = &a;
    pending_by_customer_[compose({a.account_id, a.tracker_id, a.customer_id})] = &a;
    if (!a.parent_action_id.empty())
        pending_children_[compose({a.account_id, a.parent_action_id})].push_back(&a);
    queue_history(a, std::move(entry));
    return a;
}

std::int64_t SqliteBatch::history_batch(std::string_view batch_id) {
    // Nearly always the batch's own id: asked once, then remembered.
    if (last_history_batch_ && last_history_batch_->first == batch_id) return last_history_batch_->second;
    auto known = history_batches_.find(batch_id);
    if (known == history_batches_.end()) {
        std::int64_t id = 0;
        {
            Use q(db_.cached(kSelectHistoryBatch));
            q->bind_text(1, batch_id);
            if (q->step()) id = q->int64_at(0);
        }
        if (id == 0) {
            Use q(db_.cached(kInsertHistoryBatch));
            q->bind_text(1, batch_id);
            q->run();
            id = db_.last_insert_rowid();
        }
        known = history_batches_.emplace(std::string(batch_id), id).first;
    }
    last_history_batch_ = &*known;
    return known->second;
}

void SqliteBatch::write_pending() {
    // Key order, so that the updates walk the table's pages in order, each page once.
    std::sort(dirty_.begin(), dirty_.end(),
              [](const Entry* a, const Entry* b) { return a->action.key < b->action.key; });
    for (Entry* entry : dirty_) {
        const auto seq = static_cast<std::size_t>(entry->action.key);
        if ((seq >> 6) >= written_.size()) written_.resize((seq >> 6) + 1 + written_.size() / 2);
        written_[seq >> 6] |= std::uint64_t{1} << (seq & 63);
        const std::uint64_t hash = indexed_columns_hash(entry->action);
        Statement& st = !entry->stored                ? *insert_action_
                        : hash == entry->indexed_hash ? *update_unindexed_
                                                      : *update_full_;
        Use q(st);
        if (&st == update_unindexed_)
            bind_action_unindexed(st, entry->action, items_buffer_, creation_buffer_);
        else
            bind_action(st, entry->action, items_buffer_, creation_buffer_);
        q->run();
        entry->stored = true;
        entry->dirty = false;
        entry->indexed_hash = hash;
    }
    dirty_.clear();
    // Queued in entry order, which is the history table's key: appended at its end.
    // Several rows per statement: one statement run per entry costs more than its insert.
    std::size_t done = 0;
    for (; done + kHistoryRows <= history_.size(); done += kHistoryRows) {
        Use q(*insert_history_rows_);
        for (std::size_t row = 0; row < kHistoryRows; ++row) {
            const QueuedHistory& queued = history_[done + row];
            bind_history_row(*q, row, queued.action_seq, queued.entry_id,
                             history_batch(queued.entry.batch_id), queued.entry);
        }
        q->run();
    }
    for (; done < history_.size(); ++done) {
        const QueuedHistory& queued = history_[done];
        Use q(*insert_history_);
        bind_history_row(*q, 0, queued.action_seq, queued.entry_id, history_batch(queued.entry.batch_id),
                         queued.entry);
        q->run();
    }
    history_.clear();
    pending_by_order_.clear();
    pending_by_customer_.clear();
    pending_children_.clear();
    indexed_changed_ = false;
}

void SqliteBatch::clear_cache() {
    dirty_.clear();
    history_.clear();
    pending_by_order_.clear();
    pending_by_customer_.clear();
    pending_children_.clear();
    indexed_changed_ = false;
    // The maps stay, with their buckets, for the next rows.
    for (auto& [account, entries] : accounts_) entries.clear();
}

void SqliteBatch::flush() {
    require_open();
    write_pending();
    clear_cache();
}

void SqliteBatch::commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) {
    require_open();
    if (record.batch_id != batch_id_)
        throw std::logic_error("commit(): record of batch " + record.batch_id + " in batch " +
                               batch_id_);
    write_pending();
    write_counter(db_, "action_seq", next_seq_);
    write_counter(db_, "history_entry", next_history_entry_);
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
    db_.exec("COMMIT");
    open_ = false;
    store_.batch_open_ = false;
    clear_cache();
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
    clear_cache();
    open_ = false;
    store_.batch_open_ = false;
    db_.exec("ROLLBACK");
    restore_page_cache();
}

}  // namespace actiondrop::store::sqlite
