#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <set>

namespace actiondrop::observe {

namespace {

constexpr std::size_t bucket_count = std::size(Metrics::processing_buckets);

// A value as Prometheus parses it: shortest round-trip decimal, or +Inf/-Inf/NaN.
std::string number(double value) {
    if (std::isnan(value)) return "NaN";
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", value);
}
std::string number(std::int64_t value) { return fmt::format("{}", value); }

// Backslash and newline always; the double quote only inside a label value (format 0.0.4).
std::string escape(std::string_view text, bool quote) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '"':
                out += quote ? "\\\"" : "\"";
                break;
            default:
                out += c;
        }
    }
    return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name,
                   escape(help, false), name, type);
}

std::string label_set(const std::vector<std::string_view>& names,
                      const std::vector<std::string>& values, std::string_view extra = {}) {
    std::string out = "{";
    for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
        if (i > 0) out += ',';
        fmt::format_to(std::back_inserter(out), "{}=\"{}\"", names[i],
                       escape_label_value(values[i]));
    }
    if (!extra.empty()) {
        if (out.size() > 1) out += ',';
        out += extra;
    }
    out += '}';
    return out;
}

template <typename Value>
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::vector<std::string_view>& label_names,
            const std::map<std::vector<std::string>, Value>& series) {
    header(out, name, type, help);
    for (const auto& [labels, value] : series) {
        fmt::format_to(std::back_inserter(out), "{}{} {}\n", name, label_set(label_names, labels),
                       number(value));
    }
}

void plain_gauge(std::string& out, std::string_view name, std::string_view help, double value) {
    header(out, name, "gauge", help);
    fmt::format_to(std::back_inserter(out), "{} {}\n", name, number(value));
}

}  // namespace

std::string escape_label_value(std::string_view value) { return escape(value, true); }

void Metrics::set_inboxes(const std::vector<std::string>& names) {
    std::lock_guard lock(mutex_);
    std::set<std::string> served(names.begin(), names.end());
    inboxes_ = static_cast<std::int64_t>(served.size());
    for (const auto& name : served) {
        Labels inbox{name};
        for (auto* counter : {&discovered_, &claimed_, &applied_, &failed_, &bytes_, &inbox_errors_,
                              &set_aside_, &undelivered_}) {
            (*counter)[inbox];  // a series at 0, so rate() sees the first file
        }
        rows_[{name, "applied"}];
        rows_[{name, "rejected"}];
        auto& histogram = processing_[inbox];
        if (histogram.buckets.empty()) histogram.buckets.assign(bucket_count + 1, 0);
        oldest_waiting_.try_emplace(inbox);
    }
    std::erase_if(oldest_waiting_,
                  [&](const auto& entry) { return !served.contains(entry.first.front()); });
}

void Metrics::file_discovered(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++discovered_[{std::string(inbox)}];
}

void Metrics::file_claimed(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++claimed_[{std::string(inbox)}];
}

void Metrics::file_done(std::string_view inbox_name, const FinishedFile& file) {
    std::string inbox(inbox_name);
    double seconds = file.took.count();
    if (!(seconds >= 0)) seconds = 0;  // also NaN: a clock glitch must not poison _sum

    std::lock_guard lock(mutex_);
    if (file.status == "REJECTED") {
        ++rejected_[{inbox, file.error_code}];
    } else {
        ++applied_[{inbox}];
    }
    rows_[{inbox, "applied"}] += file.applied;
    rows_[{inbox, "rejected"}] += file.rejected;
    for (const auto& [code, count] : file.error_counts) row_errors_[{inbox, code}] += count;
    bytes_[{inbox}] += file.bytes;

    auto& histogram = processing_[{inbox}];
    if (histogram.buckets.empty()) histogram.buckets.assign(bucket_count + 1, 0);
    std::size_t bucket = 0;
    while (bucket < bucket_count && seconds > processing_buckets[bucket]) ++bucket;
    ++histogram.buckets[bucket];
    histogram.sum += seconds;
    ++histogram.count;
}

void Metrics::file_failed(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++failed_[{std::string(inbox)}];
}

void Metrics::file_set_aside(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++set_aside_[{std::string(inbox)}];
}

void Metrics::file_undelivered(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++undelivered_[{std::string(inbox)}];
}

void Metrics::inbox_error(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++inbox_errors_[{std::string(inbox)}];
}

void Metrics::set_oldest_waiting(const std::map<std::string, SteadyTime>& since) {
    std::lock_guard lock(mutex_);
    for (auto& [labels, oldest] : oldest_waiting_) {
        auto it = since.find(labels.front());
        oldest = it == since.end() ? std::nullopt : std::optional(it->second);
    }
}

void Metrics::set_ready(bool ready) {
    std::lock_guard lock(mutex_);
    ready_ = ready;
}

void Metrics::sftp_connecting(std::string_view inbox) {
    std::lock_guard lock(mutex_);
    ++sftp_connects_[{std::string(inbox)}];
    host_key_alerts_[{std::string(inbox)}];  // shown at 0 until an alert
}

void Metrics::set_host_key_alert(std::string_view inbox, bool raised) {
    std::lock_guard lock(mutex_);
    host_key_alerts_[{std::string(inbox)}] = raised ? 1 : 0;
}

void Metrics::set_unencrypted(const std::vector<std::string>& inboxes) {
    std::lock_guard lock(mutex_);
    unencrypted_.clear();
    for (const auto& name : inboxes) unencrypted_[{name}] = 1;
}

void Metrics::lifecycle_account_run(std::string_view account_id, const AccountRun& run) {
    Labels account{std::string(account_id)};
    std::lock_guard lock(mutex_);
    locked_[account] += run.locked;
    cleared_[account] += run.cleared;
    overdue_[account] += run.newly_overdue;
    invoices_[account] += run.invoices;
    lifecycle_failures_[account];  // at 0 until a failure, so that rate() sees the first
    overdue_actions_[account] = run.overdue;
    // One series per account: a currency changed by a catalog load replaces the old one.
    std::erase_if(overdue_amount_,
                  [&](const auto& entry) { return entry.first.front() == account.front(); });
    overdue_amount_[{account.front(), run.currency}] = run.overdue_amount;
}

void Metrics::lifecycle_failed(std::string_view account) {
    std::lock_guard lock(mutex_);
    ++lifecycle_failures_[{std::string(account)}];
}

void Metrics::lifecycle_run_finished(std::chrono::system_clock::time_point at,
                                     std::chrono::duration<double> took) {
    std::lock_guard lock(mutex_);
    // Milliseconds, as the age gauge: a shorter sample and no false precision.
    last_lifecycle_run_ =
        static_cast<double>(
            std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count()) /
        1000.0;
    last_lifecycle_seconds_ = std::max(took.count(), 0.0);
}

std::string Metrics::render(SteadyTime now) const {
    std::string out;
    std::lock_guard lock(mutex_);
    plain_gauge(out, "actiondrop_up", "1 while the service process is running.", 1);
    plain_gauge(out, "actiondrop_ready", "1 once the service is serving its inboxes.",
                ready_ ? 1 : 0);
    plain_gauge(out, "actiondrop_inboxes", "Inboxes currently served.",
                static_cast<double>(inboxes_));

    family(out, "actiondrop_files_discovered_total", "counter", "Files first seen in an inbox.",
           {"inbox"}, discovered_);
    family(out, "actiondrop_files_claimed_total", "counter",
           "Files claimed from an inbox for processing.", {"inbox"}, claimed_);
    family(out, "actiondrop_files_applied_total", "counter",
           "Files taken to their end with status COMPLETE.", {"inbox"}, applied_);
    family(out, "actiondrop_files_rejected_total", "counter",
           "Files rejected whole, by file-level error code.", {"inbox", "code"}, rejected_);
    family(out, "actiondrop_files_failed_total", "counter",
           "Attempts to process a file that failed and will be retried.", {"inbox"}, failed_);
    family(out, "actiondrop_rows_total", "counter", "Rows read from files, by outcome.",
           {"inbox", "outcome"}, rows_);
    family(out, "actiondrop_row_errors_total", "counter", "Rejected rows, by row error code.",
           {"inbox", "code"}, row_errors_);
    family(out, "actiondrop_bytes_total", "counter", "Bytes of files taken to their end.",
           {"inbox"}, bytes_);
    family(out, "actiondrop_inbox_errors_total", "counter",
           "Problems that kept an inbox from flowing.", {"inbox"}, inbox_errors_);
    family(out, "actiondrop_files_set_aside_total", "counter",
           "Files that can never be answered (a name too long), moved to failed/ untaken.",
           {"inbox"}, set_aside_);
    family(out, "actiondrop_files_undelivered_total", "counter",
           "Applied files whose answers could not be delivered, quarantined (alert: "
           "`actiondrop batches redeliver` once the outbox is mended).",
           {"inbox"}, undelivered_);

    constexpr std::string_view histogram_name = "actiondrop_processing_seconds";
    header(out, histogram_name, "histogram", "Time from claim to answer of one file.");
    for (const auto& [labels, histogram] : processing_) {
        std::int64_t cumulative = 0;
        for (std::size_t i = 0; i <= bucket_count; ++i) {
            cumulative += histogram.buckets[i];
            std::string le =
                fmt::format("le=\"{}\"", i < bucket_count ? number(processing_buckets[i]) : "+Inf");
            fmt::format_to(std::back_inserter(out), "{}_bucket{} {}\n", histogram_name,
                           label_set({"inbox"}, labels, le), cumulative);
        }
        fmt::format_to(std::back_inserter(out), "{}_sum{} {}\n", histogram_name,
                       label_set({"inbox"}, labels), number(histogram.sum));
        fmt::format_to(std::back_inserter(out), "{}_count{} {}\n", histogram_name,
                       label_set({"inbox"}, labels), histogram.count);
    }

    std::map<Labels, double> ages;
    for (const auto& [labels, oldest] : oldest_waiting_) {
        // Milliseconds are plenty for an age, and keep the sample short.
        auto age = oldest ? std::chrono::floor<std::chrono::milliseconds>(now - *oldest)
                          : std::chrono::milliseconds(0);
        ages[labels] = std::chrono::duration<double>(std::max(age, decltype(age)(0))).count();
    }
    family(out, "actiondrop_oldest_waiting_file_age_seconds", "gauge",
           "Age of the oldest file waiting in an inbox (in its folder, or claimed and waiting "
           "for a retry), 0 when none.",
           {"inbox"}, ages);
    family(out, "actiondrop_sftp_connects_total", "counter",
           "Connection attempts of pull inboxes, SFTP and FTP.", {"inbox"}, sftp_connects_);
    family(out, "actiondrop_sftp_host_key_alert", "gauge",
           "1 while a pull inbox does not connect because the server's SFTP host key is "
           "unknown or changed, or its FTPS certificate is refused.",
           {"inbox"}, host_key_alerts_);
    family(out, "actiondrop_pull_unencrypted", "gauge",
           "1 for an FTP pull inbox whose config says tls: none: its password and files cross "
           "the network unencrypted.",
           {"inbox"}, unencrypted_);

    family(out, "actiondrop_actions_locked_total", "counter",
           "Actions a lifecycle run locked (PENDING to APPROVED).", {"account"}, locked_);
    family(out, "actiondrop_actions_cleared_total", "counter",
           "Actions whose payout a lifecycle run cleared (taken from the funds, or 0).",
           {"account"}, cleared_);
    family(out, "actiondrop_actions_overdue_total", "counter",
           "Actions a lifecycle run found overdue for the first time (the funds did not cover "
           "them).",
           {"account"}, overdue_);
    family(out, "actiondrop_invoices_issued_total", "counter",
           "Invoices a lifecycle run issued to partners.", {"account"}, invoices_);
    family(out, "actiondrop_overdue_actions", "gauge",
           "Actions overdue after the account's last lifecycle run.", {"account"},
           overdue_actions_);
    family(out, "actiondrop_overdue_amount", "gauge",
           "Payouts overdue after the account's last lifecycle run, in the account's currency "
           "(a decimal amount, not minor units).",
           {"account", "currency"}, overdue_amount_);
    family(out, "actiondrop_lifecycle_failures_total", "counter",
           "Lifecycle runs of an account that failed (tried again at the next interval).",
           {"account"}, lifecycle_failures_);
    plain_gauge(out, "actiondrop_lifecycle_last_run_timestamp_seconds",
                "When the last lifecycle run over every account ended (Unix time), 0 before "
                "the first.",
                last_lifecycle_run_);
    plain_gauge(out, "actiondrop_lifecycle_last_run_duration_seconds",
                "How long the last lifecycle run over every account took, its invoice files "
                "included.",
                last_lifecycle_seconds_);
    return out;
}

}  // namespace actiondrop::observe
