#include <doctest/doctest.h>

#include "ledger/catalog.hpp"

using namespace actiondrop::ledger;
using namespace std::chrono;

namespace {

Instant at(std::string_view text) { return parse_instant(text, nullptr).value(); }
Days date_of(int y, unsigned m, unsigned d) { return Days{year{y} / m / d}; }

ContractVersion version_from(std::string_view from) {
    ContractVersion v;
    v.effective_from = at(from);
    return v;
}

Contract three_versions() {
    Contract c;
    c.id = "C-1";
    c.partner_id = "P-77";
    c.versions = {version_from("2026-01-01T00:00:00Z"), version_from("2026-03-01T00:00:00Z"),
                  version_from("2026-06-01T00:00:00Z")};
    return c;
}

FxRate rate(std::string from, std::string to, Decimal r, Days d) {
    return FxRate{std::move(from), std::move(to), r, d};
}

}  // namespace

// ---- Contract::covers ----

TEST_CASE("a contract without trackers covers every tracker") {
    Contract c;
    CHECK(c.covers("19816"));
    CHECK(c.covers("anything"));
}

TEST_CASE("a contract with trackers covers only those, exactly") {
    Contract c;
    c.trackers = {"19816", "19817"};
    CHECK(c.covers("19816"));
    CHECK(c.covers("19817"));
    CHECK_FALSE(c.covers("19818"));
    CHECK_FALSE(c.covers("1981"));
    CHECK_FALSE(c.covers(" 19816"));
}

// ---- Contract::version_at ----

TEST_CASE("version_at before the first version is none") {
    CHECK(three_versions().version_at(at("2025-12-31T23:59:59.999Z")) == nullptr);
}

TEST_CASE("version_at picks the latest version started at or before t") {
    const Contract c = three_versions();
    CHECK(c.version_at(at("2026-01-01T00:00:00Z")) == &c.versions[0]);
    CHECK(c.version_at(at("2026-02-28T23:59:59Z")) == &c.versions[0]);
    CHECK(c.version_at(at("2026-03-01T00:00:00Z")) == &c.versions[1]);
    CHECK(c.version_at(at("2026-05-31T00:00:00Z")) == &c.versions[1]);
    CHECK(c.version_at(at("2026-06-01T00:00:00Z")) == &c.versions[2]);
    CHECK(c.version_at(at("2030-01-01T00:00:00Z")) == &c.versions[2]);
}

TEST_CASE("version_at honours the last version's effective_to, exclusive") {
    Contract c = three_versions();
    c.versions[2].effective_to = at("2026-09-01T00:00:00Z");
    CHECK(c.version_at(at("2026-08-31T23:59:59.999Z")) == &c.versions[2]);
    CHECK(c.version_at(at("2026-09-01T00:00:00Z")) == nullptr);
    CHECK(c.version_at(at("2027-01-01T00:00:00Z")) == nullptr);
}

TEST_CASE("version_at ignores effective_to on a version that a later one ends") {
    Contract c = three_versions();
    c.versions[0].effective_to = at("2026-02-01T00:00:00Z");
    CHECK(c.version_at(at("2026-02-15T00:00:00Z")) == &c.versions[0]);
}

TEST_CASE("version_at of a contract without versions is none") {
    Contract c;
    CHECK(c.version_at(at("2026-01-01T00:00:00Z")) == nullptr);
}

TEST_CASE("version_at does not depend on the order of versions") {
    Contract c = three_versions();
    std::swap(c.versions[0], c.versions[2]);
    CHECK(c.version_at(at("2026-04-01T00:00:00Z"))->effective_from == at("2026-03-01T00:00:00Z"));
    CHECK(c.version_at(at("2026-07-01T00:00:00Z"))->effective_from == at("2026-06-01T00:00:00Z"));
}

// ---- Account lookups ----

TEST_CASE("account lookups by id and code, exact and case-sensitive") {
    Account a;
    a.trackers["19816"] = Tracker{"19816", "Online Sale", false, std::nullopt};
    a.dispositions["NO_SHOW"] =
        Disposition{"NO_SHOW", "Guest did not show", Disposition::Effect::Reject};
    a.partners["P-77"] = Partner{"P-77", "Trail Blog"};
    a.contracts.push_back(three_versions());

    REQUIRE(a.tracker("19816") != nullptr);
    CHECK(a.tracker("19816")->name == "Online Sale");
    CHECK(a.tracker("19817") == nullptr);

    REQUIRE(a.disposition("NO_SHOW") != nullptr);
    CHECK(a.disposition("NO_SHOW")->effect == Disposition::Effect::Reject);
    CHECK(a.disposition("no_show") == nullptr);

    REQUIRE(a.partner("P-77") != nullptr);
    CHECK(a.partner("P-77")->name == "Trail Blog");
    CHECK(a.partner("p-77") == nullptr);

    REQUIRE(a.contract("C-1") != nullptr);
    CHECK(a.contract("C-1")->partner_id == "P-77");
    CHECK(a.contract("C-2") == nullptr);
}

// ---- Account::contract_for ----

TEST_CASE("contract_for matches partner and tracker") {
    Account a;
    Contract sales;
    sales.id = "C-sales";
    sales.partner_id = "P-77";
    sales.trackers = {"19816"};
    Contract hotels;
    hotels.id = "C-hotels";
    hotels.partner_id = "P-77";
    hotels.trackers = {"19817"};
    Contract other;
    other.id = "C-other";
    other.partner_id = "P-88";
    a.contracts = {sales, hotels, other};

    REQUIRE(a.contract_for("P-77", "19816") != nullptr);
    CHECK(a.contract_for("P-77", "19816")->id == "C-sales");
    CHECK(a.contract_for("P-77", "19817")->id == "C-hotels");
    CHECK(a.contract_for("P-77", "19818") == nullptr);
    CHECK(a.contract_for("P-88", "19818")->id == "C-other");
    CHECK(a.contract_for("P-99", "19816") == nullptr);
}

TEST_CASE("contract_for prefers a contract naming the tracker over an all-trackers one") {
    Account a;
    Contract all;
    all.id = "C-all";
    all.partner_id = "P-77";
    Contract specific;
    specific.id = "C-specific";
    specific.partner_id = "P-77";
    specific.trackers = {"19817"};
    a.contracts = {all, specific};
    CHECK(a.contract_for("P-77", "19817")->id == "C-specific");
    CHECK(a.contract_for("P-77", "19816")->id == "C-all");
}

// ---- Catalog ----

TEST_CASE("Catalog::account looks up by id") {
    Catalog c;
    c.accounts["1000"].id = "1000";
    REQUIRE(c.account("1000") != nullptr);
    CHECK(c.account("1000")->id == "1000");
    CHECK(c.account("1001") == nullptr);
}

TEST_CASE("fx_rate is 1 between a currency and itself, without any rate") {
    Catalog c;
    CHECK(c.fx_rate("USD", "USD", date_of(2026, 1, 1)) == Decimal{1, 0});
}

TEST_CASE("fx_rate without a rate for the pair is none") {
    Catalog c;
    c.fx_rates = {rate("EUR", "USD", Decimal{1085, 3}, date_of(2026, 1, 1))};
    CHECK_FALSE(c.fx_rate("GBP", "USD", date_of(2026, 2, 1)).has_value());
    // Rates are directed: account currency per unit of the foreign one.
    CHECK_FALSE(c.fx_rate("USD", "EUR", date_of(2026, 2, 1)).has_value());
}

TEST_CASE("fx_rate takes the latest rate effective on or before the day") {
    Catalog c;
    c.fx_rates = {rate("EUR", "USD", Decimal{1100, 3}, date_of(2026, 2, 1)),
                  rate("EUR", "USD", Decimal{1085, 3}, date_of(2026, 1, 1)),
                  rate("EUR", "GBP", Decimal{870, 3}, date_of(2026, 1, 15)),
                  rate("EUR", "USD", Decimal{1200, 3}, date_of(2026, 3, 1))};
    CHECK_FALSE(c.fx_rate("EUR", "USD", date_of(2025, 12, 31)).has_value());
    CHECK(c.fx_rate("EUR", "USD", date_of(2026, 1, 1)) == Decimal{1085, 3});
    CHECK(c.fx_rate("EUR", "USD", date_of(2026, 1, 31)) == Decimal{1085, 3});
    CHECK(c.fx_rate("EUR", "USD", date_of(2026, 2, 1)) == Decimal{1100, 3});
    CHECK(c.fx_rate("EUR", "USD", date_of(2026, 2, 28)) == Decimal{1100, 3});
    CHECK(c.fx_rate("EUR", "USD", date_of(2027, 1, 1)) == Decimal{1200, 3});
    CHECK(c.fx_rate("EUR", "GBP", date_of(2026, 2, 1)) == Decimal{870, 3});
}

TEST_CASE("PromoCode::valid_at is valid_from inclusive and valid_until exclusive") {
    PromoCode p;
    CHECK(p.valid_at(at("2000-01-01T00:00:00Z")));
    p.valid_from = at("2026-01-01T00:00:00Z");
    p.valid_until = at("2026-06-30T00:00:00Z");
    CHECK_FALSE(p.valid_at(at("2025-12-31T23:59:59.999Z")));
    CHECK(p.valid_at(at("2026-01-01T00:00:00Z")));
    CHECK(p.valid_at(at("2026-06-29T23:59:59.999Z")));
    CHECK_FALSE(p.valid_at(at("2026-06-30T00:00:00Z")));
}
