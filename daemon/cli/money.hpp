#pragma once
// What the life cycle's commands share (lifecycle.cpp, funds.cpp, invoices.cpp): the store's
// funds and invoices, times and amounts as the user writes them, and an invoice as CSV and
// JSON (ingest/invoice_files.hpp; docs/lifecycle.md). The account a command names is
// account_named() of command.hpp.
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "failure.hpp"
#include "ingest/invoice_files.hpp"
#include "ledger/catalog.hpp"
#include "ledger/money.hpp"
#include "ledger/time.hpp"
#include "lifecycle/invoice.hpp"
#include "store/store.hpp"

namespace actiondrop::cli {

// The store's funds and invoices; a store without them cannot serve the command.
inline store::LifecycleLedger& funds_of(store::Store& s) {
    store::LifecycleLedger* ledger = s.lifecycle_ledger();
    if (!ledger) throw store::StoreError("this store keeps no funds or invoices");
    return *ledger;
}

// A time as in files (docs/rules.md, "Dates and times in files"), in the account's zone
// without an offset; `option` names it in the error.
inline ledger::Instant time_option(std::string_view option, std::string_view text,
                                   const ledger::Account& account) {
    auto t = ledger::parse_instant(text, account.timezone);
    if (!t) throw UsageError(fmt::format("{} '{}': {}", option, text, t.error()));
    return *t;
}

inline std::string money_text(std::int64_t minor, const ledger::Currency* currency) {
    return currency ? ledger::format_minor(minor, *currency) : std::to_string(minor);
}

// The invoice's files (invoice_<id>.csv and .json) are written by the daemon too.
using ingest::invoice_csv;
using ingest::invoice_json;

}  // namespace actiondrop::cli
