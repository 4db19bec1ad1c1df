#include "apply/journal.hpp"

#include <fmt/format.h>

#include <utility>

#include "ledger/errors.hpp"

namespace actiondrop::apply {

bool may_move(BatchState from, BatchState to) {
    using S = BatchState;
    switch (from) {
        case S::Claimed:  // another attempt, its commit, or a quarantine before any commit
            return to == S::Claimed || to == S::Applied || to == S::Quarantined;
        case S::Applied:
            return to == S::Delivered || to == S::Quarantined;
        case S::Delivered:
            return to == S::Archived || to == S::Failed;
        case S::Archived:
        case S::Failed:
        case S::Quarantined:
            return to == from;
    }
    return false;
}

void move_to(store::BatchRecord& record, BatchState to) {
    if (!may_move(record.state, to))
        throw JournalError(fmt::format("batch {}: the journal cannot move from {} to {}",
                                       record.batch_id, store::state_name(record.state),
                                       store::state_name(to)));
    record.state = to;
}

bool committed(const store::BatchRecord& record) { return !record.status.empty(); }

BatchState kept_state(const store::BatchRecord& record) {
    return record.status == "COMPLETE" ? BatchState::Archived : BatchState::Failed;
}

void set_aside(store::BatchRecord& record, std::string reason, ledger::Instant now) {
    move_to(record, BatchState::Quarantined);
    record.status = "REJECTED";
    record.error_code = std::string(ledger::error_name(ledger::ErrorCode::Quarantined));
    record.error_message = std::move(reason);
    record.error_line.reset();
    record.completed_at = now;
    record.total = record.applied = record.rejected = 0;
    record.error_counts_json = "{}";
}

}  // namespace actiondrop::apply
