#pragma once
// The funds ledger's rows in SQLite (docs/lifecycle.md, "Funds"): an entry added, the
// balance as the sum of the entries, and a transfer stored with its debit. Shared by a
// lifecycle run and by a batch of a funds_transfers file, inside the caller's transaction.
#include <cstdint>
#include <optional>
#include <string_view>

#include "ledger/funds.hpp"
#include "store/sqlite/sqlite.hpp"

namespace actiondrop::store::sqlite {

// `item` is the action's seq for a CLEARING entry, the transfer's for a TRANSFER one: the
// unique index on (kind, item) refuses a second debit of either.
void add_funds_entry(Database& db, std::string_view account_id, ledger::FundsEntry::Kind kind,
                     std::int64_t amount, ledger::Instant at, std::string_view reference,
                     std::optional<std::int64_t> item);

// The sum of the account's funds entries.
std::int64_t read_balance(Database& db, std::string_view account_id);

// The id of the next funds entry: after the last row's and after the range of ids that the
// last lifecycle run's debits take (docs/lifecycle.md, "A run's entries in SQLite").
std::int64_t next_funds_entry(Database& db);

// Stores the transfer (made by `batch_id`) and its TRANSFER debit dated at its applied_at;
// returns its seq.
std::int64_t insert_transfer(Database& db, const ledger::Transfer& transfer,
                             std::string_view batch_id);

}  // namespace actiondrop::store::sqlite
