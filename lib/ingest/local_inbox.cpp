#include "ingest/local_inbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "ingest/leftovers.hpp"
#include "util/atomic_file.hpp"
#include "util/batch_id.hpp"
#include "util/folder.hpp"
#include "util/name_rules.hpp"
#include "util/opened_file.hpp"
#include "util/service_name.hpp"

namespace actiondrop::ingest {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const char* what, const fs::path& path) {
    throw std::system_error(errno, std::generic_category(),
                            fmt::format("{} {}", what, path.string()));
}

struct DirCloser {
    void operator()(DIR* d) const { ::closedir(d); }
};

// Calls `take` with each entry name of a folder (without . and ..), in the folder's order,
// until it returns false; returns whether every entry was taken.
template <class Take>
bool for_each_name(const fs::path& folder, Take take) {
    std::unique_ptr<DIR, DirCloser> dir(::opendir(folder.c_str()));
    if (!dir) fail("cannot list", folder);
    errno = 0;
    while (const dirent* e = ::readdir(dir.get())) {
        std::string_view n = e->d_name;
        if (n != "." && n != ".." && !take(n)) return false;
        errno = 0;
    }
    if (errno != 0) fail("cannot list", folder);
    return true;
}

// The first `budget` entry names of a folder; `complete` says whether that was all of them.
std::vector<std::string> list_names(const fs::path& folder, std::size_t budget, bool& complete) {
    std::vector<std::string> names;
    complete = for_each_name(folder, [&](std::string_view n) {
        if (names.size() == budget) return false;
        names.emplace_back(n);
        return true;
    });
    return names;
}

const char* kind_of(mode_t mode) {
    if (S_ISLNK(mode)) return "a symbolic link";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISDIR(mode)) return "a folder";
    return "not a regular file";
}

}  // namespace

std::optional<Claim> claim_of(const fs::path& path) {
    const auto name = path.filename().string();
    const auto cut = name.find('_');
    if (util::is_hidden(name) || cut == std::string::npos || cut == 0 || cut + 1 == name.size())
        return std::nullopt;
    Claim c;
    c.path = path;
    c.file_name = name.substr(cut + 1);
    c.batch_id = name.substr(0, cut);
    return c;
}

namespace {

fs::path local_folder(const config::InboxConfig& inbox) {
    const auto* local = inbox.local();
    if (!local) throw std::invalid_argument("inbox " + inbox.name + " is not a local folder");
    return local->path;
}

}  // namespace

namespace {

// `.ad-<tag>.`: the start of this service's hidden names in an inbox across mounts. The
// tag stands for the host and the claims folder, which stay the same across restarts and
// differ between services sharing the inbox (FNV-1a, folded to 32 bits: the same in every
// build). Short, so that `.ad-<tag>.<batch id>_NAME` (43 bytes more than NAME) fits in 255
// bytes for every name that can be answered (util::max_name_bytes).
std::string crossing_prefix_of(const fs::path& claims) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const char ch : util::service_name(claims)) {
        h ^= static_cast<unsigned char>(ch);
        h *= 1099511628211ULL;
    }
    return fmt::format(".ad-{:08x}.", static_cast<std::uint32_t>(h ^ (h >> 32)));
}

}  // namespace

LocalInbox::LocalInbox(config::InboxConfig inbox, fs::path claims_folder, SweepLimits limits)
    : inbox_(std::move(inbox)),
      folder_(local_folder(inbox_)),
      claims_(std::move(claims_folder)),
      limits_(limits) {
    for (const auto& folder : {folder_, claims_}) {
        std::error_code ec;
        const bool made = fs::create_directories(folder, ec);
        if (ec) throw std::system_error(ec, "cannot create " + folder.string());
        if (made && folder == folder_) made_folder_ = true;
    }
    crossing_prefix_ = crossing_prefix_of(claims_);
    finish_crossings();
    let_go();
    removed_at_start_ = remove_own_copies(claims_);
}

bool LocalInbox::stable(const std::string& name, std::int64_t size, std::chrono::nanoseconds mtime,
                        SteadyTime now, SweepResult& result) {
    auto [it, inserted] = seen_.try_emplace(name, Seen{size, mtime, now, now});
    Seen& seen = it->second;
    if (!inserted && (seen.size != size || seen.mtime != mtime))
        seen = Seen{size, mtime, now, seen.first_seen};
    auto ready_at = seen.unchanged_since + inbox_.settle;
    if (now >= ready_at) return true;
    if (!result.next_check || ready_at < *result.next_check) result.next_check = ready_at;
    return false;
}

SweepResult LocalInbox::sweep(SteadyTime now) {
    SweepResult result;
    // Bounded, whatever the uploader puts in the folder: the names read, and the skipped
    // names remembered so that each is reported once (docs/ingest.md, "Sweep").
    bool complete = true;
    opened_.reset();  // a folder that cannot be opened now gives no claim of the last one
    opened_ = util::OpenedFolder::open(folder_, "the inbox");
    std::vector<std::string> names = opened_->within(
        [&](const fs::path& here) { return list_names(here, limits_.entries, complete); });
    std::sort(names.begin(), names.end());
    auto present = [&](const std::string& name) {
        return std::binary_search(names.begin(), names.end(), name);
    };
    std::vector<std::pair<std::chrono::nanoseconds, std::string>> ready;

    // A name is forgotten once it leaves the folder, so an uploader that makes names again
    // and again would have each logged again: at most skips_logged of them an hour.
    if (!skips_since_ || now - *skips_since_ >= std::chrono::hours(1)) {
        skips_since_ = now;
        skips_logged_ = 0;
        said_skips_capped_ = false;
    }
    bool unreported = false, capped = false;
    auto skip = [&](const std::string& name, std::string why) {
        if (skip_reported_.contains(name)) return;
        if (skip_reported_.size() >= limits_.skips_remembered) {
            unreported = true;
            return;
        }
        skip_reported_.insert(name);
        if (skips_logged_ >= limits_.skips_logged) {
            capped = true;
            return;
        }
        ++skips_logged_;
        result.skipped.push_back({name, std::move(why)});
    };
    for (const auto& name : names) {
        if (util::is_hidden(name)) continue;
        // Markers are expected in a done_file inbox; they are not worth a log line there.
        if (inbox_.done_file && name.ends_with(".done")) continue;
        if (auto why = util::never_taken(name, inbox_.pattern)) {
            skip(name, std::move(*why));
            continue;
        }
        struct stat st {};
        if (::fstatat(AT_FDCWD, (here() / name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;  // gone since the listing
            // One entry that cannot be looked at must not keep the others from being taken.
            skip(name, fmt::format("cannot be looked at: {}", std::strerror(errno)));
            continue;
        }
        if (!S_ISREG(st.st_mode)) {
            skip(name, kind_of(st.st_mode));
            continue;
        }
        auto mtime =
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
        if (util::unanswerable(name)) {
            // Not taken, but not left to wait for ever either: the caller moves it aside once
            // it has settled, so that an upload is not moved from under its writer, nor one
            // written to without end copied again at every sweep across mounts.
            if (stable(name, st.st_size, mtime, now, result)) result.unanswerable.push_back(name);
            continue;
        }
        if (inbox_.done_file) {
            // Remembered without its marker too: the file waits from its first sighting.
            seen_.try_emplace(name, Seen{st.st_size, mtime, now, now});
            if (!present(name + ".done")) continue;
            ready.emplace_back(mtime, name);
        } else if (stable(name, st.st_size, mtime, now, result)) {
            ready.emplace_back(mtime, name);
        }
    }
    // Forget names that left the folder, so that a new file under an old name is seen afresh;
    // and, past the limit, names this sweep did not read: a file among them waits afresh.
    // Skipped names are forgotten only when the whole folder was read: a folder over the
    // limit shows a different part of itself as it changes, which would be reported anew.
    std::erase_if(seen_, [&](const auto& kv) { return !present(kv.first); });
    if (complete) std::erase_if(skip_reported_, [&](const auto& n) { return !present(n); });
    if (!complete && !said_truncated_)
        result.notices.push_back(fmt::format(
            "the folder holds more than {} entries; a sweep reads only that many, so files "
            "beyond them may wait: remove what is not a batch file",
            limits_.entries));
    said_truncated_ = !complete;
    if (unreported && !said_unreported_)
        result.notices.push_back(fmt::format(
            "more than {} names in the folder are never taken; the others are not logged one "
            "by one",
            limits_.skips_remembered));
    said_unreported_ = unreported;
    if (capped && !said_skips_capped_) {
        result.notices.push_back(
            fmt::format("more than {} names in the folder were never taken within an hour; the "
                        "others are not logged one by one",
                        limits_.skips_logged));
        said_skips_capped_ = true;
    }

    std::sort(ready.begin(), ready.end());
    for (auto& [mtime, name] : ready) result.ready.push_back(std::move(name));
    return result;
}

namespace {

enum class Crossing { copied, changed, too_large };

// Copies the inbox's NAME into the claims folder through one descriptor (the two folders are
// on different mounts, so no rename can do it), then removes NAME from the inbox if it is
// still the file that was copied: `copied`. `changed` when NAME vanished or changed meanwhile.
// A file over `max_bytes` is never read, so it is not copied either (`too_large`): written out
// whole, a dense upload of any size would fill the state folder, and the service would do
// nothing else meanwhile (docs/ingest.md, "Claims").
// `shown` is the name messages give (the file's own name while it is copied from a hidden one).
Crossing copy_into_claims(const fs::path& source, const fs::path& claim, const fs::path& shown,
                          std::int64_t max_bytes) {
    util::OpenedFile file = [&] {
        try {
            return util::OpenedFile::open(source, /*follow_links=*/false);
        } catch (const std::system_error& e) {
            if (e.code().value() == ENOENT) throw;
            if (e.code().value() == ELOOP)
                throw std::system_error(ELOOP, std::generic_category(),
                                        "cannot claim " + shown.string() + ": a symbolic link");
            throw;
        }
    }();
    if (auto why = file.refusal(); !why.empty())
        throw std::system_error(EINVAL, std::generic_category(),
                                "cannot claim " + shown.string() + ": " + why);
    if (file.size() > max_bytes) return Crossing::too_large;
    util::copy_descriptor_atomically(file.fd(), source, claim);
    struct stat now {};
    const bool same = ::lstat(source.c_str(), &now) == 0 && now.st_dev == file.status().st_dev &&
                      now.st_ino == file.status().st_ino && !file.changed_since_open();
    if (!same) {
        // Swapped or written to while it was copied: the copy is not what is there now.
        ::unlink(claim.c_str());
        return Crossing::changed;
    }
    if (::unlink(source.c_str()) != 0 && errno != ENOENT) fail("cannot remove the claimed", source);
    return Crossing::copied;
}

}  // namespace

void LocalInbox::ready_claims_folder() const {
    if (util::folder_problem(claims_).empty()) return;
    // STATE_DIR/claims/<inbox>, or STATE_DIR/pull/<inbox>/.processing for a pull's spool.
    const auto above = claims_.parent_path().parent_path();
    if (auto problem = util::folder_problem(above); !problem.empty())
        throw std::runtime_error("cannot claim: " + above.string() + " " + problem +
                                 "; it is the state folder, or a folder in it");
    util::create_folders(claims_);
}

const fs::path& LocalInbox::here() {
    if (!opened_) opened_ = util::OpenedFolder::open(folder_, "the inbox");
    return opened_->path();
}

std::optional<Claim> LocalInbox::claim(const std::string& name) {
    // Through the folder the last sweep listed; messages name the inbox, not its descriptor.
    here();
    return opened_->within([&](const fs::path&) { return claim_here(name); });
}

std::optional<Claim> LocalInbox::claim_here(const std::string& name) {
    ready_claims_folder();
    auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    Claim c;
    c.batch_id = batch_ids_.next(now);
    c.path = claims_ / (c.batch_id + "_" + name);
    c.file_name = name;
    auto seen = seen_.find(name);
    c.waiting_since =
        seen != seen_.end() ? seen->second.first_seen : std::chrono::steady_clock::now();
    const auto source = here() / name;
    // A rename moves the entry itself, never what a link points to: whatever it was, it is
    // in the claims folder now, where take_claim() opens it without following links.
    bool claimed = ::rename(source.c_str(), c.path.c_str()) == 0;
    if (!claimed) {
        if (errno == ENOENT) {
            seen_.erase(name);
            return std::nullopt;
        }
        if (errno != EXDEV) fail("cannot claim", source);
        // Across mounts, first a rename inside the inbox to a hidden name of this service's:
        // atomic, so of two services sharing the folder (on two hosts) exactly one has the
        // file; then the copy through one descriptor (docs/ingest.md, "Claims").
        const auto crossing = here() / (crossing_prefix_ + c.batch_id + "_" + name);
        if (::rename(source.c_str(), crossing.c_str()) != 0) {
            if (errno != ENOENT) fail("cannot claim", source);
            seen_.erase(name);
            return std::nullopt;  // another service took it first
        }
        // Not taken after all: back under its name, unless a new upload has the name now
        // (then it is offered again at the next start, see finish_crossings()).
        auto put_back = [&] {
            (void)::renameat2(AT_FDCWD, crossing.c_str(), AT_FDCWD, source.c_str(),
                              RENAME_NOREPLACE);
        };
        try {
            switch (copy_into_claims(crossing, c.path, source, inbox_.limits.max_file_bytes)) {
                case Crossing::copied:
                    claimed = true;
                    break;
                case Crossing::changed:
                    put_back();
                    break;
                case Crossing::too_large: {
                    // Renamed aside inside its own folder (a hidden name, never swept again)
                    // and answered TOO_LARGE from there, without a byte read or copied.
                    const std::string aside = ".too-large." + c.batch_id + "_" + name;
                    c.path = folder_ / aside;
                    c.in_inbox = true;
                    if (::rename(crossing.c_str(), (here() / aside).c_str()) == 0)
                        claimed = true;
                    else if (errno != ENOENT)
                        fail("cannot set aside", source);
                    break;
                }
            }
        } catch (const std::system_error& e) {
            if (e.code().value() == EACCES) {
                // Uploaded with a private mode: we may not read it, so no copy can take it
                // across. It is renamed aside inside its own folder (a hidden name, never
                // swept again) and answered from there, without a byte read.
                // Renamed through the descriptor; taken later by its name in the inbox.
                const std::string aside = ".unreadable." + c.batch_id + "_" + name;
                c.path = folder_ / aside;
                c.in_inbox = true;
                if (::rename(crossing.c_str(), (here() / aside).c_str()) != 0) {
                    if (errno != ENOENT) fail("cannot set aside", source);
                } else {
                    claimed = true;
                }
            } else {
                put_back();
                if (e.code().value() != ENOENT) throw;
            }
        }
        if (!claimed) {
            seen_.erase(name);
            return std::nullopt;
        }
    }
    seen_.erase(name);
    // The file is in the claims folder: a failure from here on is said, never thrown, which
    // would leave the claim there unknown to the service until its next start.
    try {
        util::fsync_directory(claims_);
    } catch (const std::exception& e) {
        c.notice = e.what();
    }
    if (inbox_.done_file) {
        // The file is claimed: a marker that cannot be removed (a folder the uploader filled)
        // must not lose the claim. It is said, and the claim goes on.
        const auto marker = here() / (name + ".done");
        if (::unlink(marker.c_str()) != 0 && errno != ENOENT &&
            (errno != EISDIR || ::rmdir(marker.c_str()) != 0)) {
            const int err = errno;
            c.notice += (c.notice.empty() ? "" : "; ") +
                        fmt::format(
                            "cannot remove the done marker {}: {}; a later upload of {} "
                            "is taken without waiting for a marker of its own",
                            (folder_ / (name + ".done")).string(), std::strerror(err), name);
        }
    }
    return c;
}

fs::path LocalInbox::set_aside(const std::string& name, const fs::path& state_dir,
                               const fs::path& failed_folder) {
    auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    // The name is too long to be kept whole; its first bytes (whole UTF-8 characters) say
    // which file it was, and the log line names it in full.
    std::size_t keep = std::min<std::size_t>(name.size(), 120);
    while (keep > 0 && keep < name.size() &&
           (static_cast<unsigned char>(name[keep]) & 0xC0) == 0x80)
        --keep;
    util::create_folders_in_state(state_dir, failed_folder);
    const std::string kept = util::new_batch_id(now) + "_" + name.substr(0, keep);
    const auto to = failed_folder / kept;
    const auto source = here() / name;
    try {
        if (::rename(source.c_str(), to.c_str()) != 0) {
            if (errno != EXDEV) fail("cannot set aside", source);
            switch (copy_into_claims(source, to, source, inbox_.limits.max_file_bytes)) {
                case Crossing::copied:
                    break;
                case Crossing::changed:
                    fail("cannot set aside (it changed meanwhile)", source);
                case Crossing::too_large: {
                    // Not copied across mounts either: kept under a hidden name in its inbox.
                    const std::string aside = ".too-large." + kept;
                    if (::rename(source.c_str(), (here() / aside).c_str()) != 0)
                        fail("cannot set aside", source);
                    util::fsync_directory(here());
                    seen_.erase(name);
                    return folder_ / aside;
                }
            }
        }
    } catch (const std::system_error& e) {
        opened_->rethrow_shown(e);
    }
    util::fsync_directory(failed_folder);
    seen_.erase(name);
    return to;
}

std::optional<SteadyTime> LocalInbox::oldest_waiting() const {
    std::optional<SteadyTime> oldest;
    for (const auto& [name, seen] : seen_)
        if (!oldest || seen.first_seen < *oldest) oldest = seen.first_seen;
    return oldest;
}

void LocalInbox::finish_crossings() {
    // Only this service's hidden names, from a folder whose uploader may have put any number
    // of names in it.
    std::vector<std::string> names;
    try {
        for_each_name(here(), [&](std::string_view n) {
            if (n.starts_with(crossing_prefix_)) names.emplace_back(n);
            return true;
        });
    } catch (const std::system_error&) {
        return;  // the sweep reports a folder it cannot read
    }
    for (const auto& name : names) {
        if (!name.starts_with(crossing_prefix_)) continue;
        const auto hidden = here() / name;
        // `<batch id>_NAME`: the claim it was on its way to. The uploader can write this name
        // too, so it is only ever looked up in the claims folder, which is ours.
        const std::string rest = name.substr(crossing_prefix_.size());
        const auto cut = rest.find('_');
        if (cut != std::string::npos && cut > 0 && cut + 1 < rest.size()) {
            std::error_code ec;
            if (fs::exists(claims_ / rest, ec)) {
                ::unlink(hidden.c_str());  // copied: only the removal was left
                continue;
            }
            // Not copied: back under its name, to be claimed again with a new batch id.
            const auto back = here() / rest.substr(cut + 1);
            (void)::renameat2(AT_FDCWD, hidden.c_str(), AT_FDCWD, back.c_str(), RENAME_NOREPLACE);
        }
    }
}

std::vector<Claim> LocalInbox::leftover_claims() const {
    const auto found = std::chrono::steady_clock::now();
    std::vector<Claim> claims;
    std::vector<std::string> names;  // the service's own folder: every claim is taken
    for_each_name(claims_, [&](std::string_view n) {
        names.emplace_back(n);
        return true;
    });
    for (const auto& name : names) {
        auto c = claim_of(claims_ / name);
        if (!c) continue;
        // Whatever it is (the service put it there), take_claim() opens it without following
        // links and refuses what is not a regular file: a claim is never left to wait.
        c->recovered = true;
        c->waiting_since = found;
        claims.push_back(std::move(*c));
    }
    // The batch id starts with the claim time, so this is claim order.
    std::sort(claims.begin(), claims.end(),
              [](const Claim& a, const Claim& b) { return a.path < b.path; });
    return claims;
}

}  // namespace actiondrop::ingest
