#include <doctest/doctest.h>

#include "ledger/time.hpp"
#include "store/action_codec.hpp"
#include "store/catalog_codec.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using actiondrop::store::testing::at_ms;

TEST_CASE("items and creation snapshots survive their binary encoding") {
    std::vector<ledger::Item> items = {
        {"SKU-1", "electronics", 2, 10'000}, {"", "", 0, 0}, {"with\0nul", "x", -5, INT64_MIN}};
    items[2].sku = std::string("with\0nul", 8);
    items.push_back({"big", "y", INT64_MAX, INT64_MAX});
    std::string bytes;
    encode_items(items, bytes);
    CHECK(decode_items(bytes) == items);

    encode_items({}, bytes);
    CHECK(decode_items(bytes).empty());

    ledger::CreationState creation{-42, items, "EXISTING", 777, true};
    encode_creation(creation, bytes);
    CHECK(decode_creation(bytes) == creation);
}

TEST_CASE("damaged item and creation bytes are a StoreError") {
    std::string bytes;
    encode_items({{"SKU-1", "c", 1, 100}}, bytes);
    CHECK_THROWS_AS(decode_items(bytes.substr(0, bytes.size() - 1)), StoreError);
    CHECK_THROWS_AS(decode_items(bytes + "x"), StoreError);
    CHECK_THROWS_AS(decode_items(""), StoreError);
    CHECK_THROWS_AS(decode_items(std::string("\x01\xff\xff\xff\xff\x0f", 6)), StoreError);
    CHECK_THROWS_AS(decode_creation(bytes), StoreError);
}

TEST_CASE("dates and decimals keep their exact text") {
    CHECK(format_day(parse_day("2026-02-28")) == "2026-02-28");
    CHECK(parse_day("1970-01-02") == ledger::Days{std::chrono::days{1}});
    CHECK_THROWS_AS(parse_day("2026-02-30"), StoreError);
    CHECK_THROWS_AS(parse_day("2026-2-3"), StoreError);
    for (ledger::Decimal d :
         {ledger::Decimal{8, 0}, ledger::Decimal{35, 1}, ledger::Decimal{10850000000, 10},
          ledger::Decimal{5, 3}, ledger::Decimal{0, 2}, ledger::Decimal{1200, 2}}) {
        CAPTURE(d.mantissa);
        CAPTURE(d.scale);
        CHECK(parse_stored_decimal(format_stored_decimal(d)) == d);
    }
    CHECK_THROWS_AS(parse_stored_decimal("1.2.3"), StoreError);
    CHECK_THROWS_AS(parse_stored_decimal(""), StoreError);
}

namespace {

ledger::Account full_account() {
    using namespace ledger;
    Account a;
    a.id = "1000";
    a.name = "Acme Outdoor";
    a.currency = find_currency("USD");
    a.timezone_name = "America/New_York";
    a.timezone = find_time_zone(a.timezone_name);
    a.invoice_calendar.monthly_on_day = 5;
    a.invoice_calendar.period_ends = {parse_day("2026-01-31"), parse_day("2026-02-28")};
    a.max_modifications_per_action = 7;
    a.max_conversion_age_days = 30;
    a.trackers["19816"] = Tracker{"19816", "Online Sale", false, std::nullopt};
    a.trackers["19817"] = Tracker{"19817", "Hotel Booking", true, std::nullopt};
    a.trackers["19818"] = Tracker{"19818", "Renewal", false, std::string("19816")};
    a.dispositions["STAY_COMPLETE"] =
        Disposition{"STAY_COMPLETE", "Stay completed", Disposition::Effect::Approve};
    a.dispositions["NO_SHOW"] =
        Disposition{"NO_SHOW", "Guest did not show", Disposition::Effect::Reject};
    a.dispositions["FIX"] = Disposition{"FIX", "Fixed", Disposition::Effect::Modify};
    a.partners["P-77"] = Partner{"P-77", "Trail Blog"};
    Contract c;
    c.id = "C-1";
    c.partner_id = "P-77";
    c.trackers = {"19816", "19817"};
    ContractVersion v1;
    v1.effective_from = at_ms(1'767'225'600'000);
    v1.default_rule = PayoutRule{PayoutRule::Kind::Percent, Decimal{8, 0}, 0};
    v1.categories["electronics"] = Decimal{35, 1};
    v1.customer_status["NEW"] = PayoutRule{PayoutRule::Kind::Percent, Decimal{10, 0}, 0};
    v1.customer_status["EXISTING"] = PayoutRule{PayoutRule::Kind::Fixed, Decimal{}, 250};
    v1.promo_codes.push_back(PromoCode{"FREESHIP0",
                                       PayoutRule{PayoutRule::Kind::Fixed, Decimal{}, 0},
                                       std::nullopt, at_ms(1'782'777'600'000)});
    v1.promo_codes.push_back(PromoCode{"SPRING",
                                       PayoutRule{PayoutRule::Kind::Percent, Decimal{125, 1}, 0},
                                       at_ms(1'772'323'200'000), std::nullopt});
    v1.locking = Locking{Locking::After::EndOfMonth, 1, 27};
    v1.clearing = Clearing{2, 20};
    v1.reverse_children = true;
    v1.limits = {Limit{Limit::Kind::Payout, 500'000, Limit::Period::Month},
                 Limit{Limit::Kind::Count, 10, Limit::Period::Day},
                 Limit{Limit::Kind::Count, 70, Limit::Period::Week},
                 Limit{Limit::Kind::Payout, 9, Limit::Period::Quarter},
                 Limit{Limit::Kind::Count, 1, Limit::Period::Contract}};
    ContractVersion v2;
    v2.effective_from = at_ms(1'775'000'000'000);
    v2.effective_to = at_ms(1'790'000'000'000);
    v2.default_rule = PayoutRule{PayoutRule::Kind::Fixed, Decimal{}, 1'500};
    v2.locking = Locking{Locking::After::EventDay, 0, 14};
    c.versions = {v1, v2};
    a.contracts.push_back(c);
    return a;
}

void check_rule(const ledger::PayoutRule& got, const ledger::PayoutRule& want) {
    CHECK(got.kind == want.kind);
    CHECK(got.percent == want.percent);
    CHECK(got.fixed == want.fixed);
}

}  // namespace

TEST_CASE("an account survives its JSON document, every field") {
    const ledger::Account want = full_account();
    REQUIRE(want.timezone != nullptr);
    const ledger::Account got = decode_account(encode_account(want));
    CHECK(got.id == want.id);
    CHECK(got.name == want.name);
    CHECK(got.currency == want.currency);
    CHECK(got.timezone_name == want.timezone_name);
    CHECK(got.timezone == want.timezone);
    CHECK(got.invoice_calendar.monthly_on_day == 5);
    CHECK(got.invoice_calendar.period_ends == want.invoice_calendar.period_ends);
    CHECK(got.max_modifications_per_action == 7);
    CHECK(got.max_conversion_age_days == 30);
    REQUIRE(got.trackers.size() == 3);
    for (const auto& [id, t] : want.trackers) {
        const ledger::Tracker& g = got.trackers.at(id);
        CHECK(g.id == t.id);
        CHECK(g.name == t.name);
        CHECK(g.open_ended == t.open_ended);
        CHECK(g.parent_tracker == t.parent_tracker);
    }
    REQUIRE(got.dispositions.size() == 3);
    for (const auto& [code, d] : want.dispositions) {
        CHECK(got.dispositions.at(code).code == d.code);
        CHECK(got.dispositions.at(code).name == d.name);
        CHECK(got.dispositions.at(code).effect == d.effect);
    }
    REQUIRE(got.partners.size() == 1);
    CHECK(got.partners.at("P-77").name == "Trail Blog");
    REQUIRE(got.contracts.size() == 1);
    const ledger::Contract& gc = got.contracts[0];
    const ledger::Contract& wc = want.contracts[0];
    CHECK(gc.id == wc.id);
    CHECK(gc.partner_id == wc.partner_id);
    CHECK(gc.trackers == wc.trackers);
    REQUIRE(gc.versions.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        const ledger::ContractVersion& g = gc.versions[i];
        const ledger::ContractVersion& w = wc.versions[i];
        CHECK(g.effective_from == w.effective_from);
        CHECK(g.effective_to == w.effective_to);
        check_rule(g.default_rule, w.default_rule);
        CHECK(g.categories == w.categories);
        REQUIRE(g.customer_status.size() == w.customer_status.size());
        for (const auto& [status, rule] : w.customer_status)
            check_rule(g.customer_status.at(status), rule);
        REQUIRE(g.promo_codes.size() == w.promo_codes.size());
        for (std::size_t p = 0; p < w.promo_codes.size(); ++p) {
            CHECK(g.promo_codes[p].code == w.promo_codes[p].code);
            check_rule(g.promo_codes[p].rule, w.promo_codes[p].rule);
            CHECK(g.promo_codes[p].valid_from == w.promo_codes[p].valid_from);
            CHECK(g.promo_codes[p].valid_until == w.promo_codes[p].valid_until);
        }
        CHECK(g.locking.after == w.locking.after);
        CHECK(g.locking.months == w.locking.months);
        CHECK(g.locking.days == w.locking.days);
        CHECK(g.clearing.months == w.clearing.months);
        CHECK(g.clearing.days == w.clearing.days);
        CHECK(g.reverse_children == w.reverse_children);
        REQUIRE(g.limits.size() == w.limits.size());
        for (std::size_t l = 0; l < w.limits.size(); ++l) {
            CHECK(g.limits[l].kind == w.limits[l].kind);
            CHECK(g.limits[l].max == w.limits[l].max);
            CHECK(g.limits[l].period == w.limits[l].period);
        }
    }
    // Nothing is left out: encoding again gives the same document.
    CHECK(encode_account(got) == encode_account(want));
}

TEST_CASE("a damaged or unresolvable account document is a StoreError") {
    std::string document = encode_account(full_account());
    CHECK_THROWS_AS(decode_account(document.substr(0, document.size() / 2)), StoreError);
    std::string bad_zone = document;
    bad_zone.replace(bad_zone.find("America/New_York"), 16, "Mars/Olympus_Mon");
    CHECK_THROWS_AS(decode_account(bad_zone), StoreError);
    std::string bad_currency = document;
    bad_currency.replace(bad_currency.find("\"USD\""), 5, "\"XXQ\"");
    CHECK_THROWS_AS(decode_account(bad_currency), StoreError);
}

TEST_CASE("an account document without a currency is damaged, not an account to apply rows to") {
    // The catalog file requires a currency (docs/formats.md); an account without one would
    // only fail later, when a payout is computed, as an internal error.
    std::string document = encode_account(full_account());
    document.replace(document.find("\"USD\""), 5, "null");
    CHECK_THROWS_WITH_AS(decode_account(document), doctest::Contains("currency"), StoreError);
}
