#pragma once
// A small catalog and row builders shared by the rules tests (account 1000 of
// etc/catalog.yaml, in code).
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "ledger/catalog.hpp"
#include "ledger/rules.hpp"
#include "memory_ledger.hpp"

namespace actiondrop::ledger::testing {

// Usable at namespace scope, before doctest runs: a bad literal is a bug in the test.
inline Instant at(std::string_view text) {
    auto t = parse_instant(text, nullptr);
    if (!t) throw std::invalid_argument("bad test instant: " + std::string(text));
    return *t;
}

inline PayoutRule percent(std::int64_t mantissa, int scale = 0) {
    return PayoutRule{PayoutRule::Kind::Percent, Decimal{mantissa, scale}, 0};
}
inline PayoutRule fixed(std::int64_t minor) {
    return PayoutRule{PayoutRule::Kind::Fixed, {}, minor};
}

// Account 1000 (USD, but UTC) with the first version of contract C-1 as in
// etc/catalog.yaml, plus:
// - C-2 with partner P-99: fixed 10.00, locks 10 days after the event day, reverses
//   children, at most 2 actions a month;
// - partner P-88 without a contract; account 2000 that must stay invisible to 1000.
inline Catalog make_catalog() {
    Catalog catalog;
    Account account;
    account.id = "1000";
    account.name = "Acme Outdoor";
    account.currency = find_currency("USD");
    account.timezone_name = "UTC";
    account.timezone = find_time_zone("UTC");
    account.trackers["19816"] = Tracker{"19816", "Online Sale", false, std::nullopt};
    account.trackers["19817"] = Tracker{"19817", "Hotel Booking", true, std::nullopt};
    account.trackers["19818"] =
        Tracker{"19818", "Subscription Renewal", false, std::string("19816")};
    account.dispositions["STAY_COMPLETE"] =
        Disposition{"STAY_COMPLETE", "Stay completed", Disposition::Effect::Approve};
    account.dispositions["NO_SHOW"] =
        Disposition{"NO_SHOW", "Guest did not show", Disposition::Effect::Reject};
    account.dispositions["ADJUST"] = Disposition{"ADJUST", "Adjusted", Disposition::Effect::Modify};
    account.partners["P-77"] = Partner{"P-77", "Trail Blog"};
    account.partners["P-88"] = Partner{"P-88", "No Contract Media"};
    account.partners["P-99"] = Partner{"P-99", "Coupon Site"};

    Contract c1;
    c1.id = "C-1";
    c1.partner_id = "P-77";
    c1.trackers = {"19816", "19817", "19818"};
    ContractVersion v1;
    v1.effective_from = at("2026-01-01T00:00:00Z");
    v1.default_rule = percent(8);
    v1.categories["electronics"] = Decimal{3, 0};
    v1.customer_status["NEW"] = percent(10);
    v1.promo_codes.push_back(
        PromoCode{"FREESHIP0", fixed(0), std::nullopt, at("2026-06-30T00:00:00Z")});
    v1.promo_codes.push_back(PromoCode{"BONUS5", fixed(500), std::nullopt, std::nullopt});
    v1.locking = Locking{Locking::After::EndOfMonth, 0, 27};
    v1.clearing = Clearing{0, 20};
    v1.reverse_children = false;
    v1.limits.push_back(Limit{Limit::Kind::Payout, 500000, Limit::Period::Month});
    c1.versions.push_back(v1);
    account.contracts.push_back(c1);

    Contract c2;
    c2.id = "C-2";
    c2.partner_id = "P-99";
    ContractVersion v2;
    v2.effective_from = at("2026-01-01T00:00:00Z");
    v2.default_rule = fixed(1000);
    v2.locking = Locking{Locking::After::EventDay, 0, 10};
    v2.clearing = Clearing{0, 20};
    v2.reverse_children = true;
    v2.limits.push_back(Limit{Limit::Kind::Count, 2, Limit::Period::Month});
    c2.versions.push_back(v2);
    account.contracts.push_back(c2);

    Account other = account;
    other.id = "2000";
    other.name = "Other Advertiser";

    catalog.accounts[account.id] = account;
    catalog.accounts[other.id] = other;
    catalog.fx_rates.push_back(
        FxRate{"EUR", "USD", Decimal{10850000000, 10}, Days{std::chrono::year{2026} / 1 / 1}});
    return catalog;
}

inline ConversionRow conversion(std::string action_id, std::string amount, std::string event_date,
                                std::string partner = "P-77", std::string tracker = "19816") {
    static std::int64_t next_line = 2;
    ConversionRow row;
    row.line = next_line++;
    row.action_id = std::move(action_id);
    row.tracker_id = std::move(tracker);
    row.partner_id = std::move(partner);
    row.order_id = "O-" + *row.action_id;
    row.event_date = std::move(event_date);
    if (!amount.empty()) row.amount = std::move(amount);
    return row;
}

inline ModificationRow modification(std::string action_id, std::string reason) {
    ModificationRow row;
    row.line = 2;
    row.action_id = std::move(action_id);
    if (!reason.empty()) row.reason = std::move(reason);
    return row;
}

inline ItemGroup item(int index, std::string sku, Cell quantity = std::nullopt,
                      Cell amount = std::nullopt, Cell category = std::nullopt,
                      Cell new_sku = std::nullopt) {
    ItemGroup g;
    g.index = index;
    g.sku = std::move(sku);
    g.quantity = std::move(quantity);
    g.amount = std::move(amount);
    g.category = std::move(category);
    g.new_sku = std::move(new_sku);
    return g;
}

struct RulesFixture {
    Catalog catalog = make_catalog();
    MemoryLedger ledger;
    Account& account = catalog.accounts.at("1000");

    RowResult convert(const ConversionRow& row, Instant now, std::string batch = "B1") {
        return apply_conversion(catalog, account, ledger, row, BatchContext{std::move(batch), now});
    }
    RowResult modify(const ModificationRow& row, Instant now, std::string batch = "B2") {
        return apply_modification(catalog, account, ledger, row,
                                  BatchContext{std::move(batch), now});
    }
    // Creates an action by a conversion that must succeed.
    Action& create(const ConversionRow& row, Instant now) {
        RowResult r = convert(row, now);
        INFO(r.message);
        REQUIRE(r.outcome == Outcome::Applied);
        return *ledger.find("1000", r.action_id);
    }
    Action& action(std::string_view id) {
        Action* a = ledger.find("1000", id);
        REQUIRE(a != nullptr);
        return *a;
    }
};

}  // namespace actiondrop::ledger::testing
