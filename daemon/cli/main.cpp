// actiondrop: the admin CLI (README.md, "The CLI"). Process wiring only: parse the command
// line, read the config, run the one command it names, and turn a failure into an exit code
// (failure.hpp). Each family of commands is a file of this folder.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "failure.hpp"

using namespace actiondrop;

int main(int argc, char** argv) {
    CLI::App app{"actiondrop: apply advertisers' batch files to the action ledger"};
    app.require_subcommand(1);
    cli::GlobalOptions global;
    app.add_option("--config", global.config_file,
                   "service config (default $ACTIONDROP_CONFIG, /etc/actiondrop/actiondrop.yaml)");
    app.add_option("--store", global.store_url, "store URL, overriding the config (sqlite:PATH)");
    app.add_option("--state-dir", global.state_dir, "state folder, overriding the config");

    cli::Commands commands;
    cli::add_catalog_commands(app, commands);
    cli::add_apply_commands(app, commands);
    cli::add_action_commands(app, commands);
    cli::add_batches_commands(app, commands);
    cli::add_sftp_commands(app, commands);
    cli::add_ftp_commands(app, commands);
    cli::add_lifecycle_commands(app, commands);
    cli::add_funds_commands(app, commands);
    cli::add_invoice_commands(app, commands);
    cli::add_store_commands(app, commands);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_code::usage;
    }

    try {
        const auto cfg = cli::load_config(global);
        for (const auto& command : commands)
            if (command.subcommand->parsed()) return command.run(cfg);
        return exit_code::ok;  // not reached: CLI11 requires a command
    } catch (...) {
        return cli::report_failure(std::current_exception(), std::cerr);
    }
}
