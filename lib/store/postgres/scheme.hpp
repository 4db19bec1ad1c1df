#pragma once
// The PostgreSQL store as open_store() knows it: "postgresql://…" or "postgres://…", a libpq
// connection URL (docs/postgres.md).
#include "store/store_scheme.hpp"

namespace actiondrop::store::postgres {

extern const StoreScheme kScheme;
extern const StoreScheme kShortScheme;  // "postgres://", libpq's other spelling

}  // namespace actiondrop::store::postgres
