#pragma once
// Shared checks for the config tests: find the error about one key and show all on failure.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config_error.hpp"

namespace actiondrop::config::test {

inline std::string all_errors(const std::vector<ConfigError>& errors) {
    std::string out;
    for (const ConfigError& e : errors) out += e.str() + "\n";
    return out;
}

// The error whose key is `key` and whose message holds `words`; nullptr when none.
inline const ConfigError* find_error(const std::vector<ConfigError>& errors, std::string_view key,
                                     std::string_view words) {
    for (const ConfigError& e : errors)
        if (e.key == key && e.message.find(words) != std::string::npos) return &e;
    return nullptr;
}

// Checks that this error was reported at this line. `errors` may be a temporary: it is
// bound to a reference here so that it outlives the checks.
#define CHECK_CONFIG_ERROR(errors, line_no, key, words)                                    \
    do {                                                                                   \
        const std::vector<::actiondrop::config::ConfigError>& all_ = (errors);             \
        const auto* found_ = ::actiondrop::config::test::find_error(all_, (key), (words)); \
        INFO("errors:\n" << ::actiondrop::config::test::all_errors(all_));                 \
        REQUIRE(found_ != nullptr);                                                        \
        CHECK(found_->line == (line_no));                                                  \
    } while (false)

}  // namespace actiondrop::config::test
