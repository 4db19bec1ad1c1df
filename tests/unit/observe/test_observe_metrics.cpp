#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "observe/metrics.hpp"

using actiondrop::observe::escape_label_value;
using actiondrop::observe::FinishedFile;
using actiondrop::observe::Metrics;
using namespace std::chrono_literals;

namespace {

// The HELP, TYPE and sample lines of one family, as rendered.
std::string family(const std::string& text, const std::string& name) {
    auto start = text.find("# HELP " + name + " ");
    if (start == std::string::npos) return {};
    auto end = text.find("# HELP ", start + 1);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

TEST_CASE("metrics: counters render with HELP, TYPE and one line per label set") {
    Metrics metrics;
    metrics.set_inboxes({"acme-drop", "beta"});
    metrics.file_claimed("acme-drop");
    metrics.file_claimed("acme-drop");
    metrics.file_done("acme-drop", {.status = "REJECTED", .error_code = "DUPLICATE_FILE"});
    metrics.file_done("beta", {.status = "REJECTED", .error_code = "BAD_HEADER"});
    std::string text = metrics.render();

    CHECK(family(text, "actiondrop_files_claimed_total") ==
          "# HELP actiondrop_files_claimed_total Files claimed from an inbox for processing.\n"
          "# TYPE actiondrop_files_claimed_total counter\n"
          "actiondrop_files_claimed_total{inbox=\"acme-drop\"} 2\n"
          "actiondrop_files_claimed_total{inbox=\"beta\"} 0\n");
    CHECK(family(text, "actiondrop_files_rejected_total") ==
          "# HELP actiondrop_files_rejected_total Files rejected whole, by file-level error "
          "code.\n"
          "# TYPE actiondrop_files_rejected_total counter\n"
          "actiondrop_files_rejected_total{inbox=\"acme-drop\",code=\"DUPLICATE_FILE\"} 1\n"
          "actiondrop_files_rejected_total{inbox=\"beta\",code=\"BAD_HEADER\"} 1\n");
    CHECK(family(text, "actiondrop_inboxes") ==
          "# HELP actiondrop_inboxes Inboxes currently served.\n"
          "# TYPE actiondrop_inboxes gauge\n"
          "actiondrop_inboxes 2\n");
    CHECK(text.ends_with('\n'));
}

TEST_CASE("metrics: a finished file counts rows, row errors, bytes and its outcome") {
    Metrics metrics;
    metrics.file_done("acme", {.status = "COMPLETE",
                               .total = 10,
                               .applied = 7,
                               .rejected = 3,
                               .error_counts = {{"ACTION_NOT_FOUND", 2}, {"BAD_AMOUNT", 1}},
                               .bytes = 1234});
    metrics.file_done("acme", {.status = "COMPLETE", .total = 1, .applied = 1, .bytes = 100});
    metrics.file_failed("acme");
    metrics.inbox_error("acme");
    metrics.file_discovered("acme");
    std::string text = metrics.render();

    CHECK(family(text, "actiondrop_files_applied_total")
              .ends_with("actiondrop_files_applied_total{inbox=\"acme\"} 2\n"));
    CHECK(family(text, "actiondrop_rows_total")
              .ends_with("actiondrop_rows_total{inbox=\"acme\",outcome=\"applied\"} 8\n"
                         "actiondrop_rows_total{inbox=\"acme\",outcome=\"rejected\"} 3\n"));
    CHECK(family(text, "actiondrop_row_errors_total")
              .ends_with("actiondrop_row_errors_total{inbox=\"acme\",code=\"ACTION_NOT_FOUND\"} 2\n"
                         "actiondrop_row_errors_total{inbox=\"acme\",code=\"BAD_AMOUNT\"} 1\n"));
    CHECK(family(text, "actiondrop_bytes_total")
              .ends_with("actiondrop_bytes_total{inbox=\"acme\"} 1334\n"));
    CHECK(family(text, "actiondrop_files_failed_total")
              .ends_with("actiondrop_files_failed_total{inbox=\"acme\"} 1\n"));
    CHECK(family(text, "actiondrop_inbox_errors_total")
              .ends_with("actiondrop_inbox_errors_total{inbox=\"acme\"} 1\n"));
    CHECK(family(text, "actiondrop_files_discovered_total")
              .ends_with("actiondrop_files_discovered_total{inbox=\"acme\"} 1\n"));
    CHECK(family(text, "actiondrop_files_rejected_total")
              .ends_with("# TYPE actiondrop_files_rejected_total counter\n"));
}

TEST_CASE("metrics: the processing histogram has cumulative buckets, _sum and _count") {
    Metrics metrics;
    for (auto took : {0.01, 0.05, 0.3, 2.0, 400.0}) {
        metrics.file_done("a", {.status = "COMPLETE", .took = std::chrono::duration<double>(took)});
    }
    std::string text = metrics.render();
    CHECK(family(text, "actiondrop_processing_seconds") ==
          "# HELP actiondrop_processing_seconds Time from claim to answer of one file.\n"
          "# TYPE actiondrop_processing_seconds histogram\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"0.05\"} 2\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"0.1\"} 2\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"0.25\"} 2\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"0.5\"} 3\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"1\"} 3\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"2.5\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"5\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"10\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"30\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"60\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"120\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"300\"} 4\n"
          "actiondrop_processing_seconds_bucket{inbox=\"a\",le=\"+Inf\"} 5\n"
          "actiondrop_processing_seconds_sum{inbox=\"a\"} 402.36\n"
          "actiondrop_processing_seconds_count{inbox=\"a\"} 5\n");

    // A millisecond duration, as the service measures it, converts without a cast.
    metrics.file_done("b", {.status = "COMPLETE", .took = 1500ms});
    CHECK(metrics.render().find("actiondrop_processing_seconds_sum{inbox=\"b\"} 1.5\n") !=
          std::string::npos);
}

TEST_CASE("metrics: gauges for readiness, inboxes and the oldest waiting file") {
    Metrics metrics;
    std::string before = metrics.render();
    CHECK(
        before.starts_with("# HELP actiondrop_up 1 while the service process is running.\n"
                           "# TYPE actiondrop_up gauge\n"
                           "actiondrop_up 1\n"));
    CHECK(family(before, "actiondrop_ready").ends_with("actiondrop_ready 0\n"));
    metrics.set_ready(true);
    CHECK(family(metrics.render(), "actiondrop_ready").ends_with("actiondrop_ready 1\n"));

    metrics.set_inboxes({"a", "b"});
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    // An inbox no longer served ("gone") gets no series from a late report.
    metrics.set_oldest_waiting({{"a", t0}, {"gone", t0 - 1h}});
    const std::string ages =
        "# HELP actiondrop_oldest_waiting_file_age_seconds Age of the oldest file waiting in an "
        "inbox (in its folder, or claimed and waiting for a retry), 0 when none.\n"
        "# TYPE actiondrop_oldest_waiting_file_age_seconds gauge\n"
        "actiondrop_oldest_waiting_file_age_seconds{inbox=\"a\"} 12.5\n"
        "actiondrop_oldest_waiting_file_age_seconds{inbox=\"b\"} 0\n";
    CHECK(family(metrics.render(t0 + 12500ms), "actiondrop_oldest_waiting_file_age_seconds") ==
          ages);
    // Measured when scraped, to the millisecond: it grows while nothing reports.
    CHECK(family(metrics.render(t0 + 12500ms + 400us),
                 "actiondrop_oldest_waiting_file_age_seconds") == ages);
    CHECK(family(metrics.render(t0 + 20s), "actiondrop_oldest_waiting_file_age_seconds")
              .find("{inbox=\"a\"} 20\n") != std::string::npos);
    // A time after now (it cannot happen with one steady clock) shows 0, not a negative age.
    CHECK(family(metrics.render(t0 - 1s), "actiondrop_oldest_waiting_file_age_seconds")
              .find("{inbox=\"a\"} 0\n") != std::string::npos);
    // Answered: the inbox is no longer named, its age drops back to 0.
    metrics.set_oldest_waiting({});
    CHECK(family(metrics.render(t0 + 30s), "actiondrop_oldest_waiting_file_age_seconds")
              .find("{inbox=\"a\"} 0\n") != std::string::npos);
    metrics.set_oldest_waiting({{"a", t0}});

    // A reload that drops an inbox drops its age, which would otherwise look stuck.
    metrics.set_inboxes({"b"});
    std::string after = metrics.render();
    CHECK(family(after, "actiondrop_oldest_waiting_file_age_seconds")
              .ends_with("# TYPE actiondrop_oldest_waiting_file_age_seconds gauge\n"
                         "actiondrop_oldest_waiting_file_age_seconds{inbox=\"b\"} 0\n"));
    CHECK(family(after, "actiondrop_inboxes").ends_with("actiondrop_inboxes 1\n"));
}

TEST_CASE("metrics: label values escape backslash, double quote and newline") {
    CHECK(escape_label_value("plain-name_1") == "plain-name_1");
    CHECK(escape_label_value("a\\b") == "a\\\\b");
    CHECK(escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
    CHECK(escape_label_value("two\nlines") == "two\\nlines");

    Metrics metrics;
    metrics.file_claimed("we\"ird\\in\nbox");
    CHECK(metrics.render().find(
              "actiondrop_files_claimed_total{inbox=\"we\\\"ird\\\\in\\nbox\"} 1\n") !=
          std::string::npos);
}

TEST_CASE("metrics: counts from many threads at once add up exactly") {
    Metrics metrics;
    metrics.set_inboxes({"shared"});
    const auto t0 = std::chrono::steady_clock::time_point{} + 24h;
    constexpr int threads = 8, per_thread = 5000;
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&metrics, t, t0] {
            for (int i = 0; i < per_thread; ++i) {
                metrics.file_claimed("shared");
                metrics.file_done("shared", {.status = "COMPLETE",
                                             .applied = 2,
                                             .error_counts = {{"BAD_AMOUNT", 1}},
                                             .bytes = 10,
                                             .took = std::chrono::duration<double>(0.5)});
                if (i % 100 == 0) (void)metrics.render();  // readers do not disturb writers
                metrics.set_oldest_waiting({{"shared", t0 - std::chrono::seconds(i)}});
            }
        });
    }
    for (auto& worker : workers) worker.join();

    constexpr long total = static_cast<long>(threads) * per_thread;
    std::string text = metrics.render(t0);
    auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
    CHECK(has("actiondrop_files_claimed_total{inbox=\"shared\"} " + std::to_string(total)));
    CHECK(has("actiondrop_files_applied_total{inbox=\"shared\"} " + std::to_string(total)));
    CHECK(has("actiondrop_rows_total{inbox=\"shared\",outcome=\"applied\"} " +
              std::to_string(2 * total)));
    CHECK(has("actiondrop_row_errors_total{inbox=\"shared\",code=\"BAD_AMOUNT\"} " +
              std::to_string(total)));
    CHECK(has("actiondrop_bytes_total{inbox=\"shared\"} " + std::to_string(10 * total)));
    CHECK(has("actiondrop_processing_seconds_count{inbox=\"shared\"} " + std::to_string(total)));
    CHECK(has("actiondrop_processing_seconds_bucket{inbox=\"shared\",le=\"0.5\"} " +
              std::to_string(total)));
    CHECK(has("actiondrop_processing_seconds_bucket{inbox=\"shared\",le=\"0.25\"} 0"));
    CHECK(has("actiondrop_processing_seconds_sum{inbox=\"shared\"} " + std::to_string(total / 2)));
    // Every thread's last report is the same, so whichever came last set this.
    CHECK(has("actiondrop_oldest_waiting_file_age_seconds{inbox=\"shared\"} " +
              std::to_string(per_thread - 1)));
}

TEST_CASE("metrics: SFTP connection attempts and the host key alert gauge") {
    Metrics m;
    m.sftp_connecting("pull");
    m.sftp_connecting("pull");
    auto text = m.render();
    CHECK(text.find("actiondrop_sftp_connects_total{inbox=\"pull\"} 2\n") != std::string::npos);
    CHECK(text.find("actiondrop_sftp_host_key_alert{inbox=\"pull\"} 0\n") != std::string::npos);
    const std::string raised = "actiondrop_sftp_host_key_alert{inbox=\"pull\"} 1\n";
    const std::string cleared = "actiondrop_sftp_host_key_alert{inbox=\"pull\"} 0\n";
    m.set_host_key_alert("pull", true);
    CHECK(m.render().find(raised) != std::string::npos);
    m.set_host_key_alert("pull", false);
    CHECK(m.render().find(cleared) != std::string::npos);
}

TEST_CASE("metrics: FTP inboxes without TLS are shown until a reload drops them") {
    Metrics m;
    CHECK(m.render().find("actiondrop_pull_unencrypted{") == std::string::npos);
    m.set_unencrypted({"plain", "old"});
    auto text = m.render();
    CHECK(text.find("actiondrop_pull_unencrypted{inbox=\"plain\"} 1\n") != std::string::npos);
    CHECK(text.find("actiondrop_pull_unencrypted{inbox=\"old\"} 1\n") != std::string::npos);
    m.set_unencrypted({"plain"});
    text = m.render();
    CHECK(text.find("actiondrop_pull_unencrypted{inbox=\"plain\"} 1\n") != std::string::npos);
    CHECK(text.find("inbox=\"old\"") == std::string::npos);
}
