// funds deposit|balance and report funds: an account's funds, the entries whose sum is its
// balance (docs/lifecycle.md, "Funds").
#include "ledger/funds.hpp"

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "../exit_codes.hpp"
#include "../wall_clock.hpp"
#include "command.hpp"
#include "money.hpp"

namespace actiondrop::cli {

namespace {

struct FundsOptions {
    std::string account;
    std::string amount;     // deposit only
    std::string reference;  // deposit only
    std::string at;         // deposit only: when, instead of now
    bool json = false;
};

int deposit(const config::ServiceConfig& cfg, const FundsOptions& o) {
    auto s = open_migrated(cfg);
    const auto catalog = s->load_catalog();
    const ledger::Account& account = account_named(catalog, o.account);
    // Exact decimal money (docs/rules.md, "Writing an amount"), in the account's currency.
    const auto decimal = ledger::parse_amount(o.amount);
    if (!decimal) throw UsageError(fmt::format("amount '{}': {}", o.amount, decimal.error()));
    const auto minor = ledger::to_minor(*decimal, *account.currency);
    if (!minor) throw UsageError(fmt::format("amount '{}': {}", o.amount, minor.error()));
    if (*minor <= 0)
        throw UsageError(fmt::format("amount '{}': a deposit must be more than 0", o.amount));
    const ledger::Instant at = o.at.empty() ? system_now() : time_option("--at", o.at, account);
    const auto balance = funds_of(*s).deposit(account.id, *minor, at, o.reference);
    if (!balance)
        throw UsageError(fmt::format("amount '{}': the balance would be too large", o.amount));
    if (o.json) {
        nlohmann::ordered_json j;
        j["account_id"] = account.id;
        j["at"] = ledger::format_instant(at);
        j["amount"] = money_text(*minor, account.currency);
        j["reference"] = o.reference;
        j["balance"] = money_text(*balance, account.currency);
        j["currency"] = std::string(account.currency->code);
        std::cout << json_text(j) << "\n";
    } else {
        std::cout << fmt::format("deposited {} {} into account {}; balance {} {}\n",
                                 money_text(*minor, account.currency), account.currency->code,
                                 account.id, money_text(*balance, account.currency),
                                 account.currency->code);
    }
    return exit_code::ok;
}

int balance(const config::ServiceConfig& cfg, const FundsOptions& o) {
    auto s = open_migrated(cfg);
    const auto catalog = s->load_catalog();
    const ledger::Account& account = account_named(catalog, o.account);
    const std::int64_t balance = funds_of(*s).balance(account.id);
    if (o.json) {
        nlohmann::ordered_json j;
        j["account_id"] = account.id;
        j["balance"] = money_text(balance, account.currency);
        j["currency"] = std::string(account.currency->code);
        std::cout << json_text(j) << "\n";
    } else {
        std::cout << fmt::format("{} {}\n", money_text(balance, account.currency),
                                 account.currency->code);
    }
    return exit_code::ok;
}

// Every entry in the order made, with the balance after it (docs/lifecycle.md, "Funds": a
// debit may be dated before a deposit made earlier, so the order is not the dates').
// Without --account, every account of the catalog, one after the other.
int report_funds(const config::ServiceConfig& cfg, const FundsOptions& o) {
    auto s = open_migrated(cfg);
    const auto catalog = s->load_catalog();
    std::vector<const ledger::Account*> accounts;
    if (!o.account.empty())
        accounts.push_back(&account_named(catalog, o.account));
    else
        for (const auto& [id, account] : catalog.accounts) accounts.push_back(&account);
    std::vector<nlohmann::ordered_json> rows;
    for (const ledger::Account* a : accounts) {
        const ledger::Account& account = *a;
        std::int64_t running = 0;
        for (const ledger::FundsEntry& e : funds_of(*s).funds_entries(account.id)) {
            running += e.signed_amount();
            nlohmann::ordered_json j;
            j["account_id"] = account.id;
            j["at"] = ledger::format_instant(e.at);
            j["kind"] = std::string(ledger::funds_entry_kind_name(e.kind));
            // Signed as the balance counts it: the amounts add up to the balance.
            j["amount"] = money_text(e.signed_amount(), account.currency);
            j["reference"] = e.reference;
            j["balance"] = money_text(running, account.currency);
            j["currency"] = std::string(account.currency->code);
            rows.push_back(std::move(j));
        }
    }
    if (o.json)
        std::cout << json_text(nlohmann::ordered_json(rows)) << "\n";
    else
        print_csv(rows, {"account_id", "at", "kind", "amount", "reference", "balance", "currency"});
    return exit_code::ok;
}

}  // namespace

void add_funds_commands(CLI::App& app, Commands& commands) {
    auto* funds = app.add_subcommand("funds", "an account's funds");
    funds->require_subcommand(1);

    auto* dep = funds->add_subcommand("deposit", "add money to an account's funds");
    auto d = std::make_shared<FundsOptions>();
    dep->add_option("--account", d->account, "account id")->required();
    dep->add_option("AMOUNT", d->amount, "in the account's currency, e.g. 150.00")->required();
    dep->add_option("--reference", d->reference, "a text kept with the deposit");
    dep->add_option("--at", d->at, "when it was made, instead of now");
    dep->add_flag("--json", d->json, "JSON instead of text");
    commands.push_back({dep, [d](const config::ServiceConfig& cfg) { return deposit(cfg, *d); }});

    auto* bal = funds->add_subcommand("balance", "an account's funds balance");
    auto b = std::make_shared<FundsOptions>();
    bal->add_option("--account", b->account, "account id")->required();
    bal->add_flag("--json", b->json, "JSON instead of text");
    commands.push_back({bal, [b](const config::ServiceConfig& cfg) { return balance(cfg, *b); }});

    // `report` is made by add_action_commands, which main.cpp calls first.
    auto* report = app.get_subcommand("report");
    auto* rep = report->add_subcommand("funds",
                                       "every funds entry of an account, with the running balance");
    auto r = std::make_shared<FundsOptions>();
    rep->add_option("--account", r->account, "account id (default: every account)");
    rep->add_flag("--json", r->json, "JSON instead of CSV");
    commands.push_back(
        {rep, [r](const config::ServiceConfig& cfg) { return report_funds(cfg, *r); }});
}

}  // namespace actiondrop::cli
