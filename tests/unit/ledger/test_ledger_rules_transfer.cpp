// docs/rules.md: "Funds transfers" and its row checks, in their order.
#include <doctest/doctest.h>

#include "test_ledger_rules_fixture.hpp"

using namespace actiondrop::ledger;
using namespace actiondrop::ledger::testing;

namespace {

const Instant now = at("2026-03-20T15:00:00Z");

TransferRow transfer(std::string type, std::string partner, std::string amount,
                     std::int64_t line = 2) {
    TransferRow row;
    row.line = line;
    if (!type.empty()) row.transfer_type = std::move(type);
    if (!partner.empty()) row.partner_id = std::move(partner);
    if (!amount.empty()) row.amount = std::move(amount);
    return row;
}

struct TransferFixture : RulesFixture {
    TransferFixture() { ledger.deposits.emplace_back("1000", 10000); }  // 100.00 USD
    RowResult apply(const TransferRow& row, Instant when = now, std::string batch = "B7") {
        return apply_transfer(account, ledger, row, BatchContext{std::move(batch), when});
    }
};

}  // namespace

TEST_CASE("a transfer is taken from the funds and named by its batch and line") {
    TransferFixture f;
    TransferRow row = transfer("MAKE_GOOD", "P-77", "25.50", 7);
    row.payment_date = "2026-03-18T09:00:00Z";
    row.campaign_id = "CMP-1";
    row.comments = "order 123 was locked at the wrong amount";
    RowResult r = f.apply(row);
    INFO(r.message);
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(r.operation == Operation::Transfer);
    CHECK(r.error == ErrorCode::None);
    CHECK(r.action_id == "TR-B7-7");
    CHECK(r.line == 7);
    CHECK(r.new_amount == 2550);
    CHECK(r.new_payout == 2550);
    CHECK(r.currency->code == "USD");
    CHECK(r.payout_currency->code == "USD");
    CHECK_FALSE(r.old_amount);
    CHECK_FALSE(r.status);

    REQUIRE(f.ledger.transfers.size() == 1);
    const Transfer& t = f.ledger.transfers[0];
    CHECK(t.transfer_id == "TR-B7-7");
    CHECK(t.account_id == "1000");
    CHECK(t.partner_id == "P-77");
    CHECK(t.campaign_id == "CMP-1");
    CHECK(t.type == TransferType::MakeGood);
    CHECK(t.amount == 2550);
    CHECK(t.payment_date == at("2026-03-18T09:00:00Z"));
    CHECK(t.applied_at == now);
    CHECK(t.comments == "order 123 was locked at the wrong amount");
    CHECK(f.ledger.funds_balance("1000") == 10000 - 2550);
}

TEST_CASE("a transfer's PaymentDate defaults to the processing time, and may be exactly it") {
    TransferFixture f;
    RowResult r = f.apply(transfer("BONUS", "P-88", "1"));
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(f.ledger.transfers.at(0).payment_date == now);
    CHECK(f.ledger.transfers.at(0).type == TransferType::Bonus);

    TransferRow exact = transfer("PAID_PLACEMENT", "P-99", "1", 3);
    exact.payment_date = "2026-03-20T15:00:00Z";
    CHECK(f.apply(exact).outcome == Outcome::Applied);
    CHECK(f.ledger.transfers.at(1).type == TransferType::PaidPlacement);
}

TEST_CASE("earlier rows of the same file use up the funds for later ones") {
    TransferFixture f;
    CHECK(f.apply(transfer("MAKE_GOOD", "P-77", "60.00", 2)).outcome == Outcome::Applied);
    RowResult second = f.apply(transfer("MAKE_GOOD", "P-77", "40.01", 3));
    CHECK(second.outcome == Outcome::Rejected);
    CHECK(second.error == ErrorCode::InsufficientFunds);
    CHECK(second.operation == Operation::Transfer);
    CHECK(second.action_id.empty());
    CHECK(second.message == "Amount: 40.01 USD is more than the funds left, 40.00 USD");
    // Exactly the rest is covered: the balance may reach 0, never below.
    CHECK(f.apply(transfer("MAKE_GOOD", "P-77", "40", 4)).outcome == Outcome::Applied);
    CHECK(f.ledger.funds_balance("1000") == 0);
    CHECK(f.ledger.transfers.size() == 2);
}

TEST_CASE("a transfer with no funds at all is INSUFFICIENT_FUNDS, and nothing is stored") {
    TransferFixture f;
    f.ledger.deposits.clear();
    RowResult r = f.apply(transfer("BONUS", "P-77", "0.01"));
    CHECK(r.error == ErrorCode::InsufficientFunds);
    CHECK(f.ledger.transfers.empty());
}

TEST_CASE(
    "transfer row checks: MALFORMED, then MISSING_FIELD, PARTNER_NOT_FOUND, CURRENCY_MISMATCH, "
    "INSUFFICIENT_FUNDS") {
    TransferFixture f;
    auto code = [&](const TransferRow& row) {
        RowResult r = f.apply(row);
        INFO(r.message);
        CHECK(r.operation == Operation::Transfer);
        if (r.outcome == Outcome::Applied) return ErrorCode::None;
        CHECK(f.ledger.transfers.empty());
        return r.error;
    };
    auto with = [](TransferRow row, auto field, std::string value) {
        row.*field = std::move(value);
        return row;
    };
    const TransferRow good = transfer("MAKE_GOOD", "P-77", "10.00");

    SUBCASE("MALFORMED") {
        CHECK(code(transfer("REFUND", "P-77", "10.00")) == ErrorCode::Malformed);
        CHECK(code(transfer("make_good", "P-77", "10.00")) ==
              ErrorCode::Malformed);  // values match exactly
        CHECK(code(transfer("MAKE_GOOD", "P-77", "-1")) == ErrorCode::Malformed);
        CHECK(code(transfer("MAKE_GOOD", "P-77", "0")) == ErrorCode::Malformed);
        CHECK(code(transfer("MAKE_GOOD", "P-77", "0.000")) == ErrorCode::Malformed);
        CHECK(code(transfer("MAKE_GOOD", "P-77", "1.005")) ==
              ErrorCode::Malformed);  // USD has 2 digits
        CHECK(code(transfer("MAKE_GOOD", "P-77", "1e3")) == ErrorCode::Malformed);
        CHECK(code(with(good, &TransferRow::currency_code, "XYZ")) == ErrorCode::Malformed);
        CHECK(code(with(good, &TransferRow::payment_date, "yesterday")) == ErrorCode::Malformed);
        CHECK(code(with(good, &TransferRow::payment_date, "2026-03-20T15:00:00.001Z")) ==
              ErrorCode::Malformed);
        CHECK(code(with(good, &TransferRow::comments, std::string(256, 'x'))) ==
              ErrorCode::Malformed);
        // Malformed comes first: before the missing partner and the unknown currency.
        CHECK(code(with(transfer("MAKE_GOOD", "", "-1"), &TransferRow::currency_code, "EUR")) ==
              ErrorCode::Malformed);
    }
    SUBCASE("a future PaymentDate names the field and both times") {
        RowResult r = f.apply(with(good, &TransferRow::payment_date, "2026-03-21T00:00:00Z"));
        CHECK(r.error == ErrorCode::Malformed);
        CHECK(r.message ==
              "PaymentDate: 2026-03-21T00:00:00Z is after the time the file is processed, "
              "2026-03-20T15:00:00Z");
    }
    SUBCASE("Comments count characters, not bytes") {
        std::string text;
        for (int i = 0; i < 255; ++i) text += "é";  // 510 bytes
        CHECK(code(with(good, &TransferRow::comments, text)) == ErrorCode::None);
    }
    SUBCASE("MISSING_FIELD, in the order TransferType, PartnerId, Amount") {
        RowResult r = f.apply(transfer("", "", ""));
        CHECK(r.error == ErrorCode::MissingField);
        CHECK(r.message == "TransferType: required");
        CHECK(f.apply(transfer("BONUS", "", "")).message == "PartnerId: required");
        CHECK(f.apply(transfer("BONUS", "P-77", "")).message == "Amount: required");
        // Missing comes before an unknown partner.
        CHECK(code(transfer("", "P-404", "1")) == ErrorCode::MissingField);
    }
    SUBCASE("PARTNER_NOT_FOUND, also for another account's partner, before CURRENCY_MISMATCH") {
        CHECK(code(transfer("BONUS", "P-404", "1")) == ErrorCode::PartnerNotFound);
        CHECK(code(with(transfer("BONUS", "P-404", "1"), &TransferRow::currency_code, "EUR")) ==
              ErrorCode::PartnerNotFound);
    }
    SUBCASE("CURRENCY_MISMATCH: only the account's currency, which is also the default") {
        CHECK(code(with(good, &TransferRow::currency_code, "EUR")) == ErrorCode::CurrencyMismatch);
        CHECK(code(with(good, &TransferRow::currency_code, "usd")) == ErrorCode::Malformed);
        // Before INSUFFICIENT_FUNDS.
        CHECK(code(with(transfer("BONUS", "P-77", "1000000"), &TransferRow::currency_code,
                        "EUR")) == ErrorCode::CurrencyMismatch);
        CHECK(code(with(good, &TransferRow::currency_code, "USD")) == ErrorCode::None);
    }
    SUBCASE("INSUFFICIENT_FUNDS last") {
        CHECK(code(transfer("BONUS", "P-77", "100.01")) == ErrorCode::InsufficientFunds);
    }
}

TEST_CASE("validate's form check of a transfer row: no account, the PaymentDate against now") {
    auto form = [](const TransferRow& row) { return check_transfer_form(row, now).first; };
    CHECK(form(transfer("MAKE_GOOD", "P-404", "1.005")) ==
          ErrorCode::None);  // digits need the account
    CHECK(form(transfer("MAKE_GOOD", "", "1")) == ErrorCode::MissingField);
    CHECK(form(transfer("GIFT", "P-77", "1")) == ErrorCode::Malformed);
    TransferRow later = transfer("BONUS", "P-77", "1");
    later.payment_date = "2026-03-20T15:00:01Z";
    CHECK(form(later) == ErrorCode::Malformed);
}
