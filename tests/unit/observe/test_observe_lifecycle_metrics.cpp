// The life cycle's series of /metrics (README.md, "The service"; docs/lifecycle.md).
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "observe/metrics.hpp"

using actiondrop::observe::AccountRun;
using actiondrop::observe::Metrics;
using namespace std::chrono_literals;

namespace {

std::string family(const std::string& text, const std::string& name) {
    auto start = text.find("# HELP " + name + " ");
    if (start == std::string::npos) return {};
    auto end = text.find("# HELP ", start + 1);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The sample lines of a family, without HELP and TYPE.
std::string samples(const std::string& text, const std::string& name) {
    std::string f = family(text, name), out;
    for (std::size_t at = 0; at < f.size();) {
        auto nl = f.find('\n', at);
        std::string line = f.substr(at, nl - at);
        if (!line.starts_with('#')) out += line + "\n";
        at = nl + 1;
    }
    return out;
}

}  // namespace

TEST_CASE(
    "metrics: a lifecycle run's counts add up per account, and its overdue gauges are replaced") {
    Metrics m;
    std::string text = m.render();
    // Before any run: the families are there, without series, and the last run is 0.
    CHECK(family(text, "actiondrop_actions_locked_total") ==
          "# HELP actiondrop_actions_locked_total Actions a lifecycle run locked (PENDING to "
          "APPROVED).\n# TYPE actiondrop_actions_locked_total counter\n");
    CHECK(samples(text, "actiondrop_lifecycle_last_run_timestamp_seconds") ==
          "actiondrop_lifecycle_last_run_timestamp_seconds 0\n");

    m.lifecycle_account_run("1000", {.locked = 3,
                                     .cleared = 1,
                                     .newly_overdue = 2,
                                     .overdue = 2,
                                     .overdue_amount = 80.5,
                                     .currency = "USD",
                                     .invoices = 0});
    m.lifecycle_account_run("2000", {.locked = 1, .currency = "JPY"});
    m.lifecycle_account_run(
        "1000",
        {.cleared = 2, .overdue = 0, .overdue_amount = 0, .currency = "USD", .invoices = 2});
    m.lifecycle_failed("2000");
    m.lifecycle_run_finished(std::chrono::system_clock::time_point(1'764'000'000'250ms), 1.5s);
    text = m.render();
    CHECK(samples(text, "actiondrop_actions_locked_total") ==
          "actiondrop_actions_locked_total{account=\"1000\"} 3\n"
          "actiondrop_actions_locked_total{account=\"2000\"} 1\n");
    CHECK(samples(text, "actiondrop_actions_cleared_total") ==
          "actiondrop_actions_cleared_total{account=\"1000\"} 3\n"
          "actiondrop_actions_cleared_total{account=\"2000\"} 0\n");
    CHECK(samples(text, "actiondrop_actions_overdue_total") ==
          "actiondrop_actions_overdue_total{account=\"1000\"} 2\n"
          "actiondrop_actions_overdue_total{account=\"2000\"} 0\n");
    CHECK(samples(text, "actiondrop_invoices_issued_total") ==
          "actiondrop_invoices_issued_total{account=\"1000\"} 2\n"
          "actiondrop_invoices_issued_total{account=\"2000\"} 0\n");
    // Gauges: what the last run left, not a sum.
    CHECK(samples(text, "actiondrop_overdue_actions") ==
          "actiondrop_overdue_actions{account=\"1000\"} 0\n"
          "actiondrop_overdue_actions{account=\"2000\"} 0\n");
    CHECK(samples(text, "actiondrop_overdue_amount") ==
          "actiondrop_overdue_amount{account=\"1000\",currency=\"USD\"} 0\n"
          "actiondrop_overdue_amount{account=\"2000\",currency=\"JPY\"} 0\n");
    CHECK(samples(text, "actiondrop_lifecycle_failures_total") ==
          "actiondrop_lifecycle_failures_total{account=\"1000\"} 0\n"
          "actiondrop_lifecycle_failures_total{account=\"2000\"} 1\n");
    CHECK(samples(text, "actiondrop_lifecycle_last_run_timestamp_seconds") ==
          "actiondrop_lifecycle_last_run_timestamp_seconds 1764000000.25\n");
    CHECK(samples(text, "actiondrop_lifecycle_last_run_duration_seconds") ==
          "actiondrop_lifecycle_last_run_duration_seconds 1.5\n");

    // An overdue amount is a decimal of the account's currency; a new currency replaces the
    // account's series rather than leaving the old one behind.
    m.lifecycle_account_run("1000", {.overdue = 1, .overdue_amount = 12.34, .currency = "EUR"});
    CHECK(samples(m.render(), "actiondrop_overdue_amount") ==
          "actiondrop_overdue_amount{account=\"1000\",currency=\"EUR\"} 12.34\n"
          "actiondrop_overdue_amount{account=\"2000\",currency=\"JPY\"} 0\n");
}
