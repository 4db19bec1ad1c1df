#include "ledger/footprint.hpp"

namespace actiondrop::ledger {

RowFootprint row_footprint(const ModificationRow& row) {
    if (row.action_id) return {RowFootprint::Finds::ById, true};
    // Without an ActionId a row is found by order, unless its form is refused first.
    if (check_modification_form(row).first != ErrorCode::None) return {RowFootprint::Finds::Nothing, false};
    return {RowFootprint::Finds::ByOrder, true};
}

RowFootprint row_footprint(const ModificationRow& row, Operation applied) {
    RowFootprint footprint = row_footprint(row);
    footprint.descendants = footprint.finds != RowFootprint::Finds::Nothing && applied == Operation::Reverse;
    return footprint;
}

}  // namespace actiondrop::ledger
