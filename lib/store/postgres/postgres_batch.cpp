#include <algorithm>
#include <fstream>

#include "store/postgres/postgres_store.hpp"
#include "store/postgres/rows.hpp"

namespace actiondrop::store::postgres {

using namespace actiondrop::ledger;

namespace {

// Ids or keys per statement of a bulk read: large enough that a round trip is paid per
// thousands of rows, small enough that one answer stays a few megabytes.
constexpr std::size_t kIdsPerRead = 4000;
// …and no more than about this many bytes of ids: an id may be as long as a record (1 MiB),
// and a statement's text array is held whole, in our memory and libpq's.
constexpr std::size_t kIdBytesPerRead = 256 << 10;

// The end of the group of ids that starts at `first`: at least one id, at most kIdsPerRead,
// and no more ids than fit in kIdBytesPerRead.
std::size_t group_end(const std::vector<std::string_view>& ids, std::size_t first) {
    std::size_t last = first, bytes = 0;
    while (last < ids.size() && last - first < kIdsPerRead &&
           (last == first || bytes + ids[last].size() <= kIdBytesPerRead))
        bytes += ids[last++].size();
    return last;
}
// COPY data is sent in pieces of about this size.
constexpr std::size_t kCopyPiece = 1 << 20;

template <typename T>
std::vector<T> sorted_distinct(std::vector<T> values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
}

const char* const kSelectByKey =
    "SELECT " PG_ACTION_COLUMNS " FROM actions WHERE account_id = $1 AND action_id = $2";
const char* const kSelectByIds =
    "SELECT " PG_ACTION_COLUMNS
    " FROM actions WHERE account_id = $1 AND action_id = ANY($2::text[])";
const char* const kSelectBySeqs =
    "SELECT " PG_ACTION_COLUMNS
    " FROM actions WHERE account_id = $1 AND seq = ANY($2::bigint[]) ORDER BY seq";
const char* const kSelectByOrder =
    "SELECT " PG_ACTION_COLUMNS
    " FROM actions WHERE account_id = $1 AND order_id = $2 AND tracker_id = $3 "
    "ORDER BY seq DESC LIMIT 1";
const char* const kSelectByCustomer =
    "SELECT " PG_ACTION_COLUMNS
    " FROM actions WHERE account_id = $1 AND tracker_id = $2 AND customer_id = $3 "
    "ORDER BY seq DESC LIMIT 1";
const char* const kSelectChildren =
    "SELECT " PG_ACTION_COLUMNS
    " FROM actions WHERE account_id = $1 AND parent_action_id = $2 ORDER BY seq";
const char* const kSelectKeys =
    "SELECT action_id, seq, false FROM actions WHERE account_id = $1 AND action_id = "
    "ANY($2::text[])";
const char* const kSelectKeysChildren =
    "SELECT a.action_id, a.seq, EXISTS (SELECT 1 FROM actions c WHERE c.account_id = $1 AND "
    "c.parent_action_id = a.action_id) FROM actions a WHERE a.account_id = $1 AND "
    "a.action_id = ANY($2::text[])";
const char* const kCapTotals =
    "SELECT coalesce(sum(payout), 0), count(*) FROM actions WHERE account_id = $1 AND "
    "partner_id = $2 AND contract_id = $3 AND event_date >= $4 AND event_date < $5 AND "
    "status <> 'REVERSED' AND outside_terms = 0";
// The columns that a batch rewrites of an action it changed (all but account_id, action_id,
// seq and the life cycle's two).
const char* const kMergeUpdate =
    "UPDATE actions a SET campaign_id = b.campaign_id, tracker_id = b.tracker_id, "
    "partner_id = b.partner_id, order_id = b.order_id, customer_id = b.customer_id, "
    "customer_status = b.customer_status, promo_code = b.promo_code, event_date = b.event_date, "
    "reported_event_date = b.reported_event_date, created_at = b.created_at, "
    "currency = b.currency, amount = b.amount, items = b.items, payout = b.payout, "
    "locking_date = b.locking_date, clearing_date = b.clearing_date, status = b.status, "
    "finance_status = b.finance_status, parent_action_id = b.parent_action_id, "
    "modification_count = b.modification_count, outside_terms = b.outside_terms, "
    "contract_id = b.contract_id, contract_version = b.contract_version, creation = b.creation "
    "FROM batch_actions b WHERE b.stored AND a.seq = b.seq";
const char* const kMergeInsert =
    "INSERT INTO actions (" PG_ACTION_COLUMNS ") SELECT " PG_ACTION_COLUMNS
    " FROM batch_actions WHERE NOT stored ORDER BY seq";

}  // namespace

PostgresBatch::PostgresBatch(PostgresStore& store, std::string batch_id)
    : store_(store), db_(store.db_), batch_id_(std::move(batch_id)) {
    if (store_.batch_open_)
        throw std::logic_error("a batch transaction is already open on this store");
    db_.begin();
    open_ = true;
    store_.batch_open_ = true;
    try {
        // The counters' row locks make the writers of the ledger take turns, across instances,
        // until this transaction ends.
        Result r = db_.run(
            "SELECT name, value FROM counters WHERE name IN ('action_seq', 'history_entry') "
            "ORDER BY name FOR UPDATE");
        if (r.rows() != 2) throw StoreError(db_.where() + ": the counters are missing");
        cache_.start(r.int64(0, 1), r.int64(1, 1));
    } catch (...) {
        rollback();
        throw;
    }
}

PostgresBatch::~PostgresBatch() {
    try {
        rollback();
    } catch (const StoreError&) {
        // The server rolls back a transaction whose connection is gone.
    }
}

void PostgresBatch::require_open() const {
    if (!open_) throw std::logic_error("batch transaction " + batch_id_ + " is already finished");
}

Action* PostgresBatch::adopt(const Result& r, int row) {
    return cache_.adopt(r.text(row, 0), r.text(row, 1),
                        [&](Action& into) { read_action(r, row, into); });
}

Action* PostgresBatch::newest(const Result& r, Action* pending) {
    // Unwritten actions were created after every written one, so a pending match is newer.
    if (pending != nullptr) return pending;
    return r.rows() > 0 ? adopt(r, 0) : nullptr;
}

Action* PostgresBatch::find(std::string_view account_id, std::string_view action_id) {
    require_open();
    if (WriteBehind::Entry* entry = cache_.cached(account_id, action_id)) return &entry->action;
    if (!absent_.empty() && absent_.contains(absent_key(account_id, action_id))) return nullptr;
    Params p;
    p.text(account_id).text(action_id);
    Result r = db_.run(kSelectByKey, p);
    return r.rows() > 0 ? adopt(r, 0) : nullptr;
}

Action* PostgresBatch::find_by_order(std::string_view account_id, std::string_view order_id,
                                     std::string_view tracker_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    Action* pending = cache_.pending_by_order(account_id, order_id, tracker_id);
    if (pending != nullptr) return pending;
    Params p;
    p.text(account_id).text(order_id).text(tracker_id);
    return newest(db_.run(kSelectByOrder, p), nullptr);
}

Action* PostgresBatch::latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                           std::string_view customer_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    Action* pending = cache_.pending_by_customer(account_id, tracker_id, customer_id);
    if (pending != nullptr) return pending;
    Params p;
    p.text(account_id).text(tracker_id).text(customer_id);
    return newest(db_.run(kSelectByCustomer, p), nullptr);
}

std::vector<Action*> PostgresBatch::children(std::string_view account_id,
                                             std::string_view parent_action_id) {
    require_open();
    if (cache_.indexed_changed()) write_pending();
    std::vector<Action*> found;
    Params p;
    p.text(account_id).text(parent_action_id);
    Result r = db_.run(kSelectChildren, p);
    for (int i = 0; i < r.rows(); ++i) found.push_back(adopt(r, i));
    cache_.add_pending_children(account_id, parent_action_id, found);
    return found;
}

CapTotals PostgresBatch::cap_totals(std::string_view account_id, std::string_view partner_id,
                                    std::string_view contract_id, Instant from, Instant to) {
    require_open();
    if (const CapTotals* known = caps_.find(account_id, partner_id, contract_id, from, to))
        return *known;
    // Payouts and statuses change in memory; the sums are the database's once written.
    if (cache_.any_dirty()) write_pending();
    Params p;
    p.text(account_id).text(partner_id).text(contract_id).int64(millis(from)).int64(millis(to));
    Result r = db_.run(kCapTotals, p);
    const CapTotals totals{r.int64(0, 0), r.int64(0, 1)};
    caps_.keep(account_id, partner_id, contract_id, from, to, totals);
    return totals;
}

void PostgresBatch::changed(Action& action, HistoryEntry entry) {
    require_open();
    caps_.changed();
    cache_.changed(action, std::move(entry));
}

Action& PostgresBatch::created(Action action, HistoryEntry entry) {
    require_open();
    if (!absent_.empty()) absent_.erase(absent_key(action.account_id, action.action_id));
    Action& stored = cache_.created(std::move(action), std::move(entry));
    caps_.created(stored);
    return stored;
}

std::int64_t PostgresBatch::funds_balance(std::string_view account_id) {
    require_open();
    auto known = balances_.find(account_id);
    if (known == balances_.end())
        known = balances_.emplace(std::string(account_id), read_balance(db_, account_id)).first;
    return known->second;
}

void PostgresBatch::transferred(Transfer transfer) {
    const std::int64_t before = funds_balance(transfer.account_id);
    if (transfer.amount <= 0 || transfer.amount > before)
        throw std::logic_error("transfer " + transfer.transfer_id + " is not covered by the funds");
    insert_transfer(db_, transfer, batch_id_);
    balances_[transfer.account_id] = before - transfer.amount;
}

void PostgresBatch::prefetch(std::string_view account_id,
                             std::vector<std::string_view> action_ids) {
    require_open();
    action_ids = sorted_distinct(std::move(action_ids));
    std::erase_if(action_ids,
                  [&](std::string_view id) { return cache_.cached(account_id, id) != nullptr; });
    for (std::size_t first = 0, last = 0; first < action_ids.size(); first = last) {
        last = group_end(action_ids, first);
        Params p;
        p.text(account_id)
            .text_array({action_ids.begin() + static_cast<std::ptrdiff_t>(first),
                         action_ids.begin() + static_cast<std::ptrdiff_t>(last)});
        Result r = db_.run(kSelectByIds, p);
        for (int i = 0; i < r.rows(); ++i) adopt(r, i);
        for (std::size_t i = first; i < last; ++i)
            if (!cache_.cached(account_id, action_ids[i]))
                absent_.insert(absent_key(account_id, action_ids[i]));
    }
}

std::vector<std::optional<KeyOrder::ActionKey>> PostgresBatch::action_keys(
    std::string_view account_id, const std::vector<std::string_view>& action_ids) {
    require_open();
    // Answered by the database alone: anything changed or created is written first.
    if (cache_.any_pending()) write_pending();
    bool any_child = false;
    {
        Params p;
        p.text(account_id);
        any_child =
            db_.run("SELECT 1 FROM actions WHERE account_id = $1 AND parent_action_id > '' LIMIT 1",
                    p)
                .rows() > 0;
    }
    const std::vector<std::string_view> ids = sorted_distinct(action_ids);
    std::vector<std::optional<ActionKey>> found(ids.size());
    for (std::size_t first = 0, last = 0; first < ids.size(); first = last) {
        last = group_end(ids, first);
        const auto begin = ids.begin() + static_cast<std::ptrdiff_t>(first);
        const auto end = ids.begin() + static_cast<std::ptrdiff_t>(last);
        Params p;
        p.text(account_id).text_array({begin, end});
        Result r = db_.run(any_child ? kSelectKeysChildren : kSelectKeys, p);
        for (int i = 0; i < r.rows(); ++i) {
            const auto at = std::lower_bound(begin, end, r.text(i, 0));
            if (at == end || *at != r.text(i, 0)) continue;
            found[static_cast<std::size_t>(at - ids.begin())] =
                ActionKey{r.int64(i, 1), r.boolean(i, 2)};
        }
    }
    std::vector<std::optional<ActionKey>> keys;
    keys.reserve(action_ids.size());
    for (std::string_view id : action_ids)
        keys.push_back(found[static_cast<std::size_t>(std::lower_bound(ids.begin(), ids.end(), id) -
                                                      ids.begin())]);
    return keys;
}

struct PostgresBatch::PgReadAhead final : ReadAhead {
    std::string account_id;
    std::vector<std::int64_t> asked;  // ascending, distinct
    std::vector<Action> actions;      // those of `asked` that were stored
};

std::unique_ptr<KeyOrder::ReadAhead> PostgresBatch::read_ahead(
    std::string_view account_id, const std::vector<std::int64_t>& keys) {
    // Runs on another thread than the rest of the batch: touches only the reader and what it
    // returns. A reader that fails only costs speed: prefetch_keys() then reads them itself.
    if (reader_failed_) return nullptr;
    try {
        if (!reader_) reader_ = std::make_unique<Connection>(store_.url_);
        auto ahead = std::make_unique<PgReadAhead>();
        ahead->account_id = account_id;
        ahead->asked = sorted_distinct(keys);
        for (std::size_t first = 0; first < ahead->asked.size(); first += kIdsPerRead) {
            Params p;
            p.text(account_id)
                .int64_array(
                    {ahead->asked.begin() + static_cast<std::ptrdiff_t>(first),
                     ahead->asked.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                ahead->asked.size(), first + kIdsPerRead))});
            Result r = reader_->run(kSelectBySeqs, p);
            for (int i = 0; i < r.rows(); ++i) read_action(r, i, ahead->actions.emplace_back());
        }
        return ahead;
    } catch (const StoreError&) {
        reader_failed_ = true;
        return nullptr;
    }
}

void PostgresBatch::prefetch_keys(std::string_view account_id,
                                  const std::vector<std::int64_t>& keys,
                                  std::unique_ptr<ReadAhead> ahead) {
    require_open();
    std::vector<std::int64_t> seqs = sorted_distinct(keys);
    auto* read = dynamic_cast<PgReadAhead*>(ahead.get());
    if (read != nullptr && read->account_id == account_id) {
        // As committed before this batch: true unless this batch has written the row since
        // (a row it changed and has not written yet is still in the cache, which wins).
        for (Action& action : read->actions)
            if (!cache_.written(action.key)) cache_.adopt(std::move(action));
        std::erase_if(seqs, [&](std::int64_t seq) {
            return !cache_.written(seq) &&
                   std::binary_search(read->asked.begin(), read->asked.end(), seq);
        });
    }
    for (std::size_t first = 0; first < seqs.size(); first += kIdsPerRead) {
        Params p;
        p.text(account_id)
            .int64_array({seqs.begin() + static_cast<std::ptrdiff_t>(first),
                          seqs.begin() + static_cast<std::ptrdiff_t>(
                                             std::min(seqs.size(), first + kIdsPerRead))});
        Result r = db_.run(kSelectBySeqs, p);
        for (int i = 0; i < r.rows(); ++i) adopt(r, i);
    }
}

std::int64_t PostgresBatch::history_batch(std::string_view batch_id) {
    auto known = history_batches_.find(batch_id);
    if (known == history_batches_.end())
        known =
            history_batches_.emplace(std::string(batch_id), history_batch_id(db_, batch_id)).first;
    return known->second;
}

void PostgresBatch::write_pending() {
    // The changed actions go by COPY into a temporary table and from there into `actions` by
    // one INSERT and one UPDATE … FROM; their history by COPY straight into `history`
    // (docs/postgres.md, "Writing a batch").
    bool copying = false;
    copy_buffer_.clear();
    try {
        auto write_action = [&](const Action& action, bool stored, bool /*indexed_changed*/) {
            if (!copying) {
                if (!temp_table_) {
                    db_.exec(
                        "CREATE TEMPORARY TABLE batch_actions (LIKE actions INCLUDING DEFAULTS, "
                        "stored BOOLEAN NOT NULL) ON COMMIT DROP");
                    temp_table_ = true;
                }
                db_.copy_begin("COPY batch_actions (" PG_ACTION_COLUMNS ", stored) FROM STDIN");
                copying = true;
            }
            append_action_line(copy_buffer_, action, stored, items_buffer_, creation_buffer_);
            if (copy_buffer_.size() >= kCopyPiece) {
                db_.copy_put(copy_buffer_);
                copy_buffer_.clear();
            }
        };
        auto write_history = [&](const std::vector<WriteBehind::QueuedHistory>& history) {
            if (copying) {
                db_.copy_put(copy_buffer_);
                copy_buffer_.clear();
                copying = false;
                db_.copy_end();
                db_.run(kMergeInsert);
                db_.run(kMergeUpdate);
                db_.run("TRUNCATE batch_actions");
            }
            if (history.empty()) return;
            // The batch ids first: they are statements of their own.
            for (const WriteBehind::QueuedHistory& queued : history)
                history_batch(queued.entry.batch_id);
            db_.copy_begin("COPY history (" PG_HISTORY_COLUMNS ") FROM STDIN");
            copying = true;
            for (const WriteBehind::QueuedHistory& queued : history) {
                append_history_line(copy_buffer_, queued.entry_id, queued.action_key,
                                    history_batch(queued.entry.batch_id), queued.entry);
                if (copy_buffer_.size() >= kCopyPiece) {
                    db_.copy_put(copy_buffer_);
                    copy_buffer_.clear();
                }
            }
            db_.copy_put(copy_buffer_);
            copy_buffer_.clear();
            copying = false;
            db_.copy_end();
        };
        cache_.write(write_action, write_history);
    } catch (...) {
        if (copying) db_.copy_abort();
        throw;
    }
}

void PostgresBatch::flush() {
    require_open();
    write_pending();
    cache_.clear();
    absent_.clear();
}

void PostgresBatch::commit(const BatchRecord& record, const std::vector<BatchOutput>& outputs) {
    require_open();
    if (record.batch_id != batch_id_)
        throw std::logic_error("commit(): record of batch " + record.batch_id + " in batch " +
                               batch_id_);
    {
        // The state this attempt started from must still be the stored one (docs/ingest.md,
        // "The journal of a batch"): a batch committed meanwhile is never committed again.
        // Writers take turns on the counters' rows, so what this reads stays true until COMMIT.
        Params p;
        p.text(batch_id_);
        Result r = db_.run("SELECT state, status FROM batches WHERE batch_id = $1", p);
        if (r.rows() > 0 && (r.text(0, 0) != "claimed" || !r.text(0, 1).empty()))
            throw BatchCommittedElsewhere("batch " + batch_id_ +
                                          " was committed by another attempt (" +
                                          std::string(r.text(0, 0)) + ", " +
                                          std::string(r.text(0, 1)) + "); this one is dropped");
    }
    write_pending();
    {
        Params p;
        p.int64(cache_.next_key()).int64(cache_.next_history_entry());
        db_.run(
            "UPDATE counters SET value = CASE name WHEN 'action_seq' THEN $1::bigint ELSE "
            "$2::bigint END "
            "WHERE name IN ('action_seq', 'history_entry')",
            p);
    }
    {
        Params p;
        bind_batch(p, record);
        db_.run(kUpsertBatch, p);
    }
    // Outputs given replace the stored ones; a chunk's commit without outputs keeps them.
    if (!outputs.empty()) {
        Params p;
        p.text(batch_id_);
        db_.run("DELETE FROM batch_outputs WHERE batch_id = $1", p);
    }
    std::int64_t ord = 0;
    for (const BatchOutput& output : outputs) {
        std::ifstream in(output.content, std::ios::binary);
        if (!in) throw StoreError(output.content.string() + ": cannot read output file");
        // Streamed as hex in pieces: an output of a million rows never sits in memory whole.
        copy_buffer_.clear();
        append_copy_text(copy_buffer_, batch_id_);
        copy_buffer_ += '\t' + std::to_string(ord++) + '\t';
        append_copy_text(copy_buffer_, output.name);
        copy_buffer_ += "\t\\\\x";
        db_.copy_begin("COPY batch_outputs (batch_id, ord, name, content) FROM STDIN");
        try {
            std::string piece(kCopyPiece / 2, '\0');
            while (in) {
                in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
                append_hex(copy_buffer_,
                           std::string_view(piece.data(), static_cast<std::size_t>(in.gcount())));
                db_.copy_put(copy_buffer_);
                copy_buffer_.clear();
            }
            if (in.bad()) throw StoreError(output.content.string() + ": cannot read output file");
            db_.copy_put("\n");
            db_.copy_end();
        } catch (...) {
            db_.copy_abort();
            throw;
        }
    }
    reader_.reset();
    db_.commit();
    open_ = false;
    temp_table_ = false;
    store_.batch_open_ = false;
    cache_.clear();
    caps_.clear();
    absent_.clear();
    balances_.clear();
    history_batches_.clear();
}

void PostgresBatch::rollback() {
    if (!open_) return;
    reader_.reset();
    cache_.clear();
    caps_.clear();
    absent_.clear();
    balances_.clear();
    history_batches_.clear();
    open_ = false;
    temp_table_ = false;
    store_.batch_open_ = false;
    db_.rollback();
}

}  // namespace actiondrop::store::postgres
