#pragma once
// The daemon's lifecycle runs (docs/lifecycle.md, "The daemon's schedule"): every
// `lifecycle.interval`, each account of the catalog is run (lock, clear, invoice) in one write
// transaction of its own, and the invoices it issued are written (ingest/invoice_files.hpp).
//
// The schedule runs on the thread that applies files, between two of them (ingest::Service
// applies one file at a time), so a run never overlaps a batch's commit. An account with a file
// that is claimed and not yet finished (a file that failed and waits for a retry, or that a
// stop or reload interrupted), or with files its inbox's turn left, is passed over and run
// once they are done, for one interval at most (Service's `busy`).
//
// A stop request is honoured between accounts: the account being run commits or rolls back
// whole, the others wait for the next start. A run that fails (a store error) is reported and
// the account is tried again at the next interval; the other accounts go on.
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "config/service_config.hpp"
#include "ingest/local_inbox.hpp"
#include "ledger/catalog.hpp"
#include "lifecycle/run.hpp"
#include "store/store.hpp"

namespace actiondrop::ingest {

// What the schedule reports; the daemon turns these into log lines and metrics.
struct LifecycleEvents {
    // An account's run committed. `invoice_files` counts the invoices whose files were written
    // (those it issued, and after a start any that an earlier process issued and did not
    // write); `files_error` is why writing them failed (they are written by a later run), or
    // empty.
    std::function<void(const ledger::Account&, const lifecycle::RunDecisions&,
                       std::size_t invoice_files, const std::string& files_error,
                       std::chrono::milliseconds took)>
        ran;
    // An account's run failed and was rolled back (or, its commit's answer lost, committed:
    // the next run writes its invoices); tried again at the next interval.
    std::function<void(const std::string& account, const std::string& what)> failed;
    // An account passed over because a file of it is not finished (once per file).
    std::function<void(const std::string& account)> deferred;
    // Every account of the cycle was run (or passed over), `took` after it began at `began`.
    std::function<void(std::chrono::system_clock::time_point began,
                       std::chrono::duration<double> took)>
        finished;
    std::function<void()> progress;  // between accounts: the watchdog
};

class LifecycleSchedule {
public:
    using WallClock = std::function<ledger::Instant()>;

    LifecycleSchedule(store::Store& store, WallClock clock, LifecycleEvents events);

    // How long an invoice that the store holds without files is left to the process that
    // issued it, from when this schedule first sees it so, before this one writes its files
    // (docs/lifecycle.md, "Invoices in the outboxes"): that process may be writing them.
    static constexpr std::chrono::minutes files_grace{5};

    // The interval and the outboxes to send invoices to (at start, and on SIGHUP). The first
    // run is due at once.
    void set_config(const config::ServiceConfig& cfg);

    // When run_due() next has work: the next interval, or soon while accounts wait for
    // their files or a stop left a cycle unfinished.
    SteadyTime next_due(SteadyTime now) const;

    // Runs the accounts that are due, one transaction each, except those named in `busy`
    // (accounts with an unfinished file; they are run by a later call once free). Checks
    // should_stop() before each account and returns false when it stopped there; the accounts
    // left are run by the next call.
    bool run_due(SteadyTime now, const std::set<std::string>& busy,
                 const std::function<bool()>& should_stop);

private:
    void run_account(const ledger::Account& account, SteadyTime now);
    // The account's invoices without files, other than `issued`, that have been so since
    // files_grace before `now` by this schedule's looks; remembers the others it sees.
    std::vector<std::string> left_behind_for(store::LifecycleLedger& ledger,
                                             const std::string& account_id,
                                             const std::vector<std::string>& issued,
                                             SteadyTime now);

    store::Store& store_;
    WallClock clock_;
    LifecycleEvents events_;
    config::ServiceConfig config_;
    std::chrono::milliseconds interval_{60000};
    SteadyTime next_{};                  // the next cycle; the epoch: at once
    std::deque<std::string> remaining_;  // accounts of the current cycle not yet run
    std::set<std::string> deferred_;     // passed over for an unfinished file
    bool cycle_open_ = false;
    std::chrono::system_clock::time_point cycle_began_{};
    SteadyTime cycle_began_steady_{};
    // Accounts whose missing invoice files were written by this process: from then on a run
    // writes what it issued, and what left_behind_for finds. Empty at start, so the first run of
    // each account finds the invoices an earlier process committed and did not write; an account
    // leaves it when writing fails, and when its run fails (which may have committed all the same).
    std::set<std::string> files_checked_;
    // By account, the invoices a run found without files and not yet due for this schedule to
    // write, each with when it was first found so.
    std::map<std::string, std::map<std::string, SteadyTime>> left_behind_;
};

}  // namespace actiondrop::ingest
