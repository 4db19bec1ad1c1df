#pragma once
// The daemon's work, without the process around it: every local inbox swept in turn and
// each ready file claimed and taken to its end, one at a time, so the files of an
// account are applied in arrival order. An inbox's turn in a round ends after a second's
// work, so that a flooded inbox does not hold the others (docs/ingest.md, "Turns"). A file
// whose processing throws stays claimed and is tried again with a growing delay, and its
// inbox's later files wait behind it
// (docs/ingest.md, "The journal of a batch"); the journal's attempts counter quarantines it.
// A request to abandon the file being applied (abandon_file(), which the service asks after a
// second stop signal or a stop that waited too long) rolls it back; it stays claimed, and the
// attempt is not counted.
//
// One round runs on the caller's thread; accounts are not yet applied in parallel. SFTP
// pull inboxes talk to their servers on threads of their own (pull::Puller): what they
// download waits in the inbox's spool, where a round takes it like a local claim.
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apply/apply_file.hpp"
#include "config/service_config.hpp"
#include "ingest/claimed_file.hpp"
#include "ingest/local_inbox.hpp"
#include "pull/puller.hpp"
#include "store/store.hpp"

namespace actiondrop::ingest {

// What the service reports; the daemon turns these into log lines.
struct ServiceEvents {
    std::function<void(const config::InboxConfig&, const Skip&)> skipped;
    // A file that can never be answered (its name is too long), moved to `to`.
    std::function<void(const config::InboxConfig&, const std::string& name, const std::string& why,
                       const std::filesystem::path& to)>
        set_aside;
    std::function<void(const config::InboxConfig&, const Claim&, const Outcome&,
                       std::chrono::milliseconds took)>
        taken;
    std::function<void(const config::InboxConfig&, const Claim&, const std::string& what,
                       std::chrono::seconds retry_in)>
        failed;
    // A file that waits for an earlier file of its account (docs/ingest.md, "Arrival order"),
    // said once per earlier file it waits for; it is tried again within seconds.
    std::function<void(const config::InboxConfig&, const Claim&, const std::string& what)> waiting;
    // A problem that keeps an inbox from flowing (reported when it first appears).
    std::function<void(const config::InboxConfig&, const std::string& what)> inbox_problem;
    std::function<void()> progress;  // called while a long file is being applied
    // A file rolled back because of a stop request; it stays claimed for the next round.
    std::function<void(const config::InboxConfig&, const Claim&)> abandoned;
    // A file or folder a killed process left behind, removed (a path).
    std::function<void(const std::filesystem::path&)> tidied;
    // A local inbox's folder that was not there when the inbox was first served, made: a
    // path mistyped in the config would otherwise wait for uploads without a word.
    std::function<void(const config::InboxConfig&)> made_inbox_folder;
};

class Service {
public:
    Service(store::Store& store, Folders folders, apply::Clock clock, ServiceEvents events);

    // Claims waiting in the state folder for an inbox the config does not name (removed by
    // a reload, or before a restart): they are taken once an inbox of that name is served
    // again, and until then nothing answers them (docs/ingest.md, "Claims").
    struct UnservedClaims {
        std::string inbox;
        std::filesystem::path folder;
        std::size_t files = 0;
    };
    std::vector<UnservedClaims> unserved_claims() const;

    // Serves exactly these inboxes from now on (SIGHUP): an inbox whose settings did not
    // change keeps what it knows; a new one first takes the claims left in its
    // `.processing/`. An SFTP inbox whose connection settings changed starts a new puller.
    void set_inboxes(const std::vector<config::InboxConfig>& inboxes,
                     std::chrono::milliseconds sweep_interval);

    // How long an inbox with files ready may take them before the other inboxes have their
    // turn (at least one file); the round then ends, due again at once (docs/ingest.md,
    // "Turns"). One second unless set.
    void set_turn(std::chrono::milliseconds turn) { turn_ = turn; }
    // How long an account's life cycle waits for the files its turns keep leaving (files
    // that keep coming) or that keep failing; then it runs between two of them. The daemon
    // sets its lifecycle interval; one minute unless set.
    void set_files_left_wait(std::chrono::milliseconds wait) { files_left_wait_ = wait; }

    // Lets SFTP inboxes be served (each puller opens a store connection of its own).
    // Without it they are reported as not served.
    void enable_pulls(pull::StoreOpener open_store, pull::PullEvents events,
                      pull::PullTiming timing = {});
    // Names of the SFTP inboxes that do not connect because of a host key alert.
    std::vector<std::string> host_key_alerts() const;

    // Removes the spool folders of batches that were decided (a killed run leaves them).
    // Outboxes are tidied when their inbox is first served.
    void remove_spool_leftovers();

    // The folders worth watching with inotify.
    std::vector<std::filesystem::path> folders() const;

    // One round: pending claims that are due, then a sweep of every inbox, applying its
    // ready files for the length of its turn. Stops before the next file once should_stop()
    // is true. While a file is applied, abandon_file() is asked every 20,000 rows: true
    // rolls the file back, keeps its claim (due at once, its failures unchanged) and ends
    // the round. Returns when the next round is due: `now` when a turn left files ready.
    SteadyTime run_once(SteadyTime now, const std::function<bool()>& should_stop,
                        const std::function<bool()>& abandon_file = {});

    // The accounts with a claimed file not yet finished (waiting for a retry, or left by a
    // stop or reload), or with files ready that the last round left for the next one when
    // their turn ended: their lifecycle runs wait for them (ingest/lifecycle_schedule.hpp).
    // Either holds an account only until its rounds have ended so, one after another, for
    // set_files_left_wait(): a file's rows commit together, so a run between two of its
    // attempts, or between two files, sees each file whole or not at all.
    std::set<std::string> accounts_with_unfinished_files() const;

    std::int64_t files_taken() const { return files_taken_; }
    // The store failure of the last file taken (a StoreError), or empty once a file got past
    // the store (applied, or failed for another reason), or no claim waits any more: what
    // keeps every file from being applied, for /healthz.
    const std::string& store_problem() const { return store_problem_; }
    std::size_t claims_waiting() const { return pending_.size(); }
    // Per inbox, since when its oldest file not yet answered waits (LocalInbox::oldest_waiting
    // and the claims waiting for a retry); an inbox with none is not named.
    std::map<std::string, SteadyTime> oldest_waiting() const;

private:
    struct Served {
        config::InboxConfig config;
        std::unique_ptr<LocalInbox> inbox;  // null until its folder could be set up
        // SFTP inboxes: the thread that pulls, and the config files are applied with (the
        // spool as inbox, its `.outbox/` as outbox).
        std::unique_ptr<pull::Puller> puller;
        config::InboxConfig spool_config;
        std::string problem;  // the last problem reported
        // Claims failing (a full or failing state folder): the inbox's files wait, in their
        // order, until `claim_due`, with a growing delay.
        int claim_failures = 0;
        SteadyTime claim_due{};
    };
    struct Pending {
        Claim claim;
        std::string inbox;
        int failures = 0;
        SteadyTime due{};
        int waits = 0;              // tries in a row that waited for an earlier file
        std::string waiting_for{};  // the batch the last of them waited for
    };

    bool ready_to_serve(Served& s);
    // When the first claimed file of the inbox that waits for a retry is due, if one does:
    // the inbox's later files wait behind it, so that they are applied in arrival order.
    std::optional<SteadyTime> retry_due(const std::string& inbox) const;
    void report(Served& s, const std::string& problem);
    enum class Taken { done, failed, abandoned };
    // Takes one claim; on failure keeps it pending with a delay, when abandoned due at once.
    Taken take(Served& s, Claim claim, int failures, const std::function<bool()>& abandon_file,
               int waits = 0, const std::string& waiting_for = {});
    // Takes the files a pull inbox's puller has downloaded and not yet taken; a turn that
    // ends with files left puts the account in left_ready_.
    Taken serve_pulled(Served& s, const std::function<bool()>& should_stop,
                       const std::function<bool()>& abandon_file);

    store::Store& store_;
    Folders folders_;
    apply::Clock clock_;
    ServiceEvents events_;
    std::chrono::milliseconds sweep_interval_{5000};
    std::chrono::milliseconds turn_{1000};
    std::map<std::string, Served> served_;
    std::vector<std::string> order_;  // inbox names in config order
    std::vector<Pending> pending_;
    std::set<std::string> left_ready_;  // accounts whose turn in the last round left files
    // Since which round each account has had files left (left_ready_) or claims waiting for
    // a retry (pending_), round after round.
    std::map<std::string, SteadyTime> held_since_;
    SteadyTime last_round_{};
    std::chrono::milliseconds files_left_wait_{60000};
    std::int64_t files_taken_ = 0;
    std::string store_problem_;
    pull::StoreOpener open_pull_store_;
    pull::PullEvents pull_events_;
    pull::PullTiming pull_timing_;
};

// Where a local inbox's claims wait: STATE_DIR/claims/<inbox>/, out of every uploader's reach.
std::filesystem::path claims_folder(const Folders& folders, std::string_view inbox);

// The delay before the n-th retry (1 s, 2 s, 4 s, ... at most 5 minutes).
std::chrono::seconds retry_delay(int failures);

}  // namespace actiondrop::ingest
