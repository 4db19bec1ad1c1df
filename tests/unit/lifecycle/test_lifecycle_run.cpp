// docs/lifecycle.md: a run's three steps together, and its worked example.
#include <doctest/doctest.h>

#include "lifecycle/run.hpp"
#include "lifecycle_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

TEST_CASE("one run locks, then clears what it locked, then invoices what it cleared") {
    const auto acct = account();
    AccountBook book;
    book.balance = 10000;
    book.actions.push_back(pending("A1", 4000, at("2026-02-28"), at("2026-03-21")));
    const RunDecisions d = decide_run(acct, book, at("2026-04-02"));
    CHECK(ids(d.locks) == "A1");
    CHECK(ids(d.clearing.clears) == "A1");
    CHECK(d.clearing.clears[0].cleared_at == at("2026-03-21"));
    CHECK(invoices_text(d.invoices) == "INV-1000-20260401-P-77[A1]");
    CHECK_FALSE(d.changes_nothing());
    // The book itself is not changed by deciding.
    CHECK(book.actions[0].status == Status::Pending);
    apply_run(book, d);
    const ActionState& a1 = find(book, "A1");
    CHECK(a1.status == Status::Approved);
    CHECK(a1.finance_status == FinanceStatus::Invoiced);
    CHECK(a1.cleared_at == at("2026-03-21"));
    CHECK(a1.invoice_id == "INV-1000-20260401-P-77");
    CHECK(book.balance == 6000);
    CHECK(book.last_invoice_date == at("2026-04-01"));
    CHECK(decide_run(acct, book, at("2026-04-02")).changes_nothing());
}

TEST_CASE("an outside-terms action locks and is never cleared nor invoiced") {
    const auto acct = account();
    AccountBook book;
    book.actions.push_back(pending("OUT", 0, at("2026-02-28"), at("2026-03-21")));
    book.actions[0].finance_status = FinanceStatus::OutsideTerms;
    const RunDecisions d = decide_run(acct, book, at("2026-06-01"));
    CHECK(ids(d.locks) == "OUT");
    CHECK(d.clearing.clears.empty());
    CHECK(d.invoices.empty());
    apply_run(book, d);
    CHECK(book.actions[0].finance_status == FinanceStatus::OutsideTerms);
    CHECK(decide_run(acct, book, at("2026-06-01")).changes_nothing());
}

TEST_CASE("items stuck behind a period_ends list that has run out are reported") {
    // Nothing is invoiced after the last listed period end: the run says so, so that finance
    // hears of it from the daemon's log and the CLI rather than from a partner.
    auto acct = account();
    acct.invoice_calendar.period_ends = {day("2026-01-30"), day("2026-02-27")};
    AccountBook book;
    book.actions = {cleared("A", 100, at("2026-01-10")), cleared("B", 100, at("2026-02-10"))};
    RunDecisions d = decide_run(acct, book, at("2026-02-15"));
    CHECK(invoices_text(d.invoices) == "INV-1000-20260131-P-77[A]");
    CHECK_FALSE(d.invoice_calendar_ended);  // B waits for 28 February, still to come
    apply_run(book, d);
    d = decide_run(acct, book, at("2026-03-01"));
    CHECK(invoices_text(d.invoices) == "INV-1000-20260228-P-77[B]");
    CHECK_FALSE(d.invoice_calendar_ended);  // the list has ended, but nothing waits
    apply_run(book, d);
    book.actions.push_back(cleared("C", 100, at("2026-03-05")));
    d = decide_run(acct, book, at("2026-03-20"));
    CHECK(d.invoices.empty());
    CHECK(d.invoice_calendar_ended);  // C cleared after the last date the list has
    CHECK(d.changes_nothing());
    // A transfer waiting alone counts too.
    book.actions.pop_back();
    CHECK_FALSE(decide_run(acct, book, at("2026-03-20")).invoice_calendar_ended);
    book.transfers = {transfer("T1", 100, at("2026-03-01"))};
    CHECK(decide_run(acct, book, at("2026-03-20")).invoice_calendar_ended);
    // A monthly calendar never ends.
    CHECK_FALSE(decide_run(account(), book, at("2026-03-20")).invoice_calendar_ended);
}

TEST_CASE("decisions that name an action the book does not hold are refused") {
    AccountBook book;
    RunDecisions d;
    d.locks.push_back(Lock{0, "GHOST", at("2026-01-01"), FinanceStatus::Due});
    CHECK_THROWS_AS(apply_run(book, d), std::invalid_argument);
}

// The worked example of docs/lifecycle.md, step by step.
TEST_CASE("the worked example of docs/lifecycle.md") {
    const ledger::TimeZone ny = zone("America/New_York");
    const auto acct = account("1000", "America/New_York", 1);
    AccountBook book;
    book.balance = 15000;  // 150.00 deposited
    // Events in January; locking {end_of_month, 0, 27}, clearing {0, 20}: locks 28 February
    // 00:00 EST, clears 21 March 00:00 EDT (docs/rules.md, "A worked example").
    const Instant lock = at("2026-02-28T00:00:00", ny);
    const Instant clear = at("2026-03-21T00:00:00", ny);
    CHECK(ledger::format_instant(lock) == "2026-02-28T05:00:00Z");
    CHECK(ledger::format_instant(clear) == "2026-03-21T04:00:00Z");
    book.actions.push_back(pending("A1", 10000, lock, clear, "P-77"));
    book.actions.push_back(pending("A2", 8000, lock, clear, "P-77"));
    book.actions.push_back(pending("A3", 0, lock, clear, "P-99"));

    // Run 1, 22 March: all three lock; A1 takes 100.00 of the 150.00; A2's 80.00 is not
    // covered, so A2 and, behind it, A3's 0.00 are overdue. No invoice date has come since
    // A1 cleared.
    RunDecisions d = decide_run(acct, book, at("2026-03-22T12:00:00Z"));
    CHECK(ids(d.locks) == "A1 A2 A3");
    CHECK(ids(d.clearing.clears) == "A1");
    CHECK(ids(d.clearing.overdue) == "A2 A3");
    CHECK(d.clearing.balance_after == 5000);
    REQUIRE(d.clearing.debits.size() == 1);
    CHECK(d.clearing.debits[0].at == clear);  // taken on its clearing date, 21 March
    CHECK(d.clearing.overdue_amount() == 8000);
    CHECK(d.clearing.overdue[0].due_at == clear);
    CHECK(d.invoices.empty());
    apply_run(book, d);

    // A deposit of 100.00 on 25 March clears nothing by itself.
    book.balance += 10000;

    // Run 2, 1 April 08:00 EDT: A2 then A3 clear, dated at this run; the 1 April invoice
    // (00:00 EDT, 04:00Z) holds A1 only, since A2 and A3 cleared after it.
    d = decide_run(acct, book, at("2026-04-01T12:00:00Z"));
    CHECK(d.locks.empty());
    CHECK(ids(d.clearing.clears) == "A2 A3");
    CHECK(d.clearing.clears[0].cleared_at == at("2026-04-01T12:00:00Z"));
    REQUIRE(d.clearing.debits.size() == 1);  // A3's 0.00 moves no money
    CHECK(d.clearing.debits[0].reference == "A2");
    CHECK(d.clearing.debits[0].at == at("2026-04-01T12:00:00Z"));  // overdue: taken by this run
    CHECK(d.clearing.balance_after == 7000);
    CHECK(invoices_text(d.invoices) == "INV-1000-20260401-P-77[A1]");
    CHECK(d.invoices[0].invoice_date == at("2026-04-01T04:00:00Z"));
    CHECK(d.invoices[0].total == 10000);
    apply_run(book, d);

    // Run 3, 1 May 00:00 EDT: A2 for P-77, A3 (0.00) for P-99.
    d = decide_run(acct, book, at("2026-05-01T04:00:00Z"));
    CHECK(invoices_text(d.invoices) == "INV-1000-20260501-P-77[A2] INV-1000-20260501-P-99[A3]");
    CHECK(d.invoices[0].total == 8000);
    CHECK(d.invoices[1].total == 0);
    apply_run(book, d);
    CHECK(book.balance == 7000);
    CHECK(decide_run(acct, book, at("2026-05-01T04:00:00Z")).changes_nothing());
}
