#pragma once
// The port of the business catalog: accounts, contracts and FX rates, as loaded by
// `actiondrop catalog load` (docs/formats.md, "The catalog file").
#include "ledger/catalog.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

class CatalogStore {
public:
    virtual ~CatalogStore() = default;

    // The whole catalog (time zones looked up again from their names). A damaged account
    // document is a StoreError.
    virtual ledger::Catalog load_catalog() = 0;
    // Replaces the whole catalog in one transaction.
    virtual void save_catalog(const ledger::Catalog& catalog) = 0;
};

}  // namespace actiondrop::store
