#pragma once
// The write-behind cache of a batch's transaction, for any store (README.md, "How a file is
// applied exactly once", step 3): the actions the transaction has read or written, so that the
// rules get stable pointers and read each action once; the changed ones and their history,
// handed to the store in key order when it writes them, so that its updates go through its
// pages in order. Actions created and not written yet are found here by order, customer and
// parent, which the store's indexes cannot answer yet.
//
// Every row of a file passes through it: the lookups are inline, and write() takes the
// store's writers as templates, not as virtual calls.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ledger/action.hpp"

namespace actiondrop::store {

// A hash of the columns that the ledger's lookups search by (order, tracker, customer,
// parent, partner, contract, event date), which a store indexes: when it changes, the store
// must rewrite those columns, and the lookups of unwritten actions may be stale.
std::uint64_t indexed_columns_hash(const ledger::Action& action);

class WriteBehind {
public:
    struct Entry {
        ledger::Action action;
        bool stored = false;             // the store holds a row of it
        bool dirty = false;              // changed since last written
        std::uint64_t indexed_hash = 0;  // of the indexed columns as last written or read
    };
    struct QueuedHistory {
        std::int64_t action_key;
        std::int64_t entry_id;
        ledger::HistoryEntry entry;
    };

    // New actions and history entries are numbered on from the store's counters.
    void start(std::int64_t next_key, std::int64_t next_history_entry) {
        next_key_ = next_key;
        next_history_entry_ = next_history_entry;
    }
    std::int64_t next_key() const { return next_key_; }
    std::int64_t next_history_entry() const { return next_history_entry_; }

    Entry* cached(std::string_view account_id, std::string_view action_id) {
        auto account = accounts_.find(account_id);
        if (account == accounts_.end()) return nullptr;
        auto it = account->second.find(action_id);
        return it == account->second.end() ? nullptr : &it->second;
    }
    // The cached action of a stored one: `read(action)` fills it when it is not cached yet.
    template <typename Read>
    ledger::Action* adopt(std::string_view account_id, std::string_view action_id, Read&& read) {
        auto [entry, added] = stored_entry(account_id, action_id);
        if (added) {
            read(entry->action);
            entry->indexed_hash = indexed_columns_hash(entry->action);
        }
        return &entry->action;
    }
    // The same for an action read already, moved in when new.
    ledger::Action* adopt(ledger::Action&& action) {
        auto [entry, added] = stored_entry(action.account_id, action.action_id);
        if (added) {
            entry->action = std::move(action);
            entry->indexed_hash = indexed_columns_hash(entry->action);
        }
        return &entry->action;
    }

    // What the rules report (ledger::LedgerView::changed and created). `created` gives the
    // action the next key.
    void changed(ledger::Action& action, ledger::HistoryEntry entry);
    ledger::Action& created(ledger::Action action, ledger::HistoryEntry entry);

    // Created and not written yet (nullptr when none): newer than any written action.
    ledger::Action* pending_by_order(std::string_view account_id, std::string_view order_id,
                                     std::string_view tracker_id) {
        auto it = pending_by_order_.find(compose({account_id, order_id, tracker_id}));
        return it == pending_by_order_.end() ? nullptr : it->second;
    }
    ledger::Action* pending_by_customer(std::string_view account_id, std::string_view tracker_id,
                                        std::string_view customer_id) {
        auto it = pending_by_customer_.find(compose({account_id, tracker_id, customer_id}));
        return it == pending_by_customer_.end() ? nullptr : it->second;
    }
    // Appends the unwritten children of a parent, oldest first.
    void add_pending_children(std::string_view account_id, std::string_view parent_action_id,
                              std::vector<ledger::Action*>& out) {
        if (auto it = pending_children_.find(compose({account_id, parent_action_id}));
            it != pending_children_.end())
            out.insert(out.end(), it->second.begin(), it->second.end());
    }

    // An indexed column of a cached action changed: the store must be written before an
    // indexed query can be trusted.
    bool indexed_changed() const { return indexed_changed_; }
    bool any_dirty() const { return !dirty_.empty(); }
    bool any_pending() const { return !dirty_.empty() || !history_.empty(); }
    // Whether this transaction has written the action of this key: a copy read before (as
    // committed) is stale then.
    bool written(std::int64_t key) const {
        const auto word = static_cast<std::size_t>(key) >> 6;
        return key >= 0 && word < written_.size() && ((written_[word] >> (key & 63)) & 1) != 0;
    }

    // Writes what is pending: each changed action in key order through
    // write_action(action, stored, indexed_columns_changed), then the queued history in entry
    // order (the history's own key order) through write_history(entries). The cache stays.
    template <typename WriteAction, typename WriteHistory>
    void write(WriteAction&& write_action, WriteHistory&& write_history) {
        std::sort(dirty_.begin(), dirty_.end(),
                  [](const Entry* a, const Entry* b) { return a->action.key < b->action.key; });
        for (Entry* entry : dirty_) {
            const auto key = static_cast<std::size_t>(entry->action.key);
            if ((key >> 6) >= written_.size())
                written_.resize((key >> 6) + 1 + written_.size() / 2);
            written_[key >> 6] |= std::uint64_t{1} << (key & 63);
            const std::uint64_t hash = indexed_columns_hash(entry->action);
            write_action(std::as_const(entry->action), entry->stored, hash != entry->indexed_hash);
            entry->stored = true;
            entry->dirty = false;
            entry->indexed_hash = hash;
        }
        dirty_.clear();
        write_history(std::as_const(history_));
        history_.clear();
        forget_pending();
    }

    // Forgets every action and what is pending; the tables keep their buckets for the next
    // rows.
    void clear();

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Entries = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;

    Entries& entries_of(std::string_view account_id) {
        auto account = accounts_.find(account_id);
        if (account == accounts_.end())
            account = accounts_.emplace(std::string(account_id), Entries{}).first;
        return account->second;
    }
    // The entry of a stored action, and whether it is new (then to be filled).
    std::pair<Entry*, bool> stored_entry(std::string_view account_id, std::string_view action_id) {
        if (Entry* entry = cached(account_id, action_id)) return {entry, false};
        Entry& entry = entries_of(account_id).try_emplace(std::string(action_id)).first->second;
        entry.stored = true;
        return {&entry, true};
    }
    void queue_history(const ledger::Action& action, ledger::HistoryEntry entry) {
        // The entry belongs to the action it was reported with, whatever its action_id says.
        history_.push_back(QueuedHistory{action.key, next_history_entry_++, std::move(entry)});
    }
    // The lookup key of several ids: each one length-prefixed, into the reused buffer.
    const std::string& compose(std::initializer_list<std::string_view> parts) {
        key_.clear();
        for (std::string_view part : parts) {
            const auto size = static_cast<std::uint32_t>(part.size());
            key_.append(reinterpret_cast<const char*>(&size), sizeof size);
            key_.append(part);
        }
        return key_;
    }
    void forget_pending() {
        pending_by_order_.clear();
        pending_by_customer_.clear();
        pending_children_.clear();
        indexed_changed_ = false;
    }

    std::unordered_map<std::string, Entries, Hash, std::equal_to<>> accounts_;
    std::vector<Entry*> dirty_;
    std::vector<QueuedHistory> history_;
    std::unordered_map<std::string, ledger::Action*, Hash, std::equal_to<>> pending_by_order_;
    std::unordered_map<std::string, ledger::Action*, Hash, std::equal_to<>> pending_by_customer_;
    std::unordered_map<std::string, std::vector<ledger::Action*>, Hash, std::equal_to<>>
        pending_children_;
    bool indexed_changed_ = false;
    // The keys of the actions this transaction has written, as bits.
    std::vector<std::uint64_t> written_;
    std::int64_t next_key_ = 0;
    std::int64_t next_history_entry_ = 0;
    std::string key_;
};

}  // namespace actiondrop::store
