// How the admin CLI ends on a failure (daemon/cli/failure.hpp): the user's mistakes are usage
// errors, the machine's are I/O errors, and anything else, std::invalid_argument included, is
// an internal error with its message. No honest command makes the CLI fail internally, so the
// mapping is tested here; tests/e2e/test_cli_exit_codes.sh runs the binary on the rest.
#include <doctest/doctest.h>

#include <cerrno>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "cli/failure.hpp"
#include "exit_codes.hpp"
#include "store/store.hpp"

using namespace actiondrop;

namespace {

// The exit code and what was printed for `failure`.
template <typename Failure>
std::pair<int, std::string> ending(const Failure& failure) {
    std::ostringstream err;
    const int code = cli::report_failure(std::make_exception_ptr(failure), err);
    return {code, err.str()};
}

}  // namespace

TEST_CASE("a usage error exits 64 with its message") {
    CHECK(ending(cli::UsageError("unknown account 'x'")) ==
          std::pair{exit_code::usage, std::string("actiondrop: unknown account 'x'\n")});
}

TEST_CASE("a std::invalid_argument is an internal error, exit 70, never a usage error") {
    CHECK(ending(std::invalid_argument("scale_line: quantity at creation must be > 0")) ==
          std::pair{
              exit_code::software,
              std::string(
                  "actiondrop: internal error: scale_line: quantity at creation must be > 0\n")});
}

TEST_CASE("a std::logic_error and any other std::exception are internal errors, exit 70") {
    CHECK(
        ending(std::logic_error("layout: conversion() on a funds_transfers layout")) ==
        std::pair{
            exit_code::software,
            std::string(
                "actiondrop: internal error: layout: conversion() on a funds_transfers layout\n")});
    CHECK(ending(std::overflow_error("money amount out of the int64 range")).first ==
          exit_code::software);
}

TEST_CASE("an exception that is not a std::exception is an internal error too") {
    const auto [code, text] = ending(42);
    CHECK(code == exit_code::software);
    CHECK(text.starts_with("actiondrop: internal error: "));
}

TEST_CASE("a store failure and a system error exit 74") {
    CHECK(ending(store::StoreError(
              "x.db: the database has schema version 9, newer than this program's 4")) ==
          std::pair{exit_code::io,
                    std::string("actiondrop: store failure: x.db: the database has schema version "
                                "9, newer than this program's 4\n")});
    const auto [code, text] =
        ending(std::system_error(ENOSPC, std::generic_category(), "cannot write /out/x"));
    CHECK(code == exit_code::io);
    CHECK(text == "actiondrop: cannot write /out/x: No space left on device\n");
}

TEST_CASE("a config failure exits 78 with every error line as it is") {
    CHECK(ending(cli::ConfigFailure("a.yaml:1:1: store: bad\na.yaml:2:1: inboxes: bad\n")) ==
          std::pair{exit_code::config,
                    std::string("a.yaml:1:1: store: bad\na.yaml:2:1: inboxes: bad\n")});
}
