// docs/rules.md: "Conversions", "Late conversions", "Payout" and "Caps and outside terms".
#include <doctest/doctest.h>

#include "ledger/dates.hpp"
#include "test_ledger_rules_fixture.hpp"

using namespace actiondrop::ledger;
using namespace actiondrop::ledger::testing;

namespace {
const Instant jan20 = at("2026-01-20T12:00:00Z");
}

TEST_CASE("conversion creates a PENDING action locking and clearing as docs/rules.md says") {
    RulesFixture f;
    auto row = conversion("A1", "100.00", "2026-01-15T10:00:00Z");
    row.campaign_id = "CMP-1";
    row.customer_id = "CUST-1";
    RowResult r = f.convert(row, jan20);
    CHECK(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Create);
    CHECK(r.error == ErrorCode::None);
    CHECK(r.action_id == "A1");
    CHECK(r.new_amount == 10000);
    CHECK(r.new_payout == 800);
    CHECK(r.status == Status::Pending);
    CHECK(r.modification_count == 0);
    CHECK(r.currency->code == "USD");
    CHECK(r.payout_currency->code == "USD");

    const Action& a = f.action("A1");
    CHECK(a.status == Status::Pending);
    CHECK(a.finance_status == FinanceStatus::Estimated);
    CHECK(a.locking_date == at("2026-02-28T00:00:00Z"));
    CHECK(a.clearing_date == at("2026-03-21T00:00:00Z"));
    CHECK(a.event_date == at("2026-01-15T10:00:00Z"));
    CHECK(a.reported_event_date == a.event_date);
    CHECK(a.created_at == jan20);
    CHECK(a.contract_id == "C-1");
    CHECK(a.contract_version == at("2026-01-01T00:00:00Z"));
    CHECK(a.campaign_id == "CMP-1");
    CHECK(a.creation.amount == 10000);
    CHECK(a.creation.payout == 800);
    CHECK_FALSE(a.outside_terms);

    auto history = f.ledger.history_of("A1");
    REQUIRE(history.size() == 1);
    CHECK(history[0].operation == Operation::Create);
    CHECK(history[0].batch_id == "B1");
    CHECK(history[0].line == row.line);
    CHECK(history[0].new_amount == 10000);
    CHECK(history[0].new_payout == 800);
    CHECK(history[0].contract_id == "C-1");
}

TEST_CASE("conversion without ActionId gets a deterministic generated id") {
    RulesFixture f;
    auto row = conversion("x", "10.00", "2026-01-15");
    row.action_id.reset();
    row.line = 7;
    RowResult r = f.convert(row, jan20, "B42");
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.action_id == "AB42-7");
    CHECK(f.ledger.find("1000", "AB42-7") != nullptr);
    // The same batch line again is a duplicate, not a second action.
    CHECK(f.convert(row, jan20, "B42").error == ErrorCode::DuplicateAction);
}

TEST_CASE("conversion with items: order amount is the sum of lines, category percents apply") {
    RulesFixture f;
    auto row = conversion("A1", "", "2026-01-15T10:00:00Z");
    row.items = {item(1, "TENT", "2", "150.00", "outdoor"),
                 item(2, "GPS", "1", "200.00", "electronics")};
    RowResult r = f.convert(row, jan20);
    REQUIRE(r.outcome == Outcome::Applied);
    const Action& a = f.action("A1");
    CHECK(a.amount == 35000);
    REQUIRE(a.items.size() == 2);
    CHECK(a.items[0] == Item{"TENT", "outdoor", 2, 15000});
    CHECK(a.items[1] == Item{"GPS", "electronics", 1, 20000});
    // 150.00 x 8% + 200.00 x 3%
    CHECK(a.payout == 1200 + 600);
    CHECK(a.creation.items == a.items);
}

TEST_CASE("conversion: Amount equal to the sum of the item lines is accepted") {
    RulesFixture f;
    auto row = conversion("A1", "350", "2026-01-15T10:00:00Z");
    row.items = {item(1, "TENT", "2", "150.00"), item(2, "GPS", std::nullopt, "200")};
    RowResult r = f.convert(row, jan20);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(f.action("A1").items[1].quantity == 1);  // Quantity defaults to 1
    CHECK(r.new_amount == 35000);
}

TEST_CASE("payout precedence: valid promo, then customer status, then default") {
    RulesFixture f;
    auto promo = conversion("P1", "100.00", "2026-01-15");
    promo.promo_code = "BONUS5";
    promo.customer_status = "NEW";
    CHECK(f.convert(promo, jan20).new_payout == 500);

    auto status = conversion("P2", "100.00", "2026-01-15");
    status.customer_status = "NEW";
    status.promo_code = "UNKNOWN-CODE";
    CHECK(f.convert(status, jan20).new_payout == 1000);

    auto existing = conversion("P3", "100.00", "2026-01-15");
    existing.customer_status = "EXISTING";
    CHECK(f.convert(existing, jan20).new_payout == 800);

    // A promo rule applies to every line as it is: the fixed promo ignores categories.
    auto free = conversion("P4", "", "2026-01-15");
    free.promo_code = "FREESHIP0";
    free.items = {item(1, "GPS", "1", "200.00", "electronics")};
    CHECK(f.convert(free, jan20).new_payout == 0);

    // Category percents refine the customer-status percent rule.
    auto refined = conversion("P5", "", "2026-01-15");
    refined.customer_status = "NEW";
    refined.items = {item(1, "GPS", "1", "200.00", "electronics"), item(2, "TENT", "1", "100.00")};
    CHECK(f.convert(refined, jan20).new_payout == 600 + 1000);
}

TEST_CASE("conversion in a foreign currency converts at the FX rate of the event date") {
    RulesFixture f;
    auto row = conversion("E1", "100.00", "2026-01-15");
    row.currency_code = "EUR";
    RowResult r = f.convert(row, jan20);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.currency->code == "EUR");
    CHECK(r.new_amount == 10000);
    CHECK(r.new_payout == 868);  // 100.00 x 1.085 x 8% = 8.68
}

TEST_CASE("conversion MALFORMED values name their field") {
    RulesFixture f;
    auto check = [&](ConversionRow row, std::string_view field) {
        RowResult r = f.convert(row, jan20);
        CHECK(r.outcome == Outcome::Rejected);
        CHECK(r.error == ErrorCode::Malformed);
        CHECK(r.message.starts_with(field));
        CHECK(f.ledger.find("1000", row.action_id.value_or("")) == nullptr);
        CHECK(check_conversion_form(row).first == ErrorCode::Malformed);
    };
    check(conversion("M1", "-10.00", "2026-01-15"), "Amount");
    check(conversion("M2", "1e3", "2026-01-15"), "Amount");
    check(conversion("M3", "1,000.00", "2026-01-15"), "Amount");
    auto currency = conversion("M4", "10.00", "2026-01-15");
    currency.currency_code = "XYZ";
    check(currency, "CurrencyCode");
    auto status = conversion("M5", "10.00", "2026-01-15");
    status.customer_status = "new";
    check(status, "CustomerStatus");
    check(conversion("M6", "10.00", "15/01/2026"), "EventDate");
    check(conversion("M7", "10.00", "2026-01-15T10:00"), "EventDate");
    auto zero_qty = conversion("M8", "", "2026-01-15");
    zero_qty.items = {item(1, "TENT", "0", "10.00")};
    check(zero_qty, "Quantity1");
    auto frac_qty = conversion("M9", "", "2026-01-15");
    frac_qty.items = {item(1, "TENT", "1.5", "10.00")};
    check(frac_qty, "Quantity1");
    auto sum = conversion("M10", "20.00", "2026-01-15");
    sum.items = {item(1, "TENT", "1", "10.00")};
    check(sum, "Amount");
    auto dup = conversion("M11", "", "2026-01-15");
    dup.items = {item(1, "TENT", "1", "10.00"), item(2, "TENT", "1", "5.00")};
    check(dup, "Sku2");
    auto nosku = conversion("M12", "10.00", "2026-01-15");
    ItemGroup g;
    g.index = 3;
    g.quantity = "1";
    nosku.items = {g};
    check(nosku, "Quantity3");
    auto yen = conversion("M13", "5.5", "2026-01-15");
    yen.currency_code = "JPY";
    RowResult r = f.convert(yen, jan20);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(r.message.starts_with("Amount"));
    // USD (the account's currency) has 2 decimals; without an account only the syntax counts.
    auto cents = conversion("M14", "12.345", "2026-01-15");
    r = f.convert(cents, jan20);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(check_conversion_form(cents).first == ErrorCode::None);
}

TEST_CASE("conversion lines whose sum is beyond the largest amount are MALFORMED") {
    // 1,000 lines of 999999999999.999 CLF (4 minor digits) add up past int64; the sum used
    // to wrap around and, under a fixed payout rule, create an action of negative amount.
    RulesFixture f;
    auto row = conversion("HUGE", "", "2026-01-15T10:00:00Z", "P-99");
    row.currency_code = "CLF";
    for (int i = 1; i <= 1000; ++i)
        row.items.push_back(item(i, "SKU" + std::to_string(i), "1", "999999999999.999"));
    RowResult r = f.convert(row, jan20);
    CHECK(r.outcome == Outcome::Rejected);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(r.message.starts_with("Amount: "));
    CHECK(f.ledger.find("1000", "HUGE") == nullptr);
    // The row alone shows it, so `actiondrop validate` says so too.
    CHECK(check_conversion_form(row) == std::pair{ErrorCode::Malformed, r.message});
}

TEST_CASE("conversion MISSING_FIELD for each required field") {
    RulesFixture f;
    auto base = conversion("F1", "10.00", "2026-01-15");
    auto expect_missing = [&](ConversionRow row, std::string_view field) {
        RowResult r = f.convert(row, jan20);
        CHECK(r.error == ErrorCode::MissingField);
        CHECK(r.message.starts_with(field));
        auto form = check_conversion_form(row);
        CHECK(form.first == ErrorCode::MissingField);
    };
    auto r = base;
    r.tracker_id.reset();
    expect_missing(r, "ActionTrackerId");
    r = base;
    r.partner_id.reset();
    expect_missing(r, "PartnerId");
    r = base;
    r.order_id.reset();
    expect_missing(r, "OrderId");
    r = base;
    r.event_date.reset();
    expect_missing(r, "EventDate");
    r = base;
    r.amount.reset();
    expect_missing(r, "Amount");
    CHECK(check_conversion_form(base).first == ErrorCode::None);
}

TEST_CASE("conversion catalog checks: tracker, partner, contract, FX rate") {
    RulesFixture f;
    CHECK(f.convert(conversion("C1", "10.00", "2026-01-15", "P-77", "99999"), jan20).error ==
          ErrorCode::ActionTrackerNotFound);
    CHECK(f.convert(conversion("C2", "10.00", "2026-01-15", "P-00"), jan20).error ==
          ErrorCode::PartnerNotFound);
    RowResult none = f.convert(conversion("C3", "10.00", "2026-01-15", "P-88"), jan20);
    CHECK(none.error == ErrorCode::ContractNotFound);
    CHECK(error_type(none.error) == "Contract Error");
    // Before the first version of the contract.
    CHECK(f.convert(conversion("C4", "10.00", "2025-12-20"), at("2025-12-21T00:00:00Z")).error ==
          ErrorCode::ContractNotFound);
    auto gbp = conversion("C5", "10.00", "2026-01-15");
    gbp.currency_code = "GBP";
    CHECK(f.convert(gbp, jan20).error == ErrorCode::FxRateNotFound);
    CHECK(f.ledger.actions.empty());
}

TEST_CASE("DUPLICATE_ACTION: an existing id, also from an earlier row of the same file") {
    RulesFixture f;
    f.create(conversion("D1", "10.00", "2026-01-15"), jan20);
    RowResult again = f.convert(conversion("D1", "99.00", "2026-01-16"), jan20);
    CHECK(again.error == ErrorCode::DuplicateAction);
    CHECK(f.action("D1").amount == 1000);
    // The result shows the action found under that id, as it is, as for any rejected row
    // whose action is found.
    const Action& found = f.action("D1");
    CHECK(again.action_id == "D1");
    CHECK(again.order_id == found.order_id);
    CHECK(again.old_amount == 1000);
    CHECK(again.new_amount == 1000);
    CHECK(again.currency == found.currency);
    CHECK(again.old_payout == found.payout);
    CHECK(again.new_payout == found.payout);
    CHECK(again.payout_currency == f.catalog.accounts.at("1000").currency);
    CHECK(again.status == Status::Pending);
    CHECK(again.modification_count == 0);
    // Ids are scoped to their account: the same id in account 2000 is a new action.
    RowResult other =
        apply_conversion(f.catalog, f.catalog.accounts.at("2000"), f.ledger,
                         conversion("D1", "10.00", "2026-01-15"), BatchContext{"B9", jan20});
    CHECK(other.outcome == Outcome::Applied);
}

TEST_CASE("EVENT_IN_FUTURE beyond 5 minutes, EVENT_TOO_OLD beyond max_conversion_age_days") {
    RulesFixture f;
    const Instant now = at("2026-03-10T12:00:00Z");
    CHECK(f.convert(conversion("T1", "10.00", "2026-03-10T12:06:00Z"), now).error ==
          ErrorCode::EventInFuture);
    CHECK(f.convert(conversion("T2", "10.00", "2026-03-10T12:04:59Z"), now).outcome ==
          Outcome::Applied);
    // 88 days is the default age limit.
    CHECK(f.convert(conversion("T3", "10.00", "2025-12-11T11:59:00Z"), now).error ==
          ErrorCode::EventTooOld);
    f.account.max_conversion_age_days = 10;
    CHECK(f.convert(conversion("T4", "10.00", "2026-02-27T12:00:00Z"), now).error ==
          ErrorCode::EventTooOld);
    CHECK(f.convert(conversion("T5", "10.00", "2026-03-01T12:00:00Z"), now).outcome ==
          Outcome::Applied);
}

TEST_CASE("late conversion: event date becomes the processing time, reported date kept") {
    RulesFixture f;
    const Instant now = at("2026-03-05T09:30:00Z");
    // Event 2026-01-15 locks 2026-02-28: already passed on 5 March.
    auto row = conversion("L1", "100.00", "2026-01-15T10:00:00Z");
    RowResult r = f.convert(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.message.find("late") != std::string::npos);
    const Action& a = f.action("L1");
    CHECK(a.event_date == now);
    CHECK(a.reported_event_date == at("2026-01-15T10:00:00Z"));
    CHECK(a.locking_date == at("2026-04-28T00:00:00Z"));
    CHECK(a.clearing_date == at("2026-05-21T00:00:00Z"));
    CHECK_FALSE(a.locked_at(now));
    auto history = f.ledger.history_of("L1");
    REQUIRE(history.size() == 1);
    CHECK(history[0].note.find("2026-01-15") != std::string::npos);

    // Not late: event 2026-02-20 locks 2026-03-28.
    f.create(conversion("L2", "100.00", "2026-02-20T10:00:00Z"), now);
    CHECK(f.action("L2").event_date == at("2026-02-20T10:00:00Z"));
}

TEST_CASE("late conversion takes the promo validity of the new event date") {
    RulesFixture f;
    // Event 2026-05-10 locks 2026-06-28; submitted 2026-07-02 it is late, and FREESHIP0
    // (valid until 30 June) no longer applies.
    auto row = conversion("L1", "100.00", "2026-05-10T10:00:00Z");
    row.promo_code = "FREESHIP0";
    RowResult r = f.convert(row, at("2026-07-02T00:00:00Z"));
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.new_payout == 800);
}

TEST_CASE("open-ended tracker locks 730 days after the event") {
    RulesFixture f;
    const Action& a =
        f.create(conversion("H1", "300.00", "2026-01-15T10:00:00Z", "P-77", "19817"), jan20);
    CHECK(a.locking_date == at("2026-01-15T10:00:00Z") + std::chrono::days{730});
    CHECK(a.clearing_date == clearing_date(Clearing{0, 20}, a.locking_date, f.account.timezone));
}

TEST_CASE("PARENT_NOT_FOUND and explicit ParentActionId") {
    RulesFixture f;
    auto orphan = conversion("K1", "10.00", "2026-01-15", "P-77", "19818");
    orphan.parent_action_id = "NOPE";
    CHECK(f.convert(orphan, jan20).error == ErrorCode::ParentNotFound);

    // Another account's action is no parent either.
    apply_conversion(f.catalog, f.catalog.accounts.at("2000"), f.ledger,
                     conversion("X1", "10.00", "2026-01-15"), BatchContext{"B0", jan20});
    orphan.parent_action_id = "X1";
    CHECK(f.convert(orphan, jan20).error == ErrorCode::ParentNotFound);

    f.create(conversion("PA", "10.00", "2026-01-15"), jan20);
    orphan.parent_action_id = "PA";
    f.create(orphan, jan20);
    CHECK(f.action("K1").parent_action_id == "PA");
}

TEST_CASE("chained conversion links to the latest parent-tracker action of the same customer") {
    RulesFixture f;
    auto p1 = conversion("S1", "50.00", "2026-01-10");
    p1.customer_id = "CUST-9";
    f.create(p1, jan20);
    auto p2 = conversion("S2", "50.00", "2026-01-12");
    p2.customer_id = "CUST-9";
    f.create(p2, jan20);
    auto other = conversion("S3", "50.00", "2026-01-13");
    other.customer_id = "CUST-1";
    f.create(other, jan20);

    auto renewal = conversion("R1", "20.00", "2026-01-15", "P-77", "19818");
    renewal.customer_id = "CUST-9";
    f.create(renewal, jan20);
    CHECK(f.action("R1").parent_action_id == "S2");

    auto stranger = conversion("R2", "20.00", "2026-01-15", "P-77", "19818");
    stranger.customer_id = "CUST-404";
    f.create(stranger, jan20);
    CHECK(f.action("R2").parent_action_id.empty());

    // A tracker without parent_tracker links to nothing.
    auto plain = conversion("S4", "20.00", "2026-01-15");
    plain.customer_id = "CUST-9";
    f.create(plain, jan20);
    CHECK(f.action("S4").parent_action_id.empty());
}

TEST_CASE("payout cap: the conversion that would pass the limit is created outside terms") {
    RulesFixture f;
    // 5,000.00 a month: 4,000.00 + 1,600.00 would pass it.
    f.create(conversion("G1", "50000.00", "2026-01-10"), jan20);
    RowResult r = f.convert(conversion("G2", "20000.00", "2026-01-12"), jan20);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.new_payout == 0);
    CHECK(r.message.find("outside terms") != std::string::npos);
    const Action& g2 = f.action("G2");
    CHECK(g2.outside_terms);
    CHECK(g2.finance_status == FinanceStatus::OutsideTerms);
    CHECK(g2.payout == 0);
    CHECK(g2.creation.outside_terms);
    // 1,000.00 still fits (4,000.00 + 80.00 <= 5,000.00): outside-terms actions do not count.
    f.create(conversion("G3", "1000.00", "2026-01-13"), jan20);
    CHECK_FALSE(f.action("G3").outside_terms);
    CHECK(f.action("G3").payout == 8000);
    // Another month is another period.
    f.create(conversion("G4", "20000.00", "2026-02-02"), at("2026-02-03T00:00:00Z"));
    CHECK_FALSE(f.action("G4").outside_terms);
    // Exactly reaching the limit is allowed: 4,080.00 + 920.00 = 5,000.00.
    f.create(conversion("G5", "11500.00", "2026-01-14"), jan20);
    CHECK_FALSE(f.action("G5").outside_terms);
}

TEST_CASE("count cap: reversed actions do not count") {
    RulesFixture f;
    f.create(conversion("N1", "10.00", "2026-01-10", "P-99"), jan20);
    f.create(conversion("N2", "10.00", "2026-01-11", "P-99"), jan20);
    const Action& n3 = f.create(conversion("N3", "10.00", "2026-01-12", "P-99"), jan20);
    CHECK(n3.outside_terms);
    CHECK(n3.payout == 0);

    RowResult rev = f.modify(modification("N1", "CONS_FRAUD"), jan20);
    REQUIRE(rev.outcome == Outcome::Applied);
    const Action& n4 = f.create(conversion("N4", "10.00", "2026-01-13", "P-99"), jan20);
    CHECK_FALSE(n4.outside_terms);
    CHECK(n4.payout == 1000);
}

TEST_CASE("conversion check order: the earlier fault is reported") {
    RulesFixture f;
    const Instant now = at("2026-03-10T12:00:00Z");
    f.create(conversion("EXIST", "10.00", "2026-03-01"), now);

    auto malformed_and_missing = conversion("O1", "-1", "2026-03-01");
    malformed_and_missing.partner_id.reset();
    CHECK(f.convert(malformed_and_missing, now).error == ErrorCode::Malformed);

    auto missing_and_tracker = conversion("O2", "10.00", "2026-03-01", "P-77", "99999");
    missing_and_tracker.order_id.reset();
    CHECK(f.convert(missing_and_tracker, now).error == ErrorCode::MissingField);

    CHECK(f.convert(conversion("O3", "10.00", "2026-03-01", "P-00", "99999"), now).error ==
          ErrorCode::ActionTrackerNotFound);
    CHECK(f.convert(conversion("EXIST", "10.00", "2026-03-01", "P-00"), now).error ==
          ErrorCode::PartnerNotFound);
    CHECK(f.convert(conversion("EXIST", "10.00", "2027-01-01"), now).error ==
          ErrorCode::DuplicateAction);

    auto future_and_parent = conversion("O4", "10.00", "2027-01-01");
    future_and_parent.parent_action_id = "NOPE";
    CHECK(f.convert(future_and_parent, now).error == ErrorCode::EventInFuture);
    auto old_and_parent = conversion("O5", "10.00", "2025-01-01");
    old_and_parent.parent_action_id = "NOPE";
    CHECK(f.convert(old_and_parent, now).error == ErrorCode::EventTooOld);
    auto parent_and_contract = conversion("O6", "10.00", "2026-03-01", "P-88");
    parent_and_contract.parent_action_id = "NOPE";
    CHECK(f.convert(parent_and_contract, now).error == ErrorCode::ParentNotFound);
    auto contract_and_fx = conversion("O7", "10.00", "2026-03-01", "P-88");
    contract_and_fx.currency_code = "GBP";
    CHECK(f.convert(contract_and_fx, now).error == ErrorCode::ContractNotFound);
}

TEST_CASE("event dates without an offset are in the account's time zone") {
    RulesFixture f;
    f.account.timezone_name = "America/New_York";
    f.account.timezone = find_time_zone("America/New_York");
    REQUIRE(f.account.timezone != nullptr);
    const Action& a =
        f.create(conversion("Z1", "10.00", "2026-01-31T22:00:00"), at("2026-02-02T00:00:00Z"));
    CHECK(a.event_date == at("2026-02-01T03:00:00Z"));
    // Locking follows the local month (January): 2026-02-28T00:00 New York time.
    CHECK(a.locking_date == at("2026-02-28T05:00:00Z"));
}
