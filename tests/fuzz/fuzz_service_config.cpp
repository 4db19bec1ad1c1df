// The service configuration loader (lib/config/service_config.*). It reads only from a
// path, so each input is written to a file in a private temporary folder first. Besides
// crashes, UB and exceptions it checks that every error names the file and says why; and
// that a configuration it accepts keeps its promises: inbox names valid and unique, local
// inbox folders absolute, distinct and not holding their outbox, SFTP ports in range,
// limits and intervals positive. parse_duration and parse_size also get the input's
// first line, and must read back what they mean when it is a plain number of a unit.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <system_error>

#include "config/service_config.hpp"
#include "fuzz_support.hpp"

using namespace actiondrop;
namespace fs = std::filesystem;

namespace {

const fs::path& config_file() {
    static const fs::path file = [] {
        std::string folder = (fs::temp_directory_path() / "fuzz_service_config.XXXXXX").string();
        if (!mkdtemp(folder.data()))
            throw std::system_error(errno, std::generic_category(), folder);
        return fs::path(folder) / "actiondrop.yaml";
    }();
    return file;
}

void remove_folder() { fs::remove_all(config_file().parent_path()); }

bool inside(const fs::path& inner, const fs::path& outer) {
    auto i = inner.begin();
    for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
        if (i == inner.end() || *i != *o) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    config_file();
    std::atexit(remove_folder);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = fuzz::text_of(data, size);
    const std::string_view first = text.substr(0, text.find('\n'));
    if (auto d = config::parse_duration(first))
        fuzz::check(d->count() >= 0, "a duration is not negative");
    if (auto n = config::parse_size(first)) fuzz::check(*n >= 0, "a size is not negative");
    if (auto ms = config::parse_duration(first); ms && first.ends_with("ms"))
        fuzz::check(config::parse_duration(std::to_string(ms->count()) + "ms") == ms,
                    "ms read back");
    if (auto n = config::parse_size(first);
        n && !first.empty() && first.back() >= '0' && first.back() <= '9')
        fuzz::check(config::parse_size(std::to_string(*n)) == n, "a byte count reads back");

    {
        std::ofstream out(config_file(), std::ios::binary | std::ios::trunc);
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (!out.flush()) throw std::runtime_error("cannot write " + config_file().string());
    }
    const auto cfg = config::read_service_config(config_file());
    if (!cfg) {
        fuzz::check(!cfg.error().empty(), "a refused config has an error");
        for (const auto& e : cfg.error())
            fuzz::check(e.file == config_file().string() && !e.message.empty(),
                        "an error names the file and says why");
        return 0;
    }
    fuzz::check(cfg->workers >= 1 && cfg->workers <= 256, "workers in range");
    fuzz::check(cfg->lifecycle_interval.count() > 0 && cfg->sweep_interval.count() > 0,
                "intervals positive");
    fuzz::check(cfg->store.starts_with("sqlite:/") || cfg->store.starts_with("postgres"),
                "a known store");
    fuzz::check(cfg->state_dir.is_absolute(), "state_dir is absolute");
    std::set<std::string> names;
    std::set<fs::path> folders;
    for (const auto& in : cfg->inboxes) {
        fuzz::check(!in.name.empty() && names.insert(in.name).second, "inbox names are unique");
        fuzz::check(cfg->inbox(in.name) == &in, "an inbox is found by its name");
        fuzz::check(
            in.limits.max_file_bytes > 0 && in.limits.max_rows > 0 && in.limits.max_line_bytes > 0,
            "limits positive");
        fuzz::check(in.settle.count() >= 0, "settle not negative");
        if (const auto* local = in.local()) {
            fuzz::check(in.kind() == "local", "a local source is kind local");
            fuzz::check(local->path.is_absolute() && in.outbox.is_absolute(),
                        "local folders are absolute");
            fuzz::check(!inside(in.outbox, local->path), "the outbox is not in the inbox");
            fuzz::check(folders.insert(local->path).second, "one inbox per folder");
        } else if (const auto* ftp = std::get_if<config::FtpSource>(&in.source)) {
            fuzz::check(in.kind() == "ftp" && in.remote() == ftp && ftp->port >= 1 &&
                            ftp->port <= 65535 && !ftp->password_file.empty(),
                        "an FTP port in range and a password file");
            fuzz::check(ftp->sha256.empty() || ftp->sha256.size() == 64, "a whole fingerprint");
            fuzz::check(
                ftp->tls != config::FtpTls::None || (ftp->sha256.empty() && ftp->ca_file.empty()),
                "no certificate settings without TLS");
        } else {
            const auto* sftp = std::get_if<config::SftpSource>(&in.source);
            fuzz::check(sftp && in.kind() == "sftp" && in.remote() == sftp && sftp->port >= 1 &&
                            sftp->port <= 65535,
                        "an SFTP port in range");
            fuzz::check(sftp->identity_file.empty() != sftp->password_file.empty(),
                        "one way to log in");
            fuzz::check(sftp->poll_interval.count() > 0, "poll interval positive");
        }
    }
    return 0;
}
