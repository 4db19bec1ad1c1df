#pragma once
// The batch journal as a state machine (docs/ingest.md, "The journal of a batch"): every
// move a batch's record may make, in one place. The apply path, the claims and the CLI move
// a record only through move_to(), so a move that the design does not allow is a bug that
// shows at once instead of a journal that lies.
//
//   claimed ──commit──▶ applied ──deliver──▶ delivered ──keep original──▶ archived | failed
//      │                   │
//      └──refused, or──────┴──undeliverable──▶ quarantined
//         max attempts
//
// A final state (archived, failed, quarantined) may be written again unchanged: after a
// crash between the journal's record and the move of the original, the move is redone.
#include <stdexcept>
#include <string>

#include "store/batch_state.hpp"
#include "store/store.hpp"

namespace actiondrop::apply {

using store::BatchState;

// A move the journal does not allow: a bug in the caller, never the uploader's doing.
struct JournalError : std::logic_error {
    using std::logic_error::logic_error;
};

// Whether a record in `from` may move to `to`.
bool may_move(BatchState from, BatchState to);

// Moves `record` to `to`, or throws JournalError naming the batch and both states.
void move_to(store::BatchRecord& record, BatchState to);

// Whether the record's rows (or its file-level rejection) are committed: it is past
// `claimed`, or quarantined with a status. A committed batch is never applied again.
bool committed(const store::BatchRecord& record);

// The final state of a decided batch once its original is kept: archived when COMPLETE,
// failed when REJECTED.
BatchState kept_state(const store::BatchRecord& record);

// Decides `record` as set aside with nothing of it applied: quarantined, REJECTED with
// QUARANTINED and `reason`, no rows counted, completed at `now`. The caller writes it.
void set_aside(store::BatchRecord& record, std::string reason, ledger::Instant now);

}  // namespace actiondrop::apply
