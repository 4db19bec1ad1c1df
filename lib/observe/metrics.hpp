#pragma once
// The service's Prometheus metrics (text exposition format 0.0.4), kept in memory.
// Every method is safe to call from any thread: one mutex guards the series, and each call
// holds it for a few map lookups, so the service may report every file without care.
// Names are prefixed `actiondrop_`; the `inbox` label is the configured inbox name, and the
// life cycle's series have the `account` label, the catalog's account id.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace actiondrop::observe {

// What became of one file that was taken to its end (see apply::ApplyResult).
struct FinishedFile {
    std::string status{};                                // COMPLETE | REJECTED
    std::string error_code{};                            // the file-level code when REJECTED
    std::int64_t total = 0, applied = 0, rejected = 0;   // rows
    std::map<std::string, std::int64_t> error_counts{};  // rejected rows by error code
    std::int64_t bytes = 0;                              // size of the original
    std::chrono::duration<double> took{0};               // claim to answer
};

// What one lifecycle run did to one account (docs/lifecycle.md, "The daemon's schedule").
struct AccountRun {
    std::int64_t locked = 0, cleared = 0;
    std::int64_t newly_overdue = 0;  // actions that became overdue in this run
    std::int64_t overdue = 0;        // actions overdue after it, new or not
    double overdue_amount = 0;       // their payouts, in the account's currency (50.25, not 5025)
    std::string currency{};          // its ISO 4217 code
    std::int64_t invoices = 0;       // invoices issued
};

class Metrics {
public:
    using SteadyTime = std::chrono::steady_clock::time_point;
    // Upper bounds of the processing_seconds buckets; +Inf is implied.
    static constexpr double processing_buckets[] = {0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                    5,    10,  30,   60,  120, 300};

    Metrics() = default;
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // The inboxes served from now on: sets the `inboxes` gauge and shows their per-inbox
    // counters at 0 before anything happens; drops the age gauge of inboxes no longer served.
    void set_inboxes(const std::vector<std::string>& names);

    void file_discovered(std::string_view inbox);  // a new name seen in the inbox
    void file_claimed(std::string_view inbox);     // moved into the claims folder
    void file_done(std::string_view inbox, const FinishedFile& file);
    void file_failed(std::string_view inbox);       // processing threw; the claim will be retried
    void file_set_aside(std::string_view inbox);    // a name that can never be answered
    void file_undelivered(std::string_view inbox);  // applied, answers quarantined
    void inbox_error(std::string_view inbox);       // a problem kept the inbox from flowing
    // Since when the oldest file of each inbox waits (in the folder, or claimed and waiting
    // for a retry; not answered yet); an inbox not named has none waiting. The age gauge is
    // measured when rendered, so it keeps growing while a long file holds the service.
    void set_oldest_waiting(const std::map<std::string, SteadyTime>& since);
    void set_ready(bool ready);  // the service has started serving its inboxes
    // SFTP pull inboxes: a connection attempt, and the host key alert raised or cleared.
    void sftp_connecting(std::string_view inbox);
    void set_host_key_alert(std::string_view inbox, bool raised);
    // The pull inboxes whose config says `tls: none` (FTP): their password and files cross
    // the network unencrypted. Replaces the previous list (a reload).
    void set_unencrypted(const std::vector<std::string>& inboxes);

    // The life cycle: each account's run, a run of an account that failed (the store threw; it
    // is tried again at the next interval), and the end of a run over every account (wall
    // clock, as Unix seconds, and how long it took).
    void lifecycle_account_run(std::string_view account, const AccountRun& run);
    void lifecycle_failed(std::string_view account);
    void lifecycle_run_finished(std::chrono::system_clock::time_point at,
                                std::chrono::duration<double> took);

    // The exposition text: families in a fixed order, series sorted by label values. Ages
    // are measured at `now`.
    std::string render() const { return render(std::chrono::steady_clock::now()); }
    std::string render(SteadyTime now) const;

private:
    using Labels = std::vector<std::string>;
    struct Histogram {
        std::vector<std::int64_t> buckets;  // per bucket, not yet cumulative; last is +Inf
        double sum = 0;
        std::int64_t count = 0;
    };

    mutable std::mutex mutex_;
    std::map<Labels, std::int64_t> discovered_, claimed_, applied_, rejected_, failed_, bytes_,
        inbox_errors_, rows_, row_errors_, set_aside_, undelivered_;
    std::map<Labels, Histogram> processing_;
    std::map<Labels, std::optional<SteadyTime>> oldest_waiting_;
    std::map<Labels, std::int64_t> sftp_connects_, host_key_alerts_;  // one per served inbox
    std::map<Labels, std::int64_t> unencrypted_;
    std::int64_t inboxes_ = 0;
    bool ready_ = false;
    // Labelled by account; the overdue amount by account and currency.
    std::map<Labels, std::int64_t> locked_, cleared_, overdue_, invoices_, lifecycle_failures_,
        overdue_actions_;
    std::map<Labels, double> overdue_amount_;
    double last_lifecycle_run_ = 0, last_lifecycle_seconds_ = 0;
};

// A label value escaped for the exposition format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);

}  // namespace actiondrop::observe
