// invoices show and report invoices: the invoices a lifecycle run issued, which never change
// (docs/lifecycle.md, "Invoice").
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "money.hpp"

namespace actiondrop::cli {

namespace {

struct InvoiceOptions {
    std::string account;     // report invoices
    std::string invoice_id;  // invoices show
    bool json = false;
};

int show(const config::ServiceConfig& cfg, const InvoiceOptions& o) {
    auto s = open_migrated(cfg);
    const auto inv = funds_of(*s).invoice(o.invoice_id);
    if (!inv) {
        std::cerr << fmt::format("no invoice '{}'\n", o.invoice_id);
        return 1;
    }
    if (o.json)
        std::cout << json_text(invoice_json(*inv)) << "\n";
    else
        std::cout << invoice_csv(*inv);
    return exit_code::ok;
}

// Without --account, every account of the catalog, one after the other.
int report_invoices(const config::ServiceConfig& cfg, const InvoiceOptions& o) {
    auto s = open_migrated(cfg);
    const auto catalog = s->load_catalog();
    std::vector<std::string> accounts;
    if (!o.account.empty())
        accounts.push_back(account_named(catalog, o.account).id);
    else
        for (const auto& [id, account] : catalog.accounts) accounts.push_back(id);
    std::vector<nlohmann::ordered_json> rows;
    for (const std::string& id : accounts)
        for (const lifecycle::Invoice& inv : funds_of(*s).invoices(id))
            rows.push_back(invoice_json(inv));
    if (o.json)
        std::cout << json_text(nlohmann::ordered_json(rows)) << "\n";
    else
        print_csv(rows, {"invoice_id", "account_id", "partner_id", "invoice_date", "currency",
                         "actions", "transfers", "total"});
    return exit_code::ok;
}

}  // namespace

void add_invoice_commands(CLI::App& app, Commands& commands) {
    auto* invoices = app.add_subcommand("invoices", "the invoices issued to partners");
    invoices->require_subcommand(1);
    auto* show_cmd = invoices->add_subcommand("show", "one invoice and its lines (CSV or --json)");
    auto o = std::make_shared<InvoiceOptions>();
    show_cmd->add_option("ID", o->invoice_id, "INV-<account>-<YYYYMMDD>-<partner>")->required();
    show_cmd->add_flag("--json", o->json, "JSON instead of CSV");
    commands.push_back({show_cmd, [o](const config::ServiceConfig& cfg) { return show(cfg, *o); }});

    // `report` is made by add_action_commands, which main.cpp calls first.
    auto* rep =
        app.get_subcommand("report")->add_subcommand("invoices", "the invoices of an account");
    auto r = std::make_shared<InvoiceOptions>();
    rep->add_option("--account", r->account, "account id (default: every account)");
    rep->add_flag("--json", r->json, "JSON instead of CSV");
    commands.push_back(
        {rep, [r](const config::ServiceConfig& cfg) { return report_invoices(cfg, *r); }});
}

}  // namespace actiondrop::cli
