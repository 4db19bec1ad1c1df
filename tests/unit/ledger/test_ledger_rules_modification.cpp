// docs/rules.md, "Modifications, reversals, approvals and resets": each operation, each
// error code and the order of the checks.
#include <doctest/doctest.h>

#include "test_ledger_rules_fixture.hpp"

using namespace actiondrop::ledger;
using namespace actiondrop::ledger::testing;

namespace {

const Instant created_at = at("2026-03-11T00:00:00Z");  // actions of 10 March lock 28 April
const Instant now = at("2026-03-20T15:00:00Z");

// A1: 100.00 USD, no items, payout 8.00 under C-1.
struct ModFixture : RulesFixture {
    ModFixture() { create(conversion("A1", "100.00", "2026-03-10T10:00:00Z"), created_at); }
    // I1: TENT 2 x 150.00 (outdoor) and GPS 1 x 200.00 (electronics): payout 12.00 + 6.00.
    Action& with_items() {
        auto row = conversion("I1", "", "2026-03-10T10:00:00Z");
        row.items = {item(1, "TENT", "2", "150.00", "outdoor"),
                     item(2, "GPS", "1", "200.00", "electronics")};
        return create(row, created_at);
    }
};

ModificationRow amount_row(std::string id, std::string amount,
                           std::string reason = "ORDER_UPDATE") {
    auto row = modification(std::move(id), std::move(reason));
    row.amount = std::move(amount);
    return row;
}

}  // namespace

// ---- each error code in isolation ----------------------------------------------------

TEST_CASE("modification MALFORMED values name their field") {
    ModFixture f;
    auto expect = [&](ModificationRow row, std::string_view field) {
        RowResult r = f.modify(row, now);
        CHECK(r.outcome == Outcome::Rejected);
        CHECK(r.error == ErrorCode::Malformed);
        CHECK(error_type(r.error) == "Validation");
        CHECK(r.message.starts_with(field));
        CHECK(check_modification_form(row).first == ErrorCode::Malformed);
    };
    expect(amount_row("A1", "-5.00"), "Amount: ");
    expect(amount_row("A1", "+5.00"), "Amount: ");
    expect(amount_row("A1", "1e3"), "Amount: ");
    expect(amount_row("A1", "1,000.00"), "Amount: ");
    expect(amount_row("A1", "1000000000000.00"), "Amount: ");
    auto currency = modification("A1", "ORDER_UPDATE");
    currency.currency_code = "usd";
    expect(currency, "CurrencyCode");
    auto status = modification("A1", "ORDER_UPDATE");
    status.customer_status = "Returning";
    expect(status, "CustomerStatus");
    auto no_sku = modification("A1", "ORDER_UPDATE");
    ItemGroup g;
    g.index = 2;
    g.quantity = "1";
    no_sku.items = {g};
    expect(no_sku, "Quantity2");
    auto fraction = modification("A1", "ORDER_UPDATE");
    fraction.items = {item(1, "TENT", "1.5")};
    expect(fraction, "Quantity1");
    auto negative = modification("A1", "ORDER_UPDATE");
    negative.items = {item(1, "TENT", "-1")};
    expect(negative, "Quantity1");
    auto line = modification("A1", "ORDER_UPDATE");
    line.items = {item(1, "TENT", std::nullopt, "12.5.0")};
    expect(line, "Amount1");
    auto twice = modification("A1", "ORDER_UPDATE");
    twice.items = {item(1, "TENT", "1"), item(2, "TENT", "2")};
    expect(twice, "Sku2");
    CHECK(f.action("A1").modification_count == 0);
}

TEST_CASE("a row refused before its action is looked up still shows the action it names") {
    // "The action's current values if it was found": a row whose identifiers find the action
    // shows them whatever its error, also one found by its form (MALFORMED, UNKNOWN_REASON…).
    ModFixture f;
    auto shows_a1 = [&](const RowResult& r, ErrorCode code) {
        CHECK(r.error == code);
        CHECK(r.action_id == "A1");
        CHECK(r.order_id == "O-A1");
        CHECK(r.old_amount == 10000);
        CHECK(r.new_amount == 10000);
        REQUIRE(r.currency != nullptr);
        CHECK(r.currency->code == "USD");
        CHECK(r.old_payout == r.new_payout);
        CHECK(r.status == Status::Pending);
        CHECK(r.modification_count == 0);
    };
    shows_a1(f.modify(amount_row("A1", "-5.00"), now), ErrorCode::Malformed);
    shows_a1(f.modify(amount_row("A1", "5.00", "order_update"), now), ErrorCode::UnknownReason);
    auto disposition = amount_row("A1", "50.00", "");
    disposition.disposition_code = "nope";
    shows_a1(f.modify(disposition, now), ErrorCode::UnknownDisposition);
    auto by_order = amount_row("", "1e3");
    by_order.action_id.reset();
    by_order.order_id = "O-A1";
    by_order.tracker_id = "19816";
    shows_a1(f.modify(by_order, now), ErrorCode::Malformed);

    // Not found, or another account's: nothing is shown.
    RowResult missing = f.modify(amount_row("NOPE", "-5.00"), now);
    CHECK(missing.error == ErrorCode::Malformed);
    CHECK(missing.action_id == "NOPE");
    CHECK_FALSE(missing.old_amount.has_value());
    CHECK_FALSE(missing.status.has_value());
    apply_conversion(f.catalog, f.catalog.accounts.at("2000"), f.ledger,
                     conversion("X1", "10.00", "2026-03-10"), BatchContext{"B0", created_at});
    RowResult other = f.modify(amount_row("X1", "-5.00"), now);
    CHECK(other.error == ErrorCode::Malformed);
    CHECK_FALSE(other.old_amount.has_value());
    CHECK(f.action("A1").modification_count == 0);
}

TEST_CASE("MISSING_IDENTIFIER: neither ActionId nor OrderId with ActionTrackerId") {
    ModFixture f;
    auto row = modification("A1", "ORDER_UPDATE");
    row.action_id.reset();
    row.amount = "50.00";
    CHECK(f.modify(row, now).error == ErrorCode::MissingIdentifier);
    row.order_id = "O-A1";
    CHECK(f.modify(row, now).error == ErrorCode::MissingIdentifier);
    CHECK(check_modification_form(row).first == ErrorCode::MissingIdentifier);
    row.tracker_id = "19816";
    RowResult r = f.modify(row, now);
    CHECK(r.outcome == Outcome::Applied);
    CHECK(r.action_id == "A1");
}

TEST_CASE("MISSING_REASON, UNKNOWN_REASON, UNKNOWN_DISPOSITION") {
    ModFixture f;
    auto none = amount_row("A1", "50.00", "");
    CHECK(f.modify(none, now).error == ErrorCode::MissingReason);
    CHECK(check_modification_form(none).first == ErrorCode::MissingReason);

    auto lower = amount_row("A1", "50.00", "order_update");
    CHECK(f.modify(lower, now).error == ErrorCode::UnknownReason);
    CHECK(check_modification_form(lower).first == ErrorCode::UnknownReason);
    CHECK(f.modify(amount_row("A1", "50.00", "PARENT_REVERSED"), now).error ==
          ErrorCode::UnknownReason);

    auto disposition = amount_row("A1", "50.00", "");
    disposition.disposition_code = "stay_complete";  // codes are case-sensitive
    CHECK(f.modify(disposition, now).error == ErrorCode::UnknownDisposition);
    // Without an account the disposition cannot be judged: the form is fine.
    CHECK(check_modification_form(disposition).first == ErrorCode::None);
    CHECK(f.action("A1").amount == 10000);
}

TEST_CASE("ACTION_REF_NOT_FOUND, also for another account's action") {
    ModFixture f;
    RowResult r = f.modify(amount_row("NOPE", "50.00"), now);
    CHECK(r.error == ErrorCode::ActionRefNotFound);
    CHECK_FALSE(r.old_amount.has_value());
    CHECK_FALSE(r.status.has_value());

    apply_conversion(f.catalog, f.catalog.accounts.at("2000"), f.ledger,
                     conversion("X1", "10.00", "2026-03-10"), BatchContext{"B0", created_at});
    CHECK(f.modify(amount_row("X1", "50.00"), now).error == ErrorCode::ActionRefNotFound);
    auto by_order = modification("", "ORDER_UPDATE");
    by_order.action_id.reset();
    by_order.order_id = "O-X1";
    by_order.tracker_id = "19816";
    by_order.amount = "5.00";
    CHECK(f.modify(by_order, now).error == ErrorCode::ActionRefNotFound);
    CHECK(f.ledger.find("2000", "X1")->amount == 1000);
}

TEST_CASE("ACTION_REF_NOT_FOUND when the view hands back another account's action") {
    // A view that ignores the account (a store bug or a shared id) must not leak actions.
    struct CarelessLedger : MemoryLedger {
        Action* find(std::string_view, std::string_view action_id) override {
            for (auto& [k, a] : actions)
                if (a.action_id == action_id) return &a;
            return nullptr;
        }
    };
    Catalog catalog = make_catalog();
    CarelessLedger ledger;
    REQUIRE(apply_conversion(catalog, catalog.accounts.at("2000"), ledger,
                             conversion("X1", "10.00", "2026-03-10"),
                             BatchContext{"B0", created_at})
                .outcome == Outcome::Applied);
    RowResult r = apply_modification(catalog, catalog.accounts.at("1000"), ledger,
                                     amount_row("X1", "5.00"), BatchContext{"B1", now});
    CHECK(r.error == ErrorCode::ActionRefNotFound);
    CHECK_FALSE(r.old_amount.has_value());
    CHECK(ledger.find("2000", "X1")->amount == 1000);
}

TEST_CASE("IDENTIFIER_MISMATCH: OrderId or ActionTrackerId beside ActionId must be the action's") {
    ModFixture f;
    auto order = amount_row("A1", "50.00");
    order.order_id = "O-OTHER";
    CHECK(f.modify(order, now).error == ErrorCode::IdentifierMismatch);
    auto tracker = amount_row("A1", "50.00");
    tracker.tracker_id = "19817";
    CHECK(f.modify(tracker, now).error == ErrorCode::IdentifierMismatch);
    auto both = amount_row("A1", "50.00");
    both.order_id = "O-A1";
    both.tracker_id = "19816";
    CHECK(f.modify(both, now).outcome == Outcome::Applied);
}

TEST_CASE("ACTION_LOCKED: approved, or locking date passed while still PENDING") {
    ModFixture f;
    // A1 locks 2026-04-28 and the lifecycle job has not run: the status is still PENDING.
    RowResult late = f.modify(amount_row("A1", "50.00"), at("2026-04-28T00:00:00Z"));
    CHECK(late.error == ErrorCode::ActionLocked);
    CHECK(late.status == Status::Pending);
    CHECK(late.old_amount == 10000);
    CHECK(late.new_amount == 10000);
    CHECK(late.old_payout == 800);
    CHECK(f.modify(amount_row("A1", "50.00"), at("2026-04-27T23:59:59Z")).outcome ==
          Outcome::Applied);

    f.create(conversion("A2", "100.00", "2026-03-10T10:00:00Z"), created_at);
    f.action("A2").status = Status::Approved;
    f.action("A2").finance_status = FinanceStatus::Due;
    CHECK(f.modify(amount_row("A2", "50.00"), now).error == ErrorCode::ActionLocked);
    CHECK(f.modify(modification("A2", "CONS_FRAUD"), now).error == ErrorCode::ActionLocked);
    auto approve = modification("A2", "");
    approve.disposition_code = "STAY_COMPLETE";
    CHECK(f.modify(approve, now).error == ErrorCode::ActionLocked);
}

TEST_CASE("a rejected row names its operation when the row alone says it") {
    ModFixture f;
    f.create(conversion("A2", "100.00", "2026-03-10T10:00:00Z"), created_at);
    f.action("A2").status = Status::Approved;
    f.action("A2").finance_status = FinanceStatus::Due;
    // A reversal reason with no change asked: a reversal, refused because the action is locked.
    RowResult fraud = f.modify(modification("A2", "CONS_FRAUD"), now);
    CHECK(fraud.error == ErrorCode::ActionLocked);
    CHECK(fraud.operation == Operation::Reverse);
    // Any other reason with no change asked: a modification (of nothing).
    RowResult update = f.modify(modification("A2", "ORDER_UPDATE"), now);
    CHECK(update.error == ErrorCode::ActionLocked);
    CHECK(update.operation == Operation::Modify);
    // A reason with a new amount: a modification or a reversal (to 0) by the action's amount,
    // so not known before the action is checked.
    CHECK(f.modify(amount_row("A2", "50.00"), now).operation == Operation::None);
}

TEST_CASE("ACTION_REVERSED: only RESET revives a reversed action") {
    ModFixture f;
    REQUIRE(f.modify(modification("A1", "ITEM_RETURNED"), now).outcome == Outcome::Applied);
    RowResult r = f.modify(amount_row("A1", "50.00"), now);
    CHECK(r.error == ErrorCode::ActionReversed);
    CHECK(r.status == Status::Reversed);
    CHECK(f.modify(modification("A1", "CONS_FRAUD"), now).error == ErrorCode::ActionReversed);
    auto approve = modification("A1", "");
    approve.disposition_code = "STAY_COMPLETE";
    CHECK(f.modify(approve, now).error == ErrorCode::ActionReversed);
    // Past its locking date a reversed action is still reported as reversed, except to a
    // RESET, which the lock refuses.
    const Instant may = at("2026-05-01T00:00:00Z");
    CHECK(f.modify(amount_row("A1", "50.00"), may).error == ErrorCode::ActionReversed);
    CHECK(f.modify(modification("A1", "RESET"), may).error == ErrorCode::ActionLocked);
}

TEST_CASE("MODIFICATION_LIMIT_REACHED at 1,000 applied changes by default") {
    ModFixture f;
    f.action("A1").modification_count = 999;
    RowResult ok = f.modify(amount_row("A1", "50.00"), now);
    CHECK(ok.outcome == Outcome::Applied);
    CHECK(ok.modification_count == 1000);
    RowResult r = f.modify(amount_row("A1", "40.00"), now);
    CHECK(r.error == ErrorCode::ModificationLimitReached);
    CHECK(r.modification_count == 1000);
    CHECK(f.action("A1").amount == 5000);
    // A reversal and a reset are changes too.
    CHECK(f.modify(modification("A1", "CONS_FRAUD"), now).error ==
          ErrorCode::ModificationLimitReached);
    CHECK(f.modify(modification("A1", "RESET"), now).error == ErrorCode::ModificationLimitReached);
}

TEST_CASE("MODIFICATION_LIMIT_REACHED with a smaller account setting") {
    ModFixture f;
    f.account.max_modifications_per_action = 3;
    CHECK(f.modify(amount_row("A1", "90.00"), now).outcome == Outcome::Applied);
    CHECK(f.modify(amount_row("A1", "80.00"), now).outcome == Outcome::Applied);
    CHECK(f.modify(amount_row("A1", "70.00"), now).outcome == Outcome::Applied);
    CHECK(f.modify(amount_row("A1", "60.00"), now).error == ErrorCode::ModificationLimitReached);
    CHECK(f.action("A1").amount == 7000);
    CHECK(f.action("A1").modification_count == 3);
}

TEST_CASE("CURRENCY_MISMATCH: CurrencyCode must be the action's original currency") {
    ModFixture f;
    auto row = amount_row("A1", "50.00");
    row.currency_code = "EUR";
    CHECK(f.modify(row, now).error == ErrorCode::CurrencyMismatch);
    row.currency_code = "USD";
    CHECK(f.modify(row, now).outcome == Outcome::Applied);

    auto eur = conversion("E1", "100.00", "2026-03-10T10:00:00Z");
    eur.currency_code = "EUR";
    f.create(eur, created_at);
    auto usd = amount_row("E1", "50.00");
    usd.currency_code = "USD";  // the account's currency, but not the sale's
    CHECK(f.modify(usd, now).error == ErrorCode::CurrencyMismatch);
    RowResult r = f.modify(amount_row("E1", "50.00"), now);  // amounts are in EUR
    CHECK(r.outcome == Outcome::Applied);
    CHECK(r.currency->code == "EUR");
    CHECK(r.new_payout == 434);  // 50.00 EUR x 1.085 x 8%
}

TEST_CASE("MALFORMED: more decimals than the action's currency") {
    ModFixture f;
    RowResult r = f.modify(amount_row("A1", "10.005"), now);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(r.message.starts_with("Amount"));
    CHECK(r.old_amount == 10000);  // the action was found: its values are shown
    CHECK(check_modification_form(amount_row("A1", "10.005")).first == ErrorCode::None);
    f.with_items();
    auto line = modification("I1", "ORDER_UPDATE");
    line.items = {item(1, "TENT", std::nullopt, "1.001")};
    RowResult l = f.modify(line, now);
    CHECK(l.error == ErrorCode::Malformed);
    CHECK(l.message.starts_with("Amount1"));
}

TEST_CASE("ITEM_LEVEL_ACTION: a non-zero order Amount on an action with items") {
    ModFixture f;
    f.with_items();
    RowResult r = f.modify(amount_row("I1", "300.00"), now);
    CHECK(r.error == ErrorCode::ItemLevelAction);
    CHECK(f.action("I1").amount == 35000);
}

TEST_CASE("SKU_NOT_FOUND: unknown SKU, or any item group on an action without items") {
    ModFixture f;
    f.with_items();
    auto unknown = modification("I1", "ORDER_UPDATE");
    unknown.items = {item(1, "TENT", "1"), item(2, "BOAT", "1")};
    RowResult r = f.modify(unknown, now);
    CHECK(r.error == ErrorCode::SkuNotFound);
    CHECK(r.message.starts_with("Sku2"));
    CHECK(f.action("I1").items[0].quantity == 2);  // nothing of the row applied

    auto case_differs = modification("I1", "ORDER_UPDATE");
    case_differs.items = {item(1, "tent", "1")};
    CHECK(f.modify(case_differs, now).error == ErrorCode::SkuNotFound);

    auto no_items = modification("A1", "ORDER_UPDATE");
    no_items.items = {item(1, "TENT", "1")};
    CHECK(f.modify(no_items, now).error == ErrorCode::SkuNotFound);
}

TEST_CASE("NOTHING_TO_CHANGE: ORDER_UPDATE or a MODIFY disposition without a change") {
    ModFixture f;
    RowResult r = f.modify(modification("A1", "ORDER_UPDATE"), now);
    CHECK(r.error == ErrorCode::NothingToChange);
    CHECK(r.operation == Operation::Modify);
    auto adjust = modification("A1", "");
    adjust.disposition_code = "ADJUST";
    CHECK(f.modify(adjust, now).error == ErrorCode::NothingToChange);
    // Sku<i> alone only names an item.
    f.with_items();
    auto named = modification("I1", "ORDER_UPDATE");
    named.items = {item(1, "TENT")};
    CHECK(f.modify(named, now).error == ErrorCode::NothingToChange);
    CHECK(f.action("A1").modification_count == 0);
    CHECK(f.ledger.changed_calls == 0);
}

TEST_CASE("CONTRACT_NOT_FOUND and FX_RATE_NOT_FOUND when the payout is re-computed") {
    ModFixture f;
    auto eur = conversion("E1", "100.00", "2026-03-10T10:00:00Z");
    eur.currency_code = "EUR";
    f.create(eur, created_at);

    f.catalog.fx_rates.clear();
    RowResult fx = f.modify(amount_row("E1", "50.00"), now);
    CHECK(fx.error == ErrorCode::FxRateNotFound);
    CHECK(error_type(fx.error) == "Contract Error");

    f.account.contracts.clear();
    RowResult none = f.modify(amount_row("A1", "50.00"), now);
    CHECK(none.error == ErrorCode::ContractNotFound);
    CHECK(none.operation == Operation::Modify);
    // A reversal computes no payout, so it needs no contract.
    CHECK(f.modify(modification("A1", "CONS_FRAUD"), now).outcome == Outcome::Applied);
}

TEST_CASE("CONTRACT_NOT_FOUND when no version is in force at the time of modification") {
    ModFixture f;
    f.account.contracts[0].versions[0].effective_to = at("2026-03-15T00:00:00Z");
    CHECK(f.modify(amount_row("A1", "50.00"), now).error == ErrorCode::ContractNotFound);
}

// ---- check order: a row with two faults reports the earlier one -------------------------

TEST_CASE("modification check order") {
    ModFixture f;
    f.with_items();
    f.create(conversion("AP", "100.00", "2026-03-10T10:00:00Z"), created_at);
    f.action("AP").status = Status::Approved;
    f.action("AP").modification_count = 1000;
    f.create(conversion("RV", "100.00", "2026-03-10T10:00:00Z"), created_at);
    REQUIRE(f.modify(modification("RV", "CONS_FRAUD"), now).outcome == Outcome::Applied);
    f.action("RV").modification_count = 1000;

    SUBCASE("MALFORMED before MISSING_IDENTIFIER") {
        auto row = amount_row("A1", "-1");
        row.action_id.reset();
        CHECK(f.modify(row, now).error == ErrorCode::Malformed);
    }
    SUBCASE("MISSING_IDENTIFIER before MISSING_REASON") {
        auto row = amount_row("A1", "1.00", "");
        row.action_id.reset();
        CHECK(f.modify(row, now).error == ErrorCode::MissingIdentifier);
    }
    SUBCASE("MISSING_REASON before ACTION_REF_NOT_FOUND") {
        CHECK(f.modify(amount_row("NOPE", "1.00", ""), now).error == ErrorCode::MissingReason);
    }
    SUBCASE("UNKNOWN_REASON before UNKNOWN_DISPOSITION") {
        auto row = amount_row("A1", "1.00", "WHATEVER");
        row.disposition_code = "NOPE";
        CHECK(f.modify(row, now).error == ErrorCode::UnknownReason);
    }
    SUBCASE("UNKNOWN_DISPOSITION before ACTION_REF_NOT_FOUND") {
        auto row = amount_row("NOPE", "1.00", "");
        row.disposition_code = "NOPE";
        CHECK(f.modify(row, now).error == ErrorCode::UnknownDisposition);
    }
    SUBCASE("ACTION_REF_NOT_FOUND before IDENTIFIER_MISMATCH") {
        auto row = amount_row("NOPE", "1.00");
        row.order_id = "O-A1";
        CHECK(f.modify(row, now).error == ErrorCode::ActionRefNotFound);
    }
    SUBCASE("IDENTIFIER_MISMATCH before ACTION_LOCKED") {
        auto row = amount_row("AP", "1.00");
        row.order_id = "O-OTHER";
        CHECK(f.modify(row, now).error == ErrorCode::IdentifierMismatch);
    }
    SUBCASE("ACTION_LOCKED before MODIFICATION_LIMIT_REACHED") {
        CHECK(f.modify(amount_row("AP", "1.00"), now).error == ErrorCode::ActionLocked);
    }
    SUBCASE("ACTION_REVERSED before MODIFICATION_LIMIT_REACHED") {
        CHECK(f.modify(amount_row("RV", "1.00"), now).error == ErrorCode::ActionReversed);
    }
    SUBCASE("MODIFICATION_LIMIT_REACHED before CURRENCY_MISMATCH") {
        f.action("A1").modification_count = 1000;
        auto row = amount_row("A1", "1.00");
        row.currency_code = "EUR";
        CHECK(f.modify(row, now).error == ErrorCode::ModificationLimitReached);
    }
    SUBCASE("CURRENCY_MISMATCH before MALFORMED decimals") {
        auto row = amount_row("A1", "1.005");
        row.currency_code = "EUR";
        CHECK(f.modify(row, now).error == ErrorCode::CurrencyMismatch);
    }
    SUBCASE("MALFORMED decimals before ITEM_LEVEL_ACTION") {
        CHECK(f.modify(amount_row("I1", "1.005"), now).error == ErrorCode::Malformed);
    }
    SUBCASE("ITEM_LEVEL_ACTION before SKU_NOT_FOUND") {
        auto row = amount_row("I1", "1.00");
        row.items = {item(1, "BOAT", "1")};
        CHECK(f.modify(row, now).error == ErrorCode::ItemLevelAction);
    }
    SUBCASE("SKU_NOT_FOUND before NOTHING_TO_CHANGE") {
        auto row = modification("I1", "ORDER_UPDATE");
        row.items = {item(1, "BOAT")};
        CHECK(f.modify(row, now).error == ErrorCode::SkuNotFound);
    }
    SUBCASE("NOTHING_TO_CHANGE before CONTRACT_NOT_FOUND") {
        f.account.contracts.clear();
        CHECK(f.modify(modification("A1", "ORDER_UPDATE"), now).error ==
              ErrorCode::NothingToChange);
    }
    SUBCASE("CONTRACT_NOT_FOUND before FX_RATE_NOT_FOUND") {
        auto eur = conversion("E1", "100.00", "2026-03-10T10:00:00Z");
        eur.currency_code = "EUR";
        f.create(eur, created_at);
        f.account.contracts.clear();
        f.catalog.fx_rates.clear();
        CHECK(f.modify(amount_row("E1", "50.00"), now).error == ErrorCode::ContractNotFound);
    }
}

// ---- operations ---------------------------------------------------------------------------

TEST_CASE("a modification re-computes the payout, keeps the dates and records history") {
    ModFixture f;
    const Action before = f.action("A1");
    auto row = amount_row("A1", "50.00");
    row.customer_status = "NEW";
    row.line = 5;
    RowResult r = f.modify(row, now, "B7");
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Modify);
    CHECK(r.old_amount == 10000);
    CHECK(r.new_amount == 5000);
    CHECK(r.old_payout == 800);
    CHECK(r.new_payout == 500);  // NEW customers: 10%
    CHECK(r.status == Status::Pending);
    CHECK(r.modification_count == 1);
    CHECK(r.line == 5);

    const Action& a = f.action("A1");
    CHECK(a.customer_status == "NEW");
    CHECK(a.locking_date == before.locking_date);
    CHECK(a.clearing_date == before.clearing_date);
    CHECK(a.creation == before.creation);
    auto history = f.ledger.history_of("A1");
    REQUIRE(history.size() == 2);
    const HistoryEntry& h = history[1];
    CHECK(h.operation == Operation::Modify);
    CHECK(h.batch_id == "B7");
    CHECK(h.line == 5);
    CHECK(h.reason == "ORDER_UPDATE");
    CHECK(h.at == now);
    CHECK(h.old_amount == 10000);
    CHECK(h.new_amount == 5000);
    CHECK(h.old_payout == 800);
    CHECK(h.new_payout == 500);
    CHECK(h.old_status == Status::Pending);
    CHECK(h.new_status == Status::Pending);
    CHECK(h.contract_id == "C-1");
    CHECK(h.contract_version == at("2026-01-01T00:00:00Z"));
}

TEST_CASE("a modification uses the contract version in force at the time of modification") {
    ModFixture f;
    ContractVersion april = f.account.contracts[0].versions[0];
    april.effective_from = at("2026-04-01T00:00:00Z");
    april.default_rule = percent(9);
    f.account.contracts[0].versions.push_back(april);
    CHECK(f.modify(amount_row("A1", "100.00"), now).new_payout == 800);
    RowResult r = f.modify(amount_row("A1", "100.00"), at("2026-04-05T00:00:00Z"));
    CHECK(r.new_payout == 900);
    CHECK(f.action("A1").contract_version == at("2026-04-01T00:00:00Z"));
    CHECK(f.ledger.history_of("A1").back().contract_version == at("2026-04-01T00:00:00Z"));
}

TEST_CASE("an expired $0 promo no longer applies when the action is modified") {
    ModFixture f;
    auto row = conversion("FS", "100.00", "2026-06-20T10:00:00Z");
    row.promo_code = "FREESHIP0";
    CHECK(f.create(row, at("2026-06-21T00:00:00Z")).payout == 0);
    // Still valid in June: an equal Amount re-evaluates and stays at 0.
    CHECK(f.modify(amount_row("FS", "100.00"), at("2026-06-25T00:00:00Z")).new_payout == 0);
    // In July (the action locks 28 July) the promo has expired: the default 8% pays.
    RowResult r = f.modify(amount_row("FS", "100.00"), at("2026-07-05T00:00:00Z"));
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.old_payout == 0);
    CHECK(r.new_payout == 800);
}

TEST_CASE("Amount=0 reverses, but on an action already at 0 it is a modification") {
    ModFixture f;
    RowResult r = f.modify(amount_row("A1", "0"), now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Reverse);
    CHECK(r.status == Status::Reversed);
    CHECK(r.new_amount == 0);
    CHECK(r.new_payout == 0);
    CHECK(f.action("A1").finance_status == FinanceStatus::Voided);

    f.create(conversion("Z0", "0.00", "2026-03-10T10:00:00Z"), created_at);
    RowResult z = f.modify(amount_row("Z0", "0.00"), now);
    REQUIRE(z.outcome == Outcome::Applied);
    CHECK(z.operation == Operation::Modify);
    CHECK(z.status == Status::Pending);
    CHECK(z.modification_count == 1);
}

TEST_CASE("a reversal reason without changes reverses, and with changes it modifies") {
    ModFixture f;
    f.create(conversion("A2", "100.00", "2026-03-10T10:00:00Z"), created_at);
    RowResult rev = f.modify(modification("A1", "CONS_FRAUD"), now);
    REQUIRE(rev.outcome == Outcome::Applied);
    CHECK(rev.operation == Operation::Reverse);
    CHECK(rev.old_payout == 800);
    CHECK(rev.new_payout == 0);
    CHECK(rev.modification_count == 1);
    CHECK(f.ledger.history_of("A1").back().reason == "CONS_FRAUD");
    CHECK(f.ledger.history_of("A1").back().new_status == Status::Reversed);

    RowResult partial = f.modify(amount_row("A2", "60.00", "ITEM_RETURNED"), now);
    REQUIRE(partial.outcome == Outcome::Applied);
    CHECK(partial.operation == Operation::Modify);
    CHECK(partial.new_amount == 6000);
    CHECK(partial.new_payout == 480);
    CHECK(partial.status == Status::Pending);
}

TEST_CASE("every reversal reason of docs/rules.md reverses") {
    for (const char* reason :
         {"REJECTED", "CONS_INFO_INVALID", "CONS_ERROR", "CONS_FRAUD", "ITEM_RETURNED",
          "ITEM_OUT_OF_STOCK", "ORDER_ERROR", "PUB_ACT_DISPUTE", "ADV_ACT_DISPUTE",
          "NOT_COMPLIANCE_TERMS", "TEST_ACTION", "MP_RETURNED", "OTHER"}) {
        ModFixture f;
        INFO(reason);
        RowResult r = f.modify(modification("A1", reason), now);
        CHECK(r.operation == Operation::Reverse);
        CHECK(r.status == Status::Reversed);
    }
}

TEST_CASE("REJECT disposition reverses and ignores the row's changes") {
    ModFixture f;
    auto row = amount_row("A1", "50.00", "");
    row.disposition_code = "NO_SHOW";
    RowResult r = f.modify(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Reverse);
    CHECK(r.new_amount == 0);
    CHECK(r.new_payout == 0);
    CHECK(r.status == Status::Reversed);
    CHECK(f.ledger.history_of("A1").back().reason == "NO_SHOW");
}

TEST_CASE(
    "REJECT and RESET rows ignore their changes, but changes that do not fit the action are "
    "refused and nothing is reversed") {
    // docs/rules.md, "Where this differs from the specification", 11.
    ModFixture f;
    f.with_items();
    for (const char* code : {"NO_SHOW", ""}) {
        auto amount = amount_row("I1", "5.00", *code ? "" : "RESET");
        if (*code) amount.disposition_code = code;
        CHECK(f.modify(amount, now).error == ErrorCode::ItemLevelAction);
        auto sku = modification("I1", *code ? "" : "RESET");
        if (*code) sku.disposition_code = code;
        sku.items = {item(1, "BOAT", "1")};
        CHECK(f.modify(sku, now).error == ErrorCode::SkuNotFound);
        CHECK(f.action("I1").status == Status::Pending);
        CHECK(f.action("I1").amount == 35000);
    }
    // Without them, the same REJECT reverses.
    auto reject = modification("I1", "");
    reject.disposition_code = "NO_SHOW";
    reject.items = {item(1, "TENT", "1")};
    CHECK(f.modify(reject, now).operation == Operation::Reverse);
    CHECK(f.action("I1").status == Status::Reversed);
}

TEST_CASE("MODIFY disposition applies the changes") {
    ModFixture f;
    auto row = amount_row("A1", "25.00", "");
    row.disposition_code = "ADJUST";
    RowResult r = f.modify(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Modify);
    CHECK(r.new_payout == 200);
    CHECK(f.ledger.history_of("A1").back().reason == "ADJUST");
}

TEST_CASE("APPROVE disposition on an open-ended tracker locks now and the clearing date follows") {
    ModFixture f;
    f.create(conversion("H1", "300.00", "2026-03-10T10:00:00Z", "P-77", "19817"), created_at);
    auto row = modification("H1", "");
    row.disposition_code = "STAY_COMPLETE";
    RowResult r = f.modify(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Approve);
    CHECK(r.status == Status::Approved);
    CHECK(r.new_payout == 2400);
    CHECK(r.modification_count == 1);
    const Action& h = f.action("H1");
    CHECK(h.finance_status == FinanceStatus::Due);
    CHECK(h.locking_date == now);
    CHECK(h.clearing_date == at("2026-04-21T00:00:00Z"));  // 1 April + 20 days
    CHECK(f.ledger.history_of("H1").back().operation == Operation::Approve);
    CHECK(f.ledger.history_of("H1").back().reason == "STAY_COMPLETE");
    // Locked: corrections now need a make-good.
    CHECK(f.modify(amount_row("H1", "100.00"), now + std::chrono::minutes{1}).error ==
          ErrorCode::ActionLocked);
}

TEST_CASE("APPROVE with changes applies them, then locks early") {
    ModFixture f;
    auto row = amount_row("A1", "120.00", "");
    row.disposition_code = "STAY_COMPLETE";
    RowResult r = f.modify(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Approve);
    CHECK(r.new_amount == 12000);
    CHECK(r.new_payout == 960);
    CHECK(f.action("A1").locking_date == now);
    CHECK(f.action("A1").status == Status::Approved);
}

TEST_CASE("RESET restores the creation state, revives a reversed action, is refused when locked") {
    ModFixture f;
    auto change = amount_row("A1", "40.00");
    change.customer_status = "NEW";
    REQUIRE(f.modify(change, now).outcome == Outcome::Applied);
    REQUIRE(f.modify(modification("A1", "CONS_ERROR"), now).outcome == Outcome::Applied);
    REQUIRE(f.action("A1").status == Status::Reversed);

    RowResult r = f.modify(modification("A1", "RESET"), now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Reset);
    CHECK(r.old_amount == 0);
    CHECK(r.new_amount == 10000);
    CHECK(r.new_payout == 800);
    CHECK(r.status == Status::Pending);
    CHECK(r.modification_count == 3);
    const Action& a = f.action("A1");
    CHECK(a.customer_status.empty());
    CHECK(a.finance_status == FinanceStatus::Estimated);
    CHECK(f.ledger.history_of("A1").back().operation == Operation::Reset);

    // Items come back too.
    f.with_items();
    auto qty = modification("I1", "ORDER_UPDATE");
    qty.items = {item(1, "TENT", "1", std::nullopt, std::nullopt, "TENT-XL")};
    REQUIRE(f.modify(qty, now).outcome == Outcome::Applied);
    REQUIRE(f.modify(modification("I1", "RESET"), now).outcome == Outcome::Applied);
    CHECK(f.action("I1").items == f.action("I1").creation.items);
    CHECK(f.action("I1").amount == 35000);

    // Locked: the locking date has passed, reversed or not.
    const Instant may = at("2026-05-01T00:00:00Z");
    CHECK(f.modify(modification("A1", "RESET"), may).error == ErrorCode::ActionLocked);
    REQUIRE(f.modify(modification("I1", "OTHER"), now).outcome == Outcome::Applied);
    CHECK(f.modify(modification("I1", "RESET"), may).error == ErrorCode::ActionLocked);
}

TEST_CASE(
    "item changes: quantity scales the creation line, NewSku keeps the place, category re-prices") {
    ModFixture f;
    f.with_items();
    auto one = modification("I1", "ITEM_RETURNED");
    one.items = {item(1, "TENT", "1")};
    RowResult r = f.modify(one, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Modify);
    CHECK(f.action("I1").items[0] == Item{"TENT", "outdoor", 1, 7500});
    CHECK(r.new_amount == 27500);
    CHECK(r.new_payout == 600 + 600);

    // The default line amount comes from the creation line, not the current one.
    auto three = modification("I1", "ORDER_UPDATE");
    three.items = {item(1, "TENT", "3")};
    REQUIRE(f.modify(three, now).outcome == Outcome::Applied);
    CHECK(f.action("I1").items[0].amount == 22500);

    auto swap = modification("I1", "ORDER_UPDATE");
    swap.items = {item(2, "GPS", std::nullopt, std::nullopt, "outdoor", "GPS-PRO")};
    REQUIRE(f.modify(swap, now).outcome == Outcome::Applied);
    const Action& a = f.action("I1");
    REQUIRE(a.items.size() == 2);
    CHECK(a.items[1] == Item{"GPS-PRO", "outdoor", 1, 20000});
    CHECK(a.payout == 1800 + 1600);  // 225.00 and 200.00 at 8%
    CHECK(a.amount == 42500);

    // An explicit line amount wins over the default.
    auto priced = modification("I1", "ORDER_UPDATE");
    priced.items = {item(1, "TENT", "2", "280.00"), item(2, "GPS-PRO", std::nullopt, "180.00")};
    REQUIRE(f.modify(priced, now).outcome == Outcome::Applied);
    CHECK(f.action("I1").amount == 46000);
    CHECK(f.action("I1").items[0] == Item{"TENT", "outdoor", 2, 28000});
    // The old SKU is gone.
    auto old = modification("I1", "ORDER_UPDATE");
    old.items = {item(1, "GPS", "1")};
    CHECK(f.modify(old, now).error == ErrorCode::SkuNotFound);
}

TEST_CASE("the default line amount is rounded once, half away from zero") {
    ModFixture f;
    auto row = conversion("I3", "", "2026-03-10T10:00:00Z");
    row.items = {item(1, "ROPE", "3", "10.00")};
    f.create(row, created_at);
    auto two = modification("I3", "ORDER_UPDATE");
    two.items = {item(1, "ROPE", "2")};
    REQUIRE(f.modify(two, now).outcome == Outcome::Applied);
    CHECK(f.action("I3").items[0].amount == 667);  // 10.00 x 2 / 3 = 6.666..
}

TEST_CASE("item changes bringing the order to 0 reverse, and Amount=0 zeroes every line") {
    ModFixture f;
    f.with_items();
    auto none = modification("I1", "ORDER_UPDATE");
    none.items = {item(1, "TENT", "0"), item(2, "GPS", "0")};
    RowResult r = f.modify(none, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Reverse);
    CHECK(r.status == Status::Reversed);

    auto row = conversion("I2", "", "2026-03-10T10:00:00Z");
    row.items = {item(1, "TENT", "2", "150.00")};
    f.create(row, created_at);
    RowResult zero = f.modify(amount_row("I2", "0"), now);
    REQUIRE(zero.outcome == Outcome::Applied);
    CHECK(zero.operation == Operation::Reverse);
    CHECK(f.action("I2").items[0] == Item{"TENT", "", 0, 0});
}

TEST_CASE("OrderId + ActionTrackerId finds the newest action of that order") {
    ModFixture f;
    auto first = conversion("N1", "10.00", "2026-03-10T10:00:00Z");
    first.order_id = "ORD-1";
    f.create(first, created_at);
    auto second = conversion("N2", "20.00", "2026-03-10T11:00:00Z");
    second.order_id = "ORD-1";
    f.create(second, created_at);
    auto row = modification("", "ORDER_UPDATE");
    row.action_id.reset();
    row.order_id = "ORD-1";
    row.tracker_id = "19816";
    row.amount = "5.00";
    RowResult r = f.modify(row, now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.action_id == "N2");
    CHECK(f.action("N1").amount == 1000);
}

TEST_CASE("the same action several times in one file: rows apply in order") {
    ModFixture f;
    RowResult first = f.modify(amount_row("A1", "50.00"), now);
    RowResult second = f.modify(amount_row("A1", "40.00"), now);
    RowResult third = f.modify(modification("A1", "CONS_FRAUD"), now);
    RowResult fourth = f.modify(amount_row("A1", "30.00"), now);
    CHECK(first.modification_count == 1);
    CHECK(second.old_amount == 5000);
    CHECK(second.new_amount == 4000);
    CHECK(second.modification_count == 2);
    CHECK(third.operation == Operation::Reverse);
    CHECK(third.modification_count == 3);
    CHECK(fourth.error == ErrorCode::ActionReversed);
    CHECK(f.ledger.history_of("A1").size() == 4);  // CREATE + three changes
}

TEST_CASE("reversing a parent reverses its pending unlocked children when reverse_children") {
    ModFixture f;
    auto parent = conversion("Q1", "100.00", "2026-03-10T10:00:00Z", "P-99");
    parent.customer_id = "CUST-1";
    f.create(parent, created_at);
    auto child = conversion("Q2", "30.00", "2026-03-10T11:00:00Z", "P-99", "19818");
    child.customer_id = "CUST-1";
    f.create(child, created_at);
    REQUIRE(f.action("Q2").parent_action_id == "Q1");
    auto grandchild = conversion("Q3", "20.00", "2026-03-10T12:00:00Z", "P-99", "19818");
    grandchild.parent_action_id = "Q2";
    f.create(grandchild, created_at);
    auto approved = conversion("Q4", "20.00", "2026-03-10T12:00:00Z", "P-99", "19818");
    approved.parent_action_id = "Q1";
    f.create(approved, created_at);
    f.action("Q4").status = Status::Approved;

    // C-2 locks 10 days after the event day (21 March): still open on 20 March.
    RowResult r = f.modify(modification("Q1", "CONS_FRAUD"), now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.message == "children reversed: Q2, Q3");
    CHECK(f.action("Q2").status == Status::Reversed);
    CHECK(f.action("Q2").modification_count == 0);
    CHECK(f.action("Q3").status == Status::Reversed);
    CHECK(f.action("Q3").finance_status == FinanceStatus::Voided);
    CHECK(f.action("Q4").status == Status::Approved);
    auto h = f.ledger.history_of("Q2");
    REQUIRE(h.size() == 2);
    CHECK(h[1].reason == "PARENT_REVERSED");
    CHECK(h[1].operation == Operation::Reverse);
    CHECK(h[1].batch_id == "B2");
    CHECK(h[1].old_amount == 3000);
    CHECK(h[1].new_amount == 0);
}

TEST_CASE("children are not reversed at their limit nor when the parent's contract says no") {
    ModFixture f;
    auto parent = conversion("S1", "100.00", "2026-03-10T10:00:00Z");
    parent.customer_id = "CUST-2";
    f.create(parent, created_at);
    auto child = conversion("S2", "30.00", "2026-03-10T11:00:00Z", "P-77", "19818");
    child.customer_id = "CUST-2";
    f.create(child, created_at);
    REQUIRE(f.action("S2").parent_action_id == "S1");
    RowResult r = f.modify(modification("S1", "CONS_FRAUD"), now);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.message.empty());
    CHECK(f.action("S2").status == Status::Pending);

    // With reverse_children, a child at the modification limit is still reversed.
    f.account.contracts[0].versions[0].reverse_children = true;
    auto p2 = conversion("S3", "100.00", "2026-03-10T10:00:00Z");
    p2.customer_id = "CUST-3";
    f.create(p2, created_at);
    auto c2 = conversion("S4", "30.00", "2026-03-10T11:00:00Z", "P-77", "19818");
    c2.customer_id = "CUST-3";
    f.create(c2, created_at);
    f.action("S4").modification_count = 1000;
    RowResult r2 = f.modify(amount_row("S3", "0"), now);
    REQUIRE(r2.outcome == Outcome::Applied);
    CHECK(r2.message == "children reversed: S4");
    CHECK(f.action("S4").status == Status::Reversed);
    CHECK(f.action("S4").modification_count == 1000);
}

TEST_CASE("an outside-terms action keeps payout 0 when modified, and APPROVE brings it in") {
    ModFixture f;
    const Instant jan20 = at("2026-01-20T12:00:00Z");
    f.create(conversion("G1", "50000.00", "2026-01-10"), jan20);
    Action& g2 = f.create(conversion("G2", "20000.00", "2026-01-12"), jan20);
    REQUIRE(g2.outside_terms);

    RowResult m = f.modify(amount_row("G2", "25000.00"), at("2026-01-21T00:00:00Z"));
    REQUIRE(m.outcome == Outcome::Applied);
    CHECK(m.new_payout == 0);
    CHECK(f.action("G2").outside_terms);
    CHECK(f.action("G2").finance_status == FinanceStatus::OutsideTerms);

    auto approve = modification("G2", "");
    approve.disposition_code = "STAY_COMPLETE";
    const Instant when = at("2026-01-25T08:00:00Z");
    RowResult a = f.modify(approve, when);
    REQUIRE(a.outcome == Outcome::Applied);
    CHECK(a.operation == Operation::Approve);
    CHECK(a.old_payout == 0);
    CHECK(a.new_payout == 200000);  // 25,000.00 x 8%, computed now
    const Action& g = f.action("G2");
    CHECK_FALSE(g.outside_terms);
    CHECK(g.status == Status::Approved);
    CHECK(g.finance_status == FinanceStatus::Due);
    CHECK(g.locking_date == when);
    CHECK(g.clearing_date == at("2026-02-21T00:00:00Z"));
}

// ---- amounts beyond int64 (found by tests/fuzz/fuzz_modification_rows) -------------

TEST_CASE("a Quantity<i> that would take a line beyond the largest amount is MALFORMED") {
    ModFixture f;
    auto big = conversion("BIG", "", "2026-03-10T10:00:00Z");
    big.items = {item(1, "GOLD", "1", "999999999999.99"),
                 item(2, "SILVER", "1", "999999999999.99")};
    f.create(big, created_at);
    // 99999999999999 cents x 1,000,000 is beyond int64: this threw std::overflow_error, which
    // stopped the whole file as if the machine had failed.
    auto row = modification("BIG", "ITEM_OUT_OF_STOCK");
    row.items = {item(1, "GOLD", "1000000")};
    RowResult r = f.modify(row, now);
    CHECK(r.outcome == Outcome::Rejected);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(r.message.starts_with("Quantity1: "));
    // Each line fits (92,233 x 99999999999999 < 2^63), their sum does not.
    row.items = {item(1, "GOLD", "92233"), item(2, "SILVER", "92233")};
    r = f.modify(row, now);
    CHECK(r.error == ErrorCode::Malformed);
    CHECK(r.message.starts_with("Amount: "));
    CHECK(f.action("BIG").items[0].quantity == 1);
    CHECK(f.action("BIG").modification_count == 0);
    // A reversal ignores the row's other changes, so it still reverses.
    auto reject = modification("BIG", "");
    reject.disposition_code = "NO_SHOW";
    reject.items = {item(1, "GOLD", "1000000")};
    CHECK(f.modify(reject, now).outcome == Outcome::Applied);
    CHECK(f.action("BIG").status == Status::Reversed);
}

TEST_CASE("outcome names") {
    CHECK(outcome_name(Outcome::Applied) == "APPLIED");
    CHECK(outcome_name(Outcome::Rejected) == "REJECTED");
    CHECK(outcome_name(Outcome::NotApplied) == "NOT_APPLIED");
}
