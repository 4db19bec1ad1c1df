#pragma once
// A local inbox folder that OpenSSH or vsftpd writes into (docs/ingest.md): which files
// are ready, and claiming one into a claims folder of the service's own.
//
// The inbox belongs to its uploader, who may rename, link or swap anything in it at any
// moment. So a claim leaves the inbox at once: it is renamed into the claims folder (in
// STATE_DIR, where no uploader can write), or, across mounts, copied there through one
// descriptor opened without following links. From then on only the service can change
// what a claim's name points to.
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
#include "util/batch_id.hpp"
#include "util/folder.hpp"

namespace actiondrop::ingest {

using SteadyTime = std::chrono::steady_clock::time_point;

// A name in the inbox that is not taken, and why (reported once per name).
struct Skip {
    std::string name;
    std::string why;
};

// A file moved into the claims folder, ours alone from now on.
struct Claim {
    std::filesystem::path path;  // <claims folder>/<batch id>_NAME
    std::string file_name;       // NAME, as the advertiser gave it
    bool recovered = false;      // found in the claims folder at start (a crash or a retry)
    // When the file started to wait: first seen in the inbox, or found in the claims folder.
    SteadyTime waiting_since{};
    // The batch this claim is journalled as: given at claim time, part of the claim's name,
    // so that a retry or a restart finds the very batch this claim committed.
    std::string batch_id;
    // A file found across mounts that is not copied into the claims folder: one the service
    // may not read, or one over max_file_bytes, never read. `path` is then a hidden name in
    // its own inbox (`.unreadable.` or `.too-large.`), where it stays once answered.
    bool in_inbox = false;
    // Something of the claim's upload the service could not tidy (its done marker not
    // removed): for the log, once; the claim is taken all the same.
    std::string notice;
};

// The claim a name in a claims folder stands for (`<batch id>_NAME`), or nullopt.
std::optional<Claim> claim_of(const std::filesystem::path& path);

struct SweepResult {
    std::vector<std::string> ready;  // oldest mtime first, then by name
    std::vector<Skip> skipped;       // names skipped for the first time
    // Files whose answers could not be written under their name (util/name_rules.hpp): they are
    // to be moved aside (set_aside()), never taken.
    std::vector<std::string> unanswerable;
    std::optional<SteadyTime> next_check;  // when a settling file may become ready
    // Said once while their cause lasts: the folder holds more entries than a sweep reads,
    // or more skipped names than are reported one by one.
    std::vector<std::string> notices;
};

// What one inbox's folder may cost a sweep, whatever its uploader puts there
// (docs/ingest.md, "Sweep"): the entries read, and the skipped names remembered (and so
// reported once each).
struct SweepLimits {
    std::size_t entries = 50'000;
    std::size_t skips_remembered = 10'000;
    std::size_t skips_logged = 10'000;  // an hour, as a pull inbox's (pull/puller.hpp)
};

class LocalInbox {
public:
    // Creates the inbox and the claims folder when they do not exist. The claims folder
    // must be out of every uploader's reach (STATE_DIR/claims/<inbox>).
    LocalInbox(config::InboxConfig inbox, std::filesystem::path claims_folder,
               SweepLimits limits = {});

    const config::InboxConfig& config() const { return inbox_; }
    // The folder uploaders write into (the inbox's LocalSource).
    const std::filesystem::path& folder() const { return folder_; }
    const std::filesystem::path& claims_folder() const { return claims_; }
    // Whether the constructor made the inbox's folder: it was not there, which may be a path
    // mistyped in the config, and is worth a log line.
    bool made_folder() const { return made_folder_; }

    // Lists the folder, up to limits.entries entries. Throws std::system_error only when the
    // folder itself cannot be read, or is a symbolic link (never followed: docs/ingest.md,
    // "The outbox"); an entry that cannot be looked at is skipped and reported, never stops
    // the rest.
    SweepResult sweep(SteadyTime now);

    // Moves NAME into the claims folder as `<new batch id>_NAME`; nullopt when NAME vanished
    // (another instance claimed it first) or changed while it was copied across mounts.
    // With done_file, NAME.done is removed once NAME is claimed, so that a later upload of
    // the same name waits for its own marker (one that cannot be removed is Claim::notice).
    // Throws std::system_error when NAME cannot be moved (it stays in the inbox) or is not a
    // regular file at the moment of a copy.
    std::optional<Claim> claim(const std::string& name);

    // Closes the folder the last sweep opened (claim() and set_aside() open it again if
    // needed), so that it holds no file system busy between rounds.
    void let_go() { opened_.reset(); }

    // Moves a file that can never be answered into `failed_folder` (in `state_dir`, which is
    // not made again when it is gone) as `<batch id>_<first bytes of NAME>`; returns where it
    // went. Throws std::system_error, or std::runtime_error when `state_dir` is gone.
    std::filesystem::path set_aside(const std::string& name, const std::filesystem::path& state_dir,
                                    const std::filesystem::path& failed_folder);

    // Every file in the claims folder: claims a crashed run left behind.
    std::vector<Claim> leftover_claims() const;

    // Ends the claims across mounts that a crashed run of this service left half done in the
    // inbox (hidden `.ad-<tag>.<batch id>_NAME` names, this service's tag alone): a file
    // already copied into the claims folder is removed, any other goes back under NAME to be
    // claimed again. Called by the constructor; another service's hidden names are left alone.
    void finish_crossings();
    // Names the constructor removed from the claims folder: the service's own copies of
    // claims (`.own.<claim>`, and their temporaries) that a killed run left between the copy
    // and its rename over the claim (docs/ingest.md, "Claims"). The claim itself stays, and is
    // copied again when taken. Safe because one service only works in a state folder, and it
    // makes an inbox's LocalInbox (at start, or when a reload adds or changes the inbox) on
    // the thread that takes that inbox's claims, never while one is taken.
    const std::vector<std::string>& removed_at_start() const { return removed_at_start_; }
    // `.ad-<tag>.`: how this service's hidden names across mounts begin.
    const std::string& crossing_prefix() const { return crossing_prefix_; }

    // When the oldest file still in the folder was first seen by sweep(): settling, waiting
    // for its done marker, or ready but not claimed yet; nullopt when none waits. Skipped
    // names do not count: they are never taken. The first sighting, not the file's mtime,
    // which a client may set to any time.
    std::optional<SteadyTime> oldest_waiting() const;

private:
    // Makes the claims folder (STATE_DIR/claims/<inbox>) again when it is gone but the folder
    // above its parent (the state folder) is there. A state folder that is gone is not made
    // again: it may be a disk that was unmounted, and files claimed onto the one beneath
    // would be lost when it comes back (docs/ingest.md, "Claims"). Throws std::system_error
    // naming it.
    void ready_claims_folder() const;

    struct Seen {
        std::int64_t size = 0;
        std::chrono::nanoseconds mtime{};
        SteadyTime unchanged_since{};
        SteadyTime first_seen{};
    };
    bool stable(const std::string& name, std::int64_t size, std::chrono::nanoseconds mtime,
                SteadyTime now, SweepResult& result);

    // The inbox opened by the last sweep (util::OpenedFolder): what it listed is claimed
    // from that folder, through its descriptor, whatever is put at its name meanwhile.
    // Opened again at each sweep, so that a folder made again by an operator is found.
    const std::filesystem::path& here();
    std::optional<Claim> claim_here(const std::string& name);

    config::InboxConfig inbox_;
    std::filesystem::path folder_;
    std::optional<util::OpenedFolder> opened_;
    bool made_folder_ = false;
    std::filesystem::path claims_;
    std::string crossing_prefix_;  // `.ad-<tag>.`, see finish_crossings()
    std::vector<std::string> removed_at_start_;
    SweepLimits limits_;
    std::map<std::string, Seen> seen_;
    util::BatchIds batch_ids_;  // the claims' names, in the order they are claimed
    std::set<std::string> skip_reported_;
    bool said_truncated_ = false, said_unreported_ = false;  // SweepResult::notices
    std::optional<SteadyTime> skips_since_;                  // the hour that skips_logged_ counts
    std::size_t skips_logged_ = 0;
    bool said_skips_capped_ = false;
};

}  // namespace actiondrop::ingest
