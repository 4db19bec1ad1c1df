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

// Checks that exactly this error was reported at this line.
#define CHECK_CONFIG_ERROR(errors, line_no, key, words)                                      \
    do {                                                                                     \
        const auto* found_ = ::actiondrop::config::test::find_error((errors), (key), (words)); \
        INFO("errors:\n" << ::actiondrop::config::test::all_errors(errors));                 \
        REQUIRE(found_ != nullptr);                                                          \
        CHECK(found_->line == (line_no));                                                    \
    } while (false)

}  // namespace actiondrop::config::test
