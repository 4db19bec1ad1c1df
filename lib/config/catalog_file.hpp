#pragma once
// The catalog file read from YAML into ledger::Catalog, and the rules for loading a
// catalog again over the one in the store (docs/formats.md, "The catalog file").
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "ledger/catalog.hpp"

namespace actiondrop::config {

// Where a catalog file wrote its accounts (and their currency), contracts (and their
// partner) and contract versions: 1-based line and column, by the key paths that the errors
// of loading again use ("accounts[id=A].contracts[id=C].versions[effective_from=T]").
struct CatalogSite {
    int line = 0;
    int column = 0;
};
using CatalogSites = std::map<std::string, CatalogSite, std::less<>>;

// Parses and validates a catalog file: every error names file, line, key. Duplicate
// mapping keys are errors. Time zones are looked up here, once. `sites`, when given, is
// filled for merge_catalog().
std::expected<ledger::Catalog, std::vector<ConfigError>> read_catalog_file(
    const std::filesystem::path& file, CatalogSites* sites = nullptr);
std::expected<ledger::Catalog, std::vector<ConfigError>> read_catalog_text(
    std::string_view yaml, std::string_view file_name, CatalogSites* sites = nullptr);

// Loading again updates: accounts, trackers, dispositions, partners and contracts are
// matched by id and replaced; contract versions are matched by effective_from; a version
// already in force at `now` cannot be changed (add a new one), and versions in the store
// that the file omits are kept; two contracts covering the same partner and tracker are
// refused; FX rates are matched by (currency, account_currency, effective_from). An error
// names the line of `incoming` in `sites` (of what it refuses, or of the account or contract
// it is in) when the file's sites are given.
std::expected<ledger::Catalog, std::vector<ConfigError>> merge_catalog(
    const ledger::Catalog& stored, const ledger::Catalog& incoming, ledger::Instant now,
    std::string_view file_name, const CatalogSites& sites = {});

}  // namespace actiondrop::config
