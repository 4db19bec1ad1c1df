#pragma once
// The versioned schema of the SQLite store. Each step runs in its own transaction and
// records its version in schema_version, so an interrupted upgrade resumes where it stopped.
#include "store/sqlite/sqlite.hpp"

namespace actiondrop::store::sqlite {

// The version this program writes and reads.
int latest_schema_version();

// The version the database is at now (0 for an empty file).
int schema_version(Database& db);

// Brings the database up to latest_schema_version(); returns it. Throws StoreError when
// the database was written by a newer program.
int run_migrations(Database& db);

}  // namespace actiondrop::store::sqlite
