#include "ingest/leftovers.hpp"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <functional>
#include <system_error>

namespace actiondrop::ingest {
namespace fs = std::filesystem;

namespace {

bool only(std::string_view s, int (*is)(int)) {
    if (s.empty()) return false;
    for (unsigned char c : s)
        if (!is(c)) return false;
    return true;
}

bool running(long pid) {
    if (pid == static_cast<long>(::getpid())) return false;
    // EPERM: alive, under another user (the CLI run by an operator).
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

long temporary_writer(std::string_view name) {
    if (!name.starts_with('.') || !name.ends_with(".tmp")) return 0;
    name.remove_suffix(4);
    auto cut = name.rfind('.');
    if (cut == std::string_view::npos || !only(name.substr(cut + 1), ::isxdigit)) return 0;
    name = name.substr(0, cut);
    cut = name.rfind('.');
    if (cut == 0 || cut == std::string_view::npos) return 0;
    auto digits = name.substr(cut + 1);
    if (!only(digits, ::isdigit)) return 0;
    long pid = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
    if (ec != std::errc{} || end != digits.data() + digits.size() || pid <= 0) return 0;
    return pid;
}

namespace {

bool abandoned_temporary(std::string_view name) {
    const long pid = temporary_writer(name);
    return pid != 0 && !running(pid);
}

// Lists `folder` once, then removes each file whose name `remove` picks.
std::vector<std::string> remove_where(const fs::path& folder,
                                      const std::function<bool(std::string_view)>& remove) {
    std::vector<std::string> removed;
    std::error_code ec;
    fs::directory_iterator it(folder, ec), end;
    if (ec == std::errc::no_such_file_or_directory) return removed;
    if (ec) throw std::system_error(ec, "cannot list " + folder.string());
    std::vector<std::string> picked;
    for (; it != end; it.increment(ec))
        if (auto name = it->path().filename().string(); remove(name))
            picked.push_back(std::move(name));
    if (ec) throw std::system_error(ec, "cannot list " + folder.string());
    for (auto& name : picked) {
        const fs::path path = folder / name;
        if (::unlink(path.c_str()) != 0 && errno != ENOENT)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot remove " + path.string());
        removed.push_back(std::move(name));
    }
    return removed;
}

}  // namespace

std::vector<std::string> remove_abandoned_temporaries(const fs::path& folder) {
    return remove_where(folder, abandoned_temporary);
}

std::vector<std::string> remove_own_copies(const fs::path& claims) {
    return remove_where(claims, [](std::string_view name) {
        return abandoned_temporary(name) || name.starts_with(own_copy_prefix);
    });
}

std::vector<std::string> remove_decided_spools(
    const fs::path& spool, const std::function<bool(const std::string&)>& decided) {
    std::vector<std::string> removed;
    std::error_code ec;
    fs::directory_iterator it(spool, ec), end;
    if (ec == std::errc::no_such_file_or_directory) return removed;
    if (ec) throw std::system_error(ec, "cannot list " + spool.string());
    std::vector<fs::path> folders;
    for (; it != end; it.increment(ec))
        if (it->is_directory(ec)) folders.push_back(it->path());
    for (const auto& folder : folders) {
        auto name = folder.filename().string();
        if (!decided(name)) continue;
        fs::remove_all(folder, ec);
        if (ec) throw std::system_error(ec, "cannot remove " + folder.string());
        removed.push_back(name);
    }
    return removed;
}

}  // namespace actiondrop::ingest
