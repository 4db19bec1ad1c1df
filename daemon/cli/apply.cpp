// apply and validate: a batch file against the ledger, or only its form.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "../exit_codes.hpp"
#include "../wall_clock.hpp"
#include "apply/apply_file.hpp"
#include "apply/file_limits.hpp"
#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "command.hpp"
#include "ledger/errors.hpp"
#include "ledger/rules.hpp"
#include "ledger/time.hpp"
#include "util/folder.hpp"

namespace fs = std::filesystem;

namespace actiondrop::cli {

namespace {

// apply's options; validate uses --account, --type and FILE of them.
struct FileOptions {
    std::string account;
    std::string type_name;
    std::string inbox_name;
    std::string outbox;
    std::string as_of_text;
    bool dry_run = false;
    std::string input;
    int wait_seconds = 60;  // apply: how long an earlier file of the account is waited for
};

batch::FileType file_type(const std::string& name) {
    auto t = batch::parse_file_type(name);
    if (!t)
        throw UsageError(fmt::format(
            "unknown file type '{}' (modifications, conversions, funds_transfers)", name));
    return *t;
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

void print_result(const apply::ApplyResult& r, const std::string& file, bool dry_run) {
    if (r.redelivered)
        std::cout << fmt::format(
            "{}: batch {} was already applied; its results were delivered again\n", file,
            r.batch_id);
    std::cout << fmt::format("{}: batch {} {}: {} rows, {} applied, {} rejected\n", file,
                             r.batch_id, r.status, r.total, r.applied, r.rejected);
    if (!r.error_code.empty())
        std::cout << fmt::format("  {}{}: {}\n", r.error_code,
                                 r.error_line ? fmt::format(" (line {})", *r.error_line) : "",
                                 r.error_message);
    for (const auto& [code, n] : r.error_counts) std::cout << fmt::format("  {:<28} {}\n", code, n);
    for (const auto& p : r.first_problems)
        std::cout << fmt::format("  line {}: {}: {}\n", p.line, p.code, p.message);
    for (const auto& p : r.delivered) std::cout << fmt::format("  wrote {}\n", p.string());
    if (dry_run)
        std::cout << "  a dry run: the ledger is unchanged, and the answers show what the file "
                     "would do\n";
}

fs::path spool_dir(const config::ServiceConfig& cfg) {
    auto dir = cfg.state_dir / "spool";
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::system_error(ec, "cannot create the spool folder " + dir.string());
    return dir;
}

// validate without an account: only the file's form, i.e. the reader, the header, and the
// row checks that need no account.
int check_form(const apply::ApplyRequest& req, const std::string& input) {
    std::ifstream in(req.file, std::ios::binary);
    if (!in) throw std::system_error(errno, std::generic_category(), "cannot open " + input);
    batch::CsvReader reader(in, req.limits);
    batch::Record rec;
    auto first = reader.next(rec);
    auto fail = [&](const batch::FileError& e) {
        std::cout << fmt::format("{}: REJECTED {}{}: {}\n", input, ledger::error_name(e.code),
                                 e.line ? fmt::format(" (line {})", *e.line) : "", e.message);
        return exit_code::data;
    };
    if (!first) return fail(first.error());
    if (!*first) return fail({ledger::ErrorCode::EmptyFile, "the file is empty", std::nullopt});
    auto layout = batch::Layout::parse(req.type, rec);
    if (!layout) return fail(layout.error());
    std::int64_t rows = 0, bad = 0;
    const ledger::Instant now = system_now();  // a PaymentDate after it is MALFORMED
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
        } else if (req.type == batch::FileType::Conversions) {
            auto row = layout->conversion(rec);
            problem = row ? ledger::check_conversion_form(*row)
                          : std::pair{row.error().code, row.error().message};
        } else {
            auto row = layout->transfer(rec);
            problem = row ? ledger::check_transfer_form(*row, now)
                          : std::pair{row.error().code, row.error().message};
        }
        if (problem.first != ledger::ErrorCode::None) {
            ++bad;
            std::cout << fmt::format("  line {}: {}: {}\n", rec.line,
                                     ledger::error_name(problem.first), problem.second);
        }
    }
    if (rows == 0)
        return fail({ledger::ErrorCode::EmptyFile, "the file has a header but no data record",
                     std::nullopt});
    std::cout << fmt::format("{}: form checked: {} rows, {} with errors\n", input, rows, bad);
    return bad ? exit_code::rows_rejected : exit_code::ok;
}

// apply, or validate (a dry run that writes nothing); every request apply::apply_file would
// refuse with std::invalid_argument is refused here first, as a usage error.
int run_file(const config::ServiceConfig& cfg, const FileOptions& o, bool validating) {
    apply::ApplyRequest req;
    req.file = o.input;
    // Also spares apply_file's refusal of what is not a regular file.
    std::error_code ec;
    if (const auto st = fs::status(req.file, ec); !fs::is_regular_file(st))
        throw UsageError(fmt::format("{}: {}", o.input,
                                     fs::exists(st) ? "not a regular file"
                                     : ec && ec != std::errc::no_such_file_or_directory
                                         ? ec.message()
                                         : "no such file"));
    req.limits = apply::reader_limits(cfg.limits);
    if (!o.inbox_name.empty()) {
        const auto* inbox = cfg.inbox(o.inbox_name);
        if (!inbox)
            throw UsageError(fmt::format("no inbox named '{}' in the config", o.inbox_name));
        req = apply::request_for(*inbox, {});  // the spool is made below, once the request is sound
        req.file = o.input;
        // A dry run takes the inbox's options, never its outbox: the advertiser's answers
        // there are the service's, and a trial must not replace them (docs/formats.md).
        if (o.dry_run) req.outbox.clear();
        if (!o.account.empty() && o.account != inbox->account)
            throw UsageError(fmt::format("--account {} differs from inbox {}'s account {}",
                                         o.account, inbox->name, inbox->account));
    }
    if (!o.account.empty()) req.account_id = o.account;
    if (!o.type_name.empty()) req.type = file_type(o.type_name);
    if (!o.outbox.empty()) req.outbox = o.outbox;
    if (req.outbox.empty()) req.outbox = fs::absolute(req.file).parent_path();
    req.dry_run = o.dry_run || validating;
    req.write_outputs = !validating;
    if (!o.as_of_text.empty() && !o.dry_run)
        throw UsageError("--as-of is only allowed with --dry-run");

    if (validating && req.account_id.empty()) return check_form(req, o.input);

    if (req.account_id.empty()) throw UsageError("--account (or --inbox) is required");
    auto s = open_migrated(cfg);
    auto cat = s->load_catalog();
    const auto* acc = cat.account(req.account_id);
    if (!acc) throw UsageError(fmt::format("unknown account '{}'", req.account_id));
    if (!o.as_of_text.empty()) {
        auto t = ledger::parse_instant(o.as_of_text, acc->timezone);
        if (!t) throw UsageError(fmt::format("--as-of '{}': {}", o.as_of_text, t.error()));
        req.as_of = *t;
    }
    if (!validating) {
        std::error_code ec;
        fs::create_directories(req.outbox, ec);
        if (ec) throw std::system_error(ec, "cannot create the outbox " + req.outbox.string());
    }
    // An inbox's outbox is written only through the folder itself, never through a link an
    // uploader put in its place (docs/ingest.md, "The outbox"). A folder named by --outbox,
    // or the file's own, is the operator's choice, links and all.
    std::optional<util::OpenedFolder> outbox;
    if (!validating && o.outbox.empty() && !o.inbox_name.empty() && !o.dry_run) {
        outbox = util::OpenedFolder::open(req.outbox, "the outbox");
        req.outbox = outbox->path();
    }
    req.spool = spool_dir(cfg);
    req.progress = terminal_progress();
    apply::ApplyResult result;
    // An earlier claim of the account that a service works on now is decided within that
    // service's apply of it: the command waits for it, then refuses (docs/ingest.md, "Arrival
    // order"). A try writes nothing until it goes on. Meanwhile only the earlier file's record
    // is read: the next try reads (hashes) this file again once that file is decided.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(o.wait_seconds);
    const auto decided = [&](const std::string& batch_id) {
        const auto earlier = s->find_batch(batch_id);
        return !earlier || !earlier->status.empty();
    };
    try {
        for (;;) {
            try {
                result = apply::apply_file(*s, cat, req, system_now);
                break;
            } catch (const apply::EarlierFileFirst& e) {
                do {
                    if (std::chrono::steady_clock::now() >= give_up) {
                        std::cerr << fmt::format("actiondrop: {}: nothing was applied; it {}\n",
                                                 o.input, e.what());
                        return exit_code::temporary;
                    }
                    std::this_thread::sleep_for(std::chrono::milliseconds(250));
                } while (!decided(e.earlier_batch_id()));
            }
        }
    } catch (const std::system_error& e) {
        if (outbox) outbox->rethrow_shown(e);
        throw;
    }
    if (outbox)
        for (auto& p : result.delivered) p = outbox->show(p.string());
    print_result(result, o.input, o.dry_run);
    return result.exit_code();
}

}  // namespace

void add_apply_commands(CLI::App& app, Commands& commands) {
    auto a = std::make_shared<FileOptions>();
    auto* apply_cmd = app.add_subcommand("apply", "apply a batch file and write its results");
    apply_cmd->add_option("--account", a->account, "account id");
    apply_cmd->add_option("--type", a->type_name,
                          "modifications (default), conversions, funds_transfers");
    apply_cmd->add_option("--inbox", a->inbox_name,
                          "take account, type and options from a configured inbox");
    apply_cmd->add_option("--outbox", a->outbox, "where results go (default: the file's folder)");
    apply_cmd->add_flag("--dry-run", a->dry_run, "evaluate and write results, change nothing");
    apply_cmd->add_option("--as-of", a->as_of_text, "with --dry-run: evaluate as if now were T");
    apply_cmd
        ->add_option("--wait", a->wait_seconds,
                     "seconds to wait for an earlier file of the account (default 60)")
        ->check(CLI::NonNegativeNumber);
    apply_cmd->add_option("FILE", a->input)->required();
    commands.push_back(
        {apply_cmd, [a](const config::ServiceConfig& cfg) { return run_file(cfg, *a, false); }});

    auto v = std::make_shared<FileOptions>();
    auto* validate =
        app.add_subcommand("validate", "check a file; with --account also against the ledger");
    validate->add_option("--account", v->account, "account id");
    validate->add_option("--type", v->type_name,
                         "modifications (default), conversions, funds_transfers");
    validate->add_option("FILE", v->input)->required();
    commands.push_back(
        {validate, [v](const config::ServiceConfig& cfg) { return run_file(cfg, *v, true); }});
}

}  // namespace actiondrop::cli
