#include <doctest/doctest.h>

#include "ledger/payout.hpp"

using namespace actiondrop::ledger;
using namespace std::chrono;

namespace {

Instant at(std::string_view text) { return parse_instant(text, nullptr).value(); }
Days date_of(int y, unsigned m, unsigned d) { return Days{year{y} / m / d}; }

PayoutRule percent(std::int64_t mantissa, int scale = 0) {
    return PayoutRule{PayoutRule::Kind::Percent, Decimal{mantissa, scale}, 0};
}
PayoutRule fixed(std::int64_t minor) { return PayoutRule{PayoutRule::Kind::Fixed, {}, minor}; }

// Contract C-1 of account 1000 as the first version in etc/catalog.yaml has it, with a July
// version and a few more rules of its own.
struct Fixture {
    Catalog catalog;
    Account* account = nullptr;

    Fixture() {
        Account& a = catalog.accounts["1000"];
        a.id = "1000";
        a.currency = find_currency("USD");
        a.timezone_name = "America/New_York";
        a.timezone = find_time_zone("America/New_York");
        REQUIRE(a.timezone != nullptr);

        ContractVersion january;
        january.effective_from = at("2026-01-01T00:00:00Z");
        january.default_rule = percent(8);
        january.categories = {{"electronics", Decimal{3, 0}}, {"books", Decimal{125, 1}}};
        january.customer_status = {{"NEW", percent(10)}, {"EXISTING", fixed(250)}};
        january.promo_codes = {
            PromoCode{"FREESHIP0", fixed(0), std::nullopt, at("2026-06-30T00:00:00Z")},
            PromoCode{"SPRING4", percent(4), at("2026-03-01T00:00:00Z"), std::nullopt},
        };

        ContractVersion july;
        july.effective_from = at("2026-07-01T00:00:00Z");
        july.default_rule = percent(5);

        Contract c;
        c.id = "C-1";
        c.partner_id = "P-77";
        c.trackers = {"19816", "19817"};
        c.versions = {january, july};
        a.contracts.push_back(c);

        catalog.fx_rates = {
            FxRate{"EUR", "USD", Decimal{10850000000, 10}, date_of(2026, 1, 1)},
            FxRate{"EUR", "USD", Decimal{11, 1}, date_of(2026, 2, 1)},
        };
        account = &a;
    }

    Action sale(std::int64_t amount_minor, std::string_view currency = "USD") const {
        Action x;
        x.action_id = "A-1";
        x.account_id = "1000";
        x.tracker_id = "19816";
        x.partner_id = "P-77";
        x.event_date = at("2026-01-15T15:00:00Z");
        x.currency = find_currency(currency);
        x.amount = amount_minor;
        return x;
    }

    std::expected<PayoutQuote, ErrorCode> payout(const Action& x, Instant t) const {
        return compute_payout(catalog, *account, x, t);
    }
    std::int64_t payout_minor(const Action& x, Instant t) const {
        const auto q = payout(x, t);
        REQUIRE(q.has_value());
        return q->payout;
    }
};

const Instant january_15 = at("2026-01-15T15:00:00Z");

Item item(std::string sku, std::string category, std::int64_t qty, std::int64_t amount) {
    return Item{std::move(sku), std::move(category), qty, amount};
}

}  // namespace

// ---- contract and version ----

TEST_CASE("compute_payout reports the contract and the version used") {
    Fixture f;
    const auto q = f.payout(f.sale(10000), january_15);
    REQUIRE(q.has_value());
    CHECK(q->contract == &f.account->contracts[0]);
    CHECK(q->version == &f.account->contracts[0].versions[0]);
    CHECK(q->payout == 800);
}

TEST_CASE("compute_payout without a contract for the partner is CONTRACT_NOT_FOUND") {
    Fixture f;
    Action x = f.sale(10000);
    x.partner_id = "P-88";
    CHECK(f.payout(x, january_15).error() == ErrorCode::ContractNotFound);
}

TEST_CASE("compute_payout without a contract covering the tracker is CONTRACT_NOT_FOUND") {
    Fixture f;
    Action x = f.sale(10000);
    x.tracker_id = "19818";
    CHECK(f.payout(x, january_15).error() == ErrorCode::ContractNotFound);
}

TEST_CASE("compute_payout before the first version is CONTRACT_NOT_FOUND") {
    Fixture f;
    CHECK(f.payout(f.sale(10000), at("2025-12-31T23:59:59Z")).error() ==
          ErrorCode::ContractNotFound);
}

TEST_CASE("compute_payout after the last version's effective_to is CONTRACT_NOT_FOUND") {
    Fixture f;
    f.account->contracts[0].versions[1].effective_to = at("2026-12-31T00:00:00Z");
    CHECK(f.payout(f.sale(10000), at("2026-12-30T00:00:00Z")).has_value());
    CHECK(f.payout(f.sale(10000), at("2026-12-31T00:00:00Z")).error() ==
          ErrorCode::ContractNotFound);
}

TEST_CASE("compute_payout uses the version in force at the evaluation time") {
    Fixture f;
    const Action x = f.sale(10000);                               // event in January
    CHECK(f.payout_minor(x, january_15) == 800);                  // 8%
    CHECK(f.payout_minor(x, at("2026-07-01T00:00:00Z")) == 500);  // 5% from July
    CHECK(f.payout(x, at("2026-07-01T00:00:00Z"))->version == &f.account->contracts[0].versions[1]);
}

// ---- rule precedence ----

TEST_CASE("the default percent applies without status or promo") {
    Fixture f;
    CHECK(f.payout_minor(f.sale(12345), january_15) == 988);  // 123.45 x 8% = 9.876
}

TEST_CASE("the customer status rule beats the default") {
    Fixture f;
    Action x = f.sale(10000);
    x.customer_status = "NEW";
    CHECK(f.payout_minor(x, january_15) == 1000);  // 10%
    x.customer_status = "EXISTING";
    CHECK(f.payout_minor(x, january_15) == 250);  // fixed 2.50
}

TEST_CASE("a customer status without a rule falls back to the default") {
    Fixture f;
    Action x = f.sale(10000);
    x.customer_status = "NEW";
    f.account->contracts[0].versions[0].customer_status.erase("NEW");
    CHECK(f.payout_minor(x, january_15) == 800);
}

TEST_CASE("a valid promo beats the customer status and the default") {
    Fixture f;
    Action x = f.sale(10000);
    x.customer_status = "NEW";
    x.promo_code = "FREESHIP0";
    CHECK(f.payout_minor(x, january_15) == 0);
}

TEST_CASE("an unknown promo code falls back to the customer status") {
    Fixture f;
    Action x = f.sale(10000);
    x.customer_status = "NEW";
    x.promo_code = "NOSUCHCODE";
    CHECK(f.payout_minor(x, january_15) == 1000);
}

TEST_CASE("promo codes match exactly") {
    Fixture f;
    Action x = f.sale(10000);
    x.promo_code = "freeship0";
    CHECK(f.payout_minor(x, january_15) == 800);
}

TEST_CASE("an expired promo no longer applies") {
    Fixture f;
    Action x = f.sale(10000);
    x.promo_code = "FREESHIP0";
    CHECK(f.payout_minor(x, at("2026-06-29T23:59:59Z")) == 0);
    // valid_until is exclusive: from 2026-06-30 the default 8% applies again.
    CHECK(f.payout_minor(x, at("2026-06-30T00:00:00Z")) == 800);
    x.customer_status = "NEW";
    CHECK(f.payout_minor(x, at("2026-06-30T00:00:00Z")) == 1000);
}

TEST_CASE("a promo before its valid_from does not apply yet") {
    Fixture f;
    Action x = f.sale(10000);
    x.promo_code = "SPRING4";
    CHECK(f.payout_minor(x, at("2026-02-28T23:59:59Z")) == 800);
    CHECK(f.payout_minor(x, at("2026-03-01T00:00:00Z")) == 400);
}

TEST_CASE("promo validity is judged at the evaluation time, not the event date") {
    Fixture f;
    Action x = f.sale(10000);  // event 2026-01-15, before SPRING4 starts
    x.promo_code = "SPRING4";
    CHECK(f.payout_minor(x, at("2026-03-10T00:00:00Z")) == 400);
}

// ---- fixed rules ----

TEST_CASE("a fixed rule pays per action whatever the amount and items") {
    Fixture f;
    f.account->contracts[0].versions[0].default_rule = fixed(1500);
    Action x = f.sale(999999);
    CHECK(f.payout_minor(x, january_15) == 1500);
    x.items = {item("TV", "electronics", 1, 50000), item("BOOK", "books", 2, 3000)};
    CHECK(f.payout_minor(x, january_15) == 1500);  // categories do not refine a fixed rule
    x.amount = 0;
    CHECK(f.payout_minor(x, january_15) == 1500);
}

TEST_CASE("a fixed rule needs no FX rate") {
    Fixture f;
    f.account->contracts[0].versions[0].default_rule = fixed(1500);
    Action x = f.sale(10000, "GBP");  // no GBP rate in the catalog
    CHECK(f.payout_minor(x, january_15) == 1500);
}

// ---- percent per item line ----

TEST_CASE("a percent rule pays per line with category percents") {
    Fixture f;
    Action x = f.sale(0);
    x.items = {item("TV", "electronics", 1, 49999),  // 3%: 14.9997 -> 15.00
               item("BOOK", "books", 2, 3333),       // 12.5%: 4.166250 -> 4.17
               item("TENT", "outdoor", 1, 20005)};   // no category: 8%: 16.004 -> 16.00
    x.amount = 49999 + 3333 + 20005;
    CHECK(f.payout_minor(x, january_15) == 1500 + 417 + 1600);
}

TEST_CASE("each line is rounded once before summing") {
    Fixture f;
    Action x = f.sale(0);
    // Two lines of 0.05 at 10%: each 0.005 -> 0.01, summed 0.02 (the whole would give 0.01).
    f.account->contracts[0].versions[0].default_rule = percent(10);
    x.items = {item("A", "", 1, 5), item("B", "", 1, 5)};
    x.amount = 10;
    CHECK(f.payout_minor(x, january_15) == 2);
}

TEST_CASE("category percents refine the customer status percent") {
    Fixture f;
    Action x = f.sale(0);
    x.customer_status = "NEW";
    x.items = {item("TV", "electronics", 1, 10000), item("TENT", "outdoor", 1, 10000)};
    x.amount = 20000;
    CHECK(f.payout_minor(x, january_15) == 300 + 1000);  // 3% category, 10% NEW
}

TEST_CASE("category percents do not refine a fixed customer status rule") {
    Fixture f;
    Action x = f.sale(0);
    x.customer_status = "EXISTING";
    x.items = {item("TV", "electronics", 1, 10000), item("TENT", "outdoor", 1, 10000)};
    x.amount = 20000;
    CHECK(f.payout_minor(x, january_15) == 250);
}

TEST_CASE("a promo percent applies to every line as it is") {
    Fixture f;
    Action x = f.sale(0);
    x.promo_code = "SPRING4";
    x.items = {item("TV", "electronics", 1, 10000), item("BOOK", "books", 1, 10000)};
    x.amount = 20000;
    CHECK(f.payout_minor(x, at("2026-03-10T00:00:00Z")) == 400 + 400);
}

TEST_CASE("categories match exactly") {
    Fixture f;
    Action x = f.sale(0);
    x.items = {item("TV", "Electronics", 1, 10000)};
    x.amount = 10000;
    CHECK(f.payout_minor(x, january_15) == 800);
}

TEST_CASE("an order without items is one line of the order amount") {
    Fixture f;
    // 0.25 x 10% = 0.025 -> 0.03, half away from zero
    Action x = f.sale(25);
    x.customer_status = "NEW";
    CHECK(f.payout_minor(x, january_15) == 3);
}

TEST_CASE("a reversed amount of zero pays zero") {
    Fixture f;
    Action x = f.sale(0);
    x.items = {item("TV", "electronics", 0, 0)};
    CHECK(f.payout_minor(x, january_15) == 0);
}

// ---- FX ----

TEST_CASE("a foreign sale is converted with the rate of the event's local date") {
    Fixture f;
    // 100.00 EUR x 1.0850000000 x 8% = 8.68 USD
    CHECK(f.payout_minor(f.sale(10000, "EUR"), january_15) == 868);
}

TEST_CASE("the FX rate is exact and the line rounded half away from zero") {
    Fixture f;
    Action x = f.sale(0, "EUR");
    x.customer_status = "NEW";
    // 12.34 EUR x 1.085 x 10% = 1.338890 -> 1.34; 0.50 EUR x 1.085 x 10% = 0.05425 -> 0.05
    x.items = {item("A", "", 1, 1234), item("B", "", 1, 50)};
    x.amount = 1284;
    CHECK(f.payout_minor(x, january_15) == 134 + 5);
}

TEST_CASE("the FX rate follows the event date, not the evaluation time") {
    Fixture f;
    Action x = f.sale(10000, "EUR");
    // A modification in February of a January sale still uses January's rate.
    CHECK(f.payout_minor(x, at("2026-02-15T00:00:00Z")) == 868);
    x.event_date = at("2026-02-10T12:00:00Z");
    CHECK(f.payout_minor(x, at("2026-02-15T00:00:00Z")) == 880);  // 1.1 x 8%
}

TEST_CASE("the FX date is the event's date in the account's time zone") {
    Fixture f;
    Action x = f.sale(10000, "EUR");
    // 2026-02-01T03:00Z is still January 31 in New York: January's rate.
    x.event_date = at("2026-02-01T03:00:00Z");
    CHECK(f.payout_minor(x, at("2026-02-15T00:00:00Z")) == 868);
    x.event_date = at("2026-02-01T05:00:00Z");
    CHECK(f.payout_minor(x, at("2026-02-15T00:00:00Z")) == 880);
}

TEST_CASE("a foreign sale without a rate is FX_RATE_NOT_FOUND") {
    Fixture f;
    CHECK(f.payout(f.sale(10000, "GBP"), january_15).error() == ErrorCode::FxRateNotFound);
}

TEST_CASE("a foreign sale before the first rate is FX_RATE_NOT_FOUND") {
    Fixture f;
    Action x = f.sale(10000, "EUR");
    x.event_date = at("2025-12-31T12:00:00Z");
    CHECK(f.payout(x, january_15).error() == ErrorCode::FxRateNotFound);
}

TEST_CASE("CONTRACT_NOT_FOUND comes before FX_RATE_NOT_FOUND") {
    Fixture f;
    Action x = f.sale(10000, "GBP");
    x.partner_id = "P-88";
    CHECK(f.payout(x, january_15).error() == ErrorCode::ContractNotFound);
}

TEST_CASE("an account in a zero-decimal currency gets whole units") {
    Fixture f;
    f.account->currency = find_currency("JPY");
    f.catalog.fx_rates.push_back(FxRate{"USD", "JPY", Decimal{1505, 1}, date_of(2026, 1, 1)});
    // 10.00 USD x 150.5 x 8% = 120.4 JPY -> 120
    CHECK(f.payout_minor(f.sale(1000), january_15) == 120);
    // 12.50 USD x 150.5 x 8% = 150.5 JPY -> 151
    CHECK(f.payout_minor(f.sale(1250), january_15) == 151);
}
