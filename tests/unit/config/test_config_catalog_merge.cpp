#include <doctest/doctest.h>

#include "config/catalog_file.hpp"
#include "config_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::config;

namespace {

ledger::Catalog read(std::string_view yaml) {
    auto result = read_catalog_text(yaml, "cat.yaml");
    INFO((result ? std::string() : test::all_errors(result.error())));
    REQUIRE(result.has_value());
    return *result;
}

ledger::Instant at(std::string_view text) {
    return *ledger::parse_instant(text, ledger::find_time_zone("UTC"));
}

// One account, one contract; `versions` is the YAML of its version list.
std::string account(std::string_view versions, std::string_view extra_partner = "",
                    std::string_view currency = "USD", std::string_view contract_partner = "P") {
    return std::string(R"(accounts:
  - id: "1"
    name: Shop
    currency: )") +
           std::string(currency) + R"(
    trackers: [{id: "t1", name: Sale}]
    partners: [{id: P, name: p})" +
           std::string(extra_partner) + R"(]
    contracts:
      - id: C
        partner: )" +
           std::string(contract_partner) + R"(
        versions:
)" + std::string(versions);
}

std::string version(std::string_view from, std::string_view percent) {
    return "          - effective_from: " + std::string(from) +
           "\n            payout: {default: {percent: \"" + std::string(percent) +
           "\"}}\n            locking: {after: event_day, days: 3}\n"
           "            clearing: {days: 20}\n";
}

const ledger::Contract& contract_c(const ledger::Catalog& c) {
    return c.accounts.at("1").contracts.at(0);
}

}  // namespace

TEST_CASE("merge: a new account and new versions are added, and omitted versions are kept") {
    ledger::Catalog stored =
        read(account(version("2026-01-01T00:00:00Z", "8") + version("2027-01-01T00:00:00Z", "9")));
    ledger::Catalog incoming = read(account(version("2027-06-01T00:00:00Z", "10")) + R"(  - id: "2"
    name: Other
    currency: EUR
)");
    auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
    INFO((merged ? std::string() : test::all_errors(merged.error())));
    REQUIRE(merged);
    CHECK(merged->accounts.size() == 2);
    const ledger::Contract& c = contract_c(*merged);
    REQUIRE(c.versions.size() == 3);
    CHECK(c.versions[0].default_rule.percent == ledger::Decimal{8, 0});
    CHECK(c.versions[2].effective_from == at("2027-06-01T00:00:00Z"));
}

TEST_CASE("merge: loading the same file again changes nothing") {
    ledger::Catalog stored = read(account(version("2026-01-01T00:00:00Z", "8")));
    auto merged = merge_catalog(stored, stored, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE(merged);
    CHECK(contract_c(*merged).versions.size() == 1);
}

TEST_CASE("merge: a version in force cannot be changed") {
    ledger::Catalog stored = read(account(version("2026-01-01T00:00:00Z", "8")));
    SUBCASE("a changed percent is refused, naming the contract and version") {
        ledger::Catalog incoming = read(account(version("2026-01-01T00:00:00Z", "9")));
        auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
        REQUIRE_FALSE(merged);
        REQUIRE(merged.error().size() == 1);
        const ConfigError& e = merged.error()[0];
        CHECK(e.file == "cat.yaml");
        CHECK(e.key ==
              "accounts[id=1].contracts[id=C].versions[effective_from=2026-01-01T00:00:00Z]");
        CHECK(e.message.find("contract 'C'") != std::string::npos);
        CHECK(e.message.find("already in force") != std::string::npos);
        CHECK(e.message.find("add a new version") != std::string::npos);
    }
    SUBCASE("8 and 8.00 are the same percent") {
        ledger::Catalog incoming = read(account(version("2026-01-01T00:00:00Z", "8.00")));
        CHECK(merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml").has_value());
    }
    SUBCASE("any other field counts: locking days") {
        std::string v = version("2026-01-01T00:00:00Z", "8");
        v.replace(v.find("days: 3"), 7, "days: 4");
        auto merged =
            merge_catalog(stored, read(account(v)), at("2026-11-24T12:00:00Z"), "cat.yaml");
        CHECK_FALSE(merged);
    }
    SUBCASE("in force from the very instant it starts") {
        ledger::Catalog incoming = read(account(version("2026-01-01T00:00:00Z", "9")));
        CHECK_FALSE(merge_catalog(stored, incoming, at("2026-01-01T00:00:00Z"), "cat.yaml"));
        CHECK(merge_catalog(stored, incoming, at("2025-12-31T23:59:59Z"), "cat.yaml"));
    }
}

TEST_CASE("merge: a refused reload names the line of what it refuses in the file loaded") {
    // The versions and accounts are those of the file being loaded; the sites say where.
    ledger::Catalog stored = read(account(version("2026-01-01T00:00:00Z", "8")));
    const std::string text = account(
        version("2026-01-01T00:00:00Z", "9") + version("2027-01-01T00:00:00Z", "9"), "", "EUR");
    CatalogSites sites;
    auto incoming = read_catalog_text(text, "cat.yaml", &sites);
    REQUIRE(incoming);
    auto merged = merge_catalog(stored, *incoming, at("2026-11-24T12:00:00Z"), "cat.yaml", sites);
    REQUIRE_FALSE(merged);
    REQUIRE(merged.error().size() == 2);
    // accounts: is line 1, "  - id" line 2, currency line 4; the first version's map starts
    // on line 11 ("          - effective_from: …").
    const ConfigError& currency = merged.error()[0];
    CHECK(currency.key == "accounts[id=1].currency");
    CHECK(currency.line == 4);
    const ConfigError& in_force = merged.error()[1];
    CHECK(in_force.key ==
          "accounts[id=1].contracts[id=C].versions[effective_from=2026-01-01T00:00:00Z]");
    CHECK(in_force.line == 11);
    CHECK(in_force.str().starts_with("cat.yaml:11:"));
}

TEST_CASE("merge: a future version can still be changed") {
    ledger::Catalog stored =
        read(account(version("2026-01-01T00:00:00Z", "8") + version("2027-01-01T00:00:00Z", "9")));
    ledger::Catalog incoming = read(account(version("2027-01-01T00:00:00Z", "11")));
    auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE(merged);
    REQUIRE(contract_c(*merged).versions.size() == 2);
    CHECK(contract_c(*merged).versions[1].default_rule.percent == ledger::Decimal{11, 0});
}

TEST_CASE("merge: a back-dated new version would change the terms in force") {
    ledger::Catalog stored = read(account(version("2026-01-01T00:00:00Z", "8")));
    ledger::Catalog incoming = read(account(version("2026-07-01T00:00:00Z", "9")));
    auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE_FALSE(merged);
    CHECK(merged.error()[0].key ==
          "accounts[id=1].contracts[id=C].versions[effective_from=2026-07-01T00:00:00Z]");
    CHECK(merged.error()[0].message.find(
              "would change the terms of version 2026-01-01T00:00:00Z") != std::string::npos);
    // Before any stored version nothing was in force, so filling that time is allowed.
    ledger::Catalog earlier = read(account(version("2025-01-01T00:00:00Z", "7")));
    auto filled = merge_catalog(stored, earlier, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE(filled);
    CHECK(contract_c(*filled).versions.front().effective_from == at("2025-01-01T00:00:00Z"));
}

TEST_CASE("merge: an account keeps its currency and a contract its partner") {
    ledger::Catalog stored =
        read(account(version("2026-01-01T00:00:00Z", "8"), ", {id: Q, name: q}"));
    auto currency =
        merge_catalog(stored, read(account(version("2026-01-01T00:00:00Z", "8"), "", "EUR")),
                      at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE_FALSE(currency);
    CHECK_CONFIG_ERROR(currency.error(), 0, "accounts[id=1].currency", "keeps its currency USD");
    auto partner = merge_catalog(
        stored,
        read(account(version("2026-01-01T00:00:00Z", "8"), ", {id: Q, name: q}", "USD", "Q")),
        at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE_FALSE(partner);
    CHECK_CONFIG_ERROR(partner.error(), 0, "accounts[id=1].contracts[id=C].partner",
                       "cannot move to 'Q'");
}

TEST_CASE("merge: two contracts covering the same partner and tracker across loads are refused") {
    ledger::Catalog stored = read(account(version("2026-01-01T00:00:00Z", "8")));
    ledger::Catalog incoming = read(R"(accounts:
  - id: "1"
    name: Shop
    currency: USD
    trackers: [{id: "t1", name: Sale}]
    partners: [{id: P, name: p}]
    contracts:
      - id: D
        partner: P
        trackers: ["t1"]
        versions:
          - effective_from: 2027-01-01T00:00:00Z
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
)");
    auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE_FALSE(merged);
    CHECK_CONFIG_ERROR(merged.error(), 0, "accounts[id=1].contracts[id=D]",
                       "contracts 'C' and 'D' both cover partner 'P'");
}

TEST_CASE(
    "merge: trackers, dispositions and partners are replaced by id, others kept, and FX rates "
    "by key") {
    ledger::Catalog stored = read(R"(accounts:
  - id: "1"
    name: Shop
    currency: USD
    trackers: [{id: "a", name: Sale}, {id: "b", name: Lead}]
    dispositions: [{code: X, name: x, action: APPROVE}]
    partners: [{id: P, name: Old name}]
fx_rates:
  - {currency: EUR, account_currency: USD, rate: "1.08", effective_from: 2026-01-01}
  - {currency: EUR, account_currency: USD, rate: "1.09", effective_from: 2026-07-01}
)");
    ledger::Catalog incoming = read(R"(accounts:
  - id: "1"
    name: Shop Renamed
    currency: USD
    timezone: Europe/Paris
    trackers: [{id: "a", name: Online Sale}, {id: "c", name: Renewal, parent_tracker: "a"}]
    dispositions: [{code: X, name: x, action: REJECT}]
    partners: [{id: P, name: New name}]
fx_rates:
  - {currency: EUR, account_currency: USD, rate: "1.10", effective_from: 2026-07-01}
  - {currency: GBP, account_currency: USD, rate: "1.27", effective_from: 2026-07-01}
)");
    auto merged = merge_catalog(stored, incoming, ledger::Instant{}, "cat.yaml");
    REQUIRE(merged);
    const ledger::Account& a = merged->accounts.at("1");
    CHECK(a.name == "Shop Renamed");
    CHECK(a.timezone_name == "Europe/Paris");
    CHECK(a.trackers.size() == 3);
    CHECK(a.trackers.at("a").name == "Online Sale");
    CHECK(a.trackers.at("b").name == "Lead");
    CHECK(a.dispositions.at("X").effect == ledger::Disposition::Effect::Reject);
    CHECK(a.partners.at("P").name == "New name");
    REQUIRE(merged->fx_rates.size() == 3);
    CHECK(merged->fx_rate("EUR", "USD", std::chrono::sys_days{std::chrono::year{2026} / 8 / 1}) ==
          ledger::Decimal{110, 2});
    CHECK(merged->fx_rate("EUR", "USD", std::chrono::sys_days{std::chrono::year{2026} / 2 / 1}) ==
          ledger::Decimal{108, 2});
}

TEST_CASE("merge: every error is reported") {
    ledger::Catalog stored =
        read(account(version("2026-01-01T00:00:00Z", "8") + version("2026-03-01T00:00:00Z", "8")));
    ledger::Catalog incoming = read(account(
        version("2026-01-01T00:00:00Z", "9") + version("2026-03-01T00:00:00Z", "9"), "", "EUR"));
    auto merged = merge_catalog(stored, incoming, at("2026-11-24T12:00:00Z"), "cat.yaml");
    REQUIRE_FALSE(merged);
    CHECK(merged.error().size() == 3);
}
