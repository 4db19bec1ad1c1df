#pragma once
// The versioned schema of the PostgreSQL store (docs/postgres.md, "Schema"). Every step runs
// in one transaction under a transaction-level advisory lock, so that instances starting at
// once migrate one after the other.
#include "store/postgres/pg.hpp"

namespace actiondrop::store::postgres {

int latest_schema_version();
// The schema's version, 0 when it has none yet.
int schema_version(Connection& db);
// Brings the schema to the latest version; returns it. A newer schema than this program
// knows is a StoreError.
int run_migrations(Connection& db);

}  // namespace actiondrop::store::postgres
