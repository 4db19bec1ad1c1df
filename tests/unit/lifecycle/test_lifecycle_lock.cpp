// docs/lifecycle.md, "Lock".
#include <doctest/doctest.h>

#include "ledger/rules.hpp"
#include "lifecycle/lock.hpp"
#include "lifecycle_test_support.hpp"
#include "memory_ledger.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

TEST_CASE("a pending action locks when its locking date has come, dated at that date") {
    const Instant lock = at("2026-02-28T05:00:00Z");
    std::vector<ActionState> actions{pending("A1", 1000, lock, at("2026-03-21T04:00:00Z"))};
    CHECK(decide_locks(actions, lock - std::chrono::milliseconds{1}).empty());
    const auto locks = decide_locks(actions, lock);
    REQUIRE(locks.size() == 1);
    CHECK(locks[0].action_id == "A1");
    CHECK(locks[0].at == lock);
    CHECK(locks[0].finance_status == FinanceStatus::Due);
    // A run long after still dates the lock at the locking date, not at the run.
    const auto late = decide_locks(actions, at("2026-06-01T00:00:00Z"));
    REQUIRE(late.size() == 1);
    CHECK(late[0].at == lock);
}

TEST_CASE("an outside-terms action locks and stays outside terms, and nothing else locks") {
    const Instant lock = at("2026-02-01");
    std::vector<ActionState> actions{pending("OUT", 0, lock, at("2026-03-21")),
                                     pending("REV", 500, lock, at("2026-03-21")),
                                     due("APP", 500, at("2026-03-21")),
                                     pending("LATER", 500, at("2026-02-02"), at("2026-03-21"))};
    actions[0].finance_status = FinanceStatus::OutsideTerms;
    actions[1].status = Status::Reversed;
    actions[1].finance_status = FinanceStatus::Voided;
    const auto locks = decide_locks(actions, at("2026-02-01T12:00:00Z"));
    REQUIRE(locks.size() == 1);
    CHECK(locks[0].action_id == "OUT");
    CHECK(locks[0].finance_status == FinanceStatus::OutsideTerms);
}

TEST_CASE("locks come in the order the actions were created (their key), whatever their dates") {
    const Instant d1 = at("2026-02-01"), d2 = at("2026-02-02"), c = at("2026-03-21");
    std::vector<ActionState> actions{pending("b", 1, d1, c), pending("Z", 1, d2, c),
                                     pending("A9", 1, d1, c), pending("A10", 1, d1, c)};
    const std::int64_t keys[] = {3, 1, 4, 2};
    for (std::size_t i = 0; i < actions.size(); ++i) actions[i].key = keys[i];
    CHECK(ids(decide_locks(actions, d2)) == "Z A10 b A9");
    // Without keys (not stored yet), by action id bytewise.
    for (auto& a : actions) a.key = 0;
    CHECK(ids(decide_locks(actions, d2)) == "A10 A9 Z b");
}

TEST_CASE("an open-ended action locks 730 days after its event, not by the contract's rule") {
    // Created by the conversion rule, as a file would create it (docs/rules.md, "Open-ended
    // trackers"): the lock step reads only the locking date the rule gave it.
    ledger::Catalog catalog;
    ledger::Account a = account("1000", "America/New_York");
    a.trackers["19817"] = ledger::Tracker{"19817", "Hotel Booking", true, std::nullopt};
    a.partners["P-77"] = ledger::Partner{"P-77", "Trail Blog"};
    ledger::Contract contract;
    contract.id = "C-1";
    contract.partner_id = "P-77";
    ledger::ContractVersion v;
    v.effective_from = at("2026-01-01T00:00:00Z");
    v.default_rule = ledger::PayoutRule{ledger::PayoutRule::Kind::Percent, {8, 0}, 0};
    v.locking = ledger::Locking{ledger::Locking::After::EventDay, 0, 3};
    v.clearing = ledger::Clearing{0, 20};
    contract.versions.push_back(v);
    a.contracts.push_back(contract);
    catalog.accounts[a.id] = a;
    const ledger::Account& acct = catalog.accounts.at("1000");

    ledger::testing::MemoryLedger ledger;
    ledger::ConversionRow row;
    row.line = 2;
    row.action_id = "H1";
    row.tracker_id = "19817";
    row.partner_id = "P-77";
    row.order_id = "O-H1";
    row.event_date = "2026-01-15T10:00:00Z";
    row.amount = "300.00";
    const auto result = ledger::apply_conversion(catalog, acct, ledger, row,
                                                 ledger::BatchContext{"B1", at("2026-01-20")});
    INFO(result.message);
    REQUIRE(result.outcome == ledger::Outcome::Applied);
    const ledger::Action& h1 = *ledger.find("1000", "H1");

    ActionState state;
    state.action_id = h1.action_id;
    state.partner_id = h1.partner_id;
    state.status = h1.status;
    state.finance_status = h1.finance_status;
    state.payout = h1.payout;
    state.event_date = h1.event_date;
    state.locking_date = h1.locking_date;
    state.clearing_date = h1.clearing_date;
    const std::vector<ActionState> actions{state};

    const Instant event = at("2026-01-15T10:00:00Z");
    const Instant due = event + std::chrono::days{730};
    CHECK(ledger::format_instant(due) == "2028-01-15T10:00:00Z");
    // Not at the contract's 3 days, nor a moment before the 730 days are over.
    CHECK(decide_locks(actions, at("2026-01-20")).empty());
    CHECK(decide_locks(actions, due - std::chrono::milliseconds{1}).empty());
    const auto locks = decide_locks(actions, due);
    REQUIRE(locks.size() == 1);
    CHECK(locks[0].at == due);
}
