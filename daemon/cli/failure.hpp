#pragma once
// How a command of the admin CLI ends when it cannot finish: the failures that are not bugs,
// and the one function that turns whatever a command threw into a message and an exit code
// (daemon/exit_codes.hpp).
#include <exception>
#include <iosfwd>
#include <stdexcept>

namespace actiondrop::cli {

// The user's mistake in the command: an option value, an unknown account, inbox or file, a
// request this version does not serve. Exit 64.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The service config is not valid; what() holds every error, a line each. Exit 78.
struct ConfigFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Prints what `failure` (not null) says to `err` and returns the exit code: UsageError 64,
// ConfigFailure 78, store::StoreError and std::system_error 74, anything else 70 as an
// internal error. A std::invalid_argument or std::logic_error from lib/ is anything else:
// every request a user can get wrong is checked by its command before it calls lib/, so one
// that gets through is a bug of ours and must not pass for the user's mistake.
int report_failure(std::exception_ptr failure, std::ostream& err);

}  // namespace actiondrop::cli
