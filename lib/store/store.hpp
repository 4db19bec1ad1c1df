#pragma once
// Persistence of the catalog, the action ledger and the batch journal (docs/ingest.md,
// "The journal of a batch"; README.md, "How a file is applied exactly once").
// A consumer depends on the port it uses, one header each: catalog_store.hpp,
// batch_journal.hpp, pull_journal.hpp, batch_transaction.hpp (with the optional
// key_order.hpp) and reports.hpp. A Store is all of them at once, for the callers that need
// several, and may have the optional lifecycle_ledger.hpp. SQLite (store/sqlite/) is the
// embedded default; PostgreSQL will implement the same ports in a folder of its own.
// Failures of the machine (disk full, database locked too long, corrupt file) are thrown as
// StoreError; nothing a user's file contains can make this layer fail.
#include "store/batch_journal.hpp"
#include "store/batch_transaction.hpp"
#include "store/catalog_store.hpp"
#include "store/lifecycle_ledger.hpp"
#include "store/open_store.hpp"
#include "store/pull_journal.hpp"
#include "store/reports.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

class Store : public CatalogStore,
              public BatchJournal,
              public PullJournal,
              public BatchTransactions,
              public Reports {
public:
    ~Store() override = default;

    // Runs the versioned migrations up to the current schema; returns its version.
    virtual int migrate() = 0;

    // The life cycle's funds and invoices (lifecycle_ledger.hpp), or nullptr for a store that
    // has none yet. It lives as long as the store.
    virtual LifecycleLedger* lifecycle_ledger() { return nullptr; }

    // Why this store cannot take a commit now, found without a query, or empty: for SQLite,
    // a ledger file moved or deleted under the process (docs/architecture.md, "The ledger
    // file"). Cheap enough to ask at every round of the service.
    virtual std::string problem() const { return {}; }
};

}  // namespace actiondrop::store
