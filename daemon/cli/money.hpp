#pragma once
// What the life cycle's commands share (lifecycle.cpp, funds.cpp, invoices.cpp): the store's
// funds and invoices, the account a command names, times and amounts as the user writes them,
// and an invoice as JSON (docs/lifecycle.md).
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "failure.hpp"
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

inline const ledger::Account& account_named(const ledger::Catalog& catalog, std::string_view id) {
    const ledger::Account* account = catalog.account(id);
    if (!account) throw UsageError(fmt::format("unknown account '{}'", id));
    return *account;
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

// The invoice's JSON (invoice_<id>.json): its lines ordered by kind, then id; `actions` and
// `transfers` count the lines of each.
inline nlohmann::ordered_json invoice_json(const lifecycle::Invoice& inv) {
    nlohmann::ordered_json j;
    j["invoice_id"] = inv.invoice_id;
    j["account_id"] = inv.account_id;
    j["partner_id"] = inv.partner_id;
    j["invoice_date"] = ledger::format_instant(inv.invoice_date);
    j["currency"] = inv.currency ? std::string(inv.currency->code) : "";
    j["lines"] = nlohmann::ordered_json::array();
    for (const lifecycle::InvoiceLine& line : inv.lines) {
        nlohmann::ordered_json l;
        l["kind"] = std::string(line.kind());
        l["id"] = line.id;
        l["event_date"] = ledger::format_instant(line.event_date);
        l["cleared_at"] = ledger::format_instant(line.cleared_at);
        l["payout"] = money_text(line.payout, inv.currency);
        l["comments"] = line.comments;
        j["lines"].push_back(l);
    }
    j["actions"] = inv.action_count();
    j["transfers"] = inv.transfer_count();
    j["total"] = money_text(inv.total, inv.currency);
    return j;
}

}  // namespace actiondrop::cli
