#pragma once
// Shared by the apply tests that run files against a store: the time the files are applied
// at, the catalog of the end-to-end tests (tests/data/e2e/catalog.yaml), and a request for a
// file written into a folder.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "apply/apply_file.hpp"
#include "config/catalog_file.hpp"
#include "ledger/catalog.hpp"

namespace actiondrop::apply::testing {

// 2026-03-10T12:00:00Z: actions of the day before are recent and not locked.
inline const ledger::Instant kNow{
    std::chrono::sys_days{std::chrono::year{2026} / 3 / 10}.time_since_epoch() +
    std::chrono::hours{12}};

inline const ledger::Catalog& catalog() {
    static const ledger::Catalog c = *config::read_catalog_file(
        std::filesystem::path(ACTIONDROP_TEST_DATA) / "e2e/catalog.yaml");
    return c;
}

// A request to apply `text`, written to `folder`/`name`, as a file of `type` of account 1000,
// answered into `folder`/out (made here) through `folder`/spool.
inline ApplyRequest file_request(const std::filesystem::path& folder, const std::string& name,
                                 batch::FileType type, const std::string& text) {
    ApplyRequest req;
    req.file = folder / name;
    req.account_id = "1000";
    req.type = type;
    req.outbox = folder / "out";
    req.spool = folder / "spool";
    std::filesystem::create_directories(req.outbox);
    std::ofstream(req.file, std::ios::binary) << text;
    return req;
}

}  // namespace actiondrop::apply::testing
