#include "store/catalog_codec.hpp"

#include <charconv>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace actiondrop::store {

using nlohmann::json;
using namespace actiondrop::ledger;

namespace {

[[noreturn]] void damaged(const std::string& why) {
    throw StoreError("damaged catalog document: " + why);
}

std::int64_t millis(Instant t) { return t.time_since_epoch().count(); }
Instant instant(std::int64_t ms) { return Instant{std::chrono::milliseconds{ms}}; }

json optional_instant(const std::optional<Instant>& t) {
    return t ? json(millis(*t)) : json(nullptr);
}

std::optional<Instant> read_optional_instant(const json& j) {
    if (j.is_null()) return std::nullopt;
    return instant(j.get<std::int64_t>());
}

json encode_rule(const PayoutRule& rule) {
    json j;
    j["kind"] = rule.kind == PayoutRule::Kind::Percent ? "percent" : "fixed";
    j["percent"] = format_stored_decimal(rule.percent);
    j["fixed"] = rule.fixed;
    return j;
}

PayoutRule decode_rule(const json& j) {
    PayoutRule rule;
    const std::string kind = j.at("kind").get<std::string>();
    if (kind == "percent")
        rule.kind = PayoutRule::Kind::Percent;
    else if (kind == "fixed")
        rule.kind = PayoutRule::Kind::Fixed;
    else
        damaged("payout rule kind " + kind);
    rule.percent = parse_stored_decimal(j.at("percent").get<std::string>());
    rule.fixed = j.at("fixed").get<std::int64_t>();
    return rule;
}

constexpr std::pair<Limit::Period, const char*> kPeriods[] = {
    {Limit::Period::Day, "day"},           {Limit::Period::Week, "week"},
    {Limit::Period::Month, "month"},       {Limit::Period::Quarter, "quarter"},
    {Limit::Period::Contract, "contract"},
};

constexpr std::pair<Disposition::Effect, const char*> kEffects[] = {
    {Disposition::Effect::Approve, "APPROVE"},
    {Disposition::Effect::Reject, "REJECT"},
    {Disposition::Effect::Modify, "MODIFY"},
};

template <typename Enum, std::size_t N>
const char* name_of(const std::pair<Enum, const char*> (&table)[N], Enum value) {
    for (const auto& [v, name] : table)
        if (v == value) return name;
    throw std::logic_error("catalog codec: enum value without a name");
}

template <typename Enum, std::size_t N>
Enum value_of(const std::pair<Enum, const char*> (&table)[N], const std::string& name) {
    for (const auto& [v, n] : table)
        if (name == n) return v;
    damaged("unknown name " + name);
}

json encode_version(const ContractVersion& v) {
    json j;
    j["effective_from"] = millis(v.effective_from);
    j["effective_to"] = optional_instant(v.effective_to);
    j["default_rule"] = encode_rule(v.default_rule);
    json categories = json::object();
    for (const auto& [category, percent] : v.categories)
        categories[category] = format_stored_decimal(percent);
    j["categories"] = std::move(categories);
    json statuses = json::object();
    for (const auto& [status, rule] : v.customer_status) statuses[status] = encode_rule(rule);
    j["customer_status"] = std::move(statuses);
    json promos = json::array();
    for (const PromoCode& promo : v.promo_codes) {
        promos.push_back({{"code", promo.code},
                          {"rule", encode_rule(promo.rule)},
                          {"valid_from", optional_instant(promo.valid_from)},
                          {"valid_until", optional_instant(promo.valid_until)}});
    }
    j["promo_codes"] = std::move(promos);
    j["locking"] = {
        {"after", v.locking.after == Locking::After::EventDay ? "event_day" : "end_of_month"},
        {"months", v.locking.months},
        {"days", v.locking.days}};
    j["clearing"] = {{"months", v.clearing.months}, {"days", v.clearing.days}};
    j["reverse_children"] = v.reverse_children;
    json limits = json::array();
    for (const Limit& limit : v.limits) {
        limits.push_back({{"kind", limit.kind == Limit::Kind::Payout ? "payout" : "count"},
                          {"max", limit.max},
                          {"period", name_of(kPeriods, limit.period)}});
    }
    j["limits"] = std::move(limits);
    return j;
}

ContractVersion decode_version(const json& j) {
    ContractVersion v;
    v.effective_from = instant(j.at("effective_from").get<std::int64_t>());
    v.effective_to = read_optional_instant(j.at("effective_to"));
    v.default_rule = decode_rule(j.at("default_rule"));
    for (const auto& [category, percent] : j.at("categories").items())
        v.categories.emplace(category, parse_stored_decimal(percent.get<std::string>()));
    for (const auto& [status, rule] : j.at("customer_status").items())
        v.customer_status.emplace(status, decode_rule(rule));
    for (const json& p : j.at("promo_codes")) {
        PromoCode promo;
        promo.code = p.at("code").get<std::string>();
        promo.rule = decode_rule(p.at("rule"));
        promo.valid_from = read_optional_instant(p.at("valid_from"));
        promo.valid_until = read_optional_instant(p.at("valid_until"));
        v.promo_codes.push_back(std::move(promo));
    }
    const json& locking = j.at("locking");
    const std::string after = locking.at("after").get<std::string>();
    if (after == "event_day")
        v.locking.after = Locking::After::EventDay;
    else if (after == "end_of_month")
        v.locking.after = Locking::After::EndOfMonth;
    else
        damaged("locking after " + after);
    v.locking.months = locking.at("months").get<int>();
    v.locking.days = locking.at("days").get<int>();
    v.clearing.months = j.at("clearing").at("months").get<int>();
    v.clearing.days = j.at("clearing").at("days").get<int>();
    v.reverse_children = j.at("reverse_children").get<bool>();
    for (const json& l : j.at("limits")) {
        Limit limit;
        const std::string kind = l.at("kind").get<std::string>();
        if (kind == "payout")
            limit.kind = Limit::Kind::Payout;
        else if (kind == "count")
            limit.kind = Limit::Kind::Count;
        else
            damaged("limit kind " + kind);
        limit.max = l.at("max").get<std::int64_t>();
        limit.period = value_of(kPeriods, l.at("period").get<std::string>());
        v.limits.push_back(limit);
    }
    return v;
}

}  // namespace

std::string format_day(Days day) {
    const std::chrono::year_month_day ymd{day};
    char text[16];
    std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return text;
}

Days parse_day(std::string_view text) {
    int y = 0;
    unsigned m = 0, d = 0;
    auto number = [&](std::size_t at, std::size_t length, auto& out) {
        auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + length, out);
        return ec == std::errc{} && end == text.data() + at + length;
    };
    if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !number(0, 4, y) ||
        !number(5, 2, m) || !number(8, 2, d))
        throw StoreError("damaged date \"" + std::string(text) + "\"");
    const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m},
                                          std::chrono::day{d}};
    if (!ymd.ok()) throw StoreError("damaged date \"" + std::string(text) + "\"");
    return Days{ymd};
}

std::string format_stored_decimal(const Decimal& value) { return format_decimal(value); }

Decimal parse_stored_decimal(std::string_view text) {
    Decimal value;
    bool point = false, digits = false;
    for (char c : text) {
        if (c == '.' && !point) {
            point = true;
            continue;
        }
        if (c < '0' || c > '9' ||
            value.mantissa > (std::numeric_limits<std::int64_t>::max() - 9) / 10)
            throw StoreError("damaged decimal \"" + std::string(text) + "\"");
        value.mantissa = value.mantissa * 10 + (c - '0');
        digits = true;
        if (point) ++value.scale;
    }
    if (!digits) throw StoreError("damaged decimal \"" + std::string(text) + "\"");
    return value;
}

std::string encode_account(const Account& a) {
    json j;
    j["id"] = a.id;
    j["name"] = a.name;
    j["currency"] = a.currency != nullptr ? json(std::string(a.currency->code)) : json(nullptr);
    j["timezone"] = a.timezone_name;
    json period_ends = json::array();
    for (Days day : a.invoice_calendar.period_ends) period_ends.push_back(format_day(day));
    j["invoice_calendar"] = {{"monthly_on_day", a.invoice_calendar.monthly_on_day},
                             {"period_ends", std::move(period_ends)}};
    j["max_modifications_per_action"] = a.max_modifications_per_action;
    j["max_conversion_age_days"] = a.max_conversion_age_days;
    json trackers = json::object();
    for (const auto& [key, t] : a.trackers) {
        trackers[key] = {
            {"id", t.id},
            {"name", t.name},
            {"open_ended", t.open_ended},
            {"parent_tracker", t.parent_tracker ? json(*t.parent_tracker) : json(nullptr)}};
    }
    j["trackers"] = std::move(trackers);
    json dispositions = json::object();
    for (const auto& [key, d] : a.dispositions)
        dispositions[key] = {
            {"code", d.code}, {"name", d.name}, {"effect", name_of(kEffects, d.effect)}};
    j["dispositions"] = std::move(dispositions);
    json partners = json::object();
    for (const auto& [key, p] : a.partners) partners[key] = {{"id", p.id}, {"name", p.name}};
    j["partners"] = std::move(partners);
    json contracts = json::array();
    for (const Contract& c : a.contracts) {
        json versions = json::array();
        for (const ContractVersion& v : c.versions) versions.push_back(encode_version(v));
        contracts.push_back({{"id", c.id},
                             {"partner_id", c.partner_id},
                             {"trackers", c.trackers},
                             {"versions", std::move(versions)}});
    }
    j["contracts"] = std::move(contracts);
    return j.dump();
}

Account decode_account(std::string_view document) {
    try {
        const json j = json::parse(document);
        Account a;
        a.id = j.at("id").get<std::string>();
        a.name = j.at("name").get<std::string>();
        // Every account of a catalog file has a currency (docs/formats.md, "The catalog
        // file"); one without would fail only later, when a payout is computed.
        if (j.at("currency").is_null()) damaged("account " + a.id + " has no currency");
        const std::string code = j.at("currency").get<std::string>();
        a.currency = find_currency(code);
        if (a.currency == nullptr) damaged("unknown currency " + code + " of account " + a.id);
        a.timezone_name = j.at("timezone").get<std::string>();
        a.timezone = find_time_zone(a.timezone_name);
        if (a.timezone == nullptr)
            throw StoreError("account " + a.id + ": time zone " + a.timezone_name +
                             " is not in this machine's time zone database");
        const json& calendar = j.at("invoice_calendar");
        a.invoice_calendar.monthly_on_day = calendar.at("monthly_on_day").get<int>();
        for (const json& day : calendar.at("period_ends"))
            a.invoice_calendar.period_ends.push_back(parse_day(day.get<std::string>()));
        a.max_modifications_per_action = j.at("max_modifications_per_action").get<int>();
        a.max_conversion_age_days = j.at("max_conversion_age_days").get<int>();
        for (const auto& [key, t] : j.at("trackers").items()) {
            Tracker tracker;
            tracker.id = t.at("id").get<std::string>();
            tracker.name = t.at("name").get<std::string>();
            tracker.open_ended = t.at("open_ended").get<bool>();
            if (!t.at("parent_tracker").is_null())
                tracker.parent_tracker = t.at("parent_tracker").get<std::string>();
            a.trackers.emplace(key, std::move(tracker));
        }
        for (const auto& [key, d] : j.at("dispositions").items()) {
            a.dispositions.emplace(
                key, Disposition{d.at("code").get<std::string>(), d.at("name").get<std::string>(),
                                 value_of(kEffects, d.at("effect").get<std::string>())});
        }
        for (const auto& [key, p] : j.at("partners").items())
            a.partners.emplace(
                key, Partner{p.at("id").get<std::string>(), p.at("name").get<std::string>()});
        for (const json& c : j.at("contracts")) {
            Contract contract;
            contract.id = c.at("id").get<std::string>();
            contract.partner_id = c.at("partner_id").get<std::string>();
            contract.trackers = c.at("trackers").get<std::vector<std::string>>();
            for (const json& v : c.at("versions")) contract.versions.push_back(decode_version(v));
            a.contracts.push_back(std::move(contract));
        }
        return a;
    } catch (const json::exception& e) {
        damaged(e.what());
    }
}

}  // namespace actiondrop::store
