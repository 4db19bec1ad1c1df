#pragma once
// What the command families of the admin CLI (README.md, "The CLI") share: the global
// options, the config and the store they open, the account a command names, the CSV form of a
// report, and the way a family adds its commands. main.cpp parses the command line and runs
// the one command it names; each family is a file of this folder.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "config/service_config.hpp"
#include "failure.hpp"
#include "ledger/catalog.hpp"
#include "store/store.hpp"

namespace actiondrop::cli {

// --config, --store and --state-dir, given before the command.
struct GlobalOptions {
    std::string config_file;
    std::string store_url;
    std::string state_dir;
};

// The service config that --config (or its default) names, with --store and --state-dir laid
// over it; throws ConfigFailure with every error of the file.
config::ServiceConfig load_config(const GlobalOptions& options);

// The config's store, migrated to this program's schema version. A SQLite ledger that is not
// there is a store failure, not made empty: `init` and `catalog load` make it (README.md, "The
// CLI"); a command that reads or applies against an empty one would answer "unknown account",
// and leave it in place of the ledger that was meant.
enum class IfMissing { refuse, create };
std::unique_ptr<store::Store> open_migrated(const config::ServiceConfig& cfg,
                                            IfMissing if_missing = IfMissing::refuse);

// The account `id` of the catalog; an unknown one is the user's mistake, a UsageError (exit
// 64, README.md, "The CLI"), whatever the command, and never "nothing found" (exit 1), which
// is for an action, batch or invoice missing from a known account.
const ledger::Account& account_named(const ledger::Catalog& catalog, std::string_view id);

// `j` as JSON text (indented by `indent`, or on one line with -1). Text that is not UTF-8 (a
// file name an uploader chose, kept in the journal as it came) shows its bad bytes as U+FFFD,
// as the summaries do, instead of failing the whole command.
std::string json_text(const nlohmann::ordered_json& j, int indent = 2);

// `rows` as CSV with CRLF line ends, a column per name of `columns`; a cell that a spreadsheet
// would run as a formula gets a leading quote, and a null (a value not set, such as an
// action's cleared_at) is an empty cell, as in the files we read (docs/formats.md).
void print_csv(const std::vector<nlohmann::ordered_json>& rows,
               const std::vector<std::string>& columns);

// The names of the members of `sample` that are not arrays or objects: a report's columns.
std::vector<std::string> scalar_columns(const nlohmann::ordered_json& sample);

// A report written row by row as it is read, so that memory stays that of a row whatever the
// account's size: as print_csv() with the first row's scalar_columns(), or as the JSON array
// of the rows, byte for byte what printing them all at once would write.
class ReportWriter {
public:
    explicit ReportWriter(bool json) : json_(json) {}
    void add(const nlohmann::ordered_json& row);
    // Ends the JSON array, or the CSV of no rows (an empty line).
    void finish();

private:
    bool json_;
    bool any_ = false;
    std::vector<std::string> columns_;
};

// A command the user can name: it runs, with the config, when its CLI11 subcommand was
// parsed, and returns the exit code.
struct Command {
    const CLI::App* subcommand;
    std::function<int(const config::ServiceConfig&)> run;
};
using Commands = std::vector<Command>;

// Each family adds its subcommands to `app` in the order `--help` lists them, and what runs
// them to `commands`.
void add_catalog_commands(CLI::App& app, Commands& commands);  // init, catalog load: catalog.cpp
void add_apply_commands(CLI::App& app, Commands& commands);    // apply, validate: apply.cpp
void add_action_commands(CLI::App& app,
                         Commands& commands);  // action show|history, report: actions.cpp
void add_batches_commands(CLI::App& app,
                          Commands& commands);  // batches list|show|redeliver: batches.cpp
void add_sftp_commands(CLI::App& app, Commands& commands);  // sftp enrol: sftp.cpp
void add_ftp_commands(CLI::App& app, Commands& commands);   // ftp enrol: ftp.cpp
// The life cycle's families use `report`, so they come after add_action_commands.
void add_lifecycle_commands(CLI::App& app, Commands& commands);  // lifecycle run: lifecycle.cpp
void add_funds_commands(CLI::App& app,
                        Commands& commands);  // funds deposit|balance, report funds: funds.cpp
void add_invoice_commands(CLI::App& app,
                          Commands& commands);  // invoices show, report invoices: invoices.cpp
void add_store_commands(CLI::App& app, Commands& commands);  // store copy: store.cpp

}  // namespace actiondrop::cli
