#pragma once
// The SQLite store as open_store() knows it: "sqlite:PATH", "sqlite:///PATH", or a plain path.
#include "store/store_scheme.hpp"

namespace actiondrop::store::sqlite {

extern const StoreScheme kScheme;

}  // namespace actiondrop::store::sqlite
