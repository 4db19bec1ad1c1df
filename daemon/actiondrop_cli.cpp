// actiondrop: the admin CLI (SPEC §8). Process wiring only: parse the command line,
// read the config, open the store, call lib/, map failures to exit codes.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/apply_file.hpp"
#include "apply/file_limits.hpp"
#include "batch/layout.hpp"
#include "config/catalog_file.hpp"
#include "config/service_config.hpp"
#include "ingest/sftp_session.hpp"
#include "ledger/time.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;

namespace {

// sysexits.h values, as SPEC §8 names them.
constexpr int exit_usage = 64, exit_data = 65, exit_io = 74, exit_config = 78;

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct ConfigFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct DataError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

ledger::Instant system_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

struct Globals {
    std::string config_file;
    std::string store_url;
    std::string state_dir;
};

config::ServiceConfig load_config(const Globals& g) {
    const fs::path file = config::locate_service_config(g.config_file);
    config::ServiceConfig cfg;
    if (!file.empty()) {
        auto read = config::read_service_config(file);
        if (!read) {
            std::string text;
            for (const auto& e : read.error()) text += e.str() + "\n";
            throw ConfigFailure(text);
        }
        cfg = *read;
    }
    if (!g.store_url.empty()) cfg.store = g.store_url;
    if (!g.state_dir.empty()) cfg.state_dir = g.state_dir;
    return cfg;
}

std::unique_ptr<store::Store> open_migrated(const config::ServiceConfig& cfg) {
    auto s = store::open_store(cfg.store);
    s->migrate();
    return s;
}

batch::FileType file_type(const std::string& name) {
    auto t = batch::parse_file_type(name);
    if (!t) throw UsageError(fmt::format("unknown file type '{}' (modifications, conversions, funds_transfers)", name));
    return *t;
}

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

// Flat CSV of JSON objects' scalar members (reports); cells formula-safe.
void print_csv(const std::vector<nlohmann::ordered_json>& rows, const std::vector<std::string>& columns) {
    auto cell = [](const nlohmann::ordered_json& v) {
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
            s.insert(0, "'");
        if (s.find_first_of(",\"\r\n") != std::string::npos) {
            std::string q = "\"";
            for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
            return q + "\"";
        }
        return s;
    };
    for (std::size_t i = 0; i < columns.size(); ++i) std::cout << (i ? "," : "") << columns[i];
    std::cout << "\r\n";
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) std::cout << (i ? "," : "") << cell(r[columns[i]]);
        std::cout << "\r\n";
    }
}

std::vector<std::string> scalar_columns(const nlohmann::ordered_json& sample) {
    std::vector<std::string> cols;
    for (const auto& [key, value] : sample.items())
        if (!value.is_structured()) cols.push_back(key);
    return cols;
}

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
    return j;
}

// A progress line on a terminal for long files.
std::function<void(std::int64_t, std::int64_t)> terminal_progress() {
    if (!::isatty(STDERR_FILENO)) return {};
    return [](std::int64_t done, std::int64_t total) {
        int percent = total > 0 ? static_cast<int>(done * 100 / total) : 100;
        std::fprintf(stderr, "\r%3d%%  %lld / %lld bytes", percent, static_cast<long long>(done),
                     static_cast<long long>(total));
        if (done >= total) std::fputc('\n', stderr);
        std::fflush(stderr);
    };
}

void print_result(const apply::ApplyResult& r, const std::string& file) {
    if (r.redelivered)
        std::cout << fmt::format("{}: batch {} was already applied; its results were delivered again\n", file, r.batch_id);
    std::cout << fmt::format("{}: batch {} {}: {} rows, {} applied, {} rejected\n", file, r.batch_id, r.status,
                             r.total, r.applied, r.rejected);
    if (!r.error_code.empty())
        std::cout << fmt::format("  {}{}: {}\n", r.error_code, r.error_line ? fmt::format(" (line {})", *r.error_line) : "",
                                 r.error_message);
    for (const auto& [code, n] : r.error_counts) std::cout << fmt::format("  {:<28} {}\n", code, n);
    for (const auto& p : r.first_problems) std::cout << fmt::format("  line {}: {}: {}\n", p.line, p.code, p.message);
    for (const auto& p : r.delivered) std::cout << fmt::format("  wrote {}\n", p.string());
}

fs::path spool_dir(const config::ServiceConfig& cfg) {
    auto dir = cfg.state_dir / "spool";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::system_error(ec, "cannot create the spool folder " + dir.string());
    return dir;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"actiondrop: apply advertisers' batch files to the action ledger"};
    app.require_subcommand(1);
    Globals g;
    app.add_option("--config", g.config_file, "service config (default $ACTIONDROP_CONFIG, /etc/actiondrop/actiondrop.yaml)");
    app.add_option("--store", g.store_url, "store URL, overriding the config (sqlite:PATH)");
    app.add_option("--state-dir", g.state_dir, "state folder, overriding the config");

    auto* init = app.add_subcommand("init", "create or migrate the store");

    auto* catalog = app.add_subcommand("catalog", "business catalog");
    catalog->require_subcommand(1);
    auto* catalog_load = catalog->add_subcommand("load", "load (or update) the catalog from a YAML file");
    std::string catalog_file;
    catalog_load->add_option("FILE", catalog_file)->required();

    auto* apply_cmd = app.add_subcommand("apply", "apply a batch file and write its results");
    std::string account, type_name, inbox_name, outbox, as_of_text;
    bool dry_run = false;
    std::string input;
    apply_cmd->add_option("--account", account, "account id");
    apply_cmd->add_option("--type", type_name, "modifications (default), conversions, funds_transfers");
    apply_cmd->add_option("--inbox", inbox_name, "take account, type and options from a configured inbox");
    apply_cmd->add_option("--outbox", outbox, "where results go (default: the file's folder)");
    apply_cmd->add_flag("--dry-run", dry_run, "evaluate and write results, change nothing");
    apply_cmd->add_option("--as-of", as_of_text, "with --dry-run: evaluate as if now were T");
    apply_cmd->add_option("FILE", input)->required();

    auto* validate = app.add_subcommand("validate", "check a file; with --account also against the ledger");
    validate->add_option("--account", account, "account id");
    validate->add_option("--type", type_name, "modifications (default), conversions");
    validate->add_option("FILE", input)->required();

    auto* action = app.add_subcommand("action", "one action");
    action->require_subcommand(1);
    std::string action_id;
    bool json = false;
    auto* action_show = action->add_subcommand("show", "an action's current state");
    auto* action_history = action->add_subcommand("history", "every change of an action");
    for (auto* sub : {action_show, action_history}) {
        sub->add_option("--account", account, "account id")->required();
        sub->add_flag("--json", json, "JSON instead of text");
        sub->add_option("ID", action_id)->required();
    }

    auto* report = app.add_subcommand("report", "reports");
    report->require_subcommand(1);
    auto* report_actions = report->add_subcommand("actions", "every action of an account");
    auto* report_changes = report->add_subcommand("changes", "every change to an account's actions");
    for (auto* sub : {report_actions, report_changes}) {
        sub->add_option("--account", account, "account id")->required();
        sub->add_flag("--json", json, "JSON instead of CSV");
    }

    auto* batches = app.add_subcommand("batches", "the batch journal");
    batches->require_subcommand(1);
    std::string batch_id;
    auto* batches_list = batches->add_subcommand("list", "every batch, oldest first");
    batches_list->add_option("--account", account, "only this account");
    batches_list->add_flag("--json", json, "JSON instead of CSV");
    auto* batches_show = batches->add_subcommand("show", "one batch's journal record");
    batches_show->add_option("ID", batch_id)->required();
    auto* batches_redeliver = batches->add_subcommand("redeliver", "write a batch's stored outputs again");
    batches_redeliver->add_option("ID", batch_id)->required();
    batches_redeliver->add_option("--outbox", outbox, "where to write them (default: the batch's inbox outbox)");

    auto* sftp = app.add_subcommand("sftp", "SFTP pull inboxes");
    sftp->require_subcommand(1);
    auto* sftp_enrol = sftp->add_subcommand("enrol", "show an inbox server's host key; add it to known_hosts with --accept");
    bool accept = false;
    sftp_enrol->add_option("INBOX", inbox_name)->required();
    sftp_enrol->add_flag("--accept", accept, "trust the key shown: add it to the inbox's known_hosts file");

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_usage;
    }

    try {
        auto cfg = load_config(g);

        if (init->parsed()) {
            // A first install: make the state folder and the SQLite file's folder.
            std::error_code ec;
            fs::create_directories(cfg.state_dir, ec);
            if (ec) throw std::system_error(ec, "cannot create the state folder " + cfg.state_dir.string());
            if (cfg.store.starts_with("sqlite:")) {
                fs::path db = cfg.store.substr(std::string_view("sqlite:").size());
                if (db.has_parent_path()) fs::create_directories(db.parent_path(), ec);
                if (ec) throw std::system_error(ec, "cannot create the folder of " + db.string());
            }
            auto s = store::open_store(cfg.store);
            int version = s->migrate();
            std::cout << fmt::format("store {} ready at schema version {}\n", cfg.store, version);
            return 0;
        }

        if (catalog_load->parsed()) {
            auto incoming = config::read_catalog_file(catalog_file);
            if (!incoming) {
                for (const auto& e : incoming.error()) std::cerr << e.str() << "\n";
                return exit_data;
            }
            auto s = open_migrated(cfg);
            auto merged = config::merge_catalog(s->load_catalog(), *incoming, system_now(), catalog_file);
            if (!merged) {
                for (const auto& e : merged.error()) std::cerr << e.str() << "\n";
                return exit_data;
            }
            s->save_catalog(*merged);
            std::size_t contracts = 0;
            for (const auto& [id, acc] : merged->accounts) contracts += acc.contracts.size();
            std::cout << fmt::format("catalog loaded from {}: {} accounts, {} contracts, {} FX rates\n", catalog_file,
                                     merged->accounts.size(), contracts, merged->fx_rates.size());
            return 0;
        }

        if (apply_cmd->parsed() || validate->parsed()) {
            const bool validating = validate->parsed();
            apply::ApplyRequest req;
            req.file = input;
            if (!fs::is_regular_file(req.file)) throw UsageError(fmt::format("{}: no such file", input));
            req.limits = apply::reader_limits(cfg.limits);
            if (!inbox_name.empty()) {
                const auto* inbox = cfg.inbox(inbox_name);
                if (!inbox) throw UsageError(fmt::format("no inbox named '{}' in the config", inbox_name));
                req.inbox = inbox->name;
                req.account_id = inbox->account;
                req.type = file_type(inbox->type);
                req.all_or_nothing = inbox->all_or_nothing;
                req.reprocess_duplicates = inbox->duplicates == "reprocess";
                req.limits = apply::reader_limits(inbox->limits);
                req.outbox = inbox->outbox;
                if (!account.empty() && account != inbox->account)
                    throw UsageError(fmt::format("--account {} differs from inbox {}'s account {}", account,
                                                 inbox->name, inbox->account));
            }
            if (!account.empty()) req.account_id = account;
            if (!type_name.empty()) req.type = file_type(type_name);
            if (!outbox.empty()) req.outbox = outbox;
            if (req.outbox.empty()) req.outbox = fs::absolute(req.file).parent_path();
            req.dry_run = dry_run || validating;
            req.write_outputs = !validating;
            if (!as_of_text.empty()) {
                if (!dry_run) throw UsageError("--as-of is only allowed with --dry-run");
            }

            if (validating && req.account_id.empty()) {
                // Only the file's form: reader, header, and the row checks needing no account.
                std::ifstream in(req.file, std::ios::binary);
                batch::CsvReader reader(in, req.limits);
                batch::Record rec;
                auto first = reader.next(rec);
                auto fail = [&](const batch::FileError& e) {
                    std::cout << fmt::format("{}: REJECTED {}{}: {}\n", input, ledger::error_name(e.code),
                                             e.line ? fmt::format(" (line {})", *e.line) : "", e.message);
                    return exit_data;
                };
                if (!first) return fail(first.error());
                if (!*first) return fail({ledger::ErrorCode::EmptyFile, "the file is empty", std::nullopt});
                auto layout = batch::Layout::parse(req.type, rec);
                if (!layout) return fail(layout.error());
                std::int64_t rows = 0, bad = 0;
                while (true) {
                    auto more = reader.next(rec);
                    if (!more) return fail(more.error());
                    if (!*more) break;
                    ++rows;
                    std::pair<ledger::ErrorCode, std::string> problem{ledger::ErrorCode::None, ""};
                    if (req.type == batch::FileType::Modifications) {
                        auto row = layout->modification(rec);
                        problem = row ? ledger::check_modification_form(*row)
                                      : std::pair{row.error().code, row.error().message};
                    } else {
                        auto row = layout->conversion(rec);
                        problem = row ? ledger::check_conversion_form(*row)
                                      : std::pair{row.error().code, row.error().message};
                    }
                    if (problem.first != ledger::ErrorCode::None) {
                        ++bad;
                        std::cout << fmt::format("  line {}: {}: {}\n", rec.line, ledger::error_name(problem.first),
                                                 problem.second);
                    }
                }
                if (rows == 0) return fail({ledger::ErrorCode::EmptyFile, "the file has a header but no data record", std::nullopt});
                std::cout << fmt::format("{}: form checked: {} rows, {} with errors\n", input, rows, bad);
                return bad ? 3 : 0;
            }

            if (req.account_id.empty()) throw UsageError("--account (or --inbox) is required");
            auto s = open_migrated(cfg);
            auto cat = s->load_catalog();
            const auto* acc = cat.account(req.account_id);
            if (!acc) throw UsageError(fmt::format("unknown account '{}'", req.account_id));
            if (!as_of_text.empty()) {
                auto t = ledger::parse_instant(as_of_text, acc->timezone);
                if (!t) throw UsageError(fmt::format("--as-of '{}': {}", as_of_text, t.error()));
                req.as_of = *t;
            }
            if (!validating) {
                std::error_code ec;
                fs::create_directories(req.outbox, ec);
                if (ec) throw std::system_error(ec, "cannot create the outbox " + req.outbox.string());
            }
            req.spool = spool_dir(cfg);
            req.progress = terminal_progress();
            auto result = apply::apply_file(*s, cat, req, system_now);
            print_result(result, input);
            return result.exit_code();
        }

        if (action_show->parsed() || action_history->parsed()) {
            auto s = open_migrated(cfg);
            auto cat = s->load_catalog();
            auto a = s->action(account, action_id);
            if (!a) {
                std::cerr << fmt::format("no action '{}' in account {}\n", action_id, account);
                return 1;
            }
            if (action_show->parsed()) {
                auto j = action_json(cat, *a);
                if (json) {
                    std::cout << j.dump(2) << "\n";
                } else {
                    for (const auto& [key, value] : j.items())
                        if (!value.is_structured())
                            std::cout << fmt::format("{:<20} {}\n", key, value.is_string() ? value.get<std::string>() : value.dump());
                    for (const auto& item : a->items)
                        std::cout << fmt::format("{:<20} {} x{} {} ({})\n", "item", item.sku, item.quantity,
                                                 amount_text(item.amount, a->currency), item.category);
                }
            } else {
                std::vector<nlohmann::ordered_json> rows;
                for (const auto& h : s->history(account, action_id)) rows.push_back(history_json(cat, *a, h));
                if (json) {
                    std::cout << nlohmann::ordered_json(rows).dump(2) << "\n";
                } else {
                    for (const auto& r : rows)
                        std::cout << fmt::format("{}  {:<8} {:<18} amount {} -> {}  payout {} -> {}  {} -> {}  batch {} line {}\n",
                                                 r["at"].get<std::string>(), r["operation"].get<std::string>(),
                                                 r["reason"].get<std::string>(), r["old_amount"].get<std::string>(),
                                                 r["new_amount"].get<std::string>(), r["old_payout"].get<std::string>(),
                                                 r["new_payout"].get<std::string>(), r["old_status"].get<std::string>(),
                                                 r["new_status"].get<std::string>(), r["batch_id"].get<std::string>(),
                                                 r["line"].get<std::int64_t>());
                }
            }
            return 0;
        }

        if (sftp_enrol->parsed()) {
            const auto* inbox = cfg.inbox(inbox_name);
            if (!inbox || inbox->kind != "sftp") throw UsageError(fmt::format("no sftp inbox named '{}' in the config", inbox_name));
            ingest::SftpSession session({.host = inbox->host,
                                         .port = inbox->port,
                                         .user = inbox->user,
                                         .identity_file = inbox->identity_file,
                                         .password_file = inbox->password_file,
                                         .known_hosts = inbox->known_hosts});
            const auto where = fmt::format("{}:{}", inbox->host, inbox->port);
            auto connected = session.connect();
            if (connected) {
                std::cout << fmt::format("{}: the host key is already enrolled in {}, and we can log in\n", where,
                                         inbox->known_hosts.string());
                return 0;
            }
            const auto& e = connected.error();
            switch (e.kind) {
                case ingest::SftpErrorKind::HostKeyUnknown:
                    std::cout << fmt::format("{} offers the host key {}\n", where, e.fingerprint);
                    if (!accept) {
                        std::cout << "compare it with the fingerprint the server's owner gives you, then run again with --accept\n";
                        return 0;
                    }
                    {
                        std::ofstream out(inbox->known_hosts, std::ios::app);
                        out << e.known_hosts_line << "\n";
                        out.flush();
                        if (!out) throw std::system_error(errno, std::generic_category(), "cannot write " + inbox->known_hosts.string());
                    }
                    std::cout << fmt::format("enrolled: added to {}\n", inbox->known_hosts.string());
                    return 0;
                case ingest::SftpErrorKind::HostKeyChanged:
                case ingest::SftpErrorKind::HostKeyOther:
                    // Never replaced automatically: a changed key may be an attack.
                    std::cerr << fmt::format("{}: the host key CHANGED: it now offers {} ({}). If the change is expected, "
                                             "remove the old line from {} by hand, then enrol again.\n",
                                             where, e.fingerprint, e.message, inbox->known_hosts.string());
                    return exit_data;
                default:
                    std::cerr << fmt::format("{}: {}: {}\n", where, ingest::to_string(e.kind), e.message);
                    return exit_io;
            }
        }

        if (batches_list->parsed()) {
            auto s = open_migrated(cfg);
            std::vector<nlohmann::ordered_json> rows;
            for (const auto& b : s->list_batches(account.empty() ? std::nullopt : std::optional<std::string_view>(account)))
                rows.push_back(batch_json(b));
            if (json) std::cout << nlohmann::ordered_json(rows).dump(2) << "\n";
            else print_csv(rows, rows.empty() ? std::vector<std::string>{} : scalar_columns(rows.front()));
            return 0;
        }
        if (batches_show->parsed() || batches_redeliver->parsed()) {
            auto s = open_migrated(cfg);
            auto b = s->find_batch(batch_id);
            if (!b) {
                std::cerr << fmt::format("no batch '{}'\n", batch_id);
                return 1;
            }
            if (batches_show->parsed()) {
                std::cout << batch_json(*b).dump(2) << "\n";
                return 0;
            }
            fs::path target = outbox;
            if (target.empty() && !b->inbox.empty())
                if (const auto* inbox = cfg.inbox(b->inbox)) target = inbox->outbox;
            if (target.empty()) throw UsageError("--outbox is required: the batch's inbox is not configured");
            if (b->status.empty()) throw UsageError(fmt::format("batch {} was never completed; apply its file again", batch_id));
            for (const auto& p : apply::deliver(*s, *b, target)) std::cout << fmt::format("wrote {}\n", p.string());
            return 0;
        }

        if (report_actions->parsed() || report_changes->parsed()) {
            auto s = open_migrated(cfg);
            auto cat = s->load_catalog();
            if (!cat.account(account)) throw UsageError(fmt::format("unknown account '{}'", account));
            std::vector<nlohmann::ordered_json> rows;
            s->for_each_action(account, [&](const ledger::Action& a) {
                if (report_actions->parsed()) {
                    rows.push_back(action_json(cat, a));
                } else {
                    for (const auto& h : s->history(account, a.action_id)) rows.push_back(history_json(cat, a, h));
                }
            });
            if (json) {
                std::cout << nlohmann::ordered_json(rows).dump(2) << "\n";
            } else {
                auto columns = rows.empty() ? std::vector<std::string>{} : scalar_columns(rows.front());
                print_csv(rows, columns);
            }
            return 0;
        }
    } catch (const UsageError& e) {
        std::cerr << "actiondrop: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::invalid_argument& e) {
        std::cerr << "actiondrop: " << e.what() << "\n";
        return exit_usage;
    } catch (const ConfigFailure& e) {
        std::cerr << e.what();
        return exit_config;
    } catch (const store::StoreError& e) {
        std::cerr << "actiondrop: store failure: " << e.what() << "\n";
        return exit_io;
    } catch (const std::system_error& e) {
        std::cerr << "actiondrop: " << e.what() << "\n";
        return exit_io;
    } catch (const std::exception& e) {
        std::cerr << "actiondrop: internal error: " << e.what() << "\n";
        return 70;
    }
    return 0;
}
