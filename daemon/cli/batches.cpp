// batches list|show|redeliver|abandon: the batch journal, a batch's answers written again, and
// an undecided batch settled by an operator.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "../exit_codes.hpp"
#include "../wall_clock.hpp"
#include "apply/apply_file.hpp"
#include "apply/delivery.hpp"
#include "apply/journal.hpp"
#include "command.hpp"
#include "ledger/time.hpp"
#include "store/batch_state.hpp"
#include "util/folder.hpp"

namespace fs = std::filesystem;

namespace actiondrop::cli {

namespace {

struct BatchOptions {
    std::string account;  // batches list only
    bool json = false;    // batches list only
    std::string batch_id;
    std::string outbox;  // batches redeliver only
};

nlohmann::ordered_json batch_json(const store::BatchRecord& b) {
    nlohmann::ordered_json j;
    j["batch_id"] = b.batch_id;
    j["account_id"] = b.account_id;
    j["inbox"] = b.inbox;
    j["file"] = b.file_name;
    j["sha256"] = b.sha256;
    j["size"] = b.size;
    j["type"] = b.type;
    j["state"] = std::string(store::state_name(b.state));
    j["status"] = b.status;
    j["total"] = b.total;
    j["applied"] = b.applied;
    j["rejected"] = b.rejected;
    j["error_code"] = b.error_code;
    j["error_message"] = b.error_message;
    j["attempts"] = b.attempts;
    j["delivery_failures"] = b.delivery_failures;
    j["received_at"] = ledger::format_instant(b.received_at);
    j["completed_at"] = b.completed_at ? ledger::format_instant(*b.completed_at) : "";
    // A service's claim holds its account's later files until decided; a command-line run's
    // record holds nothing (docs/ingest.md, "Arrival order").
    j["claim"] = b.claim;
    return j;
}

int list(const config::ServiceConfig& cfg, const BatchOptions& o) {
    auto s = open_migrated(cfg);
    if (!o.account.empty()) account_named(s->load_catalog(), o.account);
    std::vector<nlohmann::ordered_json> rows;
    for (const auto& b : s->list_batches(
             o.account.empty() ? std::nullopt : std::optional<std::string_view>(o.account)))
        rows.push_back(batch_json(b));
    if (o.json)
        std::cout << json_text(nlohmann::ordered_json(rows)) << "\n";
    else
        print_csv(rows, rows.empty() ? std::vector<std::string>{} : scalar_columns(rows.front()));
    return exit_code::ok;
}

// Writes the stored answers of `b` into `target`, named `shown` in what is printed.
int redeliver_into(store::Store& s, const store::BatchRecord& b, const fs::path& target,
                   const fs::path& shown) {
    // The receipt first, then the stored answers (apply::deliver).
    const auto written = apply::deliver(s, b, target);
    for (const auto& p : written)
        std::cout << fmt::format("wrote {}\n", (shown / p.filename()).string());
    if (written.empty())
        std::cout << fmt::format(
            "batch {} has no stored answers: it was set aside when it was "
            "claimed ({})\n",
            b.batch_id, b.error_message);
    return exit_code::ok;
}

// batches show (redeliver false) or batches redeliver.
int show_or_redeliver(const config::ServiceConfig& cfg, const BatchOptions& o, bool redeliver) {
    auto s = open_migrated(cfg);
    auto b = s->find_batch(o.batch_id);
    if (!b) {
        std::cerr << fmt::format("no batch '{}'\n", o.batch_id);
        return 1;
    }
    if (!redeliver) {
        std::cout << json_text(batch_json(*b)) << "\n";
        return exit_code::ok;
    }
    fs::path target = o.outbox;
    if (target.empty() && !b->inbox.empty())
        if (const auto* inbox = cfg.inbox(b->inbox)) target = inbox->outbox;
    if (target.empty())
        throw UsageError("--outbox is required: the batch's inbox is not configured");
    if (b->status.empty())
        throw UsageError(
            fmt::format("batch {} was never completed; apply its file again", o.batch_id));
    // The inbox's outbox is written only through the folder itself, never through a link an
    // uploader put in its place (docs/ingest.md, "The outbox"); --outbox is the operator's.
    if (!o.outbox.empty()) return redeliver_into(*s, *b, target, target);
    return util::OpenedFolder::open(target, "the outbox").within([&](const fs::path& here) {
        return redeliver_into(*s, *b, here, target);
    });
}

// batches abandon: an undecided batch that nobody will apply (its claim is gone, or its
// service will never run again) holds its account's later files back (docs/ingest.md,
// "Arrival order"); it is decided as set aside, with nothing of it applied.
int abandon(const config::ServiceConfig& cfg, const BatchOptions& o) {
    auto s = open_migrated(cfg);
    auto b = s->find_batch(o.batch_id);
    if (!b) {
        std::cerr << fmt::format("no batch '{}'\n", o.batch_id);
        return 1;
    }
    if (!b->status.empty())
        throw UsageError(fmt::format("batch {} is decided already ({}, {}): nothing to abandon",
                                     o.batch_id, store::state_name(b->state), b->status));
    store::BatchRecord settled = *b;
    apply::set_aside(settled,
                     "abandoned by an operator before it was applied (actiondrop batches "
                     "abandon): nothing of it was applied; upload the file again if it is "
                     "still meant",
                     system_now());
    // A service that still works on it and commits first keeps its commit: a decided record
    // is never replaced, and that service's commit is refused if this one came first.
    s->put_batch(settled);
    auto now = s->find_batch(o.batch_id);
    if (!now || now->error_message != settled.error_message) {
        std::cerr << fmt::format("batch {} was decided meanwhile ({}): it is not abandoned\n",
                                 o.batch_id, now ? store::state_name(now->state) : "gone");
        return exit_code::data;
    }
    std::cout << fmt::format(
        "batch {} (file '{}', account {}) abandoned: nothing of it was applied, and the "
        "account's later files go on; tell the advertiser to upload it again if it is still "
        "meant\n",
        b->batch_id, b->file_name, b->account_id);
    return exit_code::ok;
}

}  // namespace

void add_batches_commands(CLI::App& app, Commands& commands) {
    auto* batches = app.add_subcommand("batches", "the batch journal");
    batches->require_subcommand(1);

    auto l = std::make_shared<BatchOptions>();
    auto* list_cmd = batches->add_subcommand("list", "every batch, oldest first");
    list_cmd->add_option("--account", l->account, "only this account");
    list_cmd->add_flag("--json", l->json, "JSON instead of CSV");
    commands.push_back({list_cmd, [l](const config::ServiceConfig& cfg) { return list(cfg, *l); }});

    auto s = std::make_shared<BatchOptions>();
    auto* show = batches->add_subcommand("show", "one batch's journal record");
    show->add_option("ID", s->batch_id)->required();
    commands.push_back({show, [s](const config::ServiceConfig& cfg) {
                            return show_or_redeliver(cfg, *s, false);
                        }});

    auto r = std::make_shared<BatchOptions>();
    auto* redeliver = batches->add_subcommand("redeliver", "write a batch's stored outputs again");
    redeliver->add_option("ID", r->batch_id)->required();
    redeliver->add_option("--outbox", r->outbox,
                          "where to write them (default: the batch's inbox outbox)");
    commands.push_back({redeliver, [r](const config::ServiceConfig& cfg) {
                            return show_or_redeliver(cfg, *r, true);
                        }});

    auto a = std::make_shared<BatchOptions>();
    auto* abandon_cmd = batches->add_subcommand(
        "abandon", "settle an undecided batch that nobody will apply, applying nothing of it");
    abandon_cmd->add_option("ID", a->batch_id)->required();
    commands.push_back(
        {abandon_cmd, [a](const config::ServiceConfig& cfg) { return abandon(cfg, *a); }});
}

}  // namespace actiondrop::cli
