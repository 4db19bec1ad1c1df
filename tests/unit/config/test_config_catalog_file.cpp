#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include "config/catalog_file.hpp"
#include "config_test_support.hpp"
#include "temp_dir.hpp"

using namespace actiondrop;
using namespace actiondrop::config;
using namespace std::chrono;

namespace {

std::vector<ConfigError> errors_of(std::string_view yaml) {
    auto result = read_catalog_text(yaml, "cat.yaml");
    REQUIRE_FALSE(result.has_value());
    return result.error();
}

ledger::Catalog catalog_of(std::string_view yaml) {
    auto result = read_catalog_text(yaml, "cat.yaml");
    INFO((result ? std::string() : test::all_errors(result.error())));
    REQUIRE(result.has_value());
    return *result;
}

// A small valid account; tests append or change lines around it.
constexpr std::string_view kValid = R"(accounts:
  - id: 1000
    name: Acme
    currency: USD
    timezone: America/New_York
    trackers:
      - {id: "1", name: Sale}
      - {id: "2", name: Renewal, parent_tracker: "1"}
      - {id: "3", name: Hotel, open_ended: true}
    dispositions:
      - {code: OK, name: Fine, action: APPROVE}
    partners:
      - {id: P-1, name: Blog}
    contracts:
      - id: C-1
        partner: P-1
        versions:
          - effective_from: 2026-01-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {months: 0, days: 20}
fx_rates:
  - {currency: EUR, account_currency: USD, rate: "1.085", effective_from: 2026-01-01}
)";

}  // namespace

TEST_CASE("catalog: a valid file is read with its defaults") {
    ledger::Catalog c = catalog_of(kValid);
    const ledger::Account* a = c.account("1000");
    REQUIRE(a != nullptr);
    CHECK(a->name == "Acme");
    CHECK(a->currency->code == "USD");
    CHECK(a->timezone_name == "America/New_York");
    CHECK(a->timezone != nullptr);
    CHECK(a->max_modifications_per_action == 1000);
    CHECK(a->max_conversion_age_days == 88);
    CHECK(a->invoice_calendar.monthly_on_day == 1);
    CHECK(a->trackers.at("2").parent_tracker == "1");
    CHECK(a->trackers.at("3").open_ended);
    CHECK(a->dispositions.at("OK").effect == ledger::Disposition::Effect::Approve);
    REQUIRE(a->contracts.size() == 1);
    const ledger::ContractVersion& v = a->contracts[0].versions.at(0);
    // A bare date is the start of that day in the account's zone (EST, UTC-5).
    CHECK(ledger::format_instant(v.effective_from) == "2026-01-01T05:00:00Z");
    CHECK(v.default_rule.kind == ledger::PayoutRule::Kind::Percent);
    CHECK(v.default_rule.percent == ledger::Decimal{8, 0});
    CHECK(v.locking.after == ledger::Locking::After::EventDay);
    CHECK(v.locking.days == 3);
    CHECK(v.clearing.days == 20);
    CHECK_FALSE(v.reverse_children);
    REQUIRE(c.fx_rates.size() == 1);
    CHECK(c.fx_rates[0].rate == ledger::Decimal{1085, 3});
    CHECK(c.fx_rates[0].effective_from == sys_days{2026y / January / 1});
}

TEST_CASE("catalog: the timezone defaults to UTC and every version field is read") {
    ledger::Catalog c = catalog_of(R"(accounts:
  - id: "7"
    name: Shop
    currency: JPY
    invoice_calendar: {period_ends: [2026-01-30, 2026-02-27]}
    max_modifications_per_action: 5
    max_conversion_age_days: 30
    trackers: [{id: "1", name: Sale}]
    partners: [{id: "P", name: Partner}]
    contracts:
      - id: C
        partner: P
        trackers: ["1"]
        versions:
          - effective_from: 2026-01-01T00:00:00Z
            payout:
              default: {fixed: "500"}
              categories: {electronics: {percent: "3.5"}}
              customer_status: {NEW: {percent: "10"}, EXISTING: {fixed: "100"}}
              promo_codes:
                - {code: FREE, rule: {fixed: "0"}, valid_from: 2026-02-01, valid_until: 2026-06-30T00:00:00+09:00}
            locking: {after: end_of_month, months: 1, days: 27}
            clearing: {months: 2, days: 5}
            reverse_children: true
            limits: [{kind: payout, max: "50000", period: month}, {kind: count, max: 10, period: week}]
          - effective_from: 2026-07-01T00:00:00Z
            effective_to: 2027-01-01T00:00:00Z
            payout: {default: {percent: "4"}}
            locking: {after: event_day, days: 0}
            clearing: {days: 1}
)");
    const ledger::Account& a = c.accounts.at("7");
    CHECK(a.timezone_name == "UTC");
    CHECK(a.timezone != nullptr);
    CHECK(a.max_modifications_per_action == 5);
    CHECK(a.max_conversion_age_days == 30);
    REQUIRE(a.invoice_calendar.period_ends.size() == 2);
    CHECK(a.invoice_calendar.period_ends[1] == sys_days{2026y / February / 27});
    const ledger::Contract& contract = a.contracts.at(0);
    CHECK(contract.trackers == std::vector<std::string>{"1"});
    REQUIRE(contract.versions.size() == 2);
    const ledger::ContractVersion& v = contract.versions[0];
    CHECK(v.default_rule.kind == ledger::PayoutRule::Kind::Fixed);
    CHECK(v.default_rule.fixed == 500);
    CHECK(v.categories.at("electronics") == ledger::Decimal{35, 1});
    CHECK(v.customer_status.at("EXISTING").fixed == 100);
    REQUIRE(v.promo_codes.size() == 1);
    CHECK(v.promo_codes[0].rule.fixed == 0);
    CHECK(ledger::format_instant(*v.promo_codes[0].valid_from) == "2026-02-01T00:00:00Z");
    CHECK(ledger::format_instant(*v.promo_codes[0].valid_until) == "2026-06-29T15:00:00Z");
    CHECK(v.locking.after == ledger::Locking::After::EndOfMonth);
    CHECK(v.locking.months == 1);
    CHECK(v.clearing.months == 2);
    CHECK(v.reverse_children);
    REQUIRE(v.limits.size() == 2);
    CHECK(v.limits[0].kind == ledger::Limit::Kind::Payout);
    CHECK(v.limits[0].max == 50000);
    CHECK(v.limits[1].kind == ledger::Limit::Kind::Count);
    CHECK(v.limits[1].period == ledger::Limit::Period::Week);
    CHECK(contract.versions[1].effective_to.has_value());
    CHECK(contract.versions[1].clearing.months == 0);
}

TEST_CASE("catalog: a fixed amount in USD keeps its cents") {
    std::string yaml(kValid);
    yaml.replace(yaml.find(R"({percent: "8"})"), 14, R"({fixed: "12.5"})");
    CHECK(catalog_of(yaml).accounts.at("1000").contracts[0].versions[0].default_rule.fixed == 1250);
}

TEST_CASE("catalog: YAML syntax errors name the line") {
    auto errors = errors_of("accounts:\n  - id: [1,\n    name: x\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].line >= 2);
    CHECK(errors[0].message.find("YAML syntax") != std::string::npos);
    CHECK(errors[0].str().starts_with("cat.yaml:"));
}

TEST_CASE("catalog: an empty file and a second document are refused") {
    CHECK(errors_of("").at(0).message.find("empty") != std::string::npos);
    auto errors = errors_of("accounts: []\n---\naccounts: []\n");
    CHECK(errors.at(0).message.find("more than one YAML document") != std::string::npos);
}

TEST_CASE("catalog: duplicate keys are errors at every depth") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    currency: EUR
    trackers:
      - {id: "1", name: Sale, name: Other}
fx_rates: []
fx_rates: []
)");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].currency",
                       "duplicate key (first written at line 4)");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].trackers[0].name", "duplicate key");
    CHECK_CONFIG_ERROR(errors, 9, "fx_rates", "duplicate key");
}

TEST_CASE("catalog: unknown keys are errors that list the known ones") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    time_zone: UTC
    partners: [{id: P, name: x, email: a@b}]
extra: 1
)");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].time_zone",
                       "unknown key (expected one of: id, name, currency, timezone");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].partners[0].email", "unknown key");
    CHECK_CONFIG_ERROR(errors, 7, "extra", "unknown key");
    CHECK(errors.size() == 3);
}

TEST_CASE("catalog: every error is collected, not only the first") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USX
    timezone: Mars/Olympus
    max_modifications_per_action: 0
    max_conversion_age_days: many
)");
    CHECK_CONFIG_ERROR(errors, 4, "accounts[0].currency", "unknown currency code 'USX'");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].timezone", "unknown time zone 'Mars/Olympus'");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].max_modifications_per_action",
                       "must be between 1 and");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].max_conversion_age_days", "expected a whole number");
    CHECK(errors[0].str() == "cat.yaml:4:15: accounts[0].currency: unknown currency code 'USX'");
}

TEST_CASE("catalog: required keys and empty values") {
    auto errors = errors_of(R"(accounts:
  - name: A
    currency:
    trackers:
      - {id: "", name: Sale}
      - {name: Other}
)");
    CHECK_CONFIG_ERROR(errors, 2, "accounts[0].id", "missing required key");
    CHECK_CONFIG_ERROR(errors, 3, "accounts[0].currency", "a value is required here");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].trackers[0].id", "must not be empty");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].trackers[1].id", "missing required key");
}

TEST_CASE("catalog: an account or partner id that cannot name a file is refused at its place") {
    // They name the invoice folder and files (docs/lifecycle.md, "Invoice files"): one the
    // file system cannot hold would stop every invoice of its account after its commit.
    const std::string long_id(101, 'p');
    auto errors = errors_of(R"(accounts:
  - id: ".."
    name: A
    currency: USD
    partners:
      - {id: P/2, name: Slash}
      - {id: ".", name: Dot}
      - {id: )" + long_id + R"(, name: Long}
  - id: a/b
    name: B
    currency: USD
  - id: "tab\there"
    name: C
    currency: USD
)");
    CHECK_CONFIG_ERROR(errors, 2, "accounts[0].id", "cannot name a file");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].partners[0].id", "'/'");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].partners[1].id", "cannot name a file");
    CHECK_CONFIG_ERROR(errors, 8, "accounts[0].partners[2].id", "at most 100 bytes");
    CHECK_CONFIG_ERROR(errors, 9, "accounts[1].id", "'/'");
    CHECK_CONFIG_ERROR(errors, 12, "accounts[2].id", "control character");

    // What is allowed stays allowed: dots inside, spaces, UTF-8, 100 bytes.
    const std::string longest(100, 'q');
    auto catalog = catalog_of(R"(accounts:
  - id: "a.b c"
    name: A
    currency: USD
    partners:
      - {id: "..x", name: Dots}
      - {id: "Zoë 1", name: Accent}
      - {id: )" + longest + R"(, name: Longest}
)");
    const ledger::Account* account = catalog.account("a.b c");
    REQUIRE(account != nullptr);
    CHECK(account->partners.contains("..x"));
    CHECK(account->partners.contains("Zoë 1"));
    CHECK(account->partners.contains(longest));
}

TEST_CASE("catalog: wrong shapes are named") {
    auto errors = errors_of(R"(accounts:
  - id: [1, 2]
    name: A
    currency: USD
    trackers: {id: "1"}
    partners:
      - just a name
)");
    CHECK_CONFIG_ERROR(errors, 2, "accounts[0].id", "expected a single value, not a list");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].trackers", "expected a list");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].partners[0]", "expected a mapping");
    CHECK(errors_of("- a\n- b\n").at(0).message.find("expected a mapping") != std::string::npos);
}

TEST_CASE("catalog: ids are unique within their account, accounts within the file") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    trackers: [{id: "9", name: a}, {id: "9", name: b}]
    dispositions: [{code: X, name: a, action: APPROVE}, {code: X, name: b, action: REJECT}]
    partners: [{id: P, name: a}, {id: P, name: b}]
  - id: 1
    name: B
    currency: EUR
)");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].trackers[1].id", "tracker id '9' is used twice");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].dispositions[1].code",
                       "disposition code 'X' is used twice");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].partners[1].id", "partner id 'P' is used twice");
}

TEST_CASE("catalog: an account listed twice is refused") {
    auto errors = errors_of(R"(accounts:
  - {id: "1", name: A, currency: USD}
  - {id: 1, name: B, currency: EUR}
)");
    CHECK_CONFIG_ERROR(errors, 3, "accounts[1].id", "account '1' is listed twice");
}

TEST_CASE("catalog: tracker references and loops") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    trackers:
      - {id: "a", name: A, parent_tracker: "zz"}
      - {id: "b", name: B, parent_tracker: "c"}
      - {id: "c", name: C, parent_tracker: "b"}
      - {id: "d", name: D, open_ended: maybe}
)");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].trackers[id=a].parent_tracker",
                       "parent tracker 'zz' is not a tracker");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].trackers[id=b].parent_tracker", "loops");
    CHECK_CONFIG_ERROR(errors, 8, "accounts[0].trackers[id=c].parent_tracker", "loops");
    CHECK_CONFIG_ERROR(errors, 9, "accounts[0].trackers[3].open_ended", "expected true or false");
}

TEST_CASE("catalog: disposition actions are APPROVE, REJECT or MODIFY, case-sensitive") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    dispositions:
      - {code: X, name: x, action: approve}
      - {code: Y, name: y}
)");
    CHECK_CONFIG_ERROR(errors, 6, "accounts[0].dispositions[0].action",
                       "expected APPROVE, REJECT or MODIFY");
    CHECK_CONFIG_ERROR(errors, 7, "accounts[0].dispositions[1].action", "missing required key");
}

TEST_CASE("catalog: invoice calendar forms") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    invoice_calendar: {monthly_on_day: 31}
  - id: "2"
    name: B
    currency: USD
    invoice_calendar: {period_ends: [2026-02-27, 2026-01-30, 2026-02-30]}
  - id: "3"
    name: C
    currency: USD
    invoice_calendar: {monthly_on_day: 1, period_ends: [2026-01-30]}
)");
    CHECK_CONFIG_ERROR(errors, 5, "accounts[0].invoice_calendar.monthly_on_day",
                       "between 1 and 28");
    CHECK_CONFIG_ERROR(errors, 9, "accounts[1].invoice_calendar.period_ends[1]",
                       "increasing order");
    CHECK_CONFIG_ERROR(errors, 9, "accounts[1].invoice_calendar.period_ends[2]",
                       "expected a date YYYY-MM-DD");
    CHECK_CONFIG_ERROR(errors, 13, "accounts[2].invoice_calendar", "either monthly_on_day");
}

TEST_CASE("catalog: contract references to partner and trackers are checked") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    trackers: [{id: "1", name: Sale}]
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: Q
        trackers: ["1", "2", "1"]
        versions:
          - effective_from: 2026-01-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {months: 0, days: 20}
      - id: D
        partner: P
        trackers: []
)");
    CHECK_CONFIG_ERROR(errors, 9, "accounts[0].contracts[0].partner",
                       "partner 'Q' is not a partner of account '1'");
    CHECK_CONFIG_ERROR(errors, 10, "accounts[0].contracts[0].trackers[1]",
                       "tracker '2' is not a tracker");
    CHECK_CONFIG_ERROR(errors, 10, "accounts[0].contracts[0].trackers[2]", "listed twice");
    CHECK_CONFIG_ERROR(errors, 18, "accounts[0].contracts[1].trackers",
                       "an empty list covers nothing");
    CHECK_CONFIG_ERROR(errors, 16, "accounts[0].contracts[1].versions", "missing required key");
}

TEST_CASE("catalog: two contracts covering the same partner and tracker are refused") {
    constexpr std::string_view head = R"(accounts:
  - id: "1"
    name: A
    currency: USD
    trackers: [{id: "1", name: Sale}, {id: "2", name: Lead}]
    partners: [{id: P, name: p}, {id: Q, name: q}]
    contracts:
)";
    auto contract = [](std::string id, std::string partner, std::string trackers) {
        return "      - id: " + id + "\n        partner: " + partner + "\n" +
               (trackers.empty() ? "" : "        trackers: " + trackers + "\n") +
               "        versions:\n          - effective_from: 2026-01-01\n"
               "            payout: {default: {percent: \"8\"}}\n"
               "            locking: {after: event_day, days: 3}\n"
               "            clearing: {months: 0, days: 20}\n";
    };
    SUBCASE("a shared tracker") {
        auto errors = errors_of(std::string(head) + contract("C1", "P", "[\"1\"]") +
                                contract("C2", "P", "[\"2\", \"1\"]"));
        CHECK_CONFIG_ERROR(errors, 16, "accounts[0].contracts[1]",
                           "both cover partner 'P' on tracker '1'");
    }
    SUBCASE("an all-trackers contract beside a specific one") {
        auto errors =
            errors_of(std::string(head) + contract("C1", "P", "[\"2\"]") + contract("C2", "P", ""));
        CHECK_CONFIG_ERROR(errors, 16, "accounts[0].contracts[1]", "both cover partner 'P'");
    }
    SUBCASE("different trackers or partners live side by side") {
        ledger::Catalog c = catalog_of(std::string(head) + contract("C1", "P", "[\"1\"]") +
                                       contract("C2", "P", "[\"2\"]") + contract("C3", "Q", ""));
        CHECK(c.accounts.at("1").contracts.size() == 3);
    }
    SUBCASE("a contract id used twice") {
        auto errors =
            errors_of(std::string(head) + contract("C1", "P", "[\"1\"]") + contract("C1", "Q", ""));
        CHECK_CONFIG_ERROR(errors, 16, "accounts[0].contracts[1].id",
                           "contract id 'C1' is used twice");
    }
}

TEST_CASE("catalog: versions are in order, start at distinct times, and only the last ends") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-07-01
            effective_to: 2026-08-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
          - effective_from: 2026-01-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
          - effective_from: 2026-07-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
          - effective_from: 2026-09-01
            effective_to: 2026-08-31
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
)");
    CHECK_CONFIG_ERROR(errors, 11, "accounts[0].contracts[0].versions[0].effective_to",
                       "only the last version");
    CHECK_CONFIG_ERROR(errors, 15, "accounts[0].contracts[0].versions[1].effective_from",
                       "in order of effective_from");
    CHECK_CONFIG_ERROR(errors, 19, "accounts[0].contracts[0].versions[2].effective_from",
                       "two versions start at");
    CHECK_CONFIG_ERROR(errors, 24, "accounts[0].contracts[0].versions[3].effective_to",
                       "must be after effective_from");
}

TEST_CASE("catalog: version fields are checked") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-13-01
            locking: {after: end_of_week, days: 28}
            clearing: {}
          - effective_from: 2027-01-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, months: 1}
            clearing: {months: -1, days: 2}
            reverse_children: yes
)");
    std::string v0 = "accounts[0].contracts[0].versions[0]",
                v1 = "accounts[0].contracts[0].versions[1]";
    CHECK_CONFIG_ERROR(errors, 10, v0 + ".effective_from", "month 13 out of range");
    CHECK_CONFIG_ERROR(errors, 10, v0 + ".payout", "missing required key");
    CHECK_CONFIG_ERROR(errors, 11, v0 + ".locking.after", "expected event_day or end_of_month");
    CHECK_CONFIG_ERROR(errors, 11, v0 + ".locking.days", "between 0 and 27");
    CHECK_CONFIG_ERROR(errors, 12, v0 + ".clearing", "give months and/or days");
    CHECK_CONFIG_ERROR(errors, 15, v1 + ".locking.months", "only to after: end_of_month");
    CHECK_CONFIG_ERROR(errors, 15, v1 + ".locking.days", "missing required key");
    CHECK_CONFIG_ERROR(errors, 16, v1 + ".clearing.months", "expected a whole number");
    CHECK_CONFIG_ERROR(errors, 17, v1 + ".reverse_children", "expected true or false");
}

TEST_CASE(
    "catalog: locking days are at most 27 after the event day, any days of a year after "
    "the end of a month") {
    auto version = [](std::string_view locking) {
        return fmt::format(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    partners: [{{id: P, name: p}}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-01-01
            payout: {{default: {{percent: "8"}}}}
            locking: {}
            clearing: {{days: 1}}
)",
                           locking);
    };
    const ledger::Catalog month_end =
        catalog_of(version("{after: end_of_month, months: 1, days: 30}"));
    const auto& locking = month_end.accounts.at("1").contracts.at(0).versions.at(0).locking;
    CHECK(locking.days == 30);
    CHECK(locking.months == 1);
    catalog_of(version("{after: end_of_month, months: 0, days: 366}"));
    CHECK_CONFIG_ERROR(errors_of(version("{after: end_of_month, months: 0, days: 367}")), 12,
                       "accounts[0].contracts[0].versions[0].locking.days", "between 0 and 366");
    CHECK_CONFIG_ERROR(errors_of(version("{after: event_day, days: 28}")), 12,
                       "accounts[0].contracts[0].versions[0].locking.days", "between 0 and 27");
}

TEST_CASE("catalog: payout rules are a percent or a fixed amount in the account currency") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-01-01
            payout:
              default: {percent: "8", fixed: "1.00"}
              categories: {electronics: {fixed: "1.00"}, toys: {percent: "-3"}, books: {percent: "101"}}
              customer_status: {NEW: {fixed: "1.005"}, VIP: {percent: "1"}, EXISTING: {}}
              promo_codes:
                - {code: A, rule: {fixed: "1e3"}, valid_from: 2026-06-01, valid_until: 2026-05-01}
                - {code: B, rule: {percent: "5"}}
                - {code: B, rule: {percent: "6"}}
                - {rule: {percent: "6"}, valid_until: soon}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
)");
    std::string p = "accounts[0].contracts[0].versions[0].payout";
    CHECK_CONFIG_ERROR(errors, 12, p + ".default", "either {percent: P} or {fixed: X}");
    CHECK_CONFIG_ERROR(errors, 13, p + ".categories.electronics",
                       "a category refines a percent rule");
    CHECK_CONFIG_ERROR(errors, 13, p + ".categories.toys.percent", "not a percent: '-3'");
    CHECK_CONFIG_ERROR(errors, 13, p + ".categories.books.percent", "above 100");
    CHECK_CONFIG_ERROR(errors, 14, p + ".customer_status.NEW.fixed",
                       "more decimals than USD allows (2)");
    CHECK_CONFIG_ERROR(errors, 14, p + ".customer_status.VIP",
                       "unknown key (expected one of: NEW, EXISTING)");
    CHECK_CONFIG_ERROR(errors, 14, p + ".customer_status.EXISTING",
                       "either {percent: P} or {fixed: X}");
    CHECK_CONFIG_ERROR(errors, 16, p + ".promo_codes[0].rule.fixed", "not an amount: '1e3'");
    CHECK_CONFIG_ERROR(errors, 16, p + ".promo_codes[0].valid_until",
                       "valid_until must be after valid_from");
    CHECK_CONFIG_ERROR(errors, 18, p + ".promo_codes[2].code", "promo code 'B' is listed twice");
    CHECK_CONFIG_ERROR(errors, 19, p + ".promo_codes[3].code", "missing required key");
    CHECK_CONFIG_ERROR(errors, 19, p + ".promo_codes[3].valid_until", "is not a date");
}

TEST_CASE("catalog: fixed amounts in JPY take no decimals") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: JPY
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-01-01
            payout: {default: {fixed: "500.5"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
            limits: [{kind: payout, max: "1000.50", period: month}]
)");
    CHECK_CONFIG_ERROR(errors, 11, "accounts[0].contracts[0].versions[0].payout.default.fixed",
                       "more decimals than JPY allows (0)");
    CHECK_CONFIG_ERROR(errors, 14, "accounts[0].contracts[0].versions[0].limits[0].max",
                       "more decimals than JPY");
}

TEST_CASE("catalog: limits name a kind, a positive max and a period") {
    auto errors = errors_of(R"(accounts:
  - id: "1"
    name: A
    currency: USD
    partners: [{id: P, name: p}]
    contracts:
      - id: C
        partner: P
        versions:
          - effective_from: 2026-01-01
            payout: {default: {percent: "8"}}
            locking: {after: event_day, days: 3}
            clearing: {days: 20}
            limits:
              - {kind: payouts, max: "10.00", period: month}
              - {kind: count, max: 0, period: year}
              - {kind: payout, max: "0.00", period: day}
              - {kind: count, period: day}
)");
    std::string l = "accounts[0].contracts[0].versions[0].limits";
    CHECK_CONFIG_ERROR(errors, 15, l + "[0].kind", "expected payout or count");
    CHECK_CONFIG_ERROR(errors, 16, l + "[1].period",
                       "expected day, week, month, quarter or contract");
    CHECK_CONFIG_ERROR(errors, 16, l + "[1].max", "between 1 and");
    CHECK_CONFIG_ERROR(errors, 17, l + "[2].max", "above 0");
    CHECK_CONFIG_ERROR(errors, 18, l + "[3].max", "missing required key");
}

TEST_CASE("catalog: FX rates are checked and unique") {
    auto errors = errors_of(R"(fx_rates:
  - {currency: EUR, account_currency: USD, rate: "1.08", effective_from: 2026-01-01}
  - {currency: EUR, account_currency: USD, rate: "1.09", effective_from: 2026-01-01}
  - {currency: EUX, account_currency: USD, rate: "0", effective_from: 2026-01-01T00:00:00Z}
  - {currency: USD, account_currency: USD, rate: "1,5"}
)");
    CHECK_CONFIG_ERROR(errors, 3, "fx_rates[1]", "listed twice");
    CHECK_CONFIG_ERROR(errors, 4, "fx_rates[2].currency", "unknown currency code 'EUX'");
    CHECK_CONFIG_ERROR(errors, 4, "fx_rates[2].rate", "above 0");
    CHECK_CONFIG_ERROR(errors, 4, "fx_rates[2].effective_from", "expected a date YYYY-MM-DD");
    CHECK_CONFIG_ERROR(errors, 5, "fx_rates[3].account_currency", "from a currency to itself");
    CHECK_CONFIG_ERROR(errors, 5, "fx_rates[3].rate", "not a rate");
    CHECK_CONFIG_ERROR(errors, 5, "fx_rates[3].effective_from", "missing required key");
}

TEST_CASE("catalog: read_catalog_file names a missing file, and a folder given for one") {
    auto result = read_catalog_file("/nonexistent/catalog.yaml");
    REQUIRE_FALSE(result);
    CHECK(result.error().at(0).str() ==
          "/nonexistent/catalog.yaml: cannot open: No such file or directory");
    auto folder = read_catalog_file(ACTIONDROP_TEST_DATA "/config");
    REQUIRE_FALSE(folder);
    CHECK(folder.error().at(0).str() == ACTIONDROP_TEST_DATA
          "/config: is a folder, not a catalog file");
    // A FIFO would hold the command until something writes to it: refused, never opened.
    actiondrop::testing::TempDir tmp("actiondrop-catalog-fifo");
    const auto fifo = tmp.path() / "catalog.yaml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    auto pipe = read_catalog_file(fifo);
    REQUIRE_FALSE(pipe);
    CHECK(pipe.error().at(0).str() == fifo.string() + ": is not a regular file");
}

TEST_CASE("catalog: a file from the test data folder with an error deep inside") {
    auto result = read_catalog_file(ACTIONDROP_TEST_DATA "/config/catalog_bad_promo.yaml");
    REQUIRE_FALSE(result);
    CHECK_CONFIG_ERROR(result.error(), 19,
                       "accounts[0].contracts[0].versions[0].payout.promo_codes[0].rule.fixed",
                       "more decimals than USD");
    CHECK(result.error().at(0).file.ends_with("catalog_bad_promo.yaml"));
}
