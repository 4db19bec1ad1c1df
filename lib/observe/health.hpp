#pragma once
// What GET /healthz answers (README.md, "The service: actiondropd"): the conditions that keep
// the service from applying any file, each under a name of its own ("store", "ledger",
// "state folder"), set and cleared by the service's thread and read by the metrics server's.
#include <expected>
#include <map>
#include <mutex>
#include <string>

namespace actiondrop::observe {

class HealthBoard {
public:
    // Sets the condition's problem, or clears it with an empty one. True when that changed
    // what the board says, so that the caller logs a change once, not at every check.
    bool set(const std::string& condition, std::string problem);
    // Healthy, or every problem, one per line, the conditions in alphabetical order.
    std::expected<void, std::string> verdict() const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string> problems_;
};

}  // namespace actiondrop::observe
