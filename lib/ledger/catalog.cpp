#include "ledger/catalog.hpp"

#include <algorithm>

namespace actiondrop::ledger {

namespace {

template <typename Map>
const typename Map::mapped_type* find_in(const Map& map, std::string_view key) {
    const auto it = map.find(std::string(key));
    return it == map.end() ? nullptr : &it->second;
}

}  // namespace

bool Contract::covers(std::string_view tracker_id) const {
    return trackers.empty() || std::ranges::find(trackers, tracker_id) != trackers.end();
}

const ContractVersion* Contract::version_at(Instant t) const {
    // Not relying on the sort order: a version is in force from its start until the next
    // one starts, so the answer is the latest start at or before t.
    const ContractVersion* in_force = nullptr;
    const ContractVersion* last = nullptr;
    for (const auto& version : versions) {
        if (last == nullptr || version.effective_from > last->effective_from) last = &version;
        if (version.effective_from <= t &&
            (in_force == nullptr || version.effective_from > in_force->effective_from))
            in_force = &version;
    }
    if (in_force != nullptr && in_force == last && in_force->effective_to &&
        t >= *in_force->effective_to)
        return nullptr;
    return in_force;
}

const Tracker* Account::tracker(std::string_view id) const { return find_in(trackers, id); }

const Disposition* Account::disposition(std::string_view code) const {
    return find_in(dispositions, code);
}

const Partner* Account::partner(std::string_view id) const { return find_in(partners, id); }

const Contract* Account::contract_for(std::string_view partner_id,
                                      std::string_view tracker_id) const {
    // The loader refuses overlapping contracts; should one slip through, the contract that
    // names the tracker is the more specific agreement and wins over an all-trackers one.
    const Contract* all_trackers = nullptr;
    for (const auto& c : contracts) {
        if (c.partner_id != partner_id || !c.covers(tracker_id)) continue;
        if (!c.trackers.empty()) return &c;
        if (all_trackers == nullptr) all_trackers = &c;
    }
    return all_trackers;
}

const Contract* Account::contract(std::string_view id) const {
    const auto it = std::ranges::find(contracts, id, &Contract::id);
    return it == contracts.end() ? nullptr : &*it;
}

const Account* Catalog::account(std::string_view id) const { return find_in(accounts, id); }

std::optional<Decimal> Catalog::fx_rate(std::string_view from, std::string_view to,
                                        Days day) const {
    if (from == to) return Decimal{1, 0};
    const FxRate* latest = nullptr;
    for (const auto& r : fx_rates) {
        if (r.currency != from || r.account_currency != to || r.effective_from > day) continue;
        if (latest == nullptr || r.effective_from >= latest->effective_from) latest = &r;
    }
    if (latest == nullptr) return std::nullopt;
    return latest->rate;
}

}  // namespace actiondrop::ledger
