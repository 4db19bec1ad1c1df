#pragma once
// A local inbox folder that OpenSSH or vsftpd writes into (SPEC §5): which files are
// ready, and claiming one by atomic rename into the inbox's `.processing/` folder.
//
// A file is ready when its (size, mtime) has not changed for `settle`, measured on the
// monotonic clock that the caller passes in (or, with `done_file`, when NAME.done exists).
// The folder listing is the truth: inotify only makes the caller sweep sooner.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/service_config.hpp"

namespace actiondrop::ingest {

using SteadyTime = std::chrono::steady_clock::time_point;

// A name in the inbox that is not taken, and why (reported once per name).
struct Skip {
    std::string name;
    std::string why;
};

// A file moved into `.processing/`, ours alone from now on.
struct Claim {
    std::filesystem::path path;  // <inbox>/.processing/<unique>_NAME
    std::string file_name;       // NAME, as the advertiser gave it
    bool recovered = false;      // found in `.processing/` at start (a crash or a retry)
    // When the file started to wait: first seen in the inbox, or found in `.processing/`.
    SteadyTime waiting_since{};
};

struct SweepResult {
    std::vector<std::string> ready;        // oldest mtime first, then by name
    std::vector<Skip> skipped;             // names skipped for the first time
    std::optional<SteadyTime> next_check;  // when a settling file may become ready
};

class LocalInbox {
public:
    // Creates the inbox and its `.processing/` folder when they do not exist.
    explicit LocalInbox(config::InboxConfig inbox);

    const config::InboxConfig& config() const { return inbox_; }
    std::filesystem::path processing_folder() const { return inbox_.path / ".processing"; }

    // Lists the folder. Throws std::system_error when the folder cannot be read.
    SweepResult sweep(SteadyTime now);

    // Moves NAME into `.processing/` under a unique name; nullopt when NAME vanished
    // (another instance claimed it first). With done_file, NAME.done is removed once
    // NAME is claimed, so that a later upload of the same name waits for its own marker.
    std::optional<Claim> claim(const std::string& name);

    // Every file in `.processing/`: claims a crashed run left behind.
    std::vector<Claim> leftover_claims() const;

    // When the oldest file still in the folder was first seen by sweep(): settling, waiting
    // for its done marker, or ready but not claimed yet; nullopt when none waits. Skipped
    // names do not count: they are never taken. The first sighting, not the file's mtime,
    // which a client may set to any time.
    std::optional<SteadyTime> oldest_waiting() const;

private:
    struct Seen {
        std::int64_t size = 0;
        std::chrono::nanoseconds mtime{};
        SteadyTime unchanged_since{};
        SteadyTime first_seen{};
    };
    bool stable(const std::string& name, std::int64_t size, std::chrono::nanoseconds mtime,
                SteadyTime now, SweepResult& result);

    config::InboxConfig inbox_;
    std::map<std::string, Seen> seen_;
    std::set<std::string> skip_reported_;
};

}  // namespace actiondrop::ingest
