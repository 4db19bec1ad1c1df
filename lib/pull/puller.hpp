#pragma once
// A pull inbox (docs/ingest.md): a thread of its own that owns the inbox's connection to its
// server (a RemoteFolder opened by its RemoteServer, whatever the protocol), polls the
// advertiser's folder, downloads each stable file into the inbox's local spool and
// uploads the answers. Applying is not done here: a downloaded file lands in the spool's
// `.processing/`, where the service takes it like a local claim.
//
// The spool, STATE_DIR/pull/<inbox>/:
//   .download/   files being downloaded (a partial file never leaves it)
//   .processing/ downloaded files, <unique>_NAME, waiting to be applied
//   .outbox/     answers written by the service, uploaded to result_folder then removed
//
// A file is taken once its (size, mtime) has stayed the same across polls for `settle`
// on our monotonic clock (never compared with our wall clock), or once NAME.done exists.
// Each pull is recorded in the store's pull journal before the download, so that an
// original left on the server is taken once across restarts (and by one service of
// several); the original is then left alone, or deleted, or moved to archive_folder,
// once the local copy has been applied (it is kept in STATE_DIR/archive either way).
//
// A file whose listed size is over the inbox's limits.max_file_bytes is never downloaded:
// its pull is recorded all the same, a REJECTED batch (TOO_LARGE) is written in the
// journal under the claim's batch id with its receipt and NAME_summary.json, which are
// staged in `.outbox/` and uploaded like any answer, and the original is then left, deleted or
// archived as for an applied file. A download reads no more than the size the file had
// when opened, and no download starts on a file over the limit.
//
// A claim is leased (PullTiming::lease, on the store's clock): the puller renews its inbox's
// leases while it runs, whether its server answers or not, and takes over the pulls of a
// service whose lease has ended (docs/postgres.md, "Claims and leases").
//
// Failures, by RemoteErrorKind: a server that is not trusted (an SFTP host key that is unknown,
// changed or of another type) raises an alert and the inbox does not connect again until the
// server's trust files (known_hosts) or its config change; refused credentials back off for a long
// time (15 minutes, doubling to 2 hours); any other failure reconnects with exponential backoff and
// jitter (1 s doubling to 5 min).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "apply/apply_file.hpp"
#include "config/service_config.hpp"
#include "pull/remote_folder.hpp"
#include "store/store.hpp"
#include "util/batch_id.hpp"

namespace actiondrop::pull {

// The spool of a pull inbox.
std::filesystem::path pull_spool(const std::filesystem::path& state_dir, std::string_view inbox);
// The name a service's pulls carry in the pull journal: its host and its state folder, which
// stay the same across its restarts and differ between services sharing a store.
std::string pull_owner(const std::filesystem::path& state_dir);
// The batch id a pull's file is applied as: its claim is `<batch id>_NAME`.
std::string claim_batch_id(const store::PullRecord& record);

// What a puller reports, from its own thread (the callbacks must be thread-safe).
struct PullEvents {
    // A new problem (or "" when it is gone); `retry_in` is zero when it is not retried.
    std::function<void(const config::InboxConfig&, const std::string& what,
                       std::chrono::seconds retry_in)>
        problem;
    // A host key alert raised (true) or cleared (false).
    std::function<void(const config::InboxConfig&, bool raised, const std::string& what)> alert;
    std::function<void(const config::InboxConfig&)> connecting;
    std::function<void(const config::InboxConfig&, const std::string& name, const std::string& why)>
        skipped;
    std::function<void(const config::InboxConfig&, const std::string& name, std::int64_t bytes,
                       std::chrono::milliseconds took)>
        fetched;
    std::function<void(const config::InboxConfig&, const std::string& what)> info;
    // A downloaded file is ready in `.processing/`: the service should look now.
    std::function<void()> wake;
};

// Opens a store connection of the puller's own (one per thread).
using StoreOpener = std::function<std::unique_ptr<store::Store>()>;

// Tuning that tests may shorten.
struct PullTiming {
    std::chrono::milliseconds keepalive{30'000};  // an idle session is pinged this often
    std::chrono::seconds first_retry{1}, max_retry{300};
    std::chrono::seconds first_auth_retry{900}, max_auth_retry{7200};
    std::size_t list_budget = 50'000;  // directory entries read per poll
    // Skipped names and unreadable lines logged one by one per hour.
    std::size_t skips_logged = 10'000;
    // How long a claim in the pull journal holds unless renewed; renewed every quarter of it
    // (docs/postgres.md, "Claims and leases"). Config `pull_lease`.
    std::chrono::milliseconds lease{120'000};
};

class Puller {
public:
    // `server` opens the connections (pull/server_for.hpp picks it by the inbox's kind).
    Puller(config::InboxConfig inbox, std::unique_ptr<RemoteServer> server,
           std::filesystem::path state_dir, StoreOpener open_store, apply::Clock clock,
           PullEvents events, PullTiming timing = {});
    ~Puller();  // stops the thread (a download in progress is abandoned)
    Puller(const Puller&) = delete;
    Puller& operator=(const Puller&) = delete;

    const config::InboxConfig& config() const { return inbox_; }
    std::filesystem::path spool() const;

    // Polls now instead of at the next interval (answers were staged to upload).
    void poll_now();
    void stop();

    bool host_key_alert() const { return alert_.load(); }
    bool connected() const { return connected_.load(); }
    std::int64_t files_pulled() const { return pulled_.load(); }
    // Since when the oldest file seen on the server and not yet pulled waits (as of the
    // last poll); nullopt when none does.
    std::optional<std::chrono::steady_clock::time_point> oldest_waiting() const;

private:
    void run();
    // One poll on a connected folder; returns false when the connection failed.
    bool poll(RemoteFolder& remote, store::Store& store);
    bool deliver_answers(RemoteFolder& remote);
    // Puts `local` at `folder/name`: written under a hidden temporary name in the same
    // folder, then any old file of that name removed, then renamed into place, so that
    // nobody ever sees half an answer.
    RemoteResult<void> upload(RemoteFolder& remote, const std::filesystem::path& local,
                              const std::string& folder, const std::string& name);
    bool finish_pulls(RemoteFolder& remote, store::Store& store);
    // Renews the leases of this service's pulls of the inbox when a quarter of one has passed;
    // a failure (a busy or failing store) is reported once and tried again shortly.
    void keep_leases(store::Store& store);
    // Takes over the pulls of the inbox whose owners' leases have ended: a committed batch is
    // answered again from the store, anything else is downloaded again under its batch id.
    void take_over(store::Store& store);
    bool take_new_files(RemoteFolder& remote, store::Store& store);
    // What became of a claimed file: downloaded or answered (Taken: ours from now on, also
    // when a claim in the server's `.processing/` is tried again), left to settle again on
    // the server (Again: changed, removed or grown meanwhile), or the connection was lost.
    enum class Fetched { Taken, Again, Lost };
    Fetched fetch(RemoteFolder& remote, store::Store& store, store::PullRecord record);
    // fetch(), then removes the file's `done_file` marker once the file is ours; a file left
    // to settle again keeps its marker, or it would never be taken.
    Fetched fetch_settled(RemoteFolder& remote, store::Store& store, store::PullRecord record);
    // Answers a claimed file of `size` bytes, over the limit, TOO_LARGE without downloading it.
    void refuse_too_large(store::Store& store, store::PullRecord record, std::int64_t size);
    // Handles a connection failure: the next attempt's time, or an alert.
    void failed(const RemoteError& error);
    // Sleeps until `when`, a stop, or poll_now().
    void wait_until(std::chrono::steady_clock::time_point when);
    // True when `error` (or a ping after it) shows the connection is gone; then failed() was
    // called and the caller must drop the connection.
    bool lost(RemoteFolder& remote, const RemoteError& error);
    // Reports a problem with one file or folder once, until warned_.erase(key) says it ended.
    void warn_once(const std::string& key, const std::string& what);
    // A file a download gave back (it changed, vanished or failed): it settles again before
    // its next download, keeping its first sighting; said once when it keeps happening.
    void settle_again(const std::string& name, const std::string& remote_path,
                      const std::string& why);
    config::InboxConfig inbox_;
    config::RemoteSource remote_;  // the inbox's server settings, whatever its kind
    std::unique_ptr<RemoteServer> server_;
    std::filesystem::path state_dir_;
    std::string owner_;  // pull_owner(state_dir_)
    StoreOpener open_store_;
    apply::Clock clock_;
    PullEvents events_;
    PullTiming timing_;

    struct Seen {
        std::int64_t size = 0, mtime = 0;
        std::chrono::steady_clock::time_point since{};       // unchanged since
        std::chrono::steady_clock::time_point first_seen{};  // waiting since
        bool pulled = false;  // this (size, mtime) was pulled before: it does not wait
        int not_taken = 0;    // downloads in a row that gave it back to settle again
    };
    std::map<std::string, Seen> seen_;
    util::BatchIds batch_ids_;  // the claims' names, in the order they are claimed
    std::set<std::string> skip_reported_, warned_;
    std::chrono::steady_clock::time_point skips_since_{};  // the hour skips_logged_ counts
    std::size_t skips_logged_ = 0;
    std::string problem_;
    int failures_ = 0;
    bool auth_failed_ = false;
    std::string stamp_at_failure_;
    std::chrono::steady_clock::time_point next_attempt_{};
    std::chrono::steady_clock::time_point next_renewal_{};
    std::optional<std::chrono::steady_clock::time_point> renewal_failing_since_;

    std::atomic<bool> alert_{false}, connected_{false};
    std::atomic<std::int64_t> pulled_{0};
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::optional<std::chrono::steady_clock::time_point> oldest_waiting_;
    bool stop_ = false, poll_now_ = false;
    // The connection the puller's thread uses, for stop() to interrupt: set and cleared by
    // that thread under mutex_, and cleared before the connection is freed.
    RemoteFolder* active_ = nullptr;
    std::thread thread_;
};

}  // namespace actiondrop::pull
