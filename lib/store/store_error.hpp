#pragma once
// The one error of the store floor: a failure of the machine (disk full, database locked too
// long, a corrupt file or row), never something a user's file contains.
#include <stdexcept>

namespace actiondrop::store {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A batch's commit found its journal record committed already: another attempt, in this
// service or another one that took over its claim, committed it first (docs/ingest.md, "The
// journal of a batch"). Nothing of this attempt was written; the committed batch stands.
struct BatchCommittedElsewhere : StoreError {
    using StoreError::StoreError;
};

}  // namespace actiondrop::store
