#pragma once
// The one error of the store floor: a failure of the machine (disk full, database locked too
// long, a corrupt file or row), never something a user's file contains.
#include <stdexcept>

namespace actiondrop::store {

struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace actiondrop::store
