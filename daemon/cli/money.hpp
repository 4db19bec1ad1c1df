#pragma once
// What the life cycle's commands share (lifecycle.cpp, funds.cpp, invoices.cpp): the store's
// funds and invoices, the account a command names, times and amounts as the user writes them,
// and an invoice as JSON (docs/lifecycle.md).
#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

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

// The invoice as invoice_<id>.csv has it: one line per action or transfer, by kind, then id,
// CRLF line ends, and a cell that a spreadsheet would run as a formula behind a quote, as
// every report of the CLI (print_csv).
inline std::string invoice_csv(const lifecycle::Invoice& inv) {
    auto cell = [](std::string s) {
        if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                           s[0] == '\t' || s[0] == '\r'))
            s.insert(0, "'");
        if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    std::string out =
        "InvoiceId,InvoiceDate,PartnerId,Kind,Id,EventDate,ClearedAt,Payout,Currency,Comments\r\n";
    const std::string currency = inv.currency ? std::string(inv.currency->code) : "";
    for (const lifecycle::InvoiceLine& line : inv.lines) {
        out += cell(inv.invoice_id) + ',' + cell(ledger::format_instant(inv.invoice_date)) + ',' +
               cell(inv.partner_id) + ',' + cell(std::string(line.kind())) + ',' + cell(line.id) +
               ',' + cell(ledger::format_instant(line.event_date)) + ',' +
               cell(ledger::format_instant(line.cleared_at)) + ',' +
               cell(money_text(line.payout, inv.currency)) + ',' + cell(currency) + ',' +
               cell(line.comments) + "\r\n";
    }
    return out;
}

// STATE_DIR/invoices/<account>/: where the invoice files are written (docs/lifecycle.md,
// "From the command line").
inline std::filesystem::path invoice_folder(const std::filesystem::path& state_dir,
                                            std::string_view account_id) {
    return state_dir / "invoices" / std::string(account_id);
}

}  // namespace actiondrop::cli
