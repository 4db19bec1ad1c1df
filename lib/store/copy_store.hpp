#pragma once
// Moving a ledger from SQLite to PostgreSQL (docs/postgres.md, "Moving a SQLite ledger over"):
// every table copied row for row in one PostgreSQL transaction, then counted and summed on
// both sides; the copy is committed only when every figure agrees.
#include <functional>
#include <string>
#include <vector>

#include "store/store_error.hpp"

namespace actiondrop::store {

// One figure compared between the two stores: a table's rows, or a sum of money.
struct CopyCheck {
    std::string what;  // "actions: rows", "actions: sum of payout", ...
    std::string source;
    std::string target;
    bool agrees() const { return source == target; }
};

struct CopyReport {
    std::vector<CopyCheck> checks;
    bool agrees() const {
        for (const CopyCheck& c : checks)
            if (!c.agrees()) return false;
        return !checks.empty();
    }
};

// Copies the SQLite store of `from` (migrated to the latest schema first) into the empty
// PostgreSQL store of `to` (migrated too), then compares them. Nothing is kept in `to` unless
// every check agrees; the report says what was compared either way. A target that holds a
// ledger already, or URLs of other kinds, are a StoreError. `progress` hears each table done.
CopyReport copy_store(
    const std::string& from, const std::string& to,
    const std::function<void(const std::string& table, std::int64_t rows)>& progress = {});

}  // namespace actiondrop::store
