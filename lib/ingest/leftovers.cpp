#include "ingest/leftovers.hpp"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
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

std::vector<std::string> remove_abandoned_temporaries(const fs::path& folder) {
    std::vector<std::string> removed;
    std::error_code ec;
    fs::directory_iterator it(folder, ec), end;
    if (ec == std::errc::no_such_file_or_directory) return removed;
    if (ec) throw std::system_error(ec, "cannot list " + folder.string());
    for (; it != end; it.increment(ec)) {
        auto name = it->path().filename().string();
        long pid = temporary_writer(name);
        if (pid == 0 || running(pid)) continue;
        if (::unlink(it->path().c_str()) != 0 && errno != ENOENT)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot remove " + it->path().string());
        removed.push_back(std::move(name));
    }
    if (ec) throw std::system_error(ec, "cannot list " + folder.string());
    return removed;
}

std::vector<std::string> remove_own_copies(const fs::path& claims) {
    std::vector<std::string> removed = remove_abandoned_temporaries(claims);
    std::vector<fs::path> copies;
    std::error_code ec;
    fs::directory_iterator it(claims, ec), end;
    if (ec == std::errc::no_such_file_or_directory) return removed;
    if (ec) throw std::system_error(ec, "cannot list " + claims.string());
    for (; it != end; it.increment(ec))
        if (it->path().filename().string().starts_with(own_copy_prefix))
            copies.push_back(it->path());
    if (ec) throw std::system_error(ec, "cannot list " + claims.string());
    for (const auto& copy : copies) {
        if (::unlink(copy.c_str()) != 0 && errno != ENOENT)
            throw std::system_error(errno, std::generic_category(),
                                    "cannot remove " + copy.string());
        removed.push_back(copy.filename().string());
    }
    return removed;
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
