// action show|history and report actions|changes: the ledger's actions and their history.
#include <fmt/format.h>

#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "ledger/action.hpp"
#include "ledger/catalog.hpp"
#include "ledger/money.hpp"
#include "ledger/time.hpp"

namespace actiondrop::cli {

namespace {

struct ActionOptions {
    std::string account;
    bool json = false;
    std::string action_id;  // action show|history only
};

std::string amount_text(std::int64_t minor, const ledger::Currency* c) {
    return c ? ledger::format_minor(minor, *c) : std::to_string(minor);
}

nlohmann::ordered_json action_json(const ledger::Catalog& catalog, const ledger::Action& a) {
    const auto* account = catalog.account(a.account_id);
    const ledger::Currency* payout_currency = account ? account->currency : nullptr;
    nlohmann::ordered_json j;
    j["action_id"] = a.action_id;
    j["account_id"] = a.account_id;
    j["campaign_id"] = a.campaign_id;
    j["action_tracker_id"] = a.tracker_id;
    j["partner_id"] = a.partner_id;
    j["order_id"] = a.order_id;
    j["customer_id"] = a.customer_id;
    j["customer_status"] = a.customer_status;
    j["promo_code"] = a.promo_code;
    j["status"] = ledger::status_name(a.status);
    j["finance_status"] = ledger::finance_status_name(a.finance_status);
    j["currency"] = a.currency ? std::string(a.currency->code) : "";
    j["amount"] = amount_text(a.amount, a.currency);
    j["payout"] = amount_text(a.payout, payout_currency);
    j["payout_currency"] = payout_currency ? std::string(payout_currency->code) : "";
    j["event_date"] = ledger::format_instant(a.event_date);
    j["reported_event_date"] = ledger::format_instant(a.reported_event_date);
    j["locking_date"] = ledger::format_instant(a.locking_date);
    j["clearing_date"] = ledger::format_instant(a.clearing_date);
    // The life cycle's (docs/lifecycle.md): null until set.
    j["cleared_at"] = a.cleared_at ? nlohmann::ordered_json(ledger::format_instant(*a.cleared_at))
                                   : nlohmann::ordered_json(nullptr);
    j["invoice_id"] = a.invoice_id.empty() ? nlohmann::ordered_json(nullptr)
                                           : nlohmann::ordered_json(a.invoice_id);
    j["modification_count"] = a.modification_count;
    j["outside_terms"] = a.outside_terms;
    j["parent_action_id"] = a.parent_action_id;
    j["contract_id"] = a.contract_id;
    j["items"] = nlohmann::ordered_json::array();
    for (const auto& item : a.items) {
        nlohmann::ordered_json ij;
        ij["sku"] = item.sku;
        ij["category"] = item.category;
        ij["quantity"] = item.quantity;
        ij["amount"] = amount_text(item.amount, a.currency);
        j["items"].push_back(ij);
    }
    return j;
}

nlohmann::ordered_json history_json(const ledger::Catalog& catalog, const ledger::Action& a,
                                    const ledger::HistoryEntry& h) {
    const auto* account = catalog.account(a.account_id);
    const ledger::Currency* payout_currency = account ? account->currency : nullptr;
    nlohmann::ordered_json j;
    j["action_id"] = h.action_id;
    j["at"] = ledger::format_instant(h.at);
    j["batch_id"] = h.batch_id;
    j["line"] = h.line;
    j["operation"] = ledger::operation_name(h.operation);
    j["reason"] = h.reason;
    j["old_amount"] = amount_text(h.old_amount, a.currency);
    j["new_amount"] = amount_text(h.new_amount, a.currency);
    j["old_payout"] = amount_text(h.old_payout, payout_currency);
    j["new_payout"] = amount_text(h.new_payout, payout_currency);
    j["old_status"] = ledger::status_name(h.old_status);
    j["new_status"] = ledger::status_name(h.new_status);
    j["contract_id"] = h.contract_id;
    j["contract_version"] = h.contract_version ? ledger::format_instant(*h.contract_version) : "";
    j["note"] = h.note;
    return j;
}

// action show (history false) or action history.
int show_action(const config::ServiceConfig& cfg, const ActionOptions& o, bool history) {
    auto s = open_migrated(cfg);
    auto cat = s->load_catalog();
    account_named(cat, o.account);
    auto a = s->action(o.account, o.action_id);
    if (!a) {
        std::cerr << fmt::format("no action '{}' in account {}\n", o.action_id, o.account);
        return 1;
    }
    if (!history) {
        auto j = action_json(cat, *a);
        if (o.json) {
            std::cout << json_text(j) << "\n";
        } else {
            for (const auto& [key, value] : j.items())
                if (!value.is_structured())
                    std::cout << fmt::format(
                        "{:<20} {}\n", key,
                        value.is_string() ? value.get<std::string>() : json_text(value, -1));
            for (const auto& item : a->items)
                std::cout << fmt::format("{:<20} {} x{} {} ({})\n", "item", item.sku, item.quantity,
                                         amount_text(item.amount, a->currency), item.category);
        }
    } else {
        std::vector<nlohmann::ordered_json> rows;
        for (const auto& h : s->history(o.account, o.action_id))
            rows.push_back(history_json(cat, *a, h));
        if (o.json) {
            std::cout << json_text(nlohmann::ordered_json(rows)) << "\n";
        } else {
            for (const auto& r : rows) {
                // An entry of a life-cycle run has no batch; its note names the run.
                const auto batch = r["batch_id"].get<std::string>();
                const std::string source =
                    batch.empty()
                        ? r["note"].get<std::string>()
                        : fmt::format("batch {} line {}", batch, r["line"].get<std::int64_t>());
                std::cout << fmt::format(
                    "{}  {:<8} {:<18} amount {} -> {}  payout {} -> {}  {} -> {}  {}\n",
                    r["at"].get<std::string>(), r["operation"].get<std::string>(),
                    r["reason"].get<std::string>(), r["old_amount"].get<std::string>(),
                    r["new_amount"].get<std::string>(), r["old_payout"].get<std::string>(),
                    r["new_payout"].get<std::string>(), r["old_status"].get<std::string>(),
                    r["new_status"].get<std::string>(), source);
            }
        }
    }
    return exit_code::ok;
}

// report actions (changes false) or report changes.
int report(const config::ServiceConfig& cfg, const ActionOptions& o, bool changes) {
    auto s = open_migrated(cfg);
    auto cat = s->load_catalog();
    account_named(cat, o.account);
    ReportWriter out(o.json);
    if (changes)
        s->for_each_change(o.account, [&](const ledger::Action& a, const ledger::HistoryEntry& h) {
            out.add(history_json(cat, a, h));
        });
    else
        s->for_each_action(o.account,
                           [&](const ledger::Action& a) { out.add(action_json(cat, a)); });
    out.finish();
    return exit_code::ok;
}

}  // namespace

void add_action_commands(CLI::App& app, Commands& commands) {
    auto* action = app.add_subcommand("action", "one action");
    action->require_subcommand(1);
    auto* show = action->add_subcommand("show", "an action's current state");
    auto* history = action->add_subcommand("history", "every change of an action");
    for (auto* sub : {show, history}) {
        auto o = std::make_shared<ActionOptions>();
        sub->add_option("--account", o->account, "account id")->required();
        sub->add_flag("--json", o->json, "JSON instead of text");
        sub->add_option("ID", o->action_id)->required();
        const bool is_history = sub == history;
        commands.push_back({sub, [o, is_history](const config::ServiceConfig& cfg) {
                                return show_action(cfg, *o, is_history);
                            }});
    }

    auto* report_cmd = app.add_subcommand("report", "reports");
    report_cmd->require_subcommand(1);
    auto* actions = report_cmd->add_subcommand("actions", "every action of an account");
    auto* changes = report_cmd->add_subcommand("changes", "every change to an account's actions");
    for (auto* sub : {actions, changes}) {
        auto o = std::make_shared<ActionOptions>();
        sub->add_option("--account", o->account, "account id")->required();
        sub->add_flag("--json", o->json, "JSON instead of CSV");
        const bool is_changes = sub == changes;
        commands.push_back({sub, [o, is_changes](const config::ServiceConfig& cfg) {
                                return report(cfg, *o, is_changes);
                            }});
    }
}

}  // namespace actiondrop::cli
