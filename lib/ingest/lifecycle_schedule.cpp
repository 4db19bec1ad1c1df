#include "ingest/lifecycle_schedule.hpp"

#include <algorithm>
#include <exception>
#include <vector>

#include "ingest/invoice_files.hpp"

namespace actiondrop::ingest {

LifecycleSchedule::LifecycleSchedule(store::Store& store, WallClock clock, LifecycleEvents events)
    : store_(store), clock_(std::move(clock)), events_(std::move(events)) {}

void LifecycleSchedule::set_config(const config::ServiceConfig& cfg) {
    config_ = cfg;
    if (cfg.lifecycle_interval != interval_ && next_ != SteadyTime{})
        next_ = std::min(next_, std::chrono::steady_clock::now() + cfg.lifecycle_interval);
    interval_ = cfg.lifecycle_interval;
}

SteadyTime LifecycleSchedule::next_due(SteadyTime now) const {
    if (!remaining_.empty()) return now;
    // An account waiting for its file is looked at again soon: the file's retry or the next
    // round ends it.
    if (!deferred_.empty()) return std::min(next_, now + std::chrono::seconds(1));
    return next_;
}

bool LifecycleSchedule::run_due(SteadyTime now, const std::set<std::string>& busy,
                                const std::function<bool()>& should_stop) {
    if (!store_.lifecycle_ledger()) {  // a store without funds or invoices has no life cycle
        next_ = now + interval_;
        return true;
    }
    if (remaining_.empty() && now >= next_) {
        next_ = now + interval_;
        cycle_open_ = true;
        cycle_began_ = std::chrono::system_clock::now();
        cycle_began_steady_ = std::chrono::steady_clock::now();
        std::set<std::string> queued;
        try {
            for (const auto& [id, account] : store_.load_catalog().accounts) {
                remaining_.push_back(id);
                queued.insert(id);
            }
        } catch (const std::exception& e) {
            // No account ran: the cycle is not counted as a run, and the next interval tries.
            if (events_.failed) events_.failed("", e.what());
            remaining_.clear();
            cycle_open_ = false;
            return true;
        }
        // Passed over in the last cycle and still waiting: this cycle runs them once free.
        std::erase_if(deferred_, [&](const std::string& id) { return queued.contains(id); });
    }
    // Accounts whose file is done since they were passed over.
    for (auto it = deferred_.begin(); it != deferred_.end();) {
        if (busy.contains(*it)) {
            ++it;
            continue;
        }
        remaining_.push_back(*it);
        it = deferred_.erase(it);
    }
    if (remaining_.empty() && !cycle_open_) return true;

    std::optional<ledger::Catalog> catalog;  // read once per call that has work
    while (!remaining_.empty()) {
        if (should_stop()) return false;
        const std::string id = remaining_.front();
        remaining_.pop_front();
        if (busy.contains(id)) {
            if (deferred_.insert(id).second && events_.deferred) events_.deferred(id);
            continue;
        }
        try {
            if (!catalog) catalog = store_.load_catalog();
        } catch (const std::exception& e) {
            if (events_.failed) events_.failed(id, e.what());
            continue;
        }
        if (const ledger::Account* account = catalog->account(id))
            run_account(*account, now);  // an account gone from the catalog is not run
        if (events_.progress) events_.progress();
    }
    if (cycle_open_) {
        cycle_open_ = false;
        if (events_.finished)
            events_.finished(cycle_began_, std::chrono::steady_clock::now() - cycle_began_steady_);
    }
    return true;
}

void LifecycleSchedule::run_account(const ledger::Account& account, SteadyTime now) {
    store::LifecycleLedger& ledger = *store_.lifecycle_ledger();
    const auto started = std::chrono::steady_clock::now();
    lifecycle::RunDecisions decisions;
    try {
        lifecycle::CountsOnly counts;  // the log and the metrics want no more
        decisions = ledger.run_lifecycle(account, clock_(), &counts);
    } catch (const std::exception& e) {
        // Rolled back, unless the store committed it and only its answer was lost (a
        // connection cut at the COMMIT): the next run looks for every invoice without files.
        files_checked_.erase(account.id);
        if (events_.failed) events_.failed(account.id, e.what());
        return;
    }
    // Committed: from here on a failure concerns the files only, which a later run writes.
    std::size_t written = 0;
    std::string files_error;
    try {
        const InvoiceDestinations to =
            invoice_destinations(config_, account.id, StateFolder::wait_for);
        InvoiceFilesWritten files;
        if (!files_checked_.contains(account.id)) {
            files = write_missing_invoice_files(ledger, to, account.id, clock_());
            files_checked_.insert(account.id);
            left_behind_.erase(account.id);
        } else {
            // Those it issued, then those another process left without files for a while.
            std::vector<std::string> ids;
            for (const lifecycle::Invoice& inv : decisions.invoices) ids.push_back(inv.invoice_id);
            for (std::string& id : left_behind_for(ledger, account.id, ids, now))
                ids.push_back(std::move(id));
            if (!ids.empty()) files = write_stored_invoice_files(ledger, to, ids, clock_());
        }
        written = files.written;
        if (!files.problems.empty()) {
            files_checked_.erase(account.id);  // the next run looks for every missing one
            files_error = files.describe();
        }
    } catch (const std::exception& e) {
        files_checked_.erase(account.id);
        files_error = std::string("invoice files not written: ") + e.what();
    }
    if (events_.ran)
        events_.ran(account, decisions, written, files_error,
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started));
}

std::vector<std::string> LifecycleSchedule::left_behind_for(store::LifecycleLedger& ledger,
                                                            const std::string& account_id,
                                                            const std::vector<std::string>& issued,
                                                            SteadyTime now) {
    std::map<std::string, SteadyTime>& seen = left_behind_[account_id];
    std::map<std::string, SteadyTime> still;  // those seen that are not due yet
    std::vector<std::string> due;
    for (std::string& id : ledger.invoices_without_files(account_id)) {
        if (std::ranges::find(issued, id) != issued.end()) continue;
        const auto it = seen.find(id);
        const SteadyTime first = it == seen.end() ? now : it->second;
        if (now - first >= files_grace)
            due.push_back(std::move(id));
        else
            still.emplace(std::move(id), first);
    }
    if (still.empty())
        left_behind_.erase(account_id);  // `seen` with it
    else
        seen = std::move(still);
    return due;
}

}  // namespace actiondrop::ingest
