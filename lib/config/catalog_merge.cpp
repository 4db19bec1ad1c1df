// Loading a catalog file over the stored one (docs/formats.md, "The catalog file", loading
// again): terms that were already in force stay as they were, because actions were created
// and evaluated under them.
#include <algorithm>

#include "config/catalog_checks.hpp"
#include "config/catalog_file.hpp"

namespace actiondrop::config {

namespace {

using ledger::Instant;

// 8 and 8.0 are the same percent.
ledger::Decimal normalized(ledger::Decimal d) {
    while (d.scale > 0 && d.mantissa % 10 == 0) {
        d.mantissa /= 10;
        --d.scale;
    }
    return d;
}

bool same_rule(const ledger::PayoutRule& x, const ledger::PayoutRule& y) {
    if (x.kind != y.kind) return false;
    if (x.kind == ledger::PayoutRule::Kind::Fixed) return x.fixed == y.fixed;
    return normalized(x.percent) == normalized(y.percent);
}

bool same_version(const ledger::ContractVersion& x, const ledger::ContractVersion& y) {
    auto same_promo = [](const ledger::PromoCode& a, const ledger::PromoCode& b) {
        return a.code == b.code && same_rule(a.rule, b.rule) && a.valid_from == b.valid_from &&
               a.valid_until == b.valid_until;
    };
    auto same_limit = [](const ledger::Limit& a, const ledger::Limit& b) {
        return a.kind == b.kind && a.max == b.max && a.period == b.period;
    };
    auto same_status = [](const auto& a, const auto& b) {
        return a.first == b.first && same_rule(a.second, b.second);
    };
    auto same_category = [](const auto& a, const auto& b) {
        return a.first == b.first && normalized(a.second) == normalized(b.second);
    };
    return x.effective_from == y.effective_from && x.effective_to == y.effective_to &&
           same_rule(x.default_rule, y.default_rule) &&
           std::ranges::equal(x.categories, y.categories, same_category) &&
           std::ranges::equal(x.customer_status, y.customer_status, same_status) &&
           std::ranges::equal(x.promo_codes, y.promo_codes, same_promo) &&
           x.locking.after == y.locking.after && x.locking.months == y.locking.months &&
           x.locking.days == y.locking.days && x.clearing.months == y.clearing.months &&
           x.clearing.days == y.clearing.days && x.reverse_children == y.reverse_children &&
           std::ranges::equal(x.limits, y.limits, same_limit);
}

class Merge {
public:
    Merge(std::string_view file_name, Instant now, const CatalogSites& sites)
        : file_(file_name), now_(now), sites_(sites) {}

    void account(ledger::Account& stored, const ledger::Account& incoming) {
        std::string path = account_key(stored.id);
        if (stored.currency && incoming.currency &&
            stored.currency->code != incoming.currency->code) {
            error(path + ".currency", "account '" + stored.id + "' keeps its currency " +
                                          std::string(stored.currency->code) +
                                          ": its actions and payouts are recorded in it");
        }
        stored.name = incoming.name;
        stored.timezone_name = incoming.timezone_name;
        stored.timezone = incoming.timezone;
        stored.invoice_calendar = incoming.invoice_calendar;
        stored.max_modifications_per_action = incoming.max_modifications_per_action;
        stored.max_conversion_age_days = incoming.max_conversion_age_days;
        for (const auto& [id, t] : incoming.trackers) stored.trackers.insert_or_assign(id, t);
        for (const auto& [code, d] : incoming.dispositions)
            stored.dispositions.insert_or_assign(code, d);
        for (const auto& [id, p] : incoming.partners) stored.partners.insert_or_assign(id, p);
        for (const ledger::Contract& c : incoming.contracts) {
            auto it = std::find_if(stored.contracts.begin(), stored.contracts.end(),
                                   [&](const ledger::Contract& s) { return s.id == c.id; });
            if (it == stored.contracts.end())
                stored.contracts.push_back(c);
            else
                contract(contract_key(stored.id, c.id), *it, c);
        }
        references(path, stored);
    }

    void fx_rates(std::vector<ledger::FxRate>& stored,
                  const std::vector<ledger::FxRate>& incoming) {
        for (const ledger::FxRate& r : incoming) {
            auto it = std::find_if(stored.begin(), stored.end(), [&](const ledger::FxRate& s) {
                return s.currency == r.currency && s.account_currency == r.account_currency &&
                       s.effective_from == r.effective_from;
            });
            if (it == stored.end())
                stored.push_back(r);
            else
                *it = r;
        }
        std::ranges::sort(stored, {}, [](const ledger::FxRate& r) {
            return std::tie(r.currency, r.account_currency, r.effective_from);
        });
    }

    std::vector<ConfigError> errors;

private:
    std::string file_;
    Instant now_;
    const CatalogSites& sites_;

    // The error at the site of its key in the file loaded, else at the site of the nearest
    // key above it (the contract or account it is in); without a line when the key is not
    // from the file (a reference that the stored part breaks).
    void error(std::string key, std::string message) {
        CatalogSite at;
        std::string_view k = key;
        while (!k.empty()) {
            if (auto it = sites_.find(k); it != sites_.end()) {
                at = it->second;
                break;
            }
            // Up one key: cut at the last '.' outside brackets (an instant has none, but a
            // tracker or contract id may).
            int depth = 0;
            std::size_t cut = 0;
            for (std::size_t i = k.size(); i-- > 0;) {
                if (k[i] == ']') ++depth;
                if (k[i] == '[') --depth;
                if (k[i] == '.' && depth == 0) {
                    cut = i;
                    break;
                }
            }
            k = k.substr(0, cut);
        }
        errors.push_back(
            ConfigError{file_, at.line, at.column, std::move(key), std::move(message)});
    }

    void contract(const std::string& path, ledger::Contract& stored,
                  const ledger::Contract& incoming) {
        if (stored.partner_id != incoming.partner_id) {
            error(path + ".partner", "contract '" + stored.id + "' is with partner '" +
                                         stored.partner_id + "' and cannot move to '" +
                                         incoming.partner_id + "'; write a new contract instead");
            return;
        }
        stored.trackers = incoming.trackers;
        for (const ledger::ContractVersion& v : incoming.versions) {
            std::string vpath =
                path + ".versions[effective_from=" + ledger::format_instant(v.effective_from) + "]";
            auto same_start = std::find_if(stored.versions.begin(), stored.versions.end(),
                                           [&](const ledger::ContractVersion& s) {
                                               return s.effective_from == v.effective_from;
                                           });
            if (same_start != stored.versions.end()) {
                if (same_version(*same_start, v)) continue;
                if (same_start->effective_from <= now_) {
                    error(vpath, "contract '" + stored.id + "': the version effective from " +
                                     ledger::format_instant(v.effective_from) +
                                     " is already in force and cannot be changed; add a new "
                                     "version with a later "
                                     "effective_from instead");
                    continue;
                }
                *same_start = v;
                continue;
            }
            // A back-dated version would cut short the in-force version before it.
            auto earlier = std::find_if(stored.versions.rbegin(), stored.versions.rend(),
                                        [&](const ledger::ContractVersion& s) {
                                            return s.effective_from < v.effective_from;
                                        });
            if (v.effective_from <= now_ && earlier != stored.versions.rend()) {
                error(vpath,
                      "contract '" + stored.id + "': a new version effective from " +
                          ledger::format_instant(v.effective_from) +
                          " would change the terms of version " +
                          ledger::format_instant(earlier->effective_from) +
                          ", which is already in force; a new version must start after now (" +
                          ledger::format_instant(now_) + ")");
                continue;
            }
            stored.versions.push_back(v);
            std::ranges::sort(stored.versions, {}, &ledger::ContractVersion::effective_from);
        }
    }

    // References that may now point across the stored and the loaded parts.
    void references(const std::string& path, const ledger::Account& a) {
        for (const auto& [id, t] : a.trackers) {
            if (t.parent_tracker && !a.trackers.contains(*t.parent_tracker))
                error(path + ".trackers[id=" + id + "].parent_tracker",
                      "parent tracker '" + *t.parent_tracker + "' is not a tracker of account '" +
                          a.id + "'");
        }
        for (std::size_t i = 0; i < a.contracts.size(); ++i) {
            const ledger::Contract& c = a.contracts[i];
            std::string cpath = path + ".contracts[id=" + c.id + "]";
            if (!a.partners.contains(c.partner_id))
                error(cpath + ".partner",
                      "partner '" + c.partner_id + "' is not a partner of account '" + a.id + "'");
            for (const std::string& t : c.trackers)
                if (!a.trackers.contains(t))
                    error(cpath + ".trackers",
                          "tracker '" + t + "' is not a tracker of account '" + a.id + "'");
            for (std::size_t j = 0; j < i; ++j)
                if (auto tracker = shared_tracker(a.contracts[j], c))
                    error(cpath, "contracts '" + a.contracts[j].id + "' and '" + c.id +
                                     "' both cover partner '" + c.partner_id + "' on tracker " +
                                     *tracker);
        }
    }
};

}  // namespace

std::expected<ledger::Catalog, std::vector<ConfigError>> merge_catalog(
    const ledger::Catalog& stored, const ledger::Catalog& incoming, ledger::Instant now,
    std::string_view file_name, const CatalogSites& sites) {
    ledger::Catalog merged = stored;
    Merge merge(file_name, now, sites);
    for (const auto& [id, account] : incoming.accounts) {
        auto it = merged.accounts.find(id);
        if (it == merged.accounts.end())
            merged.accounts.emplace(id, account);
        else
            merge.account(it->second, account);
    }
    merge.fx_rates(merged.fx_rates, incoming.fx_rates);
    if (!merge.errors.empty()) return std::unexpected(std::move(merge.errors));
    return merged;
}

}  // namespace actiondrop::config
