// docs/lifecycle.md, "Invoice".
#include <doctest/doctest.h>

#include <set>

#include "lifecycle/invoice.hpp"
#include "lifecycle/run.hpp"
#include "lifecycle_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

namespace {

std::string invoices(const ledger::Account& account, const std::vector<ActionState>& actions,
                     const std::vector<ledger::Transfer>& transfers, std::string_view now,
                     std::optional<Instant> last = std::nullopt) {
    return invoices_text(decide_invoices(account, actions, transfers, last, at(now)));
}

}  // namespace

TEST_CASE("invoice ids name the account, the local invoice date and the partner") {
    CHECK(invoice_id("1000", day("2026-03-01"), "P-77") == "INV-1000-20260301-P-77");
    CHECK(invoice_id("2000", day("2027-12-31"), "P-10") == "INV-2000-20271231-P-10");
}

TEST_CASE("one invoice per partner and date, holding what cleared before that date") {
    const auto acct = account();
    const std::vector<ActionState> actions{cleared("A", 1000, at("2026-01-10")),
                                           cleared("B", 2000, at("2026-02-10")),
                                           cleared("C", 3000, at("2026-02-20"), "P-99")};
    const std::vector<ledger::Transfer> transfers{transfer("T1", 700, at("2026-02-05"), "P-99")};
    const auto got = decide_invoices(acct, actions, transfers, std::nullopt, at("2026-03-01"));
    CHECK(invoices_text(got) ==
          "INV-1000-20260201-P-77[A] INV-1000-20260301-P-77[B] INV-1000-20260301-P-99[C T1]");
    REQUIRE(got.size() == 3);
    CHECK(got[0].invoice_date == at("2026-02-01"));
    CHECK(got[0].total == 1000);
    CHECK(got[2].total == 3700);
    CHECK(got[2].action_count() == 1);
    CHECK(got[2].transfer_count() == 1);
    CHECK(got[2].lines[1].kind() == "MAKE_GOOD");
    CHECK(got[2].lines[1].event_date == transfers[0].payment_date);
    CHECK(got[2].lines[1].cleared_at == transfers[0].applied_at);
    CHECK(got[2].lines[0].kind() == "ACTION");
    CHECK(got[2].lines[0].cleared_at == at("2026-02-20"));
}

TEST_CASE("an invoice carries the currency its amounts are in, the account's at issue") {
    // Stored invoices never change: the currency is fixed when the invoice is issued, not
    // looked up again in a catalog that may have changed since.
    auto acct = account();
    acct.currency = ledger::find_currency("JPY");
    const std::vector<ActionState> actions{cleared("A", 1000, at("2026-01-10"))};
    const auto got = decide_invoices(acct, actions, {}, std::nullopt, at("2026-02-01"));
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].currency != nullptr);
    CHECK(got[0].currency->code == "JPY");
}

TEST_CASE("no empty invoice: a partner or a month without items gets none") {
    const auto acct = account();
    const std::vector<ActionState> actions{cleared("A", 1000, at("2026-01-10"))};
    CHECK(invoices(acct, actions, {}, "2026-06-01") == "INV-1000-20260201-P-77[A]");
    CHECK(invoices(acct, {}, {}, "2026-06-01").empty());
    // A 0 payout is still a cleared action, and its invoice shows it.
    const std::vector<ActionState> zero{cleared("Z", 0, at("2026-01-10"))};
    const auto got = decide_invoices(acct, zero, {}, std::nullopt, at("2026-06-01"));
    REQUIRE(got.size() == 1);
    CHECK(got[0].total == 0);
    CHECK(got[0].lines.size() == 1);
}

TEST_CASE("an item cleared exactly at an invoice date is on the next one") {
    const auto acct = account();
    const std::vector<ActionState> actions{cleared("EDGE", 1000, at("2026-02-01")),
                                           cleared("JUST", 1000, at("2026-01-31T23:59:59.999Z"))};
    CHECK(invoices(acct, actions, {}, "2026-03-01") ==
          "INV-1000-20260201-P-77[JUST] INV-1000-20260301-P-77[EDGE]");
}

TEST_CASE("no invoice date after the run's time is issued") {
    const auto acct = account();
    const std::vector<ActionState> actions{cleared("A", 1000, at("2026-01-10"))};
    CHECK(invoices(acct, actions, {}, "2026-01-31T23:59:59.999Z").empty());
    CHECK(invoices(acct, actions, {}, "2026-02-01") == "INV-1000-20260201-P-77[A]");
}

TEST_CASE("items already on an invoice, and actions not cleared, are on no new one") {
    const auto acct = account();
    std::vector<ActionState> actions{cleared("A", 1000, at("2026-01-10")),
                                     due("D", 1000, at("2026-01-10"))};
    actions[0].finance_status = FinanceStatus::Invoiced;
    actions[0].invoice_id = "INV-1000-20260201-P-77";
    std::vector<ledger::Transfer> transfers{transfer("T1", 100, at("2026-01-11"))};
    transfers[0].invoice_id = "INV-1000-20260201-P-77";
    CHECK(invoices(acct, actions, transfers, "2026-06-01").empty());
}

TEST_CASE("a date already issued is never issued again: a late item goes on the next date") {
    // The February invoice went out; then a transfer applied with an earlier time (a batch
    // processed before a run that had been run ahead of the clock) joins March's invoice.
    const auto acct = account();
    const std::vector<ledger::Transfer> transfers{transfer("LATE", 500, at("2026-01-20"))};
    CHECK(invoices(acct, {}, transfers, "2026-03-05", at("2026-02-01")) ==
          "INV-1000-20260301-P-77[LATE]");
    CHECK(invoices(acct, {}, transfers, "2026-02-20", at("2026-02-01")).empty());
}

TEST_CASE("lines are ordered by kind, then id, bytewise") {
    const auto acct = account();
    const Instant t = at("2026-01-10");
    const std::vector<ActionState> actions{cleared("b", 1, t), cleared("B", 1, t),
                                           cleared("A10", 1, t), cleared("A9", 1, t)};
    const std::vector<ledger::Transfer> transfers{
        transfer("T2", 1, t, "P-77", ledger::TransferType::PaidPlacement),
        transfer("T3", 1, t, "P-77", ledger::TransferType::Bonus),
        transfer("T1", 1, t, "P-77", ledger::TransferType::MakeGood)};
    const auto got = decide_invoices(acct, actions, transfers, std::nullopt, at("2026-02-01"));
    REQUIRE(got.size() == 1);
    std::string order;
    for (const auto& l : got[0].lines) order += std::string(l.kind()) + ":" + l.id + " ";
    CHECK(order ==
          "ACTION:A10 ACTION:A9 ACTION:B ACTION:b BONUS:T3 MAKE_GOOD:T1 PAID_PLACEMENT:T2 ");
    CHECK(got[0].total == 7);
}

TEST_CASE("each item is on exactly one invoice however the runs fall") {
    const auto acct = account("1000", "UTC", 15);
    AccountBook book;
    for (int i = 0; i < 40; ++i) {
        const Instant t = at("2026-01-01") + std::chrono::hours{37 * i};
        book.actions.push_back(cleared("A" + std::to_string(i), 100 + i, t, i % 3 ? "P-1" : "P-2"));
        if (i % 4 == 0)
            book.transfers.push_back(
                transfer("T" + std::to_string(i), 50, t, i % 8 ? "P-1" : "P-3"));
    }
    std::set<std::string> issued;
    for (std::string_view now : {"2026-01-15", "2026-01-20", "2026-02-15", "2026-02-15",
                                 "2026-03-14T23:59:59Z", "2026-04-15", "2026-09-01"}) {
        const RunDecisions d = decide_run(acct, book, at(now));
        for (const Invoice& inv : d.invoices) {
            CHECK_FALSE(inv.lines.empty());
            CHECK(issued.insert(inv.invoice_id).second);
        }
        apply_run(book, d);
    }
    for (const ActionState& a : book.actions) {
        CHECK(a.finance_status == FinanceStatus::Invoiced);
        CHECK_FALSE(a.invoice_id.empty());
    }
    for (const ledger::Transfer& t : book.transfers) CHECK_FALSE(t.invoice_id.empty());
    CHECK(issued.size() > 6);
}

TEST_CASE("a period_ends calendar with no date left invoices nothing until it lists more") {
    auto acct = account();
    acct.invoice_calendar.period_ends = {day("2026-01-30")};
    const std::vector<ActionState> actions{cleared("A", 1, at("2026-01-10")),
                                           cleared("B", 1, at("2026-02-10"))};
    CHECK(invoices(acct, actions, {}, "2026-12-01") == "INV-1000-20260131-P-77[A]");
}

TEST_CASE("invoice dates and their ids follow the account's zone") {
    const auto tokyo = account("2000", "Asia/Tokyo");
    // 23:59:59 on 31 January in Tokyo is before the 1 February invoice; midnight is not.
    const std::vector<ActionState> actions{cleared("IN", 1, at("2026-01-31T14:59:59Z"), "P-10"),
                                           cleared("OUT", 1, at("2026-01-31T15:00:00Z"), "P-10")};
    CHECK(invoices(tokyo, actions, {}, "2026-02-01T00:00:00Z") == "INV-2000-20260201-P-10[IN]");

    const auto ny = account("1000", "America/New_York", 8);
    const std::vector<ActionState> dst{cleared("IN", 1, at("2026-03-08T04:59:59Z")),
                                       cleared("OUT", 1, at("2026-03-08T05:00:00Z"))};
    CHECK(invoices(ny, dst, {}, "2026-03-08T05:00:00Z") == "INV-1000-20260308-P-77[IN]");
    CHECK(invoices(ny, dst, {}, "2026-04-08T04:00:00Z") ==
          "INV-1000-20260308-P-77[IN] INV-1000-20260408-P-77[OUT]");
}
