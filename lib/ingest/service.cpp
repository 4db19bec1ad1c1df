#include "ingest/service.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "apply/apply_file.hpp"
#include "ingest/leftovers.hpp"
#include "pull/server_for.hpp"
#include "util/folder.hpp"
#include "util/name_rules.hpp"

namespace actiondrop::ingest {
namespace fs = std::filesystem;

std::filesystem::path claims_folder(const Folders& folders, std::string_view inbox) {
    return folders.state_dir / "claims" / inbox;
}

namespace {

// The settings LocalInbox (or an SFTP inbox's puller) itself depends on; other changes
// only need the new config.
bool same_folder_settings(const config::InboxConfig& a, const config::InboxConfig& b) {
    // The source compares its kind and every setting of that kind (a folder, or a server).
    return a.source == b.source && a.pattern == b.pattern && a.settle == b.settle &&
           a.done_file == b.done_file;
}

// How the files an SFTP inbox pulled are applied: from its spool, answered into the
// spool's `.outbox/`, from where its puller uploads them.
config::InboxConfig spool_config_of(const config::InboxConfig& inbox,
                                    const std::filesystem::path& state_dir) {
    auto local = inbox;
    const auto spool = pull::pull_spool(state_dir, inbox.name);
    local.source = config::LocalSource{spool};
    local.outbox = spool / ".outbox";
    local.outbox_staged = true;
    local.done_file = false;
    return local;
}

// An inbox's turn in a round: over once it has taken a file and lasted `length`.
class Turn {
public:
    explicit Turn(std::chrono::milliseconds length)
        : until_(std::chrono::steady_clock::now() + length) {}
    void count() { ++files_; }
    bool over() const { return files_ > 0 && std::chrono::steady_clock::now() >= until_; }

private:
    SteadyTime until_;
    int files_ = 0;
};

}  // namespace

std::chrono::seconds retry_delay(int failures) {
    const int shift = std::clamp(failures - 1, 0, 9);
    return std::min(std::chrono::seconds(1LL << shift), std::chrono::seconds(300));
}

Service::Service(store::Store& store, Folders folders, apply::Clock clock, ServiceEvents events)
    : store_(store),
      folders_(std::move(folders)),
      clock_(std::move(clock)),
      events_(std::move(events)) {}

void Service::set_inboxes(const std::vector<config::InboxConfig>& inboxes,
                          std::chrono::milliseconds sweep_interval) {
    sweep_interval_ = sweep_interval;
    std::map<std::string, Served> next;
    order_.clear();
    for (const auto& cfg : inboxes) {
        order_.push_back(cfg.name);
        auto old = served_.find(cfg.name);
        if (old != served_.end() && old->second.inbox &&
            same_folder_settings(old->second.config, cfg)) {
            Served s = std::move(old->second);
            s.config = cfg;
            if (cfg.remote()) s.spool_config = spool_config_of(cfg, folders_.state_dir);
            next.emplace(cfg.name, std::move(s));
        } else {
            Served fresh;
            fresh.config = cfg;
            next.emplace(cfg.name, std::move(fresh));
        }
    }
    // Claims of removed inboxes stay in their `.processing/`; adding the inbox back takes them.
    std::erase_if(pending_, [&](const Pending& p) {
        auto it = next.find(p.inbox);
        return it == next.end() || !it->second.inbox;
    });
    if (pending_.empty()) store_problem_.clear();  // no claim is left to find the store back
    served_ = std::move(next);
    // Set the folders up now, so that inotify can watch them from the start.
    for (const auto& name : order_) ready_to_serve(served_.at(name));
}

void Service::enable_pulls(pull::StoreOpener open_store, pull::PullEvents events,
                           pull::PullTiming timing) {
    open_pull_store_ = std::move(open_store);
    pull_events_ = std::move(events);
    pull_timing_ = timing;
}

std::vector<std::string> Service::host_key_alerts() const {
    std::vector<std::string> out;
    for (const auto& name : order_)
        if (const auto& s = served_.at(name); s.puller && s.puller->host_key_alert())
            out.push_back(name);
    return out;
}

void Service::remove_spool_leftovers() {
    const auto spool = folders_.state_dir / "spool";
    auto decided = [&](const std::string& batch_id) {
        auto record = store_.find_batch(batch_id);
        return record && !record->status.empty();
    };
    for (const auto& name : remove_decided_spools(spool, decided))
        if (events_.tidied) events_.tidied(spool / name);
}

std::vector<std::filesystem::path> Service::folders() const {
    std::vector<std::filesystem::path> out;
    for (const auto& name : order_) {
        const auto& s = served_.at(name);
        if (const auto* local = s.config.local()) out.push_back(local->path);
    }
    return out;
}

std::vector<Service::UnservedClaims> Service::unserved_claims() const {
    // Claims are named "<batch id>_NAME"; hidden names are the service's own copies and
    // temporaries. Only the service writes these folders, and a folder it cannot read is
    // passed over: this only informs.
    auto count = [](const fs::path& folder) {
        std::size_t n = 0;
        std::error_code ec;
        for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
            if (!util::is_hidden(it->path().filename().string())) ++n;
        return n;
    };
    std::vector<UnservedClaims> out;
    auto look = [&](const fs::path& above, const fs::path& within) {
        std::error_code ec;
        for (fs::directory_iterator it(above, ec), end; !ec && it != end; it.increment(ec)) {
            std::string inbox = it->path().filename().string();
            if (served_.contains(inbox) || util::is_hidden(inbox)) continue;
            const fs::path folder = within.empty() ? it->path() : it->path() / within;
            if (std::size_t n = count(folder); n > 0) out.push_back({std::move(inbox), folder, n});
        }
    };
    look(folders_.state_dir / "claims", {});
    look(folders_.state_dir / "pull", ".processing");
    std::ranges::sort(out, {}, &UnservedClaims::inbox);
    return out;
}

std::map<std::string, SteadyTime> Service::oldest_waiting() const {
    std::map<std::string, SteadyTime> out;
    auto note = [&](const std::string& inbox, SteadyTime since) {
        auto [it, first] = out.try_emplace(inbox, since);
        if (!first) it->second = std::min(it->second, since);
    };
    for (const auto& [name, s] : served_)
        if (auto since = s.puller  ? s.puller->oldest_waiting()
                         : s.inbox ? s.inbox->oldest_waiting()
                                   : std::nullopt)
            note(name, *since);
    for (const auto& p : pending_) note(p.inbox, p.claim.waiting_since);
    return out;
}

std::set<std::string> Service::accounts_with_unfinished_files() const {
    std::set<std::string> out;
    for (const auto& [account, since] : held_since_)
        if (last_round_ - since < files_left_wait_) out.insert(account);
    // A claim put back by a round that ended early (a stop, a file abandoned) holds its
    // account from now on, until the end of a round counts it.
    for (const auto& p : pending_)
        if (auto it = served_.find(p.inbox);
            it != served_.end() && !held_since_.contains(it->second.config.account))
            out.insert(it->second.config.account);
    return out;
}

void Service::report(Served& s, const std::string& problem) {
    if (s.problem == problem) return;
    s.problem = problem;
    if (!problem.empty() && events_.inbox_problem) events_.inbox_problem(s.config, problem);
}

bool Service::ready_to_serve(Served& s) {
    if (s.config.remote() && !open_pull_store_) {
        report(s, "SFTP inboxes are not served by this program; the inbox is ignored");
        return false;
    }
    // A first serving makes the inbox's folders in the state folder (its claims, or a pull's
    // spool); one that is gone is not made again (docs/ingest.md, "The state folder gone").
    if (!s.inbox) {
        if (auto problem = util::folder_problem(folders_.state_dir); !problem.empty()) {
            report(s, fmt::format("cannot serve the inbox yet: the state folder {} {}; it is not "
                                  "made again",
                                  folders_.state_dir.string(), problem));
            return false;
        }
    }
    if (s.config.remote()) {
        if (s.inbox) return true;
        try {
            s.spool_config = spool_config_of(s.config, folders_.state_dir);
            auto spool = std::make_unique<LocalInbox>(s.spool_config,
                                                      s.spool_config.local()->path / ".processing");
            auto leftovers = spool->leftover_claims();
            for (const auto& name : spool->removed_at_start())
                if (events_.tidied) events_.tidied(spool->claims_folder() / name);
            s.puller = std::make_unique<pull::Puller>(s.config, pull::server_for(s.config),
                                                      folders_.state_dir, open_pull_store_, clock_,
                                                      pull_events_, pull_timing_);
            s.inbox = std::move(spool);
            for (auto& c : leftovers)
                pending_.push_back({.claim = std::move(c), .inbox = s.config.name});
            for (const auto& name : remove_abandoned_temporaries(s.spool_config.outbox))
                if (events_.tidied) events_.tidied(s.spool_config.outbox / name);
        } catch (const std::exception& e) {
            report(s, e.what());
            return false;
        }
        return true;
    }
    if (!s.inbox) {
        try {
            auto inbox =
                std::make_unique<LocalInbox>(s.config, claims_folder(folders_, s.config.name));
            if (inbox->made_folder() && events_.made_inbox_folder)
                events_.made_inbox_folder(s.config);
            auto leftovers = inbox->leftover_claims();
            for (const auto& name : inbox->removed_at_start())
                if (events_.tidied) events_.tidied(inbox->claims_folder() / name);
            // Claims of versions that kept them in the advertiser's own folder are not
            // trusted (the advertiser could have put anything there): an operator checks them.
            std::error_code ec;
            if (auto old = inbox->folder() / ".processing";
                fs::is_directory(old, ec) && !fs::is_empty(old, ec))
                report(s,
                       fmt::format("{} holds claims of an older version; they are not taken: check "
                                   "them and move each into {} (see deploy/README.md, Upgrading)",
                                   old.string(), inbox->claims_folder().string()));
            s.inbox = std::move(inbox);
            for (auto& c : leftovers)
                pending_.push_back({.claim = std::move(c), .inbox = s.config.name});
        } catch (const std::exception& e) {
            report(s, e.what());
            return false;
        }
        try {
            // Through the folder itself, never a link put in its place (docs/ingest.md,
            // "The outbox").
            const auto outbox = util::OpenedFolder::open(s.config.outbox, "the outbox");
            for (const auto& name : remove_abandoned_temporaries(outbox.path()))
                if (events_.tidied) events_.tidied(s.config.outbox / name);
        } catch (const std::exception&) {
            // An outbox that cannot be listed fails each file's delivery, which says so.
        }
    }
    return true;
}

Service::Taken Service::take(Served& s, Claim claim, int failures,
                             const std::function<bool()>& abandon_file, int waits,
                             const std::string& waiting_for) {
    const auto started = std::chrono::steady_clock::now();
    const std::function<void()> progress = [&] {
        if (events_.progress) events_.progress();
        if (abandon_file && abandon_file()) throw StopRequested{};
    };
    try {
        auto catalog = store_.load_catalog();  // each file sees the latest `catalog load`
        auto outcome = take_claim(store_, catalog, s.config.remote() ? s.spool_config : s.config,
                                  claim, folders_, clock_, ClaimHooks{progress, {}, {}});
        ++files_taken_;
        store_problem_.clear();
        if (s.puller) s.puller->poll_now();  // its answers are waiting to be uploaded
        if (events_.taken)
            events_.taken(s.config, claim, outcome,
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - started));
        return Taken::done;
    } catch (const StopRequested&) {
        claim.recovered = true;
        if (events_.abandoned) events_.abandoned(s.config, claim);
        pending_.push_back({.claim = std::move(claim),
                            .inbox = s.config.name,
                            .failures = failures,
                            .waits = waits,
                            .waiting_for = waiting_for});
        return Taken::abandoned;
    } catch (const apply::EarlierFileFirst& e) {
        // Not a failure: the file waits for an earlier file of its account (docs/ingest.md,
        // "Arrival order"). Tried again within seconds, as the earlier one may be decided at
        // any moment, but not at once: each try reads the whole file again.
        store_problem_.clear();
        claim.recovered = true;
        const auto delay = std::min(retry_delay(++waits), std::chrono::seconds(10));
        if (e.earlier_batch_id() != waiting_for && events_.waiting)
            events_.waiting(s.config, claim, e.what());
        pending_.push_back({.claim = std::move(claim),
                            .inbox = s.config.name,
                            .failures = failures,
                            .due = std::chrono::steady_clock::now() + delay,
                            .waits = waits,
                            .waiting_for = e.earlier_batch_id()});
        return Taken::failed;
    } catch (const std::exception& e) {
        // Another failure came after the catalog was read: the store answers.
        store_problem_ = dynamic_cast<const store::StoreError*>(&e) ? e.what() : "";
        ++failures;
        auto delay = retry_delay(failures);
        claim.recovered = true;  // the next try first looks for what this one finished
        if (events_.failed) events_.failed(s.config, claim, e.what(), delay);
        pending_.push_back({.claim = std::move(claim),
                            .inbox = s.config.name,
                            .failures = failures,
                            .due = std::chrono::steady_clock::now() + delay});
        return Taken::failed;
    }
}

SteadyTime Service::run_once(SteadyTime now, const std::function<bool()>& should_stop,
                             const std::function<bool()>& abandon_file) {
    SteadyTime next = now + sweep_interval_;
    for (const auto& name : order_) ready_to_serve(served_.at(name));
    left_ready_.clear();

    std::vector<Pending> due;
    std::erase_if(pending_, [&](Pending& p) {
        if (p.due > now) return false;
        due.push_back(std::move(p));
        return true;
    });
    // The claims due (a start's or a reload's leftovers, retries) take a turn too: a spool
    // full of pulled files must not hold the other inboxes either.
    Turn due_turn(turn_);
    for (std::size_t i = 0; i < due.size(); ++i) {
        if (should_stop()) {
            // Not taken now: back to the queue, still due.
            for (std::size_t j = i; j < due.size(); ++j) pending_.push_back(std::move(due[j]));
            return now;
        }
        if (due_turn.over()) {  // still due: taken in the next rounds, in their order
            for (std::size_t j = i; j < due.size(); ++j) pending_.push_back(std::move(due[j]));
            break;
        }
        // An earlier claim of the inbox failed again in this round: this one waits with it.
        if (auto until = retry_due(due[i].inbox)) {
            due[i].due = std::max(due[i].due, *until);
            pending_.push_back(std::move(due[i]));
            continue;
        }
        due_turn.count();
        if (take(served_.at(due[i].inbox), std::move(due[i].claim), due[i].failures, abandon_file,
                 due[i].waits, due[i].waiting_for) == Taken::abandoned) {
            for (std::size_t j = i + 1; j < due.size(); ++j) pending_.push_back(std::move(due[j]));
            return now;
        }
    }
    for (const auto& p : pending_) next = std::min(next, p.due);

    for (const auto& name : order_) {
        Served& s = served_.at(name);
        if (!s.inbox) continue;
        if (s.puller) {
            if (retry_due(s.config.name)) continue;
            if (serve_pulled(s, should_stop, abandon_file) == Taken::abandoned) return now;
            continue;
        }
        // The inbox's folder is held open only for its sweep and claims, so that its file
        // system can be unmounted between rounds.
        struct LetGo {
            LocalInbox& inbox;
            ~LetGo() { inbox.let_go(); }
        } let_go{*s.inbox};
        SweepResult sweep;
        try {
            sweep = s.inbox->sweep(now);
        } catch (const std::exception& e) {
            report(s, e.what());
            continue;
        }
        for (const auto& skip : sweep.skipped)
            if (events_.skipped) events_.skipped(s.config, skip);
        for (const auto& notice : sweep.notices)
            if (events_.inbox_problem) events_.inbox_problem(s.config, notice);
        // Setting names aside takes the inbox's turn too: each is a rename and a sync of a
        // folder, and an uploader can make tens of thousands of them in a second.
        Turn turn(turn_);
        for (const auto& name : sweep.unanswerable) {
            if (should_stop()) return now;
            if (turn.over()) {  // the rest at the next round, which is due at once
                next = now;
                break;
            }
            turn.count();
            try {
                auto to = s.inbox->set_aside(name, folders_.state_dir,
                                             folders_.state_dir / "failed" / s.config.name);
                if (events_.set_aside)
                    events_.set_aside(s.config, name, *util::unanswerable(name), to);
            } catch (const std::exception& e) {
                report(s, e.what());  // tried again at the next sweep; the other files go on
            }
        }
        if (sweep.next_check) next = std::min(next, *sweep.next_check);
        if (sweep.ready.empty()) continue;
        if (s.claim_due > now) {
            next = std::min(next, s.claim_due);
            continue;
        }
        if (!store_.load_catalog().account(s.config.account)) {
            report(s, fmt::format(
                          "account {} is not in the catalog; its files wait until it is loaded",
                          s.config.account));
            continue;
        }
        report(s, "");
        for (const auto& file : sweep.ready) {
            if (should_stop()) return now;
            // A file of the inbox waits for a retry: the later ones stay where they are.
            if (retry_due(s.config.name)) break;
            if (turn.over()) {  // the other inboxes first; this one goes on next round
                left_ready_.insert(s.config.account);
                break;
            }
            std::optional<Claim> claim;
            try {
                claim = s.inbox->claim(file);
            } catch (const std::exception& e) {
                // A failure of this machine (the state folder full, failing or gone), not of
                // the upload (an unreadable or vanished file is answered or passed over): the
                // inbox's files wait, in their order, with a growing delay, rather than be
                // tried again at once, round after round.
                const auto delay = retry_delay(++s.claim_failures);
                s.claim_due = now + delay;
                next = std::min(next, s.claim_due);
                report(s, fmt::format("{}; the inbox's files are claimed again in {} s", e.what(),
                                      delay.count()));
                break;
            }
            s.claim_failures = 0;
            if (claim && !claim->notice.empty() && events_.inbox_problem)
                events_.inbox_problem(s.config, claim->notice);
            turn.count();
            if (claim && take(s, std::move(*claim), 0, abandon_file) == Taken::abandoned)
                return now;
        }
    }
    // A turn that left files, or claims still due, make the next round start at once.
    if (!left_ready_.empty()) next = now;
    last_round_ = now;
    std::set<std::string> held = left_ready_;
    for (const auto& p : pending_)
        if (auto it = served_.find(p.inbox); it != served_.end())
            held.insert(it->second.config.account);
    std::erase_if(held_since_, [&](const auto& kv) { return !held.contains(kv.first); });
    for (const auto& account : held) held_since_.try_emplace(account, now);
    for (const auto& p : pending_) next = std::min(next, p.due);
    return next;
}

std::optional<SteadyTime> Service::retry_due(const std::string& inbox) const {
    std::optional<SteadyTime> due;
    for (const auto& p : pending_)
        if (p.inbox == inbox) due = due ? std::min(*due, p.due) : p.due;
    return due;
}

Service::Taken Service::serve_pulled(Served& s, const std::function<bool()>& should_stop,
                                     const std::function<bool()>& abandon_file) {
    std::vector<Claim> fetched;
    try {
        fetched = s.inbox->leftover_claims();
    } catch (const std::exception& e) {
        report(s, e.what());
        return Taken::failed;
    }
    std::erase_if(fetched, [&](const Claim& c) {
        return std::any_of(pending_.begin(), pending_.end(),
                           [&](const Pending& p) { return p.claim.path == c.path; });
    });
    if (fetched.empty()) return Taken::done;
    if (!store_.load_catalog().account(s.config.account)) {
        report(s, fmt::format("account {} is not in the catalog; its files wait until it is loaded",
                              s.config.account));
        return Taken::failed;
    }
    report(s, "");
    Turn turn(turn_);
    for (auto& claim : fetched) {
        if (should_stop()) return Taken::abandoned;
        if (retry_due(s.config.name)) break;  // the later files wait behind it
        if (turn.over()) {
            left_ready_.insert(s.config.account);
            break;
        }
        turn.count();
        claim.recovered = false;  // downloaded by this run: a new file
        if (take(s, std::move(claim), 0, abandon_file) == Taken::abandoned) return Taken::abandoned;
    }
    return Taken::done;
}

}  // namespace actiondrop::ingest
