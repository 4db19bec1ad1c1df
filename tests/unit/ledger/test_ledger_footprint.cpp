// ledger::row_footprint() is the whole reach of a modification row: the rules, run on a
// ledger that records every action they ask for, read or change, never go past it. Key order
// (apply/key_order/plan.cpp) is correct only while this holds.
#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "ledger/footprint.hpp"
#include "test_ledger_rules_fixture.hpp"

using namespace actiondrop::ledger;
using namespace actiondrop::ledger::testing;

namespace {

const Instant created_at = at("2026-03-11T00:00:00Z");
const Instant now = at("2026-03-20T15:00:00Z");  // C-2's actions of 10 March lock on 21 March

// A LedgerView over a MemoryLedger that records each action id asked for, handed out or
// changed, and every kind of query the rules make.
class RecordingLedger final : public LedgerView {
public:
    explicit RecordingLedger(MemoryLedger& inner) : inner_(inner) {}

    std::set<std::string> touched;  // action ids asked for, read or written
    std::set<std::string> written;
    int by_order = 0, by_customer = 0, totals = 0, creations = 0;

    Action* find(std::string_view account_id, std::string_view action_id) override {
        touched.emplace(action_id);
        return seen(inner_.find(account_id, action_id));
    }
    Action* find_by_order(std::string_view account_id, std::string_view order_id,
                          std::string_view tracker_id) override {
        ++by_order;
        return seen(inner_.find_by_order(account_id, order_id, tracker_id));
    }
    Action* latest_for_customer(std::string_view account_id, std::string_view tracker_id,
                                std::string_view customer_id) override {
        ++by_customer;
        return seen(inner_.latest_for_customer(account_id, tracker_id, customer_id));
    }
    std::vector<Action*> children(std::string_view account_id,
                                  std::string_view parent_action_id) override {
        touched.emplace(parent_action_id);
        auto out = inner_.children(account_id, parent_action_id);
        for (Action* a : out) seen(a);
        return out;
    }
    CapTotals cap_totals(std::string_view account_id, std::string_view partner_id,
                         std::string_view contract_id, Instant from, Instant to) override {
        ++totals;  // sums over other actions: beyond any footprint
        return inner_.cap_totals(account_id, partner_id, contract_id, from, to);
    }
    void changed(Action& action, HistoryEntry entry) override {
        touched.insert(action.action_id);
        written.insert(action.action_id);
        inner_.changed(action, std::move(entry));
    }
    Action& created(Action action, HistoryEntry entry) override {
        ++creations;
        touched.insert(action.action_id);
        return inner_.created(std::move(action), std::move(entry));
    }
    // No action's row reads or moves funds.
    std::int64_t funds_balance(std::string_view) override {
        throw std::logic_error("funds read by an action's row");
    }
    void transferred(Transfer) override {
        throw std::logic_error("a transfer made by an action's row");
    }

private:
    Action* seen(Action* a) {
        if (a) touched.insert(a->action_id);
        return a;
    }
    MemoryLedger& inner_;
};

// A1 (C-1, which does not reverse children), I1 with items, H1 on an open-ended tracker;
// Q1 under C-2 (reverses children) with children Q2 (pending, with a child Q3) and Q4
// (approved); N1 and N2 of order ORD-1; X1 of account 2000.
struct Ledger : RulesFixture {
    Ledger() {
        create(conversion("A1", "100.00", "2026-03-10T10:00:00Z"), created_at);
        auto items = conversion("I1", "", "2026-03-10T10:00:00Z");
        items.items = {item(1, "TENT", "2", "150.00", "outdoor"),
                       item(2, "GPS", "1", "200.00", "electronics")};
        create(items, created_at);
        create(conversion("H1", "300.00", "2026-03-10T10:00:00Z", "P-77", "19817"), created_at);
        auto parent = conversion("Q1", "100.00", "2026-03-10T10:00:00Z", "P-99");
        parent.customer_id = "CUST-1";
        create(parent, created_at);
        auto child = conversion("Q2", "30.00", "2026-03-10T11:00:00Z", "P-99", "19818");
        child.customer_id = "CUST-1";
        create(child, created_at);
        auto grandchild = conversion("Q3", "20.00", "2026-03-10T12:00:00Z", "P-99", "19818");
        grandchild.parent_action_id = "Q2";
        create(grandchild, created_at);
        auto approved = conversion("Q4", "20.00", "2026-03-10T12:00:00Z", "P-99", "19818");
        approved.parent_action_id = "Q1";
        create(approved, created_at);
        action("Q4").status = Status::Approved;
        for (const char* id : {"N1", "N2"}) {
            auto row = conversion(id, "10.00", "2026-03-10T10:00:00Z");
            row.order_id = "ORD-1";
            create(row, created_at);
        }
        apply_conversion(catalog, catalog.accounts.at("2000"), ledger,
                         conversion("X1", "10.00", "2026-03-10"), BatchContext{"B0", created_at});
        REQUIRE(action("Q2").parent_action_id == "Q1");
    }

    // The action and its descendants, as the ledger links them now.
    std::set<std::string> with_descendants(const std::string& id) {
        std::set<std::string> out{id};
        for (bool grew = true; grew;) {
            grew = false;
            for (const auto& [key, a] : ledger.actions)
                if (key.first == "1000" && out.contains(a.parent_action_id) &&
                    out.insert(a.action_id).second)
                    grew = true;
        }
        return out;
    }
};

ModificationRow row_for(std::string id, std::string reason, std::string amount = "") {
    ModificationRow row = modification(std::move(id), std::move(reason));
    if (!amount.empty()) row.amount = std::move(amount);
    return row;
}

ModificationRow by_order(std::string order, std::string amount) {
    ModificationRow row = modification("", "ORDER_UPDATE");
    row.action_id.reset();
    row.order_id = std::move(order);
    row.tracker_id = "19816";
    row.amount = std::move(amount);
    return row;
}

ModificationRow with_disposition(std::string id, std::string code) {
    ModificationRow row = modification(std::move(id), "");
    row.disposition_code = std::move(code);
    return row;
}

struct Case {
    const char* name;
    ModificationRow row;
    std::function<void(Ledger&)> before = {};  // rows applied before, not recorded
};

std::vector<Case> cases() {
    auto items = modification("I1", "ORDER_UPDATE");
    items.items = {item(1, "TENT", "1")};
    auto empty_items = modification("I1", "ORDER_UPDATE");
    empty_items.items = {item(1, "TENT", "0"), item(2, "GPS", "0")};
    auto mismatch = row_for("A1", "ORDER_UPDATE", "80.00");
    mismatch.order_id = "O-OTHER";
    auto adjust = with_disposition("A1", "ADJUST");
    adjust.amount = "90.00";
    auto approve_with_change = with_disposition("A1", "STAY_COMPLETE");
    approve_with_change.amount = "120.00";
    auto reversed_first = [](Ledger& f) {
        REQUIRE(f.modify(row_for("A1", "CONS_FRAUD"), now).outcome == Outcome::Applied);
    };
    return {
        {"MODIFY by Amount", row_for("A1", "ORDER_UPDATE", "80.00")},
        {"MODIFY by items", items},
        {"MODIFY by disposition", adjust},
        {"MODIFY of a parent under a contract that reverses children",
         row_for("Q1", "ORDER_UPDATE", "90.00")},
        {"MODIFY by order", by_order("ORD-1", "5.00")},
        {"APPROVE", with_disposition("H1", "STAY_COMPLETE")},
        {"APPROVE with a change", approve_with_change},
        {"APPROVE of a parent", with_disposition("Q1", "STAY_COMPLETE")},
        {"REVERSE by reason", row_for("A1", "CONS_FRAUD")},
        {"REVERSE by an Amount of 0", row_for("A1", "ORDER_UPDATE", "0")},
        {"REVERSE by emptying the items", empty_items},
        {"REVERSE of a parent by reason: its children follow", row_for("Q1", "CONS_FRAUD")},
        {"REVERSE of a parent by disposition", with_disposition("Q1", "NO_SHOW")},
        {"REVERSE of a parent by an Amount of 0", row_for("Q1", "ORDER_UPDATE", "0")},
        {"REVERSE of a child: its own child follows", row_for("Q2", "CONS_FRAUD")},
        {"REVERSE by order", by_order("ORD-1", "0")},
        {"RESET of a modified action", row_for("A1", "RESET"),
         [](Ledger& f) {
             REQUIRE(f.modify(row_for("A1", "ORDER_UPDATE", "70.00"), now).outcome ==
                     Outcome::Applied);
         }},
        {"RESET of a reversed parent", row_for("Q1", "RESET"),
         [](Ledger& f) {
             REQUIRE(f.modify(row_for("Q1", "CONS_FRAUD"), now).outcome == Outcome::Applied);
         }},
        {"rejected: MALFORMED", row_for("A1", "ORDER_UPDATE", "1e3")},
        {"rejected: MALFORMED by order", by_order("ORD-1", "1e3")},
        {"rejected: unknown disposition", with_disposition("A1", "NOPE")},
        {"rejected: no such action", row_for("Z9", "ORDER_UPDATE", "80.00")},
        {"rejected: another account's action", row_for("X1", "ORDER_UPDATE", "80.00")},
        {"rejected: no such order", by_order("ORD-9", "5.00")},
        {"rejected: identifier mismatch", mismatch},
        {"rejected: nothing to change", modification("A1", "ORDER_UPDATE")},
        {"rejected: locked", row_for("Q4", "ORDER_UPDATE", "10.00")},
        {"rejected: reversed", row_for("A1", "ORDER_UPDATE", "80.00"), reversed_first},
        {"rejected: approved parent reversed", row_for("Q1", "CONS_FRAUD"),
         [](Ledger& f) {
             REQUIRE(f.modify(with_disposition("Q1", "STAY_COMPLETE"), now).outcome ==
                     Outcome::Applied);
         }},
    };
}

}  // namespace

TEST_CASE("footprint: before a row is applied, by how it names its action") {
    CHECK(row_footprint(row_for("A1", "ORDER_UPDATE", "80.00")).finds == RowFootprint::Finds::ById);
    CHECK(row_footprint(row_for("A1", "ORDER_UPDATE", "80.00")).descendants);
    // Identifiers count even when the form check refuses the row: it shows its action.
    CHECK(row_footprint(row_for("A1", "ORDER_UPDATE", "1e3")).finds == RowFootprint::Finds::ById);
    CHECK(row_footprint(by_order("ORD-1", "5.00")).finds == RowFootprint::Finds::ByOrder);
    CHECK(row_footprint(by_order("ORD-1", "5.00")).descendants);
    CHECK(row_footprint(by_order("ORD-1", "1e3")).finds == RowFootprint::Finds::ByOrder);
    // Without an ActionId, or both OrderId and ActionTrackerId, it reaches nothing.
    ModificationRow nameless = modification("", "ORDER_UPDATE");
    nameless.action_id.reset();
    CHECK(row_footprint(nameless).finds == RowFootprint::Finds::Nothing);
    CHECK_FALSE(row_footprint(nameless).descendants);
    ModificationRow order_only = by_order("ORD-1", "5.00");
    order_only.tracker_id.reset();
    CHECK(row_footprint(order_only).finds == RowFootprint::Finds::Nothing);
}

TEST_CASE("footprint: of each operation once applied, only a reversal reaches the descendants") {
    const ModificationRow row = row_for("A1", "ORDER_UPDATE", "80.00");
    for (Operation op :
         {Operation::None, Operation::Modify, Operation::Approve, Operation::Reset}) {
        const std::string name(operation_name(op));
        CAPTURE(name);
        CHECK(row_footprint(row, op).finds == RowFootprint::Finds::ById);
        CHECK_FALSE(row_footprint(row, op).descendants);
    }
    CHECK(row_footprint(row, Operation::Reverse).descendants);
    ModificationRow nameless = modification("", "ORDER_UPDATE");
    nameless.action_id.reset();
    CHECK(row_footprint(nameless, Operation::Reverse).finds == RowFootprint::Finds::Nothing);
    CHECK_FALSE(row_footprint(nameless, Operation::Reverse).descendants);
}

TEST_CASE("footprint: the rules touch no action outside a row's footprint") {
    std::set<Operation> applied;
    std::set<std::string> rejected;
    for (const Case& c : cases()) {
        CAPTURE(c.name);
        Ledger f;
        if (c.before) c.before(f);
        RecordingLedger recording(f.ledger);
        const RowResult r =
            apply_modification(f.catalog, f.account, recording, c.row, BatchContext{"B2", now});
        CAPTURE(r.message);
        const bool done = r.outcome == Outcome::Applied;
        done ? (void)applied.insert(r.operation)
             : (void)rejected.insert(std::string(error_name(r.error)));

        const RowFootprint before = row_footprint(c.row);
        const RowFootprint after = row_footprint(c.row, done ? r.operation : Operation::None);
        // What the footprint allows: the action found by the row's own ActionId, or by its order
        // (the newest of it); and its descendants when the footprint says so.
        std::string found;
        switch (before.finds) {
            case RowFootprint::Finds::Nothing:
                break;
            case RowFootprint::Finds::ById:
                found = *c.row.action_id;
                break;
            case RowFootprint::Finds::ByOrder:
                if (Action* a = f.ledger.find_by_order("1000", *c.row.order_id, *c.row.tracker_id))
                    found = a->action_id;
                break;
        }
        std::set<std::string> allowed;
        if (!found.empty())
            allowed = after.descendants ? f.with_descendants(found) : std::set<std::string>{found};
        // The bound known before the row is applied covers the one known after.
        CHECK((before.finds == after.finds));
        if (after.descendants) CHECK(before.descendants);

        for (const std::string& id : recording.touched) {
            CAPTURE(id);
            CHECK(allowed.contains(id));
        }
        for (const std::string& id : recording.written) CHECK(allowed.contains(id));
        if (!done) CHECK(recording.written.empty());
        CHECK(recording.by_order == (before.finds == RowFootprint::Finds::ByOrder ? 1 : 0));
        CHECK(recording.by_customer == 0);
        CHECK(recording.totals == 0);
        CHECK(recording.creations == 0);
        if (before.finds == RowFootprint::Finds::Nothing) CHECK(recording.touched.empty());
    }
    // The cases reach every operation of a modification and the ledger's own refusals.
    CHECK(applied == std::set<Operation>{Operation::Modify, Operation::Approve, Operation::Reverse,
                                         Operation::Reset});
    for (const char* code :
         {"MALFORMED", "UNKNOWN_DISPOSITION", "ACTION_REF_NOT_FOUND", "IDENTIFIER_MISMATCH",
          "NOTHING_TO_CHANGE", "ACTION_LOCKED", "ACTION_REVERSED"})
        CHECK(rejected.contains(code));
}

TEST_CASE("footprint: a reversal does reach the descendants, which the recording sees") {
    // Without this the test above could pass on a recording that misses what it should see.
    Ledger f;
    RecordingLedger recording(f.ledger);
    const RowResult r = apply_modification(f.catalog, f.account, recording,
                                           row_for("Q1", "CONS_FRAUD"), BatchContext{"B2", now});
    REQUIRE(r.outcome == Outcome::Applied);
    CHECK(recording.written == std::set<std::string>{"Q1", "Q2", "Q3"});
    CHECK(recording.touched == std::set<std::string>{"Q1", "Q2", "Q3", "Q4"});
}
