#pragma once
// What one modification row may read or change in the ledger (docs/rules.md, "Naming the
// action", "What each operation does", "Reversal of chained children"): the action it names,
// and, when it reverses that action, the action's descendants (its children, theirs, and so
// on). Nothing else: no other action, no totals of a partner, nothing created.
//
// So rows whose footprints do not meet cannot see each other's effects, and may be applied
// in any order relative to each other: this is what lets a file be applied grouped by the
// store's key (apply/key_order/plan.hpp). tests/unit/ledger/test_ledger_footprint.cpp runs
// the rules on a ledger that records every action they read or write, and fails as soon as
// a rule reaches beyond the footprint given here.
#include "ledger/action.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::ledger {

struct RowFootprint {
    enum class Finds {
        Nothing,  // names no action (no identifiers): touches none
        ById,     // the action its ActionId names
        ByOrder,  // the newest action of its OrderId and ActionTrackerId
    };
    Finds finds = Finds::Nothing;
    // The found action's descendants too (children, theirs, ...), which a reversal reaches.
    bool descendants = false;
};

// A row's footprint before it is applied: an upper bound. Whether a row reverses is known only
// once its action is read (an Amount that brings the order to 0, an item change that empties
// it), so every row that finds an action may reach its descendants. A row with identifiers
// finds its action even when its form is refused: a rejected row shows the values of the
// action it names (docs/rules.md, "Row checks of a modification").
RowFootprint row_footprint(const ModificationRow& row);

// The footprint of a row once applied with `applied` (RowResult::operation of an applied row;
// Operation::None for a rejected one, which at most read its action): only a reversal goes
// past the action.
RowFootprint row_footprint(const ModificationRow& row, Operation applied);

}  // namespace actiondrop::ledger
