#include "ingest/local_inbox.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <system_error>

#include "ingest/name_rules.hpp"
#include "util/batch_id.hpp"

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

// Every entry name of a folder (without . and ..).
std::vector<std::string> list_names(const fs::path& folder) {
    std::unique_ptr<DIR, DirCloser> dir(::opendir(folder.c_str()));
    if (!dir) fail("cannot list", folder);
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* e = ::readdir(dir.get())) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
        errno = 0;
    }
    if (errno != 0) fail("cannot list", folder);
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

LocalInbox::LocalInbox(config::InboxConfig inbox) : inbox_(std::move(inbox)) {
    std::error_code ec;
    fs::create_directories(processing_folder(), ec);
    if (ec) throw std::system_error(ec, "cannot create " + processing_folder().string());
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
    auto names = list_names(inbox_.path);
    std::set<std::string> present(names.begin(), names.end());
    std::vector<std::pair<std::chrono::nanoseconds, std::string>> ready;

    auto skip = [&](const std::string& name, std::string why) {
        if (skip_reported_.insert(name).second) result.skipped.push_back({name, std::move(why)});
    };
    for (const auto& name : names) {
        if (is_hidden(name)) continue;
        // Markers are expected in a done_file inbox; they are not worth a log line there.
        if (inbox_.done_file && name.ends_with(".done")) continue;
        if (auto why = never_taken(name, inbox_.pattern)) {
            skip(name, std::move(*why));
            continue;
        }
        struct stat st {};
        if (::fstatat(AT_FDCWD, (inbox_.path / name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;  // gone since the listing
            fail("cannot stat", inbox_.path / name);
        }
        if (!S_ISREG(st.st_mode)) {
            skip(name, kind_of(st.st_mode));
            continue;
        }
        auto mtime =
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
        if (inbox_.done_file) {
            // Remembered without its marker too: the file waits from its first sighting.
            seen_.try_emplace(name, Seen{st.st_size, mtime, now, now});
            if (!present.contains(name + ".done")) continue;
            ready.emplace_back(mtime, name);
        } else if (stable(name, st.st_size, mtime, now, result)) {
            ready.emplace_back(mtime, name);
        }
    }
    // Forget names that left the folder, so that a new file under an old name is seen afresh.
    std::erase_if(seen_, [&](const auto& kv) { return !present.contains(kv.first); });
    std::erase_if(skip_reported_, [&](const auto& n) { return !present.contains(n); });

    std::sort(ready.begin(), ready.end());
    for (auto& [mtime, name] : ready) result.ready.push_back(std::move(name));
    return result;
}

std::optional<Claim> LocalInbox::claim(const std::string& name) {
    auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    Claim c{processing_folder() / (util::new_batch_id(now) + "_" + name), name, false};
    auto seen = seen_.find(name);
    c.waiting_since =
        seen != seen_.end() ? seen->second.first_seen : std::chrono::steady_clock::now();
    auto source = inbox_.path / name;
    int renamed = ::rename(source.c_str(), c.path.c_str());
    if (renamed != 0 && errno == ENOENT && !fs::exists(processing_folder())) {
        // The claim folder sits in the advertiser's inbox, where it can be removed while
        // empty: make it again rather than never taking a file from this inbox again.
        std::error_code ec;
        fs::create_directories(processing_folder(), ec);
        if (ec) throw std::system_error(ec, "cannot create " + processing_folder().string());
        renamed = ::rename(source.c_str(), c.path.c_str());
    }
    if (renamed != 0) {
        if (errno == ENOENT) {
            seen_.erase(name);
            return std::nullopt;
        }
        fail("cannot claim", source);
    }
    seen_.erase(name);
    if (inbox_.done_file) {
        auto marker = inbox_.path / (name + ".done");
        if (::unlink(marker.c_str()) != 0 && errno != ENOENT)
            fail("cannot remove the done marker", marker);
    }
    return c;
}

std::optional<SteadyTime> LocalInbox::oldest_waiting() const {
    std::optional<SteadyTime> oldest;
    for (const auto& [name, seen] : seen_)
        if (!oldest || seen.first_seen < *oldest) oldest = seen.first_seen;
    return oldest;
}

std::vector<Claim> LocalInbox::leftover_claims() const {
    const auto found = std::chrono::steady_clock::now();
    std::vector<Claim> claims;
    for (const auto& name : list_names(processing_folder())) {
        auto cut = name.find('_');
        if (is_hidden(name) || cut == std::string::npos || cut + 1 == name.size()) continue;
        struct stat st {};
        auto path = processing_folder() / name;
        if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        claims.push_back({path, name.substr(cut + 1), true, found});
    }
    // The unique prefix starts with the claim time, so this is claim order.
    std::sort(claims.begin(), claims.end(),
              [](const Claim& a, const Claim& b) { return a.path < b.path; });
    return claims;
}

}  // namespace actiondrop::ingest
