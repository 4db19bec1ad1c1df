#include "pull/puller.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <tuple>

#include "apply/delivery.hpp"
#include "apply/journal.hpp"
#include "batch/outputs.hpp"
#include "ledger/errors.hpp"
#include "util/atomic_file.hpp"
#include "util/batch_id.hpp"
#include "util/name_rules.hpp"
#include "util/service_name.hpp"

namespace actiondrop::pull {
namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

namespace {

// Whatever a server says (a reply, a name, a listing line) reaches the log with its control
// characters escaped (util::printable_text): it cannot move a terminal's cursor, clear its
// screen or break the line.
PullEvents escaping(PullEvents events) {
    if (auto problem = std::move(events.problem))
        events.problem = [problem](const config::InboxConfig& inbox, const std::string& what,
                                   std::chrono::seconds retry_in) {
            problem(inbox, util::printable_text(what), retry_in);
        };
    if (auto alert = std::move(events.alert))
        events.alert = [alert](const config::InboxConfig& inbox, bool raised,
                               const std::string& what) {
            alert(inbox, raised, util::printable_text(what));
        };
    if (auto skipped = std::move(events.skipped))
        events.skipped = [skipped](const config::InboxConfig& inbox, const std::string& name,
                                   const std::string& why) {
            skipped(inbox, name, util::printable_text(why));
        };
    if (auto info = std::move(events.info))
        events.info = [info](const config::InboxConfig& inbox, const std::string& what) {
            info(inbox, util::printable_text(what));
        };
    return events;
}

// What a poll logs of a listing line it cannot read: its first bytes name it.
constexpr std::size_t kLineShown = 200;

// Thrown from a download's progress callback when the puller is asked to stop.
struct Stopping {};

// Failures after which the connection cannot be trusted any more: reconnect.
bool connection_lost(const RemoteError& e) {
    return e.kind == RemoteErrorKind::Lost || e.kind == RemoteErrorKind::Untrusted ||
           e.kind == RemoteErrorKind::AuthFailed;
}

config::RemoteSource remote_of(const config::InboxConfig& inbox) {
    const auto* remote = inbox.remote();
    if (!remote)
        throw std::invalid_argument("inbox " + inbox.name + " is not pulled from a server");
    return *remote;
}

// A hidden name beside the answer, unique enough that two services never write the same one.
std::string temporary_name(const std::string& name) {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format(".{}.{:016x}.tmp", name, random());
}

// Answers in upload order: a batch's summary after its other files, so that an advertiser
// who waits for NAME_summary.json finds the rest already there.
std::vector<std::string> staged_answers(const fs::path& outbox) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(outbox, ec), end; !ec && it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        if (util::is_hidden(name) || !it->is_regular_file(ec)) continue;
        names.push_back(std::move(name));
    }
    std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        const bool sa = a.ends_with("_summary.json"), sb = b.ends_with("_summary.json");
        return sa != sb ? sb : a < b;
    });
    return names;
}

std::chrono::seconds doubled(std::chrono::seconds first, std::chrono::seconds most, int times) {
    auto d = first;
    for (int i = 1; i < times && d < most; ++i) d *= 2;
    return std::min(d, most);
}

}  // namespace

fs::path pull_spool(const fs::path& state_dir, std::string_view inbox) {
    return state_dir / "pull" / inbox;
}

std::string claim_batch_id(const store::PullRecord& record) {
    return record.claim.substr(0, record.claim.size() - record.file_name.size() - 1);
}

std::string pull_owner(const fs::path& state_dir) { return util::service_name(state_dir); }

Puller::Puller(config::InboxConfig inbox, std::unique_ptr<RemoteServer> server, fs::path state_dir,
               StoreOpener open_store, apply::Clock clock, PullEvents events, PullTiming timing)
    : inbox_(std::move(inbox)),
      remote_(remote_of(inbox_)),
      server_(std::move(server)),
      state_dir_(std::move(state_dir)),
      owner_(pull_owner(state_dir_)),
      open_store_(std::move(open_store)),
      clock_(std::move(clock)),
      events_(escaping(std::move(events))),
      timing_(timing) {
    for (const char* sub : {".download", ".processing", ".outbox"})
        util::create_folders(spool() / sub);
    // Partial downloads of a killed process: their pulls are still `claimed` and are
    // downloaded again.
    std::error_code ec;
    for (fs::directory_iterator it(spool() / ".download", ec), end; !ec && it != end;
         it.increment(ec))
        fs::remove_all(it->path(), ec);
    thread_ = std::thread([this] { run(); });
}

Puller::~Puller() { stop(); }

fs::path Puller::spool() const { return pull_spool(state_dir_, inbox_.name); }

void Puller::poll_now() {
    {
        std::lock_guard lock(mutex_);
        poll_now_ = true;
    }
    cv_.notify_all();
}

void Puller::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
        // A download from a server that went silent would hold the stop for as long as the
        // silence timeout (30 s), past the drain the service promises (README.md, "The
        // service: actiondropd"): its connection is cut now; the claim stays, and the file
        // is downloaded again at the next start.
        if (active_ != nullptr) active_->interrupt();
        // Nor may a server that answers a login byte by byte hold it: a connection being
        // made is given up too.
        server_->interrupt();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Puller::wait_until(Steady::time_point when) {
    std::unique_lock lock(mutex_);
    cv_.wait_until(lock, when, [&] { return stop_ || poll_now_; });
}

void Puller::failed(const RemoteError& error) {
    {
        std::lock_guard lock(mutex_);
        if (stop_) return;  // most likely our own interrupt: nothing to report or wait out
    }
    connected_ = false;
    stamp_at_failure_ = server_->trust_stamp();
    if (error.kind == RemoteErrorKind::Untrusted) {
        if (!alert_.exchange(true) && events_.alert) events_.alert(inbox_, true, error.message);
        problem_ = error.message;
        if (events_.problem) events_.problem(inbox_, error.message, std::chrono::seconds{0});
        next_attempt_ = Steady::time_point::max();
        return;
    }
    ++failures_;
    std::chrono::seconds delay;
    if (error.kind == RemoteErrorKind::AuthFailed) {
        auth_failed_ = true;
        delay = doubled(timing_.first_auth_retry, timing_.max_auth_retry, failures_);
    } else {
        auth_failed_ = false;
        delay = doubled(timing_.first_retry, timing_.max_retry, failures_);
        // Jitter of ±20%, so that inboxes of one server do not reconnect in step.
        static thread_local std::mt19937 random{std::random_device{}()};
        std::uniform_real_distribution<double> factor(0.8, 1.2);
        delay = std::max(std::chrono::seconds{1},
                         std::chrono::seconds(static_cast<std::int64_t>(
                             static_cast<double>(delay.count()) * factor(random) + 0.5)));
    }
    next_attempt_ = Steady::now() + delay;
    problem_ = error.message;
    if (events_.problem) events_.problem(inbox_, problem_, delay);
}

void Puller::run() {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<RemoteFolder> remote;
    auto use = [&](std::unique_ptr<RemoteFolder> next) {  // every change of `remote`
        {
            std::lock_guard lock(mutex_);
            active_ = next.get();
            if (stop_ && next) next->interrupt();
        }
        remote = std::move(next);
    };
    auto next_poll = Steady::now();
    auto last_activity = Steady::now();
    bool poll_since_connect = false;  // a poll worked on the current connection
    auto stopping = [&] {
        std::lock_guard lock(mutex_);
        return stop_;
    };
    while (!stopping()) {
        auto now = Steady::now();
        if (next_attempt_ > now) {
            // Waiting out a failure; a changed known_hosts, key or password file ends it.
            if ((alert_ || auth_failed_) && server_->trust_stamp() != stamp_at_failure_) {
                if (alert_.exchange(false) && events_.alert)
                    events_.alert(inbox_, false, server_->trust_changed());
                auth_failed_ = false;
                failures_ = 0;
                next_attempt_ = now;
                continue;
            }
            try {
                if (!store) store = open_store_();
                keep_leases(*store);
            } catch (const std::exception&) {
                store.reset();  // reported by keep_leases or tried again at the next attempt
            }
            wait_until(std::min({next_attempt_, now + remote_.poll_interval, next_renewal_}));
            {
                std::lock_guard lock(mutex_);
                poll_now_ = false;
            }
            continue;
        }
        try {
            if (!store) store = open_store_();
            keep_leases(*store);
            if (!remote || !remote->connected()) {
                use(nullptr);
                if (events_.connecting) events_.connecting(inbox_);
                auto c = server_->connect();
                if (!c) {
                    failed(c.error());
                    continue;
                }
                use(std::move(*c));
                connected_ = true;
                auth_failed_ = false;
                last_activity = Steady::now();
                // The failures and the problem end with the first poll that works, not with
                // the login: a server that drops every connection after it would otherwise be
                // logged into again every second, with a line saying that all was well.
                poll_since_connect = false;
            }
            bool due;
            {
                std::lock_guard lock(mutex_);
                due = poll_now_ || Steady::now() >= next_poll;
                poll_now_ = false;
            }
            if (due) {
                next_poll = Steady::now() + remote_.poll_interval;
                const std::string before = problem_;
                if (!poll(*remote, *store)) {
                    use(nullptr);
                    continue;
                }
                last_activity = Steady::now();
                if (!poll_since_connect) {
                    poll_since_connect = true;
                    failures_ = 0;
                    // The connection's problem ends; one the poll itself reports (a folder it
                    // may not list) stays until the poll that mends it says so.
                    if (!problem_.empty() && problem_ == before) {
                        problem_.clear();
                        if (events_.problem) events_.problem(inbox_, "", std::chrono::seconds{0});
                    }
                }
            } else if (Steady::now() - last_activity >= timing_.keepalive) {
                if (auto p = remote->ping(); !p) {
                    use(nullptr);
                    failed(p.error());
                    continue;
                }
                last_activity = Steady::now();
            }
        } catch (const Stopping&) {
            break;
        } catch (const std::exception& e) {
            // The store (busy with a long file past its lock timeout, or failing) or the local
            // disk: nothing was lost, the connection is still good; try again shortly.
            const auto delay = std::chrono::seconds{5};
            next_attempt_ = Steady::now() + delay;
            std::string what = e.what();
            if (what != problem_) {
                problem_ = what;
                if (events_.problem) events_.problem(inbox_, what, delay);
            }
            store.reset();
            continue;
        }
        wait_until(std::min({next_poll, last_activity + timing_.keepalive, next_renewal_}));
    }
    use(nullptr);
    connected_ = false;
}

bool Puller::poll(RemoteFolder& remote, store::Store& store) {
    return deliver_answers(remote) && finish_pulls(remote, store) &&
           take_new_files(remote, store) && deliver_answers(remote);
}

RemoteResult<void> Puller::upload(RemoteFolder& remote, const fs::path& local,
                                  const std::string& folder, const std::string& name) {
    const std::string temporary = remote_join(folder, temporary_name(name));
    const std::string destination = remote_join(folder, name);
    if (auto written = remote.write_new(local, temporary); !written) return written;
    auto give_up = [&](RemoteError error) -> RemoteResult<void> {
        if (remote.connected()) (void)remote.remove(temporary);
        return std::unexpected(std::move(error));
    };
    // A rename cannot replace a file on every protocol (SFTP v3): the old answer goes first.
    if (auto removed = remote.remove(destination);
        !removed && removed.error().kind != RemoteErrorKind::NotFound)
        return give_up(std::move(removed.error()));
    if (auto renamed = remote.rename(temporary, destination); !renamed)
        return give_up(std::move(renamed.error()));
    return {};
}

bool Puller::deliver_answers(RemoteFolder& remote) {
    const auto outbox = spool() / ".outbox";
    // Answers of an earlier upload of a name that the latest one does not have (a file
    // rejected as a whole has no result or errors file): removed from the server first.
    for (const auto& name : apply::stale_answers(outbox)) {
        auto removed = remote.remove(remote_join(remote_.result_folder, name));
        if (!removed && removed.error().kind != RemoteErrorKind::NotFound) {
            if (lost(remote, removed.error())) return false;
            warn_once(
                "remove " + name,
                fmt::format("cannot remove the stale {} from {}: {}; tried again at the "
                            "next poll",
                            util::printable(name), remote_.result_folder, removed.error().message));
            continue;
        }
        warned_.erase("remove " + name);
        apply::forget_stale(outbox, name);
    }
    for (const auto& name : staged_answers(outbox)) {
        auto sent = upload(remote, outbox / name, remote_.result_folder, name);
        if (!sent) {
            if (lost(remote, sent.error())) return false;
            // Kept staged: the next poll tries again.
            warn_once("upload " + name, fmt::format("cannot upload {} to {}: {}; it is kept and "
                                                    "sent at the next poll",
                                                    util::printable(name), remote_.result_folder,
                                                    sent.error().message));
            continue;
        }
        warned_.erase("upload " + name);
        if (::unlink((outbox / name).c_str()) != 0 && errno != ENOENT)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot remove " + (outbox / name).string());
    }
    return true;
}

void Puller::keep_leases(store::Store& store) {
    const auto now = Steady::now();
    if (now < next_renewal_) return;
    try {
        store.renew_pulls(inbox_.name, owner_, timing_.lease);
        next_renewal_ = now + timing_.lease / 4;
        renewal_failing_since_.reset();
        warned_.erase("lease");
    } catch (const std::exception& e) {
        // A store busy with a long file (SQLite's one write lock) or failing: the lease still
        // has three quarters to run; try again soon, and say so once half of it is gone.
        next_renewal_ =
            now + std::min<std::chrono::milliseconds>(std::chrono::seconds{5}, timing_.lease / 8);
        if (!renewal_failing_since_) renewal_failing_since_ = now;
        if (now - *renewal_failing_since_ >= timing_.lease / 2)
            warn_once("lease", fmt::format("cannot renew the leases of this service's pulls: {}; "
                                           "once they end another service on this store may take "
                                           "them over; trying again",
                                           e.what()));
    }
}

void Puller::take_over(store::Store& store) {
    for (auto& taken : store.take_over_pulls(inbox_.name, owner_, timing_.lease)) {
        auto record = std::move(taken.record);
        const auto batch_id = claim_batch_id(record);
        auto batch = store.find_batch(batch_id);
        std::string what;
        if (batch && apply::committed(*batch)) {
            // Its answers may never have left the other service's spool: they are sent
            // again from the store, and the original is then dealt with.
            apply::deliver(store, *batch, spool() / ".outbox", apply::Outbox::Staging);
            record.state = "fetched";
            what = fmt::format("batch {} was committed ({}); its answers are sent again", batch_id,
                               batch->status);
        } else {
            // Its copy is in the other service's spool: downloaded again, under the same batch
            // id, so that it is applied once whichever service commits first.
            record.state = "claimed";
            what = fmt::format("it is downloaded again as batch {}", batch_id);
        }
        store.put_pull(record);
        if (events_.info)
            events_.info(inbox_, fmt::format("took over {} from {}, whose lease ended: {}",
                                             record.remote_path, taken.from, what));
    }
}

bool Puller::finish_pulls(RemoteFolder& remote, store::Store& store) {
    take_over(store);
    // Only this service's own: another one sharing the inbox finishes its claims itself.
    for (auto record : store.open_pulls(inbox_.name, owner_)) {
        const auto local = spool() / ".processing" / record.claim;
        if (record.state == "claimed") {
            // A download that did not end (a failure or a crash): take it again.
            if (fs::exists(local)) {
                record.state = "fetched";
                store.put_pull(record);
                continue;
            }
            if (fetch_settled(remote, store, record) == Fetched::Lost) return false;
            continue;
        }
        if (fs::exists(local)) continue;  // not applied yet
        // Applied (or set aside): the local copy is kept in STATE_DIR; the original's fate.
        if (!remote_.archive_folder.empty()) {
            if (auto made = remote.ensure_folder(remote_.archive_folder); !made) {
                if (lost(remote, made.error())) return false;
            }
            auto target = remote_join(remote_.archive_folder, record.file_name);
            if (remote.stat(target)) target = remote_join(remote_.archive_folder, record.claim);
            if (auto moved = remote.rename(record.remote_path, target);
                !moved && moved.error().kind != RemoteErrorKind::NotFound) {
                if (lost(remote, moved.error())) return false;
                warn_once("finish " + record.remote_path,
                          fmt::format("cannot move {} to {}: {}; tried again at "
                                      "the next poll",
                                      record.remote_path, target, moved.error().message));
                continue;
            }
        } else if (remote_.delete_after_pull) {
            if (auto removed = remote.remove(record.remote_path);
                !removed && removed.error().kind != RemoteErrorKind::NotFound) {
                if (lost(remote, removed.error())) return false;
                warn_once("finish " + record.remote_path,
                          fmt::format("cannot delete {}: {}; tried again at the "
                                      "next poll",
                                      record.remote_path, removed.error().message));
                continue;
            }
        }
        warned_.erase("finish " + record.remote_path);
        record.state = "finished";
        record.finished_at = clock_();
        store.put_pull(record);
    }
    return true;
}

bool Puller::take_new_files(RemoteFolder& remote, store::Store& store) {
    auto listing = remote.list(remote_.folder, "*", timing_.list_budget);
    if (!listing) {
        if (lost(remote, listing.error())) return false;
        const auto what =
            fmt::format("cannot list {}: {}", remote_.folder, listing.error().message);
        if (what != problem_) {
            problem_ = what;
            if (events_.problem) events_.problem(inbox_, what, std::chrono::seconds{0});
        }
        return true;
    }
    if (problem_.starts_with("cannot list ")) {
        problem_.clear();
        if (events_.problem) events_.problem(inbox_, "", std::chrono::seconds{0});
    }
    const auto now = Steady::now();
    if (!listing->complete)
        warn_once("cut", fmt::format("the listing of {} was cut at {} entries (or at 1 KiB an "
                                     "entry); the files beyond wait for a shorter one",
                                     remote_.folder, timing_.list_budget));
    else
        warned_.erase("cut");
    std::set<std::string> names;
    for (const auto& f : listing->files) names.insert(f.name);
    // Each skipped name (or unreadable line) is logged once while it stays listed, and at
    // most timing_.skips_logged of them an hour: past that, one line says so
    // (docs/ingest.md, "What a hostile server can cost"). What is remembered is what this
    // listing holds (a line by its hash), so a server that lists new names at each poll
    // cannot make it grow.
    if (now - skips_since_ >= std::chrono::hours(1)) {
        skips_since_ = now;
        skips_logged_ = 0;
        warned_.erase("skips");
    }
    std::set<std::string> skipped_now;
    auto report_skip = [&](const std::string& key, const std::string& name,
                           const std::string& why) {
        skipped_now.insert(key);
        if (!skip_reported_.insert(key).second) return;
        if (skips_logged_ >= timing_.skips_logged) {
            warn_once("skips", fmt::format("more than {} names or lines of {} were skipped "
                                           "within an hour; the others are not logged one by one",
                                           timing_.skips_logged, remote_.folder));
            return;
        }
        ++skips_logged_;
        if (events_.skipped) events_.skipped(inbox_, name, why);
    };
    for (const auto& s : listing->skipped) {
        if (util::is_hidden(s.entry.name)) continue;
        // A name outside the pattern, or one of ours, is no candidate: not worth a line.
        // A name that could be a batch file but is a link or folder, or that holds a
        // control character, is.
        if (auto why = util::never_taken(s.entry.name, inbox_.pattern);
            why && !why->starts_with("a name with"))
            continue;
        report_skip(s.entry.name, s.entry.name, s.reason);
    }
    for (const auto& line : listing->unreadable)
        report_skip("\n" + std::to_string(std::hash<std::string>{}(line)),
                    line.size() > kLineShown ? line.substr(0, kLineShown) + "..." : line,
                    "a listing line that cannot be read; skipped");
    std::vector<const RemoteEntry*> ready;
    for (const auto& f : listing->files) {
        if (auto why = util::never_taken(f.name, inbox_.pattern)) {
            // Names outside the pattern and our own answers are common: not worth a line.
            if (why->starts_with("does not match") || why->starts_with("an answer") ||
                why->starts_with("a done marker") || why->starts_with("a hidden"))
                continue;
            report_skip(f.name, f.name, *why);
            continue;
        }
        if (auto why = util::unanswerable(f.name)) {
            // Its answers' names would be too long for the server and for our staging, and
            // its local copy's may be: left where it is (docs/ingest.md, "Names").
            report_skip(f.name, f.name, *why + "; left on the server, never pulled");
            continue;
        }
        auto [it, fresh] = seen_.try_emplace(f.name, Seen{f.size, f.mtime, now, now});
        Seen& s = it->second;
        if (!fresh && (s.size != f.size || s.mtime != f.mtime))
            s = {f.size, f.mtime,
                 now,    s.pulled ? now : s.first_seen,
                 false,  s.pulled ? 0 : s.not_taken};
        if (s.pulled) continue;  // this very file was pulled before: no need to ask the store
        const bool stable = inbox_.done_file ? names.contains(f.name + ".done")
                                             : !fresh && now - s.since >= inbox_.settle;
        if (stable) ready.push_back(&f);
    }
    // Forgotten once no longer listed, even from a listing cut short: a file beyond the cut
    // was not seen anyway, and a server that lists new names at each poll cannot make these
    // grow. A pulled file forgotten so is asked of the store again (find_pull), never pulled
    // twice.
    std::erase_if(seen_, [&](const auto& kv) { return !names.contains(kv.first); });
    std::erase_if(skip_reported_,
                  [&](const std::string& key) { return !skipped_now.contains(key); });
    // A file's problem ends with its name, unless the file is claimed into the server's
    // `.processing/` (delete_after_pull), where it is tried again under its claim.
    std::erase_if(warned_, [&](const std::string& key) {
        if (key.starts_with("claim ")) return !names.contains(key.substr(6));
        if (key.starts_with("download ") && !remote_.delete_after_pull)
            return !names.contains(key.substr(9));
        return false;
    });
    {
        std::optional<Steady::time_point> oldest;
        for (const auto& [name, seen] : seen_)
            if (!seen.pulled && (!oldest || seen.first_seen < *oldest)) oldest = seen.first_seen;
        std::lock_guard lock(mutex_);
        oldest_waiting_ = oldest;
    }
    std::sort(ready.begin(), ready.end(), [](const RemoteEntry* a, const RemoteEntry* b) {
        return std::tie(a->mtime, a->name) < std::tie(b->mtime, b->name);
    });

    auto last_delivery = Steady::now();
    for (const RemoteEntry* f : ready) {
        {
            std::lock_guard lock(mutex_);
            if (stop_) throw Stopping{};
        }
        const auto original = remote_join(remote_.folder, f->name);
        if (!remote_.delete_after_pull &&
            store.find_pull(inbox_.name, original, f->size, f->mtime)) {
            seen_[f->name].pulled = true;  // pulled before: the original is left as it is
            continue;
        }
        store::PullRecord record;
        record.inbox = inbox_.name;
        record.remote_path = original;
        record.size = f->size;
        record.mtime = f->mtime;
        record.file_name = f->name;
        record.claimed_at = clock_();
        record.claim = batch_ids_.next(record.claimed_at) + "_" + f->name;
        record.state = "claimed";
        record.owner = owner_;
        record.lease = timing_.lease;
        if (remote_.delete_after_pull) {
            // Claimed on the server too: whoever renames it first has it.
            const auto processing = remote_join(remote_.folder, ".processing");
            if (auto made = remote.ensure_folder(processing); !made) {
                if (lost(remote, made.error())) return false;
                warn_once("create " + processing,
                          fmt::format("cannot create {}: {}; files wait until it can be made",
                                      processing, made.error().message));
                return true;
            }
            warned_.erase("create " + processing);
            record.remote_path = remote_join(processing, record.claim);
            if (!store.claim_pull(record)) continue;
            if (auto moved = remote.rename(original, record.remote_path); !moved) {
                store.forget_pull(record);
                if (lost(remote, moved.error())) return false;
                if (moved.error().kind != RemoteErrorKind::NotFound)
                    warn_once("claim " + f->name,
                              fmt::format("cannot claim {}: {}", util::printable(f->name),
                                          moved.error().message));
                continue;  // NotFound: another service took it first
            }
            // A server that answers a rename without doing it would have the file claimed
            // again at every settle, each claim kept and tried at every poll: the claim
            // holds only once the file is found under its new name. Until the file changes,
            // it is left where it is (docs/ingest.md, "Pull inboxes").
            if (auto there = remote.stat(record.remote_path); !there) {
                store.forget_pull(record);
                if (lost(remote, there.error())) return false;
                warn_once("claim " + f->name,
                          fmt::format("cannot claim {}: the server accepted its rename to {}, "
                                      "but it is not there ({}); delete_after_pull needs a "
                                      "server that renames; the file is left as it is until "
                                      "it changes",
                                      util::printable(f->name), record.remote_path,
                                      there.error().message));
                seen_[f->name].pulled = true;
                continue;
            }
        } else if (!store.claim_pull(record)) {
            continue;  // another service took it first
        }
        // Left on the server, the same (size, mtime) is never taken again; renamed away, a
        // later file of that name is a new one. A failed download forgets it: it settles again.
        if (remote_.delete_after_pull)
            seen_.erase(f->name);
        else
            seen_[f->name].pulled = true;
        if (fetch_settled(remote, store, record) == Fetched::Lost) return false;
        if (Steady::now() - last_delivery > std::chrono::seconds{2}) {
            if (!deliver_answers(remote) || !finish_pulls(remote, store)) return false;
            last_delivery = Steady::now();
        }
    }
    return true;
}

bool Puller::lost(RemoteFolder& remote, const RemoteError& error) {
    if (connection_lost(error)) {
        failed(error);
        return true;
    }
    // A connection that died under an SFTP request can look like a plain refusal: make sure.
    if (error.kind == RemoteErrorKind::Refused) {
        if (auto alive = remote.ping(); !alive) {
            failed(alive.error().kind == RemoteErrorKind::Refused
                       ? RemoteError{RemoteErrorKind::Lost,
                                     "the connection no longer answers: " + alive.error().message}
                       : alive.error());
            return true;
        }
    }
    return false;
}

void Puller::warn_once(const std::string& key, const std::string& what) {
    if (warned_.insert(key).second && events_.info) events_.info(inbox_, what);
}

// Forgetting the file instead would make it new at the next listing: its first sighting, and
// so actiondrop_oldest_waiting_file_age_seconds, would start again at each try, and a server
// whose SIZE or data keeps disagreeing with its listing would go unheard (docs/ingest.md,
// "What a hostile server can cost").
void Puller::settle_again(const std::string& name, const std::string& remote_path,
                          const std::string& why) {
    constexpr int said_after = 3;
    auto it = seen_.find(name);
    if (it == seen_.end()) return;
    Seen& s = it->second;
    s.pulled = false;
    s.since = Steady::now();
    if (++s.not_taken == said_after)
        warn_once("download " + name,
                  fmt::format("{} was not taken {} times in a row ({}); it is tried again each "
                              "time it settles",
                              remote_path, said_after, why));
}

std::optional<Steady::time_point> Puller::oldest_waiting() const {
    std::lock_guard lock(mutex_);
    return oldest_waiting_;
}

Puller::Fetched Puller::fetch_settled(RemoteFolder& remote, store::Store& store,
                                      store::PullRecord record) {
    const auto marker = remote_join(remote_.folder, record.file_name + ".done");
    const Fetched fetched = fetch(remote, store, std::move(record));
    if (inbox_.done_file && fetched == Fetched::Taken) (void)remote.remove(marker);
    return fetched;
}

Puller::Fetched Puller::fetch(RemoteFolder& remote, store::Store& store, store::PullRecord record) {
    const auto limit = inbox_.limits.max_file_bytes;
    if (record.size > limit) {
        refuse_too_large(store, record, record.size);
        return Fetched::Taken;
    }
    const auto part = spool() / ".download" / record.claim;
    const auto local = spool() / ".processing" / record.claim;
    const auto started = Steady::now();
    auto got = remote.download(
        record.remote_path, part,
        [&](std::int64_t) {
            {
                std::lock_guard lock(mutex_);
                if (stop_) throw Stopping{};
            }
            keep_leases(store);  // a long download keeps its claim
        },
        limit);
    if (!got) {
        const auto& e = got.error();
        // The claim stays: downloaded again after reconnecting.
        if (lost(remote, e)) return Fetched::Lost;
        if (e.kind == RemoteErrorKind::TooLarge && !remote_.delete_after_pull) {
            // It grew past the limit after it was listed: it settles again, and is then
            // answered on its new size without a download.
            store.forget_pull(record);
            settle_again(record.file_name, record.remote_path, e.message);
            return Fetched::Again;
        }
        if (e.kind == RemoteErrorKind::TooLarge) {
            // Ours alone in the server's `.processing/`: what is there now is the file.
            auto now = remote.stat(record.remote_path);
            if (!now && lost(remote, now.error())) return Fetched::Lost;
            if (now && now->size > limit) {
                refuse_too_large(store, record, now->size);
                return Fetched::Taken;
            }
        }
        if (e.kind == RemoteErrorKind::NotFound && !remote_.delete_after_pull) {
            // The advertiser removed it meanwhile, or the server said so once: still listed,
            // it settles again.
            store.forget_pull(record);
            settle_again(record.file_name, record.remote_path, e.message);
            return Fetched::Again;
        }
        if (e.kind == RemoteErrorKind::ChangedWhileReading && !remote_.delete_after_pull) {
            store.forget_pull(record);  // still being written: it settles again first
            settle_again(record.file_name, record.remote_path, e.message);
            return Fetched::Again;
        }
        warn_once("download " + record.file_name,
                  fmt::format("cannot download {}: {}; tried again at the next poll",
                              record.remote_path, e.message));
        if (!remote_.delete_after_pull) {
            store.forget_pull(record);
            settle_again(record.file_name, record.remote_path, e.message);
            return Fetched::Again;
        }
        return Fetched::Taken;  // claimed in the server's `.processing/`: tried again there
    }
    if (got->size != record.size || got->mtime != record.mtime) {
        // Changed between the listing and the download: not the file that settled.
        if (!remote_.delete_after_pull) {
            fs::remove(part);
            store.forget_pull(record);
            settle_again(record.file_name, record.remote_path,
                         "it changed between the listing and the download");
            return Fetched::Again;
        }
        // Ours alone in the server's `.processing/`: what we read is the file.
    }
    if (::rename(part.c_str(), local.c_str()) != 0)
        throw std::system_error(errno, std::generic_category(),
                                "cannot move " + part.string() + " to " + local.string());
    util::fsync_directory(local.parent_path());
    warned_.erase("download " + record.file_name);
    record.state = "fetched";
    store.put_pull(record);
    ++pulled_;
    if (events_.fetched)
        events_.fetched(
            inbox_, record.file_name, got->size,
            std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - started));
    if (events_.wake) events_.wake();
    return Fetched::Taken;
}

void Puller::refuse_too_large(store::Store& store, store::PullRecord record, std::int64_t size) {
    const auto limit = inbox_.limits.max_file_bytes;
    // The claim is `<batch id>_NAME`: the batch the file would have been applied as, so that
    // a crash before the pull is marked finds the answer already given.
    const auto batch_id = claim_batch_id(record);
    auto batch = store.find_batch(batch_id);
    if (!batch || batch->status.empty()) {
        store::BatchRecord r;
        r.batch_id = batch_id;
        r.account_id = inbox_.account;
        r.inbox = inbox_.name;
        r.file_name = record.file_name;
        r.size = size;  // as the server gave it; no byte was read, so there is no SHA-256
        r.type = inbox_.type;
        r.received_at = clock_();
        r.completed_at = r.received_at;
        r.attempts = 1;
        r.status = "REJECTED";
        r.error_code = std::string(ledger::error_name(ledger::ErrorCode::TooLarge));
        r.error_message = fmt::format(
            "the file has {} bytes; the limit is {}; it was not downloaded", size, limit);

        // A receipt and a summary, as a local file rejected whole gets (docs/ingest.md,
        // "Claims"), neither with a SHA-256.
        std::ostringstream receipt;
        batch::write_receipt(receipt, {r.batch_id, r.file_name, "", r.size, r.received_at});
        std::ostringstream json;
        batch::write_summary(json, apply::file_level_summary(r));
        // Streamed into the store from files, like every batch output; `.download/` is ours
        // and emptied at start.
        const auto receipt_file = spool() / ".download" / (record.claim + ".receipt");
        const auto summary_file = spool() / ".download" / (record.claim + ".summary");
        util::write_file_atomically(receipt_file, receipt.str());
        util::write_file_atomically(summary_file, json.str());
        apply::move_to(r, apply::BatchState::Applied);
        {
            auto tx = store.begin_batch(r.batch_id);
            tx->commit(r, {{batch::receipt_name(r.file_name), receipt_file},
                           {batch::summary_name(r.file_name), summary_file}});
        }
        fs::remove(receipt_file);
        fs::remove(summary_file);
        batch = std::move(r);
    }
    if (batch->state == apply::BatchState::Applied)
        apply::deliver(store, *batch, spool() / ".outbox", apply::Outbox::Staging);
    // Dealt with as an applied file from now on: the original is left, deleted or archived.
    record.state = "fetched";
    store.put_pull(record);
    if (events_.info)
        events_.info(inbox_,
                     fmt::format("{} has {} bytes, over the limit of {}: answered TOO_LARGE "
                                 "(batch {}) without downloading it",
                                 record.remote_path, size, limit, batch_id));
}

}  // namespace actiondrop::pull
