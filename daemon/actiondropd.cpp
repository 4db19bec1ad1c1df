// actiondropd: the service (README.md, "The service"). Process wiring only: config, store, signals,
// inotify, sd_notify and log lines; the work itself is ingest::Service.
//
// Signals are read from a signalfd, never in a handler: between files, every 20,000 rows of
// a file being applied, and between the accounts of a lifecycle run (ingest/lifecycle_schedule.hpp,
// run between files on this same thread, so that it never overlaps a batch's commit).
// SIGTERM/SIGINT drain: no other file is taken, the file being applied is finished, and the
// service exits 0. That file is abandoned instead (its transaction rolls back and its claim
// waits in STATE_DIR/claims/ for the next start) when a second stop signal comes, or when it
// is still being applied kDrainLimit after the first, so that systemd's stop timeout never
// kills it mid-commit. SIGHUP re-reads the config between files and keeps the old one when the
// new one is invalid.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <system_error>

#include "config/service_config.hpp"
#include "exit_codes.hpp"
#include "ingest/inbox_watch.hpp"
#include "ingest/lifecycle_schedule.hpp"
#include "ingest/service.hpp"
#include "ledger/money.hpp"
#include "observe/health.hpp"
#include "observe/journal_sink.hpp"
#include "observe/metrics.hpp"
#include "observe/metrics_http.hpp"
#include "store/open_store.hpp"
#include "store/store.hpp"
#include "util/atomic_file.hpp"
#include "util/folder.hpp"
#include "util/name_rules.hpp"
#include "wall_clock.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;
using namespace std::chrono_literals;

namespace {

// The config, or every error as "file:line:column: key: message".
std::expected<config::ServiceConfig, std::string> read_config(const fs::path& file) {
    if (file.empty()) return config::ServiceConfig{};
    auto read = config::read_service_config(file);
    if (read) return *read;
    std::string text;
    for (const auto& e : read.error()) text += (text.empty() ? "" : "\n") + e.str();
    return std::unexpected(text);
}

void setup_logging() {
    // Under systemd (stderr is the journal stream that $JOURNAL_STREAM names), each line is
    // a journal entry with its level and the INBOX, ACCOUNT, BATCH and FILE of its tokens.
    std::shared_ptr<spdlog::logger> logger;
    if (util::is_journal_stream(std::getenv("JOURNAL_STREAM"), STDERR_FILENO)) {
        logger = std::make_shared<spdlog::logger>(
            "actiondropd", std::make_shared<observe::JournalSinkMt>("actiondropd"));
    } else {
        logger = spdlog::stderr_logger_mt("actiondropd");
        logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l: %v");
    }
    spdlog::set_default_logger(logger);
    spdlog::flush_on(spdlog::level::info);
    // A store server's own warnings are log lines too, never bare text on stderr.
    store::set_server_messages([](std::string_view line) { spdlog::warn("{}", line); });
}

void notify(const std::string& state) { sd_notify(0, state.c_str()); }

// How long a stop waits for the file being applied: well within the unit's TimeoutStopSec
// (30 s), so that an abandoned file still has time to roll back before systemd kills us.
constexpr std::chrono::seconds kDrainLimit{20};

// Signals arrive on a file descriptor, so that a file being applied is never interrupted.
class Signals {
public:
    Signals() {
        sigemptyset(&set_);
        for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set_, s);
        if (sigprocmask(SIG_BLOCK, &set_, nullptr) != 0)
            throw std::system_error(errno, std::generic_category(), "sigprocmask");
        fd_ = signalfd(-1, &set_, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "signalfd");
    }
    ~Signals() { ::close(fd_); }
    int fd() const { return fd_; }
    // Reads what arrived: sets stop on SIGTERM/SIGINT, reload on SIGHUP.
    void read(bool& stop, bool& reload) {
        signalfd_siginfo info{};
        while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            if (info.ssi_signo == SIGHUP) {
                reload = true;
            } else {
                stop = true;
                ++stops_;
            }
        }
    }
    // The stop signals read so far.
    int stops() const { return stops_; }

private:
    sigset_t set_{};
    int fd_ = -1;
    int stops_ = 0;
};

// The store, opened and migrated. A store on a server (PostgreSQL) that cannot be reached yet
// is waited for: the daemon says why and tries again after 1 s, 2 s, 4 s … up to a minute,
// instead of exiting into a restart loop (docs/postgres.md, "When the server is down").
// A stop signal meanwhile ends the wait: nullptr. A SQLite file that cannot be opened is an
// error at once, since waiting does not mend a path or a permission.
std::unique_ptr<store::Store> open_store_patiently(const std::string& url, Signals& signals,
                                                   int& schema) {
    std::chrono::seconds wait{1};
    constexpr std::chrono::seconds longest{60};
    for (;;) {
        try {
            auto store = store::open_store(url);
            schema = store->migrate();
            return store;
        } catch (const store::StoreError& e) {
            if (store::local_path(url)) throw;
            spdlog::error("store unavailable: {}; trying again in {}s", e.what(), wait.count());
            notify(fmt::format("STATUS=waiting for the store: {}", e.what()));
        }
        const auto until = std::chrono::steady_clock::now() + wait;
        for (auto now = std::chrono::steady_clock::now(); now < until;
             now = std::chrono::steady_clock::now()) {
            notify("WATCHDOG=1");
            pollfd pfd{signals.fd(), POLLIN, 0};
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
            if (::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1000) + 1)) >
                0) {
                bool stop = false, reload = false;
                signals.read(stop, reload);
                if (stop) return nullptr;
            }
        }
        wait = std::min(wait * 2, longest);
    }
}

std::string status_line(const ingest::Service& service, std::size_t inboxes) {
    auto line =
        fmt::format("STATUS=serving {} inboxes; {} files taken; {} claims waiting to be retried",
                    inboxes, service.files_taken(), service.claims_waiting());
    if (auto alerts = service.host_key_alerts(); !alerts.empty())
        line += fmt::format("; HOST KEY ALERT on {} (not connecting)", fmt::join(alerts, ", "));
    return line;
}

// Why the state folder cannot take claims, or empty: gone (deleted, moved, a disk not
// mounted), not a folder, or not writable by the service (docs/ingest.md, "Claims").
std::string state_folder_problem(const fs::path& state_dir) {
    if (auto problem = util::folder_problem(state_dir); !problem.empty())
        return fmt::format("the state folder {} {}: no file is claimed meanwhile",
                           state_dir.string(), problem);
    if (::access(state_dir.c_str(), W_OK | X_OK) != 0) {
        const int err = errno;
        return fmt::format("the state folder {} cannot be written ({})", state_dir.string(),
                           std::strerror(err));
    }
    return {};
}

// Wakes the main loop from another thread (an SFTP inbox downloaded a file).
class Wakeup {
public:
    Wakeup() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~Wakeup() { ::close(fd_); }
    int fd() const { return fd_; }
    void wake() const {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
    }
    void drain() const {
        std::uint64_t count = 0;
        [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
    }

private:
    int fd_;
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"actiondropd: the actiondrop service (applies files dropped into inboxes)"};
    std::string config_option;
    bool check_only = false;
    app.add_option("--config", config_option,
                   "service config (default $ACTIONDROP_CONFIG, /etc/actiondrop/actiondrop.yaml)");
    app.add_flag("--check-config", check_only, "validate the config and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return exit_code::usage;
    }

    const fs::path file = config::locate_service_config(config_option);
    auto cfg = read_config(file);
    if (!cfg) {
        std::cerr << cfg.error() << "\n";
        return exit_code::config;
    }
    if (check_only) {
        std::cout << fmt::format("{}: valid; {} inboxes\n",
                                 file.empty() ? "built-in defaults" : file.string(),
                                 cfg->inboxes.size());
        return exit_code::ok;
    }

    setup_logging();
    try {
        // One service per state folder: a second one would take the first's claims for a
        // crash's leftovers (docs/ingest.md, "One service per state folder").
        util::create_folders(cfg->state_dir);
        const fs::path lock_file = cfg->state_dir / "actiondropd.lock";
        // The lock file of an earlier service marks a state folder that is not a first
        // install: a SQLite ledger missing from it is a restore half done or a disk not
        // mounted yet, not one to make empty (docs/ingest.md, "The ledger gone").
        std::error_code ec;
        if (const auto db = store::missing_ledger(cfg->store); db && fs::exists(lock_file, ec)) {
            spdlog::critical(
                "the ledger {} is missing, and a service has served the state "
                "folder {} before: not making an empty ledger; put the ledger "
                "back, or run `actiondrop init` to start an empty one",
                db->string(), cfg->state_dir.string());
            return exit_code::config;
        }
        auto held = util::HeldLock::take(lock_file);
        if (!held && held.error().held_elsewhere) {
            spdlog::critical(
                "another actiondropd serves the state folder {} ({}): one service "
                "per state folder; not starting",
                cfg->state_dir.string(), held.error().message);
            return exit_code::config;
        }
        if (!held) {
            spdlog::critical("the state folder {} cannot be locked: {}", cfg->state_dir.string(),
                             held.error().message);
            return exit_code::io;
        }
        bool lock_lost = false;
        Signals signals;
        ingest::InboxWatch watch;
        int schema = 0;
        auto store = open_store_patiently(cfg->store, signals, schema);
        if (!store) {
            spdlog::info("stopped while waiting for the store");
            return exit_code::ok;
        }
        spdlog::info("store {} at schema version {}; config {}", cfg->store, schema,
                     file.empty() ? "built-in defaults" : file.string());

        std::uint64_t watchdog_usec = 0;
        const bool watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0;
        auto last_ping = std::chrono::steady_clock::now();
        auto ping = [&] {
            if (!watchdog) return;
            auto now = std::chrono::steady_clock::now();
            if (now - last_ping < std::chrono::microseconds(watchdog_usec / 4)) return;
            last_ping = now;
            notify("WATCHDOG=1");
        };

        // Prometheus /metrics and /healthz on the loopback address of the config. A busy or
        // refused address is logged, not fatal: the files matter more than their metrics.
        observe::Metrics metrics;
        std::atomic<bool> ready{false};
        // What keeps every file from being applied; an inbox's own trouble is in the metrics.
        observe::HealthBoard health;
        observe::MetricsServer http(metrics, [&]() -> std::expected<void, std::string> {
            if (!ready.load()) return std::unexpected(std::string("starting"));
            return health.verdict();
        });
        // One log line when a condition comes or goes, not one at every round.
        auto judge = [&health](const std::string& condition, std::string problem) {
            const bool clear = problem.empty();
            if (!health.set(condition, problem)) return;
            if (clear)
                spdlog::info("health: {}: fine again", condition);
            else
                spdlog::error("health: {}: {}", condition, problem);
        };
        std::string metrics_listen;  // where the endpoint listens
        std::string metrics_failed;  // an address it could not listen on, said once
        ingest::SteadyTime metrics_retry{};
        auto serve_metrics = [&](const config::ServiceConfig& c) {
            if (c.metrics_listen == metrics_listen && http.running()) return;
            if (auto started = http.start({.listen = c.metrics_listen}); !started) {
                // Another program holds the address, maybe for a moment (an old process
                // still stopping): the inboxes are served all the same, and the address is
                // tried again every 10 s until it is free. The endpoint stays where it was,
                // if any.
                if (metrics_failed != c.metrics_listen)
                    spdlog::error("metrics.listen: {}; trying again every 10 s", started.error());
                metrics_failed = c.metrics_listen;
                metrics_retry = std::chrono::steady_clock::now() + std::chrono::seconds(10);
                return;
            }
            spdlog::info("metrics on http://{}/metrics", c.metrics_listen);
            metrics_listen = c.metrics_listen;
            metrics_failed.clear();
        };

        ingest::ServiceEvents events;
        events.skipped = [](const config::InboxConfig& inbox, const ingest::Skip& skip) {
            spdlog::warn("inbox={} skipped file={}: {}", inbox.name, util::printable(skip.name),
                         skip.why);
        };
        events.taken = [&metrics](const config::InboxConfig& inbox, const ingest::Claim& claim,
                                  const ingest::Outcome& o, std::chrono::milliseconds took) {
            if (o.vanished) {
                spdlog::warn(
                    "inbox={} account={} batch={} file={}: its claim {} was removed by "
                    "someone else; nothing was applied",
                    inbox.name, inbox.account, o.batch_id, util::printable(claim.file_name),
                    claim.path.string());
                return;
            }
            if (o.undelivered) {
                metrics.file_undelivered(inbox.name);
                spdlog::critical(
                    "inbox={} account={} batch={} file={}: applied, but its answers "
                    "could not be delivered {} times; quarantined: mend the outbox "
                    "{}, then run actiondrop batches redeliver {}",
                    inbox.name, inbox.account, o.batch_id, util::printable(claim.file_name),
                    ingest::max_delivery_attempts, inbox.outbox.string(), o.batch_id);
            }
            metrics.file_discovered(inbox.name);
            metrics.file_claimed(inbox.name);
            metrics.file_done(inbox.name, {.status = o.status,
                                           .error_code = o.error_code,
                                           .total = o.total,
                                           .applied = o.applied,
                                           .rejected = o.rejected,
                                           .error_counts = o.error_counts,
                                           .bytes = o.bytes,
                                           .took = took});
            spdlog::info(
                "inbox={} account={} batch={} file={} status={}{} total={} applied={} "
                "rejected={}{} ms={}",
                inbox.name, inbox.account, o.batch_id, util::printable(claim.file_name), o.status,
                o.error_code.empty() ? "" : " error=" + o.error_code, o.total, o.applied,
                o.rejected, o.redelivered ? " redelivered" : "", took.count());
        };
        events.failed = [&metrics](const config::InboxConfig& inbox, const ingest::Claim& claim,
                                   const std::string& what, std::chrono::seconds retry_in) {
            metrics.file_failed(inbox.name);
            spdlog::error("inbox={} account={} file={} failed: {}; retrying in {}s", inbox.name,
                          inbox.account, util::printable(claim.file_name), what, retry_in.count());
        };
        events.waiting = [](const config::InboxConfig& inbox, const ingest::Claim& claim,
                            const std::string& what) {
            spdlog::warn("inbox={} account={} file={} {}; tried again within seconds", inbox.name,
                         inbox.account, util::printable(claim.file_name), what);
        };
        events.set_aside = [&metrics](const config::InboxConfig& inbox, const std::string& name,
                                      const std::string& why, const fs::path& to) {
            metrics.file_set_aside(inbox.name);
            // Paths are printed like names: one may hold a name (util/journal_fields.hpp).
            spdlog::error("inbox={} file={} cannot be answered ({}); moved untaken to {}",
                          inbox.name, util::printable(name), why, util::printable(to.string()));
        };
        events.inbox_problem = [&metrics](const config::InboxConfig& inbox,
                                          const std::string& what) {
            metrics.inbox_error(inbox.name);
            spdlog::warn("inbox={}: {}", inbox.name, what);
        };
        events.made_inbox_folder = [](const config::InboxConfig& inbox) {
            spdlog::warn(
                "inbox={}: its folder {} was not there: made it, owned by the service; "
                "if the uploads go elsewhere, check path: in the config",
                inbox.name, inbox.local()->path.string());
        };
        events.abandoned = [](const config::InboxConfig& inbox, const ingest::Claim& claim) {
            spdlog::info(
                "inbox={} account={} file={} abandoned to stop: rolled back, applied at "
                "the next start",
                inbox.name, inbox.account, util::printable(claim.file_name));
        };
        events.tidied = [](const fs::path& path) {
            spdlog::info("removed {}, left behind by a process that was killed",
                         util::printable(path.string()));
        };
        events.progress = ping;

        Wakeup wakeup;  // outlives the service, whose pullers may wake it until they stop
        ingest::Service service(*store, {cfg->state_dir}, system_now, events);
        pull::PullEvents pull_events;
        pull_events.problem = [&metrics](const config::InboxConfig& inbox, const std::string& what,
                                         std::chrono::seconds retry_in) {
            const auto& server = *inbox.remote();
            if (what.empty()) {
                spdlog::info("inbox={}: connected to {}:{} again", inbox.name, server.host,
                             server.port);
                return;
            }
            metrics.inbox_error(inbox.name);
            if (retry_in.count() > 0)
                spdlog::warn("inbox={} {} {}:{}: {}; retrying in {}s", inbox.name, inbox.kind(),
                             server.host, server.port, what, retry_in.count());
            else
                spdlog::error("inbox={} {} {}:{}: {}", inbox.name, inbox.kind(), server.host,
                              server.port, what);
        };
        pull_events.alert = [&metrics](const config::InboxConfig& inbox, bool raised,
                                       const std::string& what) {
            metrics.set_host_key_alert(inbox.name, raised);
            if (raised)
                spdlog::critical("inbox={} HOST KEY ALERT for {}:{}: {}", inbox.name,
                                 inbox.remote()->host, inbox.remote()->port, what);
            else
                spdlog::warn("inbox={} host key alert cleared: {}", inbox.name, what);
        };
        pull_events.skipped = [](const config::InboxConfig& inbox, const std::string& name,
                                 const std::string& why) {
            spdlog::warn("inbox={} skipped file={} on {}: {}", inbox.name, util::printable(name),
                         inbox.remote()->host, why);
        };
        pull_events.fetched = [](const config::InboxConfig& inbox, const std::string& name,
                                 std::int64_t bytes, std::chrono::milliseconds took) {
            spdlog::info("inbox={} account={} file={} pulled from {}:{} bytes={} ms={}", inbox.name,
                         inbox.account, util::printable(name), inbox.remote()->host,
                         inbox.remote()->port, bytes, took.count());
        };
        pull_events.info = [](const config::InboxConfig& inbox, const std::string& what) {
            spdlog::warn("inbox={}: {}", inbox.name, what);
        };
        pull_events.connecting = [&metrics](const config::InboxConfig& inbox) {
            metrics.sftp_connecting(inbox.name);
        };
        pull_events.wake = [&wakeup] { wakeup.wake(); };
        const std::string store_url = cfg->store;
        pull::PullTiming pull_timing;
        pull_timing.lease = cfg->pull_lease;  // read at start; a reload keeps it
        // A puller opens its connection when it starts (a reload) and after a failure: never
        // onto an empty ledger made where the ledger went missing under the service.
        auto open_pull_store = [store_url] {
            if (const auto db = store::missing_ledger(store_url))
                throw store::StoreError(fmt::format(
                    "the ledger {} is missing: not making an empty ledger", db->string()));
            return store::open_store(store_url);
        };
        service.enable_pulls(open_pull_store, pull_events, pull_timing);
        service.remove_spool_leftovers();

        // The life cycle every lifecycle.interval (docs/lifecycle.md, "The daemon's schedule").
        ingest::LifecycleEvents lifecycle_events;
        std::set<std::string> calendar_warned;  // accounts told once that their invoices stopped
        lifecycle_events.ran = [&metrics, &calendar_warned](
                                   const ledger::Account& account, const lifecycle::RunDecisions& d,
                                   std::size_t files, const std::string& files_error,
                                   std::chrono::milliseconds took) {
            const ledger::Currency* currency = account.currency;
            const std::int64_t overdue_minor = d.clearing.overdue_amount();
            const auto newly_overdue = static_cast<std::int64_t>(d.clearing.newly_overdue);
            double overdue_amount = static_cast<double>(overdue_minor);
            for (int i = 0; currency && i < currency->digits; ++i) overdue_amount /= 10;
            const std::string code = currency ? std::string(currency->code) : "";
            metrics.lifecycle_account_run(
                account.id, {.locked = static_cast<std::int64_t>(d.locked),
                             .cleared = static_cast<std::int64_t>(d.clearing.cleared),
                             .newly_overdue = newly_overdue,
                             .overdue = static_cast<std::int64_t>(d.clearing.left_overdue),
                             .overdue_amount = overdue_amount,
                             .currency = code,
                             .invoices = static_cast<std::int64_t>(d.invoices.size())});
            const std::string amount = currency ? ledger::format_minor(overdue_minor, *currency)
                                                : std::to_string(overdue_minor);
            // Only an account where something happened has a line; the others one at debug.
            const auto level =
                d.changes_nothing() && files == 0 ? spdlog::level::debug : spdlog::level::info;
            spdlog::log(level,
                        "account={} lifecycle at={} locked={} cleared={} overdue={} "
                        "newly_overdue={} overdue_amount={} currency={} invoices={} "
                        "invoice_files={} ms={}",
                        account.id, ledger::format_instant(d.now), d.locked, d.clearing.cleared,
                        d.clearing.left_overdue, newly_overdue, amount, code, d.invoices.size(),
                        files, took.count());
            if (!files_error.empty())
                spdlog::error("account={} lifecycle: {}; the next run tries again", account.id,
                              files_error);
            if (d.invoice_calendar_ended && calendar_warned.insert(account.id).second)
                spdlog::warn(
                    "account={} lifecycle: cleared actions or transfers wait for an "
                    "invoice and the account's period_ends list has no later date; load "
                    "a catalog that lists more",
                    account.id);
            else if (!d.invoice_calendar_ended)
                calendar_warned.erase(account.id);
        };
        lifecycle_events.failed = [&metrics](const std::string& account, const std::string& what) {
            if (account.empty()) {
                spdlog::error(
                    "lifecycle: the catalog cannot be read: {}; tried again at the "
                    "next interval",
                    what);
                return;
            }
            metrics.lifecycle_failed(account);
            spdlog::error(
                "account={} lifecycle run failed: {}; rolled back, unless the store had "
                "committed it when the connection was lost; tried again at the next interval",
                account, what);
        };
        lifecycle_events.deferred = [](const std::string& account) {
            spdlog::debug("account={} lifecycle: waits for a file of the account to finish",
                          account);
        };
        lifecycle_events.finished = [&metrics](std::chrono::system_clock::time_point began,
                                               std::chrono::duration<double> took) {
            metrics.lifecycle_run_finished(
                began + std::chrono::duration_cast<std::chrono::system_clock::duration>(took),
                took);
        };
        lifecycle_events.progress = ping;
        ingest::LifecycleSchedule lifecycle(*store, system_now, lifecycle_events);

        auto serve = [&](const config::ServiceConfig& c) {
            service.set_inboxes(c.inboxes, c.sweep_interval);
            // An account whose files keep coming is run at most one interval late.
            service.set_files_left_wait(c.lifecycle_interval);
            lifecycle.set_config(c);
            std::vector<std::string> names;
            for (const auto& inbox : c.inboxes) names.push_back(inbox.name);
            metrics.set_inboxes(names);
            serve_metrics(c);
            // Written out in the config, but still worth a line at each start and reload: the
            // password and the files cross the network in clear (README.md, "FTP pull inboxes").
            std::vector<std::string> unencrypted;
            for (const auto& inbox : c.inboxes)
                if (const auto* ftp = std::get_if<config::FtpSource>(&inbox.source);
                    ftp && ftp->tls == config::FtpTls::None) {
                    spdlog::warn(
                        "inbox={} ftp {}:{}: tls: none; the password and the files "
                        "cross the network unencrypted",
                        inbox.name, ftp->host, ftp->port);
                    unencrypted.push_back(inbox.name);
                }
            metrics.set_unencrypted(unencrypted);
            for (const auto& left : service.unserved_claims())
                spdlog::warn(
                    "inbox={} is not in the config, and {} of its claimed files wait in {}; "
                    "they are applied and answered once an inbox of that name is served "
                    "again",
                    left.inbox, left.files, left.folder.string());
            if (!c.inotify) {
                watch.watch({});
                return;
            }
            for (const auto& folder : watch.watch(service.folders()))
                spdlog::warn(
                    "cannot watch {} with inotify; the sweep every {}ms still finds its files",
                    folder.string(), c.sweep_interval.count());
        };
        serve(*cfg);

        bool stop = false, reload = false;
        auto should_stop = [&] {
            signals.read(stop, reload);
            return stop || reload;
        };
        // A reload waits for the end of the file; a stop drains (see the top of this file).
        std::optional<std::chrono::steady_clock::time_point> stop_at;
        auto abandon_file = [&] {
            signals.read(stop, reload);
            if (!stop) return false;
            const auto now = std::chrono::steady_clock::now();
            if (!stop_at) {
                stop_at = now;
                spdlog::info(
                    "stopping: the file being applied is finished first (at most {}s; "
                    "a second SIGTERM abandons it, to be applied at the next start)",
                    kDrainLimit.count());
                notify("STATUS=stopping: finishing the file being applied");
            }
            return signals.stops() > 1 || now - *stop_at >= kDrainLimit;
        };
        ready = true;
        metrics.set_ready(true);
        notify("READY=1\n" + status_line(service, cfg->inboxes.size()));
        spdlog::info("serving {} inboxes, sweeping every {}ms{}", cfg->inboxes.size(),
                     cfg->sweep_interval.count(), cfg->inotify ? " and woken by inotify" : "");

        // A store that fails between files (a server restarted, a connection dropped) is
        // waited for, as at start: the claims stay and the next sweep tries again.
        std::chrono::seconds store_wait{0};
        while (true) {
            ingest::SteadyTime next;
            auto state_problem = state_folder_problem(cfg->state_dir);
            // The lock is on a file: a state folder made again, or its lock file removed,
            // leaves it on one no longer at the path, where another service could take it.
            // Taken again there; if another service got it first, this one stops.
            if (state_problem.empty() && !held->still_at(lock_file)) {
                if (auto again = util::HeldLock::take(lock_file)) {
                    *held = std::move(*again);
                    spdlog::warn("the lock file {} was removed or replaced: locked again",
                                 lock_file.string());
                } else if (again.error().held_elsewhere) {
                    spdlog::critical(
                        "another actiondropd took the state folder {} ({}) after "
                        "its lock file was removed or replaced: stopping",
                        cfg->state_dir.string(), again.error().message);
                    lock_lost = true;
                    break;
                } else {
                    state_problem = again.error().message;
                }
            }
            judge("state folder", state_problem);
            judge("ledger", store->problem());
            if (!metrics_failed.empty() && std::chrono::steady_clock::now() >= metrics_retry)
                serve_metrics(*cfg);
            try {
                next =
                    service.run_once(std::chrono::steady_clock::now(), should_stop, abandon_file);
                store_wait = std::chrono::seconds{0};
                judge("store", service.store_problem());
            } catch (const store::StoreError& e) {
                store_wait =
                    std::clamp(store_wait * 2, std::chrono::seconds{1}, std::chrono::seconds{60});
                spdlog::error("store unavailable: {}; trying again in {}s", e.what(),
                              store_wait.count());
                notify(fmt::format("STATUS=waiting for the store: {}", e.what()));
                judge("store", e.what());
                next = std::chrono::steady_clock::now() + store_wait;
            }
            metrics.set_oldest_waiting(service.oldest_waiting());
            signals.read(stop, reload);
            if (stop) break;
            if (reload) {
                reload = false;
                notify("RELOADING=1");
                auto fresh = read_config(file);
                if (!fresh) {
                    spdlog::error("SIGHUP: the config is not valid; keeping the old one:\n{}",
                                  fresh.error());
                } else {
                    if (fresh->store != cfg->store || fresh->state_dir != cfg->state_dir)
                        spdlog::warn(
                            "SIGHUP: store and state_dir changes take effect at the next start");
                    fresh->store = cfg->store;
                    fresh->state_dir = cfg->state_dir;
                    cfg = std::move(fresh);
                    serve(*cfg);
                    spdlog::info("SIGHUP: config reloaded; serving {} inboxes",
                                 cfg->inboxes.size());
                }
                notify("READY=1\n" + status_line(service, cfg->inboxes.size()));
                continue;
            }
            // Between files: no batch commits meanwhile, and an account with a file not yet
            // finished waits for it.
            if (!lifecycle.run_due(std::chrono::steady_clock::now(),
                                   service.accounts_with_unfinished_files(), should_stop))
                continue;  // a stop or a reload: the loop's top handles it
            ping();
            notify(status_line(service, cfg->inboxes.size()));

            auto now = std::chrono::steady_clock::now();
            next = std::min(next, lifecycle.next_due(now));
            if (!metrics_failed.empty()) next = std::min(next, metrics_retry);
            auto wait =
                std::clamp(std::chrono::ceil<std::chrono::milliseconds>(next - now), 0ms, 60000ms);
            if (watchdog) wait = std::min(wait, std::chrono::milliseconds(watchdog_usec / 2000));
            pollfd fds[3] = {
                {signals.fd(), POLLIN, 0}, {watch.fd(), POLLIN, 0}, {wakeup.fd(), POLLIN, 0}};
            if (::poll(fds, 3, static_cast<int>(wait.count())) < 0 && errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "poll");
            watch.drain();
            wakeup.drain();
        }
        ready = false;
        metrics.set_ready(false);
        notify("STOPPING=1");
        spdlog::info("stopping: {} files taken", service.files_taken());
        return lock_lost ? exit_code::config : exit_code::ok;
    } catch (const store::StoreError& e) {
        spdlog::critical("store failure: {}", e.what());
        return exit_code::io;
    } catch (const std::system_error& e) {
        spdlog::critical("system error: {}", e.what());  // after ": ", a path in it is prose
        return exit_code::io;
    } catch (const std::exception& e) {
        spdlog::critical("internal error: {}", e.what());
        return exit_code::software;
    }
}
