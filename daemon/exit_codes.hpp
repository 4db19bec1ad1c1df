#pragma once
// The exit codes of both binaries, actiondrop and actiondropd, in one place so that they
// cannot drift apart. Beside 0 and 3 they are the sysexits.h values; README.md ("The CLI")
// tells an operator what each means.
namespace actiondrop::exit_code {

inline constexpr int ok = 0;
inline constexpr int rows_rejected = 3;  // some rows rejected, the others applied
inline constexpr int usage = 64;         // EX_USAGE: the command line, an unknown account or inbox
inline constexpr int data = 65;          // EX_DATAERR: a file rejected as a whole, a bad catalog
inline constexpr int software = 70;      // EX_SOFTWARE: an internal error, i.e. a bug of ours
inline constexpr int io = 74;            // EX_IOERR: the store, the disk or the network failed
inline constexpr int temporary = 75;     // EX_TEMPFAIL: an earlier file of the account waits
inline constexpr int config = 78;        // EX_CONFIG: the service config is not valid

}  // namespace actiondrop::exit_code
