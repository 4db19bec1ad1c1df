#pragma once
// Checks on a catalog that both the file reader and the merge with the stored catalog run.
#include <optional>
#include <string>
#include <string_view>

#include "ledger/catalog.hpp"

namespace actiondrop::config {

// When both contracts are for the same partner and cover a common tracker, that tracker
// quoted ("'19816'"), or "(every tracker)"; nullopt when they can live side by side.
std::optional<std::string> shared_tracker(const ledger::Contract& x, const ledger::Contract& y);

// "2026-01-31".
std::string date_text(ledger::Days day);

// The key paths that name an account or a contract by id in the errors of loading again and
// in CatalogSites: "accounts[id=A]", "accounts[id=A].contracts[id=C]".
std::string account_key(std::string_view account);
std::string contract_key(std::string_view account, std::string_view contract);

}  // namespace actiondrop::config
