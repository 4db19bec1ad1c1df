// lifecycle run: lock, clear and invoice, one transaction per account (docs/lifecycle.md,
// "A run"), and what it did.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
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

// The decisions of one account's run on single actions, written out as the store makes them
// into a temporary file and printed after the commit: a run over a million actions keeps none
// of them in memory, and a run that fails prints none of them (docs/lifecycle.md, "From the
// command line"). As text, one line per action; as JSON, the account's object with the
// "locked", "cleared" and "overdue" arrays, which the store hands over in that order.
class RunListing final : public lifecycle::DecisionSink {
public:
    RunListing(const ledger::Account& account, ledger::Instant now, bool json)
        : file_(temporary_file()), account_(account), json_(json) {
        if (json_)
            write(fmt::format("  {{\n    \"account_id\": {},\n    \"now\": {}",
                              json_text(nlohmann::ordered_json(account.id), -1),
                              json_text(nlohmann::ordered_json(ledger::format_instant(now)), -1)));
    }
    ~RunListing() override { std::fclose(file_); }
    RunListing(const RunListing&) = delete;
    RunListing& operator=(const RunListing&) = delete;

    void locked(const lifecycle::Lock& l) override {
        if (!json_) {
            line_.clear();
            fmt::format_to(std::back_inserter(line_), "  locked   {} at {}\n", l.action_id,
                           instant_text(l.at));
            write({line_.data(), line_.size()});
            return;
        }
        nlohmann::ordered_json x;
        x["action_id"] = l.action_id;
        x["at"] = ledger::format_instant(l.at);
        x["finance_status"] = std::string(ledger::finance_status_name(l.finance_status));
        item(kLocked, x);
    }
    void cleared(const lifecycle::Clear& cl) override {
        if (!json_) {
            line_.clear();
            fmt::format_to(std::back_inserter(line_), "  cleared  {} {} {} at {}\n", cl.action_id,
                           money_text(cl.payout, account_.currency), code_,
                           instant_text(cl.cleared_at));
            write({line_.data(), line_.size()});
            return;
        }
        nlohmann::ordered_json x;
        x["action_id"] = cl.action_id;
        x["payout"] = money_text(cl.payout, account_.currency);
        x["cleared_at"] = ledger::format_instant(cl.cleared_at);
        x["was_overdue"] = cl.was_overdue;
        item(kCleared, x);
    }
    void overdue(const lifecycle::Overdue& o) override {
        if (!json_) {
            line_.clear();
            fmt::format_to(std::back_inserter(line_), "  overdue  {} {} {} due {}{}\n", o.action_id,
                           money_text(o.payout, account_.currency), code_, instant_text(o.due_at),
                           o.first_time ? "" : " (still)");
            write({line_.data(), line_.size()});
            return;
        }
        nlohmann::ordered_json x;
        x["action_id"] = o.action_id;
        x["payout"] = money_text(o.payout, account_.currency);
        x["due_at"] = ledger::format_instant(o.due_at);
        x["first_time"] = o.first_time;
        item(kOverdue, x);
    }

    // After the commit: the run's listing on standard output, with what the decisions kept.
    void print(const lifecycle::RunDecisions& d, std::int64_t balance) {
        const ledger::Currency* c = account_.currency;
        if (json_) {
            open(kSections);
            nlohmann::ordered_json invoices = nlohmann::ordered_json::array();
            for (const lifecycle::Invoice& inv : d.invoices) invoices.push_back(invoice_json(inv));
            write(fmt::format(
                ",\n    \"overdue_amount\": {},\n    \"invoices\": {},\n    \"balance\": {},\n    "
                "\"currency\": {},\n    \"invoice_calendar_ended\": {}\n  }}",
                json_text(nlohmann::ordered_json(money_text(d.clearing.overdue_amount(), c)), -1),
                json_text(invoices, -1),
                json_text(nlohmann::ordered_json(money_text(balance, c)), -1),
                json_text(nlohmann::ordered_json(code_), -1), d.invoice_calendar_ended));
            copy_out();
            return;
        }
        std::cout << fmt::format(
            "account {} at {}: locked {}, cleared {}, overdue {} ({} {}), invoices {}, balance "
            "{} {}\n",
            account_.id, ledger::format_instant(d.now), d.locked, d.clearing.cleared,
            d.clearing.left_overdue, money_text(d.clearing.overdue_amount(), c), code_,
            d.invoices.size(), money_text(balance, c), code_);
        copy_out();
        for (const lifecycle::Invoice& inv : d.invoices)
            std::cout << fmt::format("  invoiced {} partner {} total {} {} ({} lines)\n",
                                     inv.invoice_id, inv.partner_id, money_text(inv.total, c),
                                     code_, inv.lines.size());
        if (d.invoice_calendar_ended)
            std::cout << fmt::format(
                "  warning: items wait for an invoice and the period_ends list of account {} "
                "has no later date\n",
                account_.id);
    }

private:
    static constexpr int kLocked = 0, kCleared = 1, kOverdue = 2, kSections = 3;
    static constexpr const char* kNames[kSections] = {"locked", "cleared", "overdue"};

    std::string code() const {
        return account_.currency ? std::string(account_.currency->code) : "";
    }

    // A file with no name in $TMPDIR (else /tmp), gone when closed.
    static std::FILE* temporary_file() {
        const char* dir = std::getenv("TMPDIR");
        std::string path = std::string(dir && *dir ? dir : "/tmp") + "/actiondrop-run.XXXXXX";
        const int fd = ::mkstemp(path.data());
        if (fd < 0)
            throw std::system_error(
                errno, std::generic_category(),
                "a temporary file for the run's listing in " + path.substr(0, path.rfind('/')));
        ::unlink(path.c_str());
        std::FILE* file = ::fdopen(fd, "w+");
        if (!file) {
            const int error = errno;
            ::close(fd);
            throw std::system_error(error, std::generic_category(), "a temporary file");
        }
        std::setvbuf(file, nullptr, _IOFBF, 1 << 20);  // a million lines: fewer write calls
        return file;
    }

    void write(std::string_view text) {
        if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
            throw std::system_error(errno, std::generic_category(), "a temporary file");
    }

    // JSON: closes the arrays before `section` and opens those up to it. The store hands the
    // decisions over in the sections' order (lifecycle::DecisionSink); one out of it would land
    // in the wrong array.
    void open(int section) {
        if (section < open_)
            throw std::logic_error("a lifecycle decision came after those of a later step");
        while (open_ < section) {
            if (open_ >= 0) write(items_ ? "\n    ]" : "]");
            if (++open_ == kSections) break;
            write(fmt::format(",\n    \"{}\": [", kNames[open_]));
            items_ = 0;
        }
    }
    void item(int section, const nlohmann::ordered_json& x) {
        open(section);
        write(items_++ ? ",\n      " : "\n      ");
        write(json_text(x, -1));
    }

    void copy_out() {
        if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0)
            throw std::system_error(errno, std::generic_category(), "a temporary file");
        char buffer[1 << 16];
        while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, file_))
            std::cout.write(buffer, static_cast<std::streamsize>(n));
        if (std::ferror(file_))
            throw std::system_error(EIO, std::generic_category(), "a temporary file");
    }

    // A run's actions share few dates (a locking date per event day, a clearing date per
    // payment day): the last one's text is kept.
    const std::string& instant_text(ledger::Instant at) {
        if (at != last_at_ || last_at_text_.empty()) {
            last_at_ = at;
            last_at_text_ = ledger::format_instant(at);
        }
        return last_at_text_;
    }

    std::FILE* file_;
    const ledger::Account& account_;
    bool json_;
    std::string code_ = code();
    fmt::memory_buffer line_;  // the text line being written
    ledger::Instant last_at_{};
    std::string last_at_text_;
    int open_ = -1;          // JSON: the array open, -1 before the first
    std::size_t items_ = 0;  // JSON: items in the open array
};

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
    bool files_failed = false;
    if (o.json) std::cout << "[";
    for (const ledger::Account* a : accounts) {
        const ledger::Instant now = o.now.empty() ? clock : time_option("--now", o.now, *a);
        RunListing listing(*a, now, o.json);
        const lifecycle::RunDecisions d = funds.run_lifecycle(*a, now, &listing);
        const std::int64_t balance = funds.balance(a->id);
        // Committed: the account is printed before its files are written, and files that
        // cannot be written stop neither the other invoices nor the other accounts.
        if (o.json) std::cout << (a == accounts.front() ? "\n" : ",\n");
        listing.print(d, balance);
        std::cout.flush();
        // Every invoice of the account without its files, not only those of this run: a run
        // stopped after its commit left its own to this one (ingest/invoice_files.hpp).
        std::string problem;
        try {
            const auto to = ingest::invoice_destinations(cfg, a->id, ingest::StateFolder::make);
            problem =
                ingest::write_missing_invoice_files(funds, to, a->id, system_now()).describe();
        } catch (const std::exception& e) {
            problem = std::string("invoice files not written: ") + e.what();
        }
        if (!problem.empty()) {
            files_failed = true;
            std::cerr << fmt::format("account {}: {}\n", a->id, problem);
        }
    }
    if (o.json) std::cout << (accounts.empty() ? "]\n" : "\n]\n");
    return files_failed ? exit_code::io : exit_code::ok;
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
