#include "config/service_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <map>
#include <set>
#include <span>
#include <type_traits>

#include "config/yaml_map.hpp"

namespace actiondrop::config {

namespace fs = std::filesystem;

std::string_view InboxConfig::kind() const {
    return std::visit([](const auto& s) { return std::decay_t<decltype(s)>::kind; }, source);
}

const RemoteSource* InboxConfig::remote() const {
    return std::visit(
        [](const auto& s) -> const RemoteSource* {
            if constexpr (std::is_base_of_v<RemoteSource, std::decay_t<decltype(s)>>)
                return &s;
            else
                return nullptr;
        },
        source);
}

const InboxConfig* ServiceConfig::inbox(std::string_view name) const {
    auto it = std::find_if(inboxes.begin(), inboxes.end(),
                           [&](const InboxConfig& i) { return i.name == name; });
    return it == inboxes.end() ? nullptr : &*it;
}

namespace {

// Splits "512MiB" into 512 and "MiB"; nullopt without leading digits or on overflow.
std::optional<std::pair<std::int64_t, std::string_view>> number_and_unit(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == 0) return std::nullopt;
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, n);
    if (ec != std::errc() || ptr != text.data() + digits) return std::nullopt;
    return std::pair{n, text.substr(digits)};
}

std::optional<std::int64_t> times(std::int64_t n, std::int64_t factor) {
    if (n > std::numeric_limits<std::int64_t>::max() / factor) return std::nullopt;
    return n * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto parts = number_and_unit(text);
    if (!parts) return std::nullopt;
    static const std::pair<std::string_view, std::int64_t> units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
    for (auto [unit, factor] : units) {
        if (parts->second != unit) continue;
        std::optional<std::int64_t> ms = times(parts->first, factor);
        if (!ms) return std::nullopt;
        return std::chrono::milliseconds{*ms};
    }
    return std::nullopt;
}

std::optional<std::int64_t> parse_size(std::string_view text) {
    auto parts = number_and_unit(text);
    if (!parts) return std::nullopt;
    static const std::pair<std::string_view, std::int64_t> units[] = {
        {"", 1}, {"KiB", 1LL << 10}, {"MiB", 1LL << 20}, {"GiB", 1LL << 30}, {"TiB", 1LL << 40}};
    for (auto [unit, factor] : units)
        if (parts->second == unit) return times(parts->first, factor);
    return std::nullopt;
}

namespace {

// The lexical path components of `inner` start with all of `outer`'s.
bool same_or_inside(const fs::path& inner, const fs::path& outer) {
    fs::path a = inner.lexically_normal(), b = outer.lexically_normal();
    auto strip = [](fs::path p) { return p.has_filename() ? p : p.parent_path(); };  // "x/" names x
    a = strip(a);
    b = strip(b);
    auto ai = a.begin();
    for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai)
        if (ai == a.end() || *ai != *bi) return false;
    return true;
}

// `outbox` is the folder `inbox` or inside it once symlinks are followed (a link, or a path
// through one), or shares its device and inode (a bind mount of it): answers written there
// would be seen as uploads. The parts of the paths that do not exist yet are compared as
// written.
bool resolves_into(const fs::path& outbox, const fs::path& inbox) {
    std::error_code ec;
    fs::path in = fs::weakly_canonical(inbox, ec);
    if (ec) in = inbox;
    fs::path out = fs::weakly_canonical(outbox, ec);
    if (ec) out = outbox;
    if (same_or_inside(out, in)) return true;
    for (fs::path p = out;; p = p.parent_path()) {
        if (fs::equivalent(p, in, ec)) return true;  // false, with ec, when either is missing
        if (p == p.parent_path()) return false;
    }
}

// One of the two folders is the other or inside it, as written or once resolved.
bool overlaps(const fs::path& a, const fs::path& b) {
    return resolves_into(a, b) || resolves_into(b, a);
}

// Why `text` is not an address the daemon's /metrics endpoint will listen on, or nothing.
// The same rules as the endpoint's own (lib/observe/metrics_http.cpp, parse_listen_address),
// so that the check refuses what a start would: HOST:PORT with an IP address (IPv6 in
// brackets), names other than localhost not resolved, and loopback only, since /metrics and
// /healthz have no authentication (README.md, "The service: actiondropd").
std::optional<std::string> listen_problem(std::string_view text) {
    const std::string quoted = "'" + std::string(text) + "'";
    std::string_view host, port;
    if (text.starts_with('[')) {
        std::size_t close = text.find(']');
        if (close == std::string_view::npos || text.substr(close + 1, 1) != ":")
            return "expected [IPv6]:PORT such as [::1]:9464, not " + quoted;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos || colon == 0)
            return "expected HOST:PORT such as 127.0.0.1:9464, not " + quoted;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return "write an IPv6 address in brackets, as [::1]:9464, not " + quoted;
    }
    int n = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || n < 1 || n > 65535)
        return "expected HOST:PORT with a port from 1 to 65535, not " + quoted;
    const std::string ip = host == "localhost" ? "127.0.0.1" : std::string(host);
    in_addr v4{};
    in6_addr v6{};
    bool loopback = false;
    if (::inet_pton(AF_INET, ip.c_str(), &v4) == 1)
        loopback = (ntohl(v4.s_addr) >> 24) == 127;
    else if (::inet_pton(AF_INET6, ip.c_str(), &v6) == 1)
        loopback = IN6_IS_ADDR_LOOPBACK(&v6);
    else
        return "the host must be an IP address or localhost (names are not resolved), not " +
               quoted;
    if (!loopback)
        return "not a loopback address: " + quoted +
               "; /metrics and /healthz have no authentication, so they are served on "
               "127.0.0.0/8 or ::1 only";
    return std::nullopt;
}

std::string strip_trailing_slashes(std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

// A server's folder as written, in a form that compares equal however it is spelled:
// repeated '/' as one, `.` and `..` resolved as written (`/in/.`, `/x/../in`, `//in/` are
// all `/in`). A relative folder stays relative: the login folder is the server's to say.
std::string remote_folder_key(const std::string& folder) {
    std::string collapsed;
    for (char ch : folder)
        if (ch != '/' || collapsed.empty() || collapsed.back() != '/') collapsed += ch;
    std::string normal = fs::path(collapsed).lexically_normal().string();
    return strip_trailing_slashes(normal.empty() ? "." : normal);
}

class ConfigReader {
public:
    ConfigReader(YamlFile& file, fs::path folder) : f_(file), folder_(std::move(folder)) {}

    ServiceConfig read(const YAML::Node& root) {
        ServiceConfig c;
        if (!root.IsDefined() || root.IsNull()) return c;  // every default
        MapReader m(f_, root, "",
                    {"store", "state_dir", "workers", "metrics", "lifecycle", "sweep_interval",
                     "pull_lease", "inotify", "limits", "inboxes"});
        if (!m.is_map()) return c;
        if (auto s = m.text("store")) c.store = store(*s, m);
        if (auto p = path(m, "state_dir")) c.state_dir = *p;
        state_dir_ = Place{c.state_dir, "", "state_dir", m.mark("state_dir"), "state_dir"};
        if (c.store.starts_with("sqlite:"))
            sqlite_file_ = Place{c.store.substr(7), "", "store", m.mark("store"), "store"};
        if (auto n = m.integer("workers", 1, 256)) c.workers = int(*n);
        if (m.has("metrics")) {
            MapReader metrics(f_, m["metrics"], "metrics", {"listen"});
            if (auto listen = metrics.text("listen")) {
                if (auto problem = listen_problem(*listen))
                    f_.error(metrics["listen"], metrics.path("listen"), *problem);
                else
                    c.metrics_listen = *listen;
            }
        }
        if (m.has("lifecycle")) {
            MapReader lifecycle(f_, m["lifecycle"], "lifecycle", {"interval"});
            if (auto d = duration(lifecycle, "interval", true)) c.lifecycle_interval = *d;
        }
        if (auto d = duration(m, "sweep_interval", true)) c.sweep_interval = *d;
        if (auto d = duration(m, "pull_lease", true)) {
            if (*d < std::chrono::seconds{1})
                f_.error(m["pull_lease"], m.path("pull_lease"),
                         "expected at least 1s: a lease renewed every quarter of it");
            else
                c.pull_lease = *d;
        }
        if (auto b = m.boolean("inotify")) c.inotify = *b;
        if (m.has("limits")) c.limits = limits(m["limits"], "limits", c.limits);
        if (m.has("inboxes") && f_.sequence(m["inboxes"], "inboxes")) {
            YAML::Node list = m["inboxes"];
            for (std::size_t i = 0; i < list.size(); ++i)
                inbox(list[i], index_path("inboxes", i), c);
        }
        check_places();
        return c;
    }

private:
    YamlFile& f_;
    fs::path folder_;

    // Also of inboxes that had errors, so that a repeat is still named.
    std::set<std::string> inbox_names_;
    // A folder or file named in the config, where it is written, for the checks across
    // inboxes that run once the whole file is read (check_places).
    struct Place {
        fs::path path;
        std::string inbox;
        std::string what;  // "folder", "outbox", or the secret's key
        YAML::Mark mark;
        std::string key;
    };
    std::vector<Place> folders_;  // local inboxes' folders and outboxes, in file order
    std::vector<Place> secrets_;  // pull inboxes' credential and trust files
    std::optional<Place> state_dir_;
    std::optional<Place> sqlite_file_;

    // Everything under an inbox's folder is its uploader's to read, write, link or replace,
    // and everything under its outbox theirs to read (docs/formats.md, "The service config
    // file"). So no folder of one inbox is, holds or sits inside a folder of another, and
    // none holds the state folder, the SQLite ledger or a secret file. Reported at the later
    // of the two in the file, or at the inbox's folder for the state and the ledger.
    void check_places() {
        for (std::size_t j = 0; j < folders_.size(); ++j) {
            const Place& b = folders_[j];
            for (std::size_t i = 0; i < j; ++i) {
                const Place& a = folders_[i];
                if (a.inbox == b.inbox || !overlaps(a.path, b.path)) continue;
                const std::string owner = "inbox '" + a.inbox + "''s " + a.what;
                std::string how;
                if (a.what == "folder" && b.what == "folder" && a.path == b.path)
                    how = "folder " + b.path.string() + " is already inbox '" + a.inbox + "'";
                else if (resolves_into(b.path, a.path) && resolves_into(a.path, b.path))
                    how = b.path.string() + " is " + owner;
                else if (resolves_into(b.path, a.path))
                    how = b.path.string() + " is inside " + owner + " (" + a.path.string() + ")";
                else
                    how = b.path.string() + " holds " + owner + " (" + a.path.string() + ")";
                f_.error(b.mark, b.key,
                         how +
                             ": each inbox needs folders of its own, apart from every other "
                             "inbox's folder and outbox");
                break;
            }
            auto holds = [&](const std::optional<Place>& inner, std::string_view name) {
                if (inner && resolves_into(inner->path, b.path))
                    f_.error(b.mark, b.key,
                             b.path.string() + " holds the " + std::string(name) + " (" +
                                 inner->path.string() + ", " + inner->key +
                                 "): its uploader could read or change it");
            };
            holds(state_dir_, "state folder");
            holds(sqlite_file_, "SQLite ledger");
        }
        for (const Place& secret : secrets_)
            for (const Place& f : folders_)
                if (resolves_into(secret.path, f.path)) {
                    f_.error(secret.mark, secret.key,
                             secret.path.string() + " is inside inbox '" + f.inbox + "''s " +
                                 f.what + " (" + f.path.string() +
                                 "): its uploader could read or replace it");
                    break;
                }
    }

    // path(), remembered as a secret or trust file for check_places.
    std::optional<fs::path> secret_path(MapReader& m, std::string_view key,
                                        const std::string& inbox) {
        std::optional<fs::path> p = path(m, key);
        if (p) secrets_.push_back({*p, inbox, std::string(key), m.mark(key), m.path(key)});
        return p;
    }

    // Absolute, normal and without a trailing '/', so that equal folders compare equal.
    fs::path resolve(const fs::path& p) const {
        fs::path out = (p.is_absolute() ? p : folder_ / p).lexically_normal();
        if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();
        return out;
    }

    std::optional<fs::path> path(MapReader& m, std::string_view key) {
        std::optional<std::string> s = m.text(key);
        if (!s) return std::nullopt;
        if (s->empty()) {
            f_.error(m.mark(key), m.path(key), "a path is required here");
            return std::nullopt;
        }
        return resolve(*s);
    }

    std::optional<std::chrono::milliseconds> duration(MapReader& m, std::string_view key,
                                                      bool positive) {
        std::optional<std::string> s = m.text(key);
        if (!s) return std::nullopt;
        std::optional<std::chrono::milliseconds> d = parse_duration(*s);
        if (!d) {
            f_.error(m[key], m.path(key),
                     "expected a duration such as 500ms, 2s, 5m or 1h, not '" + *s + "'");
            return std::nullopt;
        }
        if (positive && d->count() == 0) {
            f_.error(m[key], m.path(key), "must be longer than 0");
            return std::nullopt;
        }
        // Far beyond any wait the service has, and far below what overflows its clocks.
        if (*d > std::chrono::hours(8760)) {
            f_.error(m[key], m.path(key), "must be at most 8760h (a year), not '" + *s + "'");
            return std::nullopt;
        }
        return d;
    }

    std::optional<std::int64_t> size(MapReader& m, std::string_view key) {
        std::optional<std::string> s = m.text(key);
        if (!s) return std::nullopt;
        std::optional<std::int64_t> n = parse_size(*s);
        if (!n) {
            f_.error(
                m[key], m.path(key),
                "expected a size such as 64KiB, 512MiB, 1GiB or a byte count, not '" + *s + "'");
            return std::nullopt;
        }
        if (*n == 0) {
            f_.error(m[key], m.path(key), "must be above 0");
            return std::nullopt;
        }
        return n;
    }

    FileLimits limits(const YAML::Node& node, const std::string& path, FileLimits base) {
        MapReader m(
            f_, node, path,
            {"max_file_bytes", "max_rows", "max_line_bytes", "max_record_bytes", "max_fields"});
        if (auto n = size(m, "max_file_bytes")) base.max_file_bytes = *n;
        if (auto n = m.integer("max_rows", 1, std::numeric_limits<std::int64_t>::max()))
            base.max_rows = *n;
        if (auto n = size(m, "max_line_bytes")) base.max_line_bytes = *n;
        if (auto n = size(m, "max_record_bytes")) base.max_record_bytes = *n;
        if (auto n = m.integer("max_fields", 1, std::numeric_limits<std::int64_t>::max()))
            base.max_fields = *n;
        return base;
    }

    std::string store(const std::string& s, MapReader& m) {
        if (s.starts_with("sqlite:")) {
            std::string file = s.substr(7);
            if (file.empty()) {
                f_.error(
                    m["store"], "store",
                    "sqlite: needs a database file, e.g. sqlite:/var/lib/actiondrop/ledger.db");
                return s;
            }
            return "sqlite:" + resolve(file).string();
        }
        if (s.starts_with("postgresql://") || s.starts_with("postgres://")) {
            std::string rest = s.substr(s.find("://") + 3);
            std::string authority = rest.substr(0, rest.find('/'));
            std::size_t at = authority.rfind('@');
            bool password_in_url =
                at != std::string::npos && authority.substr(0, at).find(':') != std::string::npos;
            if (password_in_url || s.find("password=") != std::string::npos) {
                f_.error(m["store"], "store",
                         "secrets are given only by file: put the password in a passfile "
                         "(passfile=PATH or "
                         "~/.pgpass), not in the URL");
            }
            return s;
        }
        f_.error(m["store"], "store", "expected sqlite:PATH or postgresql://..., not '" + s + "'");
        return s;
    }

    // Inbox names become folder names under state_dir.
    static bool valid_name(std::string_view s) {
        if (s.empty() || s.size() > 64 || s.front() == '.') return false;
        return std::all_of(s.begin(), s.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        });
    }

    std::optional<std::string> choice(MapReader& m, std::string_view key,
                                      std::initializer_list<std::string_view> allowed) {
        std::optional<std::string> s = m.text(key);
        if (!s) return std::nullopt;
        if (std::find(allowed.begin(), allowed.end(), *s) != allowed.end()) return s;
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        f_.error(m[key], m.path(key), "expected one of " + list + ", not '" + *s + "'");
        return std::nullopt;
    }

    // The keys every kind pulled from a server has (RemoteSource): where the server is, and
    // its folders; a kind reads its own keys between the two, so that errors are reported in
    // the order of the keys' checks, whatever the kind.
    void remote_server(MapReader& m, RemoteSource& r) {
        if (auto host = m.text("host")) r.host = *host;
        if (auto port = m.integer("port", 1, 65535)) r.port = int(*port);
        if (auto user = m.text("user")) r.user = *user;
    }
    void remote_folders(MapReader& m, RemoteSource& r) {
        if (auto s = m.text("folder")) r.folder = *s;
        if (auto s = m.text("result_folder")) r.result_folder = *s;
        if (auto s = m.text("archive_folder")) r.archive_folder = *s;
        if (auto b = m.boolean("delete_after_pull")) r.delete_after_pull = *b;
        if (auto d = duration(m, "poll_interval", true)) r.poll_interval = *d;
        const std::string folder = remote_folder_key(r.folder);
        if (!r.folder.empty() && remote_folder_key(r.result_folder) == folder)
            f_.error(m["result_folder"], m.path("result_folder"),
                     "the result folder must not be the folder we pull from");
        if (!r.archive_folder.empty() && remote_folder_key(r.archive_folder) == folder)
            f_.error(m["archive_folder"], m.path("archive_folder"),
                     "the archive folder must not be the folder we pull from");
        if (r.delete_after_pull && !r.archive_folder.empty())
            f_.error(m["delete_after_pull"], m.path("delete_after_pull"),
                     "delete_after_pull and archive_folder exclude each other: a pulled file "
                     "is either deleted or archived");
    }

    // kind: ftp (README.md, "FTP pull inboxes"): a password file, and TLS unless `tls: none`
    // is written out.
    FtpSource ftp_source(MapReader& m, const std::string& inbox) {
        FtpSource src;
        for (std::string_view key : {"host", "user", "password_file", "folder", "result_folder"})
            m.require(key);
        if (auto t = choice(m, "tls", {"explicit", "implicit", "none"})) {
            src.tls = *t == "implicit" ? FtpTls::Implicit
                      : *t == "none"   ? FtpTls::None
                                       : FtpTls::Explicit;
            if (src.tls == FtpTls::Implicit) src.port = 990;
        }
        remote_server(m, src);
        if (auto p = secret_path(m, "password_file", inbox)) src.password_file = *p;
        if (auto p = secret_path(m, "ca_file", inbox)) src.ca_file = *p;
        if (auto s = m.text("sha256")) {
            // As `openssl x509 -fingerprint -sha256` prints it, with or without colons.
            std::string hex;
            for (char ch : *s)
                if (ch != ':')
                    hex += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            if (hex.size() != 64 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
                f_.error(m["sha256"], m.path("sha256"),
                         "expected the certificate's SHA-256 fingerprint: 64 hex digits, colons "
                         "allowed");
            else
                src.sha256 = hex;
        }
        if (src.tls == FtpTls::None && (m.has("ca_file") || m.has("sha256")))
            f_.error(m["tls"], m.path("tls"),
                     "tls: none checks no certificate; remove ca_file and sha256 or use TLS");
        if (m.has("ca_file") && m.has("sha256"))
            f_.error(
                m["sha256"], m.path("sha256"),
                "give ca_file or sha256, not both: a pinned certificate replaces the CA check");
        remote_folders(m, src);
        return src;
    }

    void inbox(const YAML::Node& node, const std::string& path, ServiceConfig& c) {
        static constexpr std::string_view local_keys[] = {"path", "outbox"};
        static constexpr std::string_view sftp_keys[] = {
            "host",         "port",   "user",          "identity_file",  "password_file",
            "known_hosts",  "folder", "result_folder", "archive_folder", "delete_after_pull",
            "poll_interval"};
        static constexpr std::string_view sftp_only_keys[] = {"identity_file", "known_hosts"};
        static constexpr std::string_view ftp_only_keys[] = {"tls", "ca_file", "sha256"};
        static constexpr std::string_view secret_keys[] = {"password", "passphrase", "private_key"};
        MapReader m(f_, node, path,
                    {"name",
                     "account",
                     "type",
                     "kind",
                     "pattern",
                     "settle",
                     "done_file",
                     "duplicates",
                     "all_or_nothing",
                     "send_invoices",
                     "limits",
                     "path",
                     "outbox",
                     "host",
                     "port",
                     "user",
                     "identity_file",
                     "password_file",
                     "known_hosts",
                     "folder",
                     "result_folder",
                     "archive_folder",
                     "delete_after_pull",
                     "poll_interval",
                     "tls",
                     "ca_file",
                     "sha256"},
                    {"password", "passphrase", "private_key"});
        if (!m.is_map()) return;
        std::size_t errors_before = f_.errors().size();
        InboxConfig in;
        in.limits = c.limits;
        if (auto name = m.required_text("name")) {
            if (!valid_name(*name)) {
                f_.error(m["name"], m.path("name"),
                         "an inbox name is 1-64 letters, digits, '.', '_' or '-', not starting "
                         "with '.': '" +
                             *name + "'");
            } else if (!inbox_names_.insert(*name).second) {
                f_.error(m["name"], m.path("name"), "inbox name '" + *name + "' is used twice");
            }
            in.name = *name;
        }
        if (auto account = m.required_text("account")) {
            if (account->empty())
                f_.error(m.mark("account"), m.path("account"), "must not be empty");
            in.account = *account;
        }
        if (auto type = choice(m, "type", {"modifications", "conversions", "funds_transfers"}))
            in.type = *type;
        std::string kind = "local";
        if (auto k = choice(m, "kind", {"local", "sftp", "ftp"})) kind = *k;
        if (auto pattern = m.text("pattern")) {
            if (pattern->empty() || pattern->find('/') != std::string::npos)
                f_.error(m["pattern"], m.path("pattern"),
                         "a pattern matches file names: not empty, no '/'");
            in.pattern = *pattern;
        }
        if (auto d = duration(m, "settle", false)) in.settle = *d;
        if (auto b = m.boolean("done_file")) in.done_file = *b;
        if (auto d = choice(m, "duplicates", {"reject", "reprocess"})) in.duplicates = *d;
        if (auto b = m.boolean("all_or_nothing")) in.all_or_nothing = *b;
        if (auto b = m.boolean("send_invoices")) in.send_invoices = *b;
        if (m.has("limits")) in.limits = limits(m["limits"], m.path("limits"), c.limits);

        for (std::string_view key : secret_keys)
            if (m.has(key))
                f_.error(m.mark(key), m.path(key),
                         "secrets are given only as file paths (identity_file, password_file), "
                         "never in the config");
        bool local = kind == "local";
        for (std::string_view key : local ? std::span<const std::string_view>(sftp_keys)
                                          : std::span<const std::string_view>(local_keys))
            if (m.has(key))
                f_.error(m.mark(key), m.path(key),
                         std::string(key) +
                             " applies only to kind: " + (local ? "sftp or ftp" : "local"));
        for (std::string_view key : ftp_only_keys)
            if (kind != "ftp" && m.has(key))
                f_.error(m.mark(key), m.path(key), std::string(key) + " applies only to kind: ftp");
        for (std::string_view key : sftp_only_keys)
            if (kind == "ftp" && m.has(key))
                f_.error(m.mark(key), m.path(key),
                         std::string(key) + " applies only to kind: sftp");

        if (local) {
            LocalSource src;
            m.require("path");
            m.require("outbox");
            if (auto p = this->path(m, "path")) src.path = *p;
            if (auto p = this->path(m, "outbox")) in.outbox = *p;
            if (!src.path.empty() && !in.outbox.empty() && same_or_inside(in.outbox, src.path))
                f_.error(m["outbox"], m.path("outbox"),
                         "the outbox must not be the inbox or a folder inside it (" +
                             src.path.string() + ")");
            else if (!src.path.empty() && !in.outbox.empty() && resolves_into(in.outbox, src.path))
                f_.error(m["outbox"], m.path("outbox"),
                         "the outbox must not be the inbox or a folder inside it (" +
                             src.path.string() + "): " + in.outbox.string() +
                             " resolves to it or into it");
            if (!src.path.empty())
                folders_.push_back({src.path, in.name, "folder", m["path"].Mark(), m.path("path")});
            if (!in.outbox.empty())
                folders_.push_back(
                    {in.outbox, in.name, "outbox", m["outbox"].Mark(), m.path("outbox")});
            in.source = std::move(src);
        } else if (kind == "ftp") {
            in.source = ftp_source(m, in.name);
        } else {
            SftpSource src;
            for (std::string_view key : {"host", "user", "known_hosts", "folder", "result_folder"})
                m.require(key);
            remote_server(m, src);
            if (m.has("identity_file") == m.has("password_file"))
                f_.error(m.mark(), path, "give exactly one of identity_file or password_file");
            if (auto p = secret_path(m, "identity_file", in.name)) src.identity_file = *p;
            if (auto p = secret_path(m, "password_file", in.name)) src.password_file = *p;
            if (auto p = secret_path(m, "known_hosts", in.name)) src.known_hosts = *p;
            remote_folders(m, src);
            in.source = std::move(src);
        }
        if (f_.errors().size() == errors_before) c.inboxes.push_back(std::move(in));
    }
};

}  // namespace

std::expected<ServiceConfig, std::vector<ConfigError>> read_service_config(const fs::path& file) {
    auto text = read_user_file(file, "config");
    if (!text) return std::unexpected(std::vector<ConfigError>{std::move(text.error())});
    YamlFile yaml{file.string()};
    std::optional<YAML::Node> root = yaml.parse(*text);
    ServiceConfig config;
    // Nothing at all is a file emptied or cut while it was edited, not a choice of every
    // default: those are for no config file (README.md, "The CLI").
    if (root && (!root->IsDefined() || root->IsNull()))
        yaml.error(YAML::Mark::null_mark(), "",
                   "the config is empty: name at least the store (or give no config file, for "
                   "the built-in defaults)");
    else if (root)
        config = ConfigReader(yaml, fs::absolute(file).parent_path()).read(*root);
    if (!yaml.errors().empty()) return std::unexpected(std::move(yaml.errors()));
    return config;
}

std::filesystem::path locate_service_config(std::string_view option) {
    if (!option.empty()) return std::filesystem::path(option);
    if (const char* env = std::getenv("ACTIONDROP_CONFIG"); env && *env) return env;
    const std::filesystem::path installed = "/etc/actiondrop/actiondrop.yaml";
    std::error_code ec;
    return std::filesystem::exists(installed, ec) ? installed : std::filesystem::path{};
}

}  // namespace actiondrop::config
