#include "store/write_behind.hpp"

namespace actiondrop::store {

using namespace actiondrop::ledger;

std::uint64_t indexed_columns_hash(const Action& a) {
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](std::uint64_t v) { h = (h ^ v) * 1099511628211ull + (h >> 29); };
    const std::hash<std::string_view> hash;
    mix(hash(a.order_id));
    mix(hash(a.tracker_id));
    mix(hash(a.customer_id));
    mix(hash(a.parent_action_id));
    mix(hash(a.partner_id));
    mix(hash(a.contract_id));
    mix(static_cast<std::uint64_t>(a.event_date.time_since_epoch().count()));
    return h;
}

void WriteBehind::changed(Action& action, HistoryEntry entry) {
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

Action& WriteBehind::created(Action action, HistoryEntry entry) {
    Entries& entries = entries_of(action.account_id);
    if (entries.contains(action.action_id))
        throw std::logic_error("created(): action " + action.action_id + " already exists");
    action.key = next_key_++;
    std::string id = action.action_id;
    Entry& stored =
        entries.emplace(std::move(id), Entry{std::move(action), false, true, 0}).first->second;
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

void WriteBehind::clear() {
    dirty_.clear();
    history_.clear();
    forget_pending();
    // The maps stay, with their buckets, for the next rows.
    for (auto& [account, entries] : accounts_) entries.clear();
}

}  // namespace actiondrop::store
