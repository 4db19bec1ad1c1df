#pragma once
// Shared by the apply tests that run files against a store: the time the files are applied
// at and the catalog of the end-to-end tests (tests/data/e2e/catalog.yaml).
#include <chrono>
#include <filesystem>

#include "config/catalog_file.hpp"
#include "ledger/catalog.hpp"

namespace actiondrop::apply::testing {

// 2026-03-10T12:00:00Z: actions of the day before are recent and not locked.
inline const ledger::Instant kNow{
    std::chrono::sys_days{std::chrono::year{2026} / 3 / 10}.time_since_epoch() +
    std::chrono::hours{12}};

inline const ledger::Catalog& catalog() {
    static const ledger::Catalog c =
        *config::read_catalog_file(std::filesystem::path(ACTIONDROP_TEST_DATA) / "e2e/catalog.yaml");
    return c;
}

}  // namespace actiondrop::apply::testing
