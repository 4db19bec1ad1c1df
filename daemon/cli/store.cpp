// store copy: a SQLite ledger moved into an empty PostgreSQL store (docs/postgres.md,
// "Moving a SQLite ledger over").
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "store/copy_store.hpp"

namespace actiondrop::cli {

namespace {

int copy(const config::ServiceConfig& cfg, const std::string& to) {
    const store::CopyReport report =
        store::copy_store(cfg.store, to, [](const std::string& table, std::int64_t rows) {
            std::cerr << fmt::format("copied {}: {} rows\n", table, rows);
        });
    std::cout << fmt::format("{:<42} {:>22} {:>22}\n", "check", "source", "target");
    for (const store::CopyCheck& c : report.checks)
        std::cout << fmt::format("{:<42} {:>22} {:>22}{}\n", c.what, c.source, c.target,
                                 c.agrees() ? "" : "  DIFFERS");
    if (!report.agrees()) {
        std::cerr << "store copy: the stores differ; nothing was kept in the target\n";
        return exit_code::io;
    }
    std::cout << fmt::format("done: {} copied into {}; every count and sum agrees\n", cfg.store,
                             to);
    return exit_code::ok;
}

}  // namespace

void add_store_commands(CLI::App& app, Commands& commands) {
    auto* store_cmd = app.add_subcommand("store", "the store itself");
    store_cmd->require_subcommand(1);
    auto* copy_cmd = store_cmd->add_subcommand(
        "copy", "copy this SQLite ledger into an empty PostgreSQL store and check both agree");
    auto to = std::make_shared<std::string>();
    copy_cmd->add_option("--to", *to, "the PostgreSQL store's URL (postgresql://…)")->required();
    commands.push_back(
        {copy_cmd, [to](const config::ServiceConfig& cfg) { return copy(cfg, *to); }});
}

}  // namespace actiondrop::cli
