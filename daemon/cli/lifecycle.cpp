// lifecycle run: lock, clear and invoice, one transaction per account (docs/lifecycle.md,
// "A run"), and what it did.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "../exit_codes.hpp"
#include "../wall_clock.hpp"
#include "command.hpp"
#include "ingest/invoice_files.hpp"
#include "lifecycle/run.hpp"
#include "money.hpp"

namespace actiondrop::cli {

namespace {

struct RunOptions {
    std::string now;      // default: the clock
    std::string account;  // default: every account
    bool json = false;
};

nlohmann::ordered_json run_json(const ledger::Account& account, const lifecycle::RunDecisions& d,
                                std::int64_t balance) {
    const ledger::Currency* c = account.currency;
    nlohmann::ordered_json j;
    j["account_id"] = account.id;
    j["now"] = ledger::format_instant(d.now);
    j["locked"] = nlohmann::ordered_json::array();
    for (const lifecycle::Lock& l : d.locks) {
        nlohmann::ordered_json x;
        x["action_id"] = l.action_id;
        x["at"] = ledger::format_instant(l.at);
        x["finance_status"] = std::string(ledger::finance_status_name(l.finance_status));
        j["locked"].push_back(x);
    }
    j["cleared"] = nlohmann::ordered_json::array();
    for (const lifecycle::Clear& cl : d.clearing.clears) {
        nlohmann::ordered_json x;
        x["action_id"] = cl.action_id;
        x["payout"] = money_text(cl.payout, c);
        x["cleared_at"] = ledger::format_instant(cl.cleared_at);
        x["was_overdue"] = cl.was_overdue;
        j["cleared"].push_back(x);
    }
    j["overdue"] = nlohmann::ordered_json::array();
    for (const lifecycle::Overdue& o : d.clearing.overdue) {
        nlohmann::ordered_json x;
        x["action_id"] = o.action_id;
        x["payout"] = money_text(o.payout, c);
        x["due_at"] = ledger::format_instant(o.due_at);
        x["first_time"] = o.first_time;
        j["overdue"].push_back(x);
    }
    j["overdue_amount"] = money_text(d.clearing.overdue_amount(), c);
    j["invoices"] = nlohmann::ordered_json::array();
    for (const lifecycle::Invoice& inv : d.invoices) j["invoices"].push_back(invoice_json(inv));
    j["balance"] = money_text(balance, c);
    j["currency"] = c ? std::string(c->code) : "";
    j["invoice_calendar_ended"] = d.invoice_calendar_ended;
    return j;
}

void print_run(const ledger::Account& account, const lifecycle::RunDecisions& d,
               std::int64_t balance) {
    const ledger::Currency* c = account.currency;
    const std::string code = c ? std::string(c->code) : "";
    std::cout << fmt::format(
        "account {} at {}: locked {}, cleared {}, overdue {} ({} {}), invoices {}, balance {} {}\n",
        account.id, ledger::format_instant(d.now), d.locks.size(), d.clearing.clears.size(),
        d.clearing.overdue.size(), money_text(d.clearing.overdue_amount(), c), code,
        d.invoices.size(), money_text(balance, c), code);
    for (const lifecycle::Lock& l : d.locks)
        std::cout << fmt::format("  locked   {} at {}\n", l.action_id,
                                 ledger::format_instant(l.at));
    for (const lifecycle::Clear& cl : d.clearing.clears)
        std::cout << fmt::format("  cleared  {} {} {} at {}\n", cl.action_id,
                                 money_text(cl.payout, c), code,
                                 ledger::format_instant(cl.cleared_at));
    for (const lifecycle::Overdue& o : d.clearing.overdue)
        std::cout << fmt::format("  overdue  {} {} {} due {}{}\n", o.action_id,
                                 money_text(o.payout, c), code, ledger::format_instant(o.due_at),
                                 o.first_time ? "" : " (still)");
    for (const lifecycle::Invoice& inv : d.invoices)
        std::cout << fmt::format("  invoiced {} partner {} total {} {} ({} lines)\n",
                                 inv.invoice_id, inv.partner_id, money_text(inv.total, c), code,
                                 inv.lines.size());
    if (d.invoice_calendar_ended)
        std::cout << fmt::format(
            "  warning: items wait for an invoice and the period_ends list of account {} has "
            "no later date\n",
            account.id);
}

int run(const config::ServiceConfig& cfg, const RunOptions& o) {
    auto s = open_migrated(cfg);
    const auto catalog = s->load_catalog();
    std::vector<const ledger::Account*> accounts;
    if (!o.account.empty())
        accounts.push_back(&account_named(catalog, o.account));
    else
        for (const auto& [id, account] : catalog.accounts) accounts.push_back(&account);
    // --now is read in each account's zone, and checked before any account runs; the clock
    // is read once for all of them.
    if (!o.now.empty())
        for (const ledger::Account* a : accounts) time_option("--now", o.now, *a);
    const ledger::Instant clock = system_now();
    store::LifecycleLedger& funds = funds_of(*s);
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const ledger::Account* a : accounts) {
        const ledger::Instant now = o.now.empty() ? clock : time_option("--now", o.now, *a);
        const lifecycle::RunDecisions d = funds.run_lifecycle(*a, now);
        const std::int64_t balance = funds.balance(a->id);
        // Every invoice of the account without its files, not only those of this run: a run
        // stopped after its commit left its own to this one (ingest/invoice_files.hpp).
        ingest::write_missing_invoice_files(funds, ingest::invoice_destinations(cfg, a->id), a->id);
        if (o.json)
            all.push_back(run_json(*a, d, balance));
        else
            print_run(*a, d, balance);
    }
    if (o.json) std::cout << all.dump(2) << "\n";
    return exit_code::ok;
}

}  // namespace

void add_lifecycle_commands(CLI::App& app, Commands& commands) {
    auto* lifecycle = app.add_subcommand("lifecycle", "the life cycle of locked actions");
    lifecycle->require_subcommand(1);
    auto* run_cmd = lifecycle->add_subcommand(
        "run", "lock, clear against the funds and invoice, one transaction per account");
    auto o = std::make_shared<RunOptions>();
    run_cmd->add_option("--now", o->now, "run as if the time were T (default: now)");
    run_cmd->add_option("--account", o->account, "one account (default: every account)");
    run_cmd->add_flag("--json", o->json, "JSON instead of text");
    commands.push_back({run_cmd, [o](const config::ServiceConfig& cfg) { return run(cfg, *o); }});
}

}  // namespace actiondrop::cli
