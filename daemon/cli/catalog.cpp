// init and catalog load: the store and the business catalog in it.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "../exit_codes.hpp"
#include "../wall_clock.hpp"
#include "command.hpp"
#include "config/catalog_file.hpp"

namespace fs = std::filesystem;

namespace actiondrop::cli {

namespace {

int init(const config::ServiceConfig& cfg) {
    // A first install: make the state folder and the folder of the store's file, if it keeps
    // one on this machine (a SQLite database).
    std::error_code ec;
    fs::create_directories(cfg.state_dir, ec);
    if (ec) throw std::system_error(ec, "cannot create the state folder " + cfg.state_dir.string());
    if (auto db = store::local_path(cfg.store)) {
        if (db->has_parent_path()) fs::create_directories(db->parent_path(), ec);
        if (ec) throw std::system_error(ec, "cannot create the folder of " + db->string());
    }
    auto s = store::open_store(cfg.store);
    int version = s->migrate();
    std::cout << fmt::format("store {} ready at schema version {}\n", cfg.store, version);
    return exit_code::ok;
}

// "2 accounts, 3 contracts, 1 FX rate".
std::string catalog_counts(const ledger::Catalog& catalog) {
    std::size_t contracts = 0;
    for (const auto& [id, account] : catalog.accounts) contracts += account.contracts.size();
    const auto counted = [](std::size_t n, std::string_view what) {
        return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
    };
    return counted(catalog.accounts.size(), "account") + ", " + counted(contracts, "contract") +
           ", " + counted(catalog.fx_rates.size(), "FX rate");
}

int load_catalog(const config::ServiceConfig& cfg, const std::string& catalog_file) {
    config::CatalogSites sites;  // where the file wrote what a reload may refuse
    auto incoming = config::read_catalog_file(catalog_file, &sites);
    if (!incoming) {
        for (const auto& e : incoming.error()) std::cerr << e.str() << "\n";
        return exit_code::data;
    }
    auto s = open_migrated(cfg, IfMissing::create);
    auto merged =
        config::merge_catalog(s->load_catalog(), *incoming, system_now(), catalog_file, sites);
    if (!merged) {
        for (const auto& e : merged.error()) std::cerr << e.str() << "\n";
        return exit_code::data;
    }
    s->save_catalog(*merged);
    // What the file held, then what the store holds: loading one account's file into a store
    // of many must not read as if the store held that account alone.
    std::cout << fmt::format("catalog loaded from {}: {}; the store now has {}\n", catalog_file,
                             catalog_counts(*incoming), catalog_counts(*merged));
    return exit_code::ok;
}

}  // namespace

void add_catalog_commands(CLI::App& app, Commands& commands) {
    auto* init_cmd = app.add_subcommand("init", "create or migrate the store");
    commands.push_back({init_cmd, init});

    auto* catalog = app.add_subcommand("catalog", "business catalog");
    catalog->require_subcommand(1);
    auto* load = catalog->add_subcommand("load", "load (or update) the catalog from a YAML file");
    auto file = std::make_shared<std::string>();
    load->add_option("FILE", *file)->required();
    commands.push_back(
        {load, [file](const config::ServiceConfig& cfg) { return load_catalog(cfg, *file); }});
}

}  // namespace actiondrop::cli
