#include "config/catalog_file.hpp"

#include <algorithm>
#include <set>

#include "config/catalog_checks.hpp"
#include "config/yaml_map.hpp"

namespace actiondrop::config {

namespace {

constexpr std::size_t kMostIdBytes = 100;  // of an account or partner id

using ledger::Instant;

// A strict YYYY-MM-DD calendar date (FX rates, invoice period ends).
std::optional<ledger::Days> parse_date(std::string_view s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return std::nullopt;
    auto num = [&](std::size_t from, std::size_t len) {
        int v = 0;
        for (std::size_t i = from; i < from + len; ++i) v = v * 10 + (s[i] - '0');
        return v;
    };
    std::chrono::year_month_day ymd{std::chrono::year{num(0, 4)},
                                    std::chrono::month{unsigned(num(5, 2))},
                                    std::chrono::day{unsigned(num(8, 2))}};
    if (!ymd.ok()) return std::nullopt;
    return ledger::Days{ymd};
}

bool above_hundred(const ledger::Decimal& d) {
    if (d.scale > 16) return false;  // 100 * 10^17 exceeds any int64 mantissa
    std::int64_t limit = 100;
    for (int i = 0; i < d.scale; ++i) limit *= 10;
    return d.mantissa > limit;
}

// Where a contract was written, for the overlap check that runs after all are read.
struct ContractSite {
    YAML::Mark mark;
    std::string path;
};

class CatalogReader {
public:
    CatalogReader(YamlFile& file, CatalogSites* sites) : f_(file), sites_(sites) {}

    ledger::Catalog read(const YAML::Node& root) {
        ledger::Catalog catalog;
        if (!root.IsDefined() || root.IsNull()) {
            f_.error(YAML::Mark::null_mark(), "",
                     "the catalog is empty (expected accounts: and fx_rates:)");
            return catalog;
        }
        MapReader top(f_, root, "", {"accounts", "fx_rates"});
        if (!top.is_map()) return catalog;
        if (top.has("accounts") && f_.sequence(top["accounts"], "accounts")) {
            YAML::Node list = top["accounts"];
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string path = index_path("accounts", i);
                std::optional<ledger::Account> account = read_account(list[i], path);
                if (!account) continue;
                if (catalog.accounts.contains(account->id)) {
                    f_.error(list[i], path + ".id",
                             "account '" + account->id + "' is listed twice");
                    continue;
                }
                site(account_key(account->id), list[i].Mark());
                if (list[i]["currency"])
                    site(account_key(account->id) + ".currency", list[i]["currency"].Mark());
                catalog.accounts.emplace(account->id, std::move(*account));
            }
        }
        if (top.has("fx_rates") && f_.sequence(top["fx_rates"], "fx_rates")) {
            YAML::Node list = top["fx_rates"];
            std::set<std::tuple<std::string, std::string, ledger::Days>> seen;
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string path = index_path("fx_rates", i);
                std::optional<ledger::FxRate> rate = read_fx_rate(list[i], path);
                if (!rate) continue;
                if (!seen.emplace(rate->currency, rate->account_currency, rate->effective_from)
                         .second) {
                    f_.error(list[i], path,
                             "a rate " + rate->currency + "->" + rate->account_currency +
                                 " effective from " + date_text(rate->effective_from) +
                                 " is listed twice");
                    continue;
                }
                catalog.fx_rates.push_back(std::move(*rate));
            }
        }
        return catalog;
    }

private:
    YamlFile& f_;
    CatalogSites* sites_;

    void site(std::string key, const YAML::Mark& mark) {
        if (sites_ && !mark.is_null())
            sites_->insert_or_assign(std::move(key), CatalogSite{mark.line + 1, mark.column + 1});
    }

    // The account being read: its currency and zone, once known (nullptr when invalid,
    // so that dependent values are still checked for syntax).
    const ledger::Currency* currency_ = nullptr;
    ledger::TimeZone zone_ = nullptr;

    std::optional<std::string> id(MapReader& m, std::string_view key) {
        std::optional<std::string> s = m.required_text(key);
        if (s && s->empty()) {
            f_.error(m.mark(key), m.path(key), "must not be empty");
            return std::nullopt;
        }
        return s;
    }

    // An account or partner id names the invoice folder and files (docs/lifecycle.md,
    // "Invoice files"): one the file system cannot hold is refused here, not at its first
    // invoice, after the run's commit. 100 bytes each keep the longest invoice file's name
    // ("invoice_INV-<account>-<date>-<partner>.json") within the 255 bytes a name may have.
    std::optional<std::string> file_id(MapReader& m, std::string_view key) {
        std::optional<std::string> s = id(m, key);
        if (!s) return s;
        std::string why;
        if (*s == "." || *s == "..")
            why = "'" + *s + "' cannot name a file, and this id names the invoice files";
        else if (s->find('/') != std::string::npos)
            why = "'" + *s +
                  "' holds a '/': it cannot name a file, and this id names the "
                  "invoice files";
        else if (std::any_of(s->begin(), s->end(),
                             [](unsigned char c) { return c < 0x20 || c == 0x7F; }))
            why =
                "holds a control character: it cannot name a file, and this id names the "
                "invoice files";
        else if (s->size() > kMostIdBytes)
            why = "is " + std::to_string(s->size()) +
                  " bytes long; an id that names the invoice files is at most " +
                  std::to_string(kMostIdBytes) + " bytes";
        if (why.empty()) return s;
        f_.error(m[key], m.path(key), why);
        return std::nullopt;
    }

    std::optional<Instant> instant(MapReader& m, std::string_view key) {
        std::optional<std::string> s = m.text(key);
        if (!s) return std::nullopt;
        std::expected<Instant, std::string> t = ledger::parse_instant(*s, zone_);
        if (!t) {
            f_.error(m[key], m.path(key), t.error());
            return std::nullopt;
        }
        return *t;
    }

    std::optional<ledger::Days> date(const YAML::Node& node, const std::string& path) {
        std::optional<std::string> s = f_.text(node, path);
        if (!s) return std::nullopt;
        std::optional<ledger::Days> d = parse_date(*s);
        if (!d) f_.error(node, path, "expected a date YYYY-MM-DD, not '" + *s + "'");
        return d;
    }

    std::optional<ledger::Decimal> percent(const YAML::Node& node, const std::string& path) {
        std::optional<std::string> s = f_.text(node, path);
        if (!s) return std::nullopt;
        std::expected<ledger::Decimal, std::string> d = ledger::parse_rate(*s);
        if (!d) {
            f_.error(node, path, "not a percent: '" + *s + "' (" + d.error() + ")");
            return std::nullopt;
        }
        if (above_hundred(*d)) {
            f_.error(node, path, "a percent above 100 ('" + *s + "') would pay more than the sale");
            return std::nullopt;
        }
        return *d;
    }

    // An amount in the account currency, with at most its minor digits.
    std::optional<std::int64_t> money(const YAML::Node& node, const std::string& path) {
        std::optional<std::string> s = f_.text(node, path);
        if (!s) return std::nullopt;
        std::expected<ledger::Decimal, std::string> d = ledger::parse_amount(*s);
        if (!d) {
            f_.error(node, path, "not an amount: '" + *s + "' (" + d.error() + ")");
            return std::nullopt;
        }
        if (!currency_) return std::nullopt;  // the currency error is already recorded
        std::expected<std::int64_t, std::string> minor = ledger::to_minor(*d, *currency_);
        if (!minor) {
            f_.error(node, path,
                     "'" + *s + "' has more decimals than " + std::string(currency_->code) +
                         " allows (" + std::to_string(currency_->digits) + ")");
            return std::nullopt;
        }
        return *minor;
    }

    std::optional<ledger::PayoutRule> rule(const YAML::Node& node, const std::string& path) {
        MapReader m(f_, node, path, {"percent", "fixed"});
        if (!m.is_map()) return std::nullopt;
        if (m.has("percent") == m.has("fixed")) {
            f_.error(m.mark(), path, "a rule is either {percent: P} or {fixed: X}");
            return std::nullopt;
        }
        ledger::PayoutRule r;
        if (m.has("percent")) {
            std::optional<YAML::Node> node = m.value("percent");
            std::optional<ledger::Decimal> p =
                node ? percent(*node, m.path("percent")) : std::nullopt;
            if (!p) return std::nullopt;
            r.kind = ledger::PayoutRule::Kind::Percent;
            r.percent = *p;
        } else {
            std::optional<YAML::Node> node = m.value("fixed");
            std::optional<std::int64_t> x = node ? money(*node, m.path("fixed")) : std::nullopt;
            if (!x) return std::nullopt;
            r.kind = ledger::PayoutRule::Kind::Fixed;
            r.fixed = *x;
        }
        return r;
    }

    std::optional<ledger::Account> read_account(const YAML::Node& node, const std::string& path) {
        MapReader m(f_, node, path,
                    {"id", "name", "currency", "timezone", "invoice_calendar",
                     "max_modifications_per_action", "max_conversion_age_days", "trackers",
                     "dispositions", "partners", "contracts"});
        if (!m.is_map()) return std::nullopt;
        ledger::Account a;
        std::size_t errors_before = f_.errors().size();
        std::optional<std::string> account_id = file_id(m, "id");
        if (account_id) a.id = *account_id;
        if (auto name = m.required_text("name")) a.name = *name;

        currency_ = nullptr;
        if (auto code = m.required_text("currency")) {
            currency_ = ledger::find_currency(*code);
            if (!currency_)
                f_.error(m["currency"], m.path("currency"),
                         "unknown currency code '" + *code + "'");
            a.currency = currency_;
        }
        zone_ = ledger::find_time_zone("UTC");
        if (auto tz = m.text("timezone")) {
            ledger::TimeZone found = ledger::find_time_zone(*tz);
            if (!found) {
                f_.error(m["timezone"], m.path("timezone"),
                         "unknown time zone '" + *tz + "' (use an IANA name such as Europe/Paris)");
            } else {
                zone_ = found;
                a.timezone_name = *tz;
            }
        }
        a.timezone = zone_;
        if (m.has("invoice_calendar"))
            read_invoice_calendar(m["invoice_calendar"], m.path("invoice_calendar"), a);
        if (auto n = m.integer("max_modifications_per_action", 1, 1'000'000))
            a.max_modifications_per_action = int(*n);
        if (auto n = m.integer("max_conversion_age_days", 1, 36'500))
            a.max_conversion_age_days = int(*n);

        read_trackers(m, a);
        read_dispositions(m, a);
        read_partners(m, a);
        read_contracts(m, a);
        if (f_.errors().size() != errors_before || !account_id) return std::nullopt;
        return a;
    }

    void read_invoice_calendar(const YAML::Node& node, const std::string& path,
                               ledger::Account& a) {
        MapReader m(f_, node, path, {"monthly_on_day", "period_ends"});
        if (!m.is_map()) return;
        if (m.has("monthly_on_day") == m.has("period_ends")) {
            f_.error(m.mark(), path, "give either monthly_on_day: N or period_ends: [dates]");
            return;
        }
        if (m.has("monthly_on_day")) {
            // Day 28 is the last one that every month has.
            if (auto d = m.integer("monthly_on_day", 1, 28))
                a.invoice_calendar.monthly_on_day = int(*d);
            return;
        }
        YAML::Node list = m["period_ends"];
        if (!f_.sequence(list, m.path("period_ends"))) return;
        if (list.size() == 0) {
            f_.error(m.mark("period_ends"), m.path("period_ends"),
                     "list at least one period end date");
            return;
        }
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string p = index_path(m.path("period_ends"), i);
            std::optional<ledger::Days> d = date(list[i], p);
            if (!d) continue;
            if (!a.invoice_calendar.period_ends.empty() &&
                *d <= a.invoice_calendar.period_ends.back()) {
                f_.error(list[i], p,
                         "period end dates must be in increasing order; " + date_text(*d) +
                             " follows " + date_text(a.invoice_calendar.period_ends.back()));
                continue;
            }
            a.invoice_calendar.period_ends.push_back(*d);
        }
    }

    void read_trackers(MapReader& account, ledger::Account& a) {
        if (!account.has("trackers") || !f_.sequence(account["trackers"], account.path("trackers")))
            return;
        YAML::Node list = account["trackers"];
        std::map<std::string, YAML::Node> parent_marks;
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string path = index_path(account.path("trackers"), i);
            MapReader m(f_, list[i], path, {"id", "name", "open_ended", "parent_tracker"});
            if (!m.is_map()) continue;
            ledger::Tracker t;
            std::optional<std::string> tid = id(m, "id");
            if (auto name = m.required_text("name")) t.name = *name;
            if (auto b = m.boolean("open_ended")) t.open_ended = *b;
            if (auto p = m.text("parent_tracker")) t.parent_tracker = *p;
            if (!tid) continue;
            t.id = *tid;
            if (a.trackers.contains(t.id)) {
                f_.error(m["id"], m.path("id"),
                         "tracker id '" + t.id + "' is used twice in account '" + a.id + "'");
                continue;
            }
            if (t.parent_tracker) parent_marks[t.id] = m["parent_tracker"];
            a.trackers.emplace(t.id, std::move(t));
        }
        for (const auto& [tid, t] : a.trackers) {
            if (!t.parent_tracker) continue;
            const YAML::Node& at = parent_marks[tid];
            std::string path = account.path("trackers") + "[id=" + tid + "].parent_tracker";
            if (!a.trackers.contains(*t.parent_tracker)) {
                f_.error(at, path,
                         "parent tracker '" + *t.parent_tracker +
                             "' is not a tracker of account '" + a.id + "'");
                continue;
            }
            // A chain that comes back to itself would link an action to its own kind forever.
            std::string cur = *t.parent_tracker;
            for (std::size_t steps = 0; steps <= a.trackers.size(); ++steps) {
                if (cur == tid) {
                    f_.error(
                        at, path,
                        "tracker '" + tid + "' is its own ancestor (parent_tracker chain loops)");
                    break;
                }
                auto it = a.trackers.find(cur);
                if (it == a.trackers.end() || !it->second.parent_tracker) break;
                cur = *it->second.parent_tracker;
            }
        }
    }

    void read_dispositions(MapReader& account, ledger::Account& a) {
        if (!account.has("dispositions") ||
            !f_.sequence(account["dispositions"], account.path("dispositions")))
            return;
        YAML::Node list = account["dispositions"];
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string path = index_path(account.path("dispositions"), i);
            MapReader m(f_, list[i], path, {"code", "name", "action"});
            if (!m.is_map()) continue;
            ledger::Disposition d;
            std::optional<std::string> code = id(m, "code");
            if (auto name = m.required_text("name")) d.name = *name;
            bool effect_ok = false;
            if (auto action = m.required_text("action")) {
                effect_ok = true;
                if (*action == "APPROVE")
                    d.effect = ledger::Disposition::Effect::Approve;
                else if (*action == "REJECT")
                    d.effect = ledger::Disposition::Effect::Reject;
                else if (*action == "MODIFY")
                    d.effect = ledger::Disposition::Effect::Modify;
                else {
                    effect_ok = false;
                    f_.error(m["action"], m.path("action"),
                             "expected APPROVE, REJECT or MODIFY, not '" + *action + "'");
                }
            }
            if (!code || !effect_ok) continue;
            d.code = *code;
            if (a.dispositions.contains(d.code)) {
                f_.error(
                    m["code"], m.path("code"),
                    "disposition code '" + d.code + "' is used twice in account '" + a.id + "'");
                continue;
            }
            a.dispositions.emplace(d.code, std::move(d));
        }
    }

    void read_partners(MapReader& account, ledger::Account& a) {
        if (!account.has("partners") || !f_.sequence(account["partners"], account.path("partners")))
            return;
        YAML::Node list = account["partners"];
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string path = index_path(account.path("partners"), i);
            MapReader m(f_, list[i], path, {"id", "name"});
            if (!m.is_map()) continue;
            ledger::Partner p;
            std::optional<std::string> pid = file_id(m, "id");
            if (auto name = m.required_text("name")) p.name = *name;
            if (!pid) continue;
            p.id = *pid;
            if (a.partners.contains(p.id)) {
                f_.error(m["id"], m.path("id"),
                         "partner id '" + p.id + "' is used twice in account '" + a.id + "'");
                continue;
            }
            a.partners.emplace(p.id, std::move(p));
        }
    }

    void read_contracts(MapReader& account, ledger::Account& a) {
        if (!account.has("contracts") ||
            !f_.sequence(account["contracts"], account.path("contracts")))
            return;
        YAML::Node list = account["contracts"];
        std::vector<ContractSite> sites;
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string path = index_path(account.path("contracts"), i);
            std::optional<ledger::Contract> c = read_contract(list[i], path, a);
            if (!c) continue;
            if (a.contract(c->id)) {
                f_.error(list[i], path + ".id",
                         "contract id '" + c->id + "' is used twice in account '" + a.id + "'");
                continue;
            }
            for (std::size_t j = 0; j < a.contracts.size(); ++j) {
                if (auto tracker = shared_tracker(a.contracts[j], *c)) {
                    f_.error(list[i], path,
                             "contracts '" + a.contracts[j].id + "' (" + sites[j].path + ", line " +
                                 std::to_string(sites[j].mark.line + 1) + ") and '" + c->id +
                                 "' both cover partner '" + c->partner_id + "' on tracker " +
                                 *tracker);
                }
            }
            sites.push_back({list[i].Mark(), path});
            site(contract_key(a.id, c->id), list[i].Mark());
            site(contract_key(a.id, c->id) + ".partner", list[i]["partner"].Mark());
            a.contracts.push_back(std::move(*c));
        }
    }

    std::optional<ledger::Contract> read_contract(const YAML::Node& node, const std::string& path,
                                                  const ledger::Account& a) {
        MapReader m(f_, node, path, {"id", "partner", "trackers", "versions"});
        if (!m.is_map()) return std::nullopt;
        std::size_t errors_before = f_.errors().size();
        ledger::Contract c;
        if (auto cid = id(m, "id")) c.id = *cid;
        if (auto partner = id(m, "partner")) {
            c.partner_id = *partner;
            if (!a.partner(*partner))
                f_.error(m["partner"], m.path("partner"),
                         "partner '" + *partner + "' is not a partner of account '" + a.id + "'");
        }
        if (m.has("trackers") && f_.sequence(m["trackers"], m.path("trackers"))) {
            YAML::Node list = m["trackers"];
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string p = index_path(m.path("trackers"), i);
                std::optional<std::string> t = f_.text(list[i], p);
                if (!t) continue;
                if (!a.tracker(*t)) {
                    f_.error(list[i], p,
                             "tracker '" + *t + "' is not a tracker of account '" + a.id + "'");
                } else if (std::find(c.trackers.begin(), c.trackers.end(), *t) !=
                           c.trackers.end()) {
                    f_.error(list[i], p, "tracker '" + *t + "' is listed twice");
                } else {
                    c.trackers.push_back(*t);
                }
            }
            if (list.size() == 0)
                f_.error(m.mark("trackers"), m.path("trackers"),
                         "an empty list covers nothing; leave trackers out to cover every tracker");
        }
        if (m.require("versions") && f_.sequence(m["versions"], m.path("versions"))) {
            YAML::Node list = m["versions"];
            if (list.size() == 0)
                f_.error(m.mark("versions"), m.path("versions"),
                         "a contract needs at least one version");
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string p = index_path(m.path("versions"), i);
                std::optional<ledger::ContractVersion> v =
                    read_version(list[i], p, i + 1 == list.size());
                if (!v) continue;
                if (!c.versions.empty()) {
                    const ledger::ContractVersion& prev = c.versions.back();
                    if (v->effective_from == prev.effective_from) {
                        f_.error(
                            list[i], p + ".effective_from",
                            "two versions start at " + ledger::format_instant(v->effective_from));
                        continue;
                    }
                    if (v->effective_from < prev.effective_from) {
                        f_.error(list[i], p + ".effective_from",
                                 "versions must be listed in order of effective_from; " +
                                     ledger::format_instant(v->effective_from) + " follows " +
                                     ledger::format_instant(prev.effective_from));
                        continue;
                    }
                }
                site(contract_key(a.id, c.id) + ".versions[effective_from=" +
                         ledger::format_instant(v->effective_from) + "]",
                     list[i].Mark());
                c.versions.push_back(std::move(*v));
            }
        }
        if (f_.errors().size() != errors_before) return std::nullopt;
        return c;
    }

    std::optional<ledger::ContractVersion> read_version(const YAML::Node& node,
                                                        const std::string& path, bool last) {
        MapReader m(f_, node, path,
                    {"effective_from", "effective_to", "payout", "locking", "clearing",
                     "reverse_children", "limits"});
        if (!m.is_map()) return std::nullopt;
        ledger::ContractVersion v;
        m.require("effective_from");
        std::optional<Instant> from = instant(m, "effective_from");
        if (from) v.effective_from = *from;
        if (m.has("effective_to")) {
            if (!last) {
                f_.error(m.mark("effective_to"), m.path("effective_to"),
                         "only the last version may have effective_to (the next version's start "
                         "ends the others)");
            } else if (auto t = instant(m, "effective_to")) {
                if (*t <= v.effective_from)
                    f_.error(m["effective_to"], m.path("effective_to"),
                             "effective_to must be after effective_from");
                v.effective_to = *t;
            }
        }
        if (m.require("payout")) read_payout(m["payout"], m.path("payout"), v);
        if (m.require("locking")) read_locking(m["locking"], m.path("locking"), v.locking);
        if (m.require("clearing")) read_clearing(m["clearing"], m.path("clearing"), v.clearing);
        if (auto b = m.boolean("reverse_children")) v.reverse_children = *b;
        if (m.has("limits") && f_.sequence(m["limits"], m.path("limits"))) {
            YAML::Node list = m["limits"];
            for (std::size_t i = 0; i < list.size(); ++i)
                if (auto l = read_limit(list[i], index_path(m.path("limits"), i)))
                    v.limits.push_back(*l);
        }
        // Returned despite other errors, so that the order of versions is still checked;
        // the contract as a whole is dropped by its caller when any error was recorded.
        if (!from) return std::nullopt;
        return v;
    }

    void read_payout(const YAML::Node& node, const std::string& path, ledger::ContractVersion& v) {
        MapReader m(f_, node, path, {"default", "categories", "customer_status", "promo_codes"});
        if (!m.is_map()) return;
        if (m.require("default"))
            if (auto r = rule(m["default"], m.path("default"))) v.default_rule = *r;
        if (m.has("categories")) {
            YAML::Node cats = m["categories"];
            if (!cats.IsMap()) {
                f_.error(cats.IsNull() ? YAML::Node(YAML::NodeType::Undefined) : cats,
                         m.path("categories"), "expected a mapping category: {percent: P}");
            } else {
                for (const auto& it : cats) {  // by value: the iterator hands out temporaries
                    std::string name = it.first.IsScalar() ? it.first.Scalar() : "";
                    std::string p = key_path(m.path("categories"), name);
                    if (name.empty()) {
                        f_.error(it.first, m.path("categories"), "a category must be a plain name");
                        continue;
                    }
                    if (v.categories.contains(name)) {
                        f_.error(it.first, p, "duplicate key (category listed twice)");
                        continue;
                    }
                    MapReader r(f_, it.second, p, {"percent", "fixed"});
                    if (!r.is_map()) continue;
                    if (r.has("fixed") || !r.has("percent")) {
                        f_.error(r.mark(), p,
                                 "a category refines a percent rule: write {percent: P}");
                        continue;
                    }
                    std::optional<YAML::Node> node = r.value("percent");
                    if (!node) continue;
                    if (auto pct = percent(*node, r.path("percent")))
                        v.categories.emplace(name, *pct);
                }
            }
        }
        if (m.has("customer_status")) {
            MapReader statuses(f_, m["customer_status"], m.path("customer_status"),
                               {"NEW", "EXISTING"});
            for (const std::string& status : statuses.keys())
                if (auto r = rule(statuses[status], statuses.path(status)))
                    v.customer_status.emplace(status, *r);
        }
        if (m.has("promo_codes") && f_.sequence(m["promo_codes"], m.path("promo_codes"))) {
            YAML::Node list = m["promo_codes"];
            for (std::size_t i = 0; i < list.size(); ++i) {
                std::string p = index_path(m.path("promo_codes"), i);
                MapReader pm(f_, list[i], p, {"code", "rule", "valid_from", "valid_until"});
                if (!pm.is_map()) continue;
                ledger::PromoCode promo;
                std::optional<std::string> code = id(pm, "code");
                std::optional<ledger::PayoutRule> r;
                if (pm.require("rule")) r = rule(pm["rule"], pm.path("rule"));
                promo.valid_from = instant(pm, "valid_from");
                promo.valid_until = instant(pm, "valid_until");
                if (promo.valid_from && promo.valid_until &&
                    *promo.valid_until <= *promo.valid_from) {
                    f_.error(pm["valid_until"], pm.path("valid_until"),
                             "valid_until must be after valid_from");
                    continue;
                }
                if (!code || !r) continue;
                promo.code = *code;
                promo.rule = *r;
                bool twice =
                    std::any_of(v.promo_codes.begin(), v.promo_codes.end(),
                                [&](const ledger::PromoCode& x) { return x.code == promo.code; });
                if (twice) {
                    f_.error(pm["code"], pm.path("code"),
                             "promo code '" + promo.code + "' is listed twice in this version");
                    continue;
                }
                v.promo_codes.push_back(std::move(promo));
            }
        }
    }

    void read_locking(const YAML::Node& node, const std::string& path, ledger::Locking& l) {
        MapReader m(f_, node, path, {"after", "months", "days"});
        if (!m.is_map()) return;
        if (auto after = m.required_text("after")) {
            if (*after == "event_day") {
                l.after = ledger::Locking::After::EventDay;
                if (m.has("months"))
                    f_.error(m.mark("months"), m.path("months"),
                             "months applies only to after: end_of_month");
            } else if (*after == "end_of_month") {
                l.after = ledger::Locking::After::EndOfMonth;
                if (auto months = m.integer("months", 0, 120)) l.months = int(*months);
            } else {
                f_.error(m["after"], m.path("after"),
                         "expected event_day or end_of_month, not '" + *after + "'");
            }
        }
        // After the event day, up to 27 days; after the end of a month the months say how
        // far, and the days go as far as a clearing's (docs/rules.md, "Locking date").
        const int most_days = l.after == ledger::Locking::After::EndOfMonth ? 366 : 27;
        if (m.require("days"))
            if (auto days = m.integer("days", 0, most_days)) l.days = int(*days);
    }

    void read_clearing(const YAML::Node& node, const std::string& path, ledger::Clearing& c) {
        MapReader m(f_, node, path, {"months", "days"});
        if (!m.is_map()) return;
        if (!m.has("months") && !m.has("days")) f_.error(m.mark(), path, "give months and/or days");
        if (auto months = m.integer("months", 0, 120)) c.months = int(*months);
        if (auto days = m.integer("days", 0, 366)) c.days = int(*days);
    }

    std::optional<ledger::Limit> read_limit(const YAML::Node& node, const std::string& path) {
        MapReader m(f_, node, path, {"kind", "max", "period"});
        if (!m.is_map()) return std::nullopt;
        ledger::Limit l;
        bool ok = true;
        std::optional<std::string> kind = m.required_text("kind");
        if (kind && *kind == "payout")
            l.kind = ledger::Limit::Kind::Payout;
        else if (kind && *kind == "count")
            l.kind = ledger::Limit::Kind::Count;
        else {
            ok = false;
            if (kind)
                f_.error(m["kind"], m.path("kind"),
                         "expected payout or count, not '" + *kind + "'");
        }
        if (std::optional<std::string> period = m.required_text("period")) {
            static const std::pair<std::string_view, ledger::Limit::Period> periods[] = {
                {"day", ledger::Limit::Period::Day},
                {"week", ledger::Limit::Period::Week},
                {"month", ledger::Limit::Period::Month},
                {"quarter", ledger::Limit::Period::Quarter},
                {"contract", ledger::Limit::Period::Contract}};
            auto it = std::find_if(std::begin(periods), std::end(periods),
                                   [&](auto& p) { return p.first == *period; });
            if (it == std::end(periods)) {
                ok = false;
                f_.error(m["period"], m.path("period"),
                         "expected day, week, month, quarter or contract, not '" + *period + "'");
            } else {
                l.period = it->second;
            }
        } else {
            ok = false;
        }
        if (!m.require("max") || !kind) return std::nullopt;
        std::optional<YAML::Node> max = m.value("max");
        if (!max) return std::nullopt;
        if (l.kind == ledger::Limit::Kind::Count) {
            std::optional<std::int64_t> n = m.integer("max", 1, std::int64_t(1) << 53);
            if (!n) return std::nullopt;
            l.max = *n;
        } else {
            std::optional<std::int64_t> x = money(*max, m.path("max"));
            if (!x) return std::nullopt;
            if (*x <= 0) {
                f_.error(*max, m.path("max"), "a payout cap must be above 0");
                return std::nullopt;
            }
            l.max = *x;
        }
        if (!ok) return std::nullopt;
        return l;
    }

    std::optional<ledger::FxRate> read_fx_rate(const YAML::Node& node, const std::string& path) {
        MapReader m(f_, node, path, {"currency", "account_currency", "rate", "effective_from"});
        if (!m.is_map()) return std::nullopt;
        std::size_t errors_before = f_.errors().size();
        ledger::FxRate r;
        for (auto [key, out] : {std::pair{"currency", &r.currency},
                                std::pair{"account_currency", &r.account_currency}}) {
            if (auto code = m.required_text(key)) {
                if (!ledger::find_currency(*code))
                    f_.error(m[key], m.path(key), "unknown currency code '" + *code + "'");
                *out = *code;
            }
        }
        if (!r.currency.empty() && r.currency == r.account_currency)
            f_.error(m["account_currency"], m.path("account_currency"),
                     "a rate from a currency to itself is always 1");
        if (auto text = m.required_text("rate")) {
            std::expected<ledger::Decimal, std::string> d = ledger::parse_rate(*text);
            if (!d)
                f_.error(m["rate"], m.path("rate"),
                         "not a rate: '" + *text + "' (" + d.error() + ")");
            else if (d->mantissa == 0)
                f_.error(m["rate"], m.path("rate"), "a rate must be above 0");
            else
                r.rate = *d;
        }
        if (m.require("effective_from"))
            if (std::optional<YAML::Node> node = m.value("effective_from"))
                if (auto d = date(*node, m.path("effective_from"))) r.effective_from = *d;
        if (f_.errors().size() != errors_before) return std::nullopt;
        return r;
    }
};

}  // namespace

std::expected<ledger::Catalog, std::vector<ConfigError>> read_catalog_text(
    std::string_view yaml, std::string_view file_name, CatalogSites* sites) {
    YamlFile file{std::string(file_name)};
    std::optional<YAML::Node> root = file.parse(yaml);
    ledger::Catalog catalog;
    if (root) catalog = CatalogReader(file, sites).read(*root);
    if (!file.errors().empty()) return std::unexpected(std::move(file.errors()));
    return catalog;
}

std::expected<ledger::Catalog, std::vector<ConfigError>> read_catalog_file(
    const std::filesystem::path& path, CatalogSites* sites) {
    auto text = read_user_file(path, "catalog");
    if (!text) return std::unexpected(std::vector<ConfigError>{std::move(text.error())});
    return read_catalog_text(*text, path.string(), sites);
}

}  // namespace actiondrop::config
