// docs/lifecycle.md, "Clear".
#include <doctest/doctest.h>

#include "lifecycle/clear.hpp"
#include "lifecycle/run.hpp"
#include "lifecycle_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

namespace {

const Instant mar1 = at("2026-03-01T00:00:00Z");
const Instant mar2 = at("2026-03-02T00:00:00Z");
const Instant mar3 = at("2026-03-03T00:00:00Z");
const Instant run1 = at("2026-03-05T12:00:00Z");
const Instant run2 = at("2026-03-09T12:00:00Z");

// Carries a clear step out on the actions, as a run does.
void carry_out(std::vector<ActionState>& actions, const ClearDecisions& d) {
    AccountBook book;
    book.actions = actions;
    book.balance = d.balance_after;
    for (const auto& e : d.debits) book.balance += e.amount;
    RunDecisions run;
    run.clearing = d;
    apply_run(book, run);
    actions = std::move(book.actions);
}

}  // namespace

TEST_CASE("due actions clear in clearing date order while the balance covers them") {
    std::vector<ActionState> actions{due("A2", 3000, mar2), due("A1", 5000, mar1),
                                     due("A3", 1000, mar3)};
    const auto d = decide_clearing(actions, 10000, run1);
    CHECK(ids(d.clears) == "A1 A2 A3");
    CHECK(d.overdue.empty());
    CHECK(d.balance_after == 1000);
    // Each clears at its own clearing date, and that is when its funds are taken.
    CHECK(d.clears[0].cleared_at == mar1);
    CHECK(d.clears[1].cleared_at == mar2);
    CHECK_FALSE(d.clears[0].was_overdue);
    REQUIRE(d.debits.size() == 3);
    CHECK(d.debits[0].reference == "A1");
    CHECK(d.debits[0].amount == 5000);
    CHECK(d.debits[0].kind == ledger::FundsEntry::Kind::Clearing);
}

TEST_CASE("a clearing debit is dated at the action's cleared_at, not at the run") {
    // "Funds are taken on the clearing date": a run that comes days late writes the same
    // funds entries as a timely one, so runs at T1 then T2 leave the funds ledger that one
    // run at T2 leaves.
    std::vector<ActionState> actions{due("A1", 5000, mar1), due("A2", 3000, mar2)};
    const auto late = decide_clearing(actions, 10000, run2);
    REQUIRE(late.debits.size() == 2);
    CHECK(late.debits[0].at == mar1);
    CHECK(late.debits[1].at == mar2);
    CHECK(decide_clearing(actions, 10000, run1).debits == late.debits);
    // One that was overdue clears at the run that finds the funds, and is debited then.
    actions[0].finance_status = FinanceStatus::Overdue;
    const auto d = decide_clearing(actions, 10000, run2);
    REQUIRE(d.debits.size() == 2);
    CHECK(d.debits[0].at == run2);
    CHECK(d.debits[0].at == d.clears[0].cleared_at);
    CHECK(d.debits[1].at == mar2);
}

TEST_CASE("strict order: a smaller later payout never jumps an earlier one") {
    // 50.00 cannot pay A1's 100.00; A2's 5.00 would fit, but it is after A1 in the queue.
    std::vector<ActionState> actions{due("A1", 10000, mar1), due("A2", 500, mar2)};
    const auto d = decide_clearing(actions, 5000, run1);
    CHECK(d.clears.empty());
    CHECK(ids(d.overdue) == "A1 A2");
    CHECK(d.debits.empty());
    CHECK(d.balance_after == 5000);
    CHECK(d.overdue_amount() == 10500);
    // Both become overdue in this run, each dated at its own clearing date.
    CHECK(d.overdue[0].first_time);
    CHECK(d.overdue[0].due_at == mar1);
    CHECK(d.overdue[1].due_at == mar2);
}

TEST_CASE("the queue takes the first action the balance does not cover, and all after it") {
    std::vector<ActionState> actions{due("A1", 3000, mar1), due("A2", 4000, mar2),
                                     due("A3", 1000, mar3)};
    const auto d = decide_clearing(actions, 5000, run1);
    CHECK(ids(d.clears) == "A1");
    CHECK(ids(d.overdue) == "A2 A3");
    CHECK(d.balance_after == 2000);
}

TEST_CASE("on one clearing date the order is by action id, bytewise") {
    std::vector<ActionState> actions{due("a", 100, mar1), due("B", 100, mar1), due("A9", 100, mar1),
                                     due("A10", 100, mar1)};
    const auto d = decide_clearing(actions, 200, run1);
    CHECK(ids(d.clears) == "A10 A9");
    CHECK(ids(d.overdue) == "B a");
}

TEST_CASE("a 0 payout clears without funds, and makes no funds entry") {
    std::vector<ActionState> actions{due("Z0", 0, mar1)};
    const auto d = decide_clearing(actions, 0, run1);
    CHECK(ids(d.clears) == "Z0");
    CHECK(d.clears[0].cleared_at == mar1);
    CHECK(d.debits.empty());
    CHECK(d.balance_after == 0);
}

TEST_CASE("a 0 payout clears only when nothing before it is overdue") {
    std::vector<ActionState> actions{due("Z0-before", 0, mar1), due("A1", 10000, mar2),
                                     due("Z0-after", 0, mar3)};
    const auto d = decide_clearing(actions, 100, run1);
    CHECK(ids(d.clears) == "Z0-before");
    CHECK(ids(d.overdue) == "A1 Z0-after");
}

TEST_CASE("only approved, due actions whose clearing date has come are in the queue") {
    std::vector<ActionState> actions{due("LATER", 100, run1 + std::chrono::milliseconds{1}),
                                     due("NOW", 100, run1), pending("P", 100, mar1, mar2),
                                     cleared("C", 100, mar1)};
    const auto d = decide_clearing(actions, 1000, run1);
    CHECK(ids(d.clears) == "NOW");
}

TEST_CASE("an overdue action is cleared by a later run after a deposit, dated at that run") {
    std::vector<ActionState> actions{due("A1", 10000, mar1), due("A2", 500, mar2)};
    auto d = decide_clearing(actions, 0, run1);
    CHECK(ids(d.overdue) == "A1 A2");
    carry_out(actions, d);
    CHECK(actions[0].finance_status == FinanceStatus::Overdue);

    // The same run again: still overdue, but nothing new (no second OVERDUE entry).
    d = decide_clearing(actions, 0, run1);
    CHECK(ids(d.overdue) == "A1 A2");
    CHECK_FALSE(d.overdue[0].first_time);
    CHECK_FALSE(d.overdue[1].first_time);

    // A deposit of 100.00 covers A1 only: A2 stays overdue behind nothing, and is paid by
    // the run after a second deposit.
    d = decide_clearing(actions, 10000, run2);
    CHECK(ids(d.clears) == "A1");
    CHECK(d.clears[0].was_overdue);
    CHECK(d.clears[0].cleared_at == run2);
    CHECK(d.debits[0].at == run2);
    CHECK(ids(d.overdue) == "A2");
    CHECK_FALSE(d.overdue[0].first_time);
    carry_out(actions, d);

    d = decide_clearing(actions, 500, run2 + std::chrono::hours{1});
    CHECK(ids(d.clears) == "A2");
    CHECK(d.clears[0].cleared_at == run2 + std::chrono::hours{1});
    CHECK(d.balance_after == 0);
    CHECK(d.overdue.empty());
}

TEST_CASE("a run at a time before an overdue action's clearing date leaves it overdue") {
    // A run at run2 found A1 overdue; a run at an earlier time (a run with --now in the
    // past) must not clear it before it was due, nor date its debit and CLEAR entry so.
    std::vector<ActionState> actions{due("A1", 10000, run2 - std::chrono::hours{1}),
                                     due("A0", 500, mar1)};
    auto d = decide_clearing(actions, 500, run2);
    CHECK(ids(d.clears) == "A0");
    CHECK(ids(d.overdue) == "A1");
    carry_out(actions, d);

    d = decide_clearing(actions, 10000, run1);
    CHECK(d.clears.empty());
    CHECK(d.overdue.empty());  // not due at run1: neither in the queue nor counted
    CHECK(d.balance_after == 10000);

    d = decide_clearing(actions, 10000, run2);
    CHECK(ids(d.clears) == "A1");
    CHECK(d.clears[0].cleared_at == run2);
}

TEST_CASE("an overdue action keeps its place ahead of a due one with a later clearing date") {
    std::vector<ActionState> actions{due("OLD", 10000, mar1), due("NEW", 100, mar3)};
    actions[0].finance_status = FinanceStatus::Overdue;
    const auto d = decide_clearing(actions, 5000, run1);
    CHECK(d.clears.empty());
    CHECK(ids(d.overdue) == "OLD NEW");
    CHECK_FALSE(d.overdue[0].first_time);
    CHECK(d.overdue[1].first_time);
}

TEST_CASE("a negative balance is a damaged book: the run stops instead of calling all overdue") {
    // The balance is never negative; one that is must not turn every due action, even a 0
    // payout, into an OVERDUE entry in its history.
    std::vector<ActionState> actions{due("Z0", 0, mar1), due("A1", 100, mar2)};
    CHECK_THROWS_AS(decide_clearing(actions, -1, run1), std::invalid_argument);
    CHECK(ids(decide_clearing(actions, 0, run1).clears) == "Z0");
}
