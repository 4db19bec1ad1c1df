#pragma once
// The business catalog (docs/formats.md, "The catalog file"): accounts, trackers,
// dispositions, partners, contracts with versions, FX rates. Plain data, loaded by
// lib/config from YAML and kept in the store; the rules read it and never change it.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/money.hpp"
#include "ledger/time.hpp"

namespace actiondrop::ledger {

struct PayoutRule {
    enum class Kind { Percent, Fixed };
    Kind kind = Kind::Percent;
    Decimal percent;         // Percent: of the sale amount, e.g. {8,0} or {35,1}
    std::int64_t fixed = 0;  // Fixed: minor units of the account currency per action
};

struct PromoCode {
    std::string code;
    PayoutRule rule;
    std::optional<Instant> valid_from;   // absent: always valid from the start
    std::optional<Instant> valid_until;  // exclusive; absent: no end
    bool valid_at(Instant t) const {
        return (!valid_from || *valid_from <= t) && (!valid_until || t < *valid_until);
    }
};

struct Locking {
    enum class After { EventDay, EndOfMonth };
    After after = After::EventDay;
    int months = 0;  // EndOfMonth only
    int days = 0;    // EventDay: at most 27; EndOfMonth: at most 366
};

struct Clearing {
    int months = 0;
    int days = 0;
};

struct Limit {
    enum class Kind { Payout, Count };
    enum class Period { Day, Week, Month, Quarter, Contract };
    Kind kind = Kind::Payout;
    std::int64_t max = 0;  // Payout: minor units of the account currency; Count: actions
    Period period = Period::Month;
};

struct ContractVersion {
    Instant effective_from;
    std::optional<Instant> effective_to;  // only meaningful on the last version
    PayoutRule default_rule;
    std::map<std::string, Decimal> categories;          // category -> percent
    std::map<std::string, PayoutRule> customer_status;  // "NEW" / "EXISTING" -> rule
    std::vector<PromoCode> promo_codes;
    Locking locking;
    Clearing clearing;
    bool reverse_children = false;
    std::vector<Limit> limits;
};

struct Contract {
    std::string id;
    std::string partner_id;
    std::vector<std::string> trackers;      // empty: every tracker of the account
    std::vector<ContractVersion> versions;  // sorted by effective_from

    bool covers(std::string_view tracker_id) const;
    // The version in force at t: the latest with effective_from <= t, and t before the
    // last version's effective_to if set. nullptr when none.
    const ContractVersion* version_at(Instant t) const;
};

struct Tracker {
    std::string id;
    std::string name;
    bool open_ended = false;
    std::optional<std::string> parent_tracker;
};

struct Disposition {
    enum class Effect { Approve, Reject, Modify };
    std::string code;  // case-sensitive
    std::string name;  // partner-visible
    Effect effect = Effect::Modify;
};

struct Partner {
    std::string id;
    std::string name;
};

struct InvoiceCalendar {
    int monthly_on_day = 1;         // used when period_ends is empty
    std::vector<Days> period_ends;  // a custom (GAAP) calendar
};

struct Account {
    std::string id;
    std::string name;
    const Currency* currency = nullptr;
    std::string timezone_name = "UTC";
    TimeZone timezone = nullptr;
    InvoiceCalendar invoice_calendar;
    int max_modifications_per_action = 1000;
    int max_conversion_age_days = 88;
    std::map<std::string, Tracker> trackers;          // by id
    std::map<std::string, Disposition> dispositions;  // by code
    std::map<std::string, Partner> partners;          // by id
    std::vector<Contract> contracts;

    const Tracker* tracker(std::string_view id) const;
    const Disposition* disposition(std::string_view code) const;
    const Partner* partner(std::string_view id) const;
    // The contract with this partner covering this tracker; nullptr when none.
    const Contract* contract_for(std::string_view partner_id, std::string_view tracker_id) const;
    const Contract* contract(std::string_view id) const;
};

struct FxRate {
    std::string currency;          // the foreign currency
    std::string account_currency;  // rate = account currency per unit of `currency`
    Decimal rate;
    Days effective_from;
};

struct Catalog {
    std::map<std::string, Account> accounts;  // by id
    std::vector<FxRate> fx_rates;

    const Account* account(std::string_view id) const;
    // The latest rate effective on or before `day`; {1,0} when from == to; nullopt when
    // none (FX_RATE_NOT_FOUND).
    std::optional<Decimal> fx_rate(std::string_view from, std::string_view to, Days day) const;
};

}  // namespace actiondrop::ledger
