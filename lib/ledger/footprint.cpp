#include "ledger/footprint.hpp"

namespace actiondrop::ledger {

RowFootprint row_footprint(const ModificationRow& row) {
    // Even a row refused by its form looks its action up, to show its values.
    if (row.action_id) return {RowFootprint::Finds::ById, true};
    if (row.order_id && row.tracker_id) return {RowFootprint::Finds::ByOrder, true};
    return {RowFootprint::Finds::Nothing, false};
}

RowFootprint row_footprint(const ModificationRow& row, Operation applied) {
    RowFootprint footprint = row_footprint(row);
    footprint.descendants =
        footprint.finds != RowFootprint::Finds::Nothing && applied == Operation::Reverse;
    return footprint;
}

}  // namespace actiondrop::ledger
