#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <random>

#include "config/service_config.hpp"
#include "config_test_support.hpp"

using namespace actiondrop::config;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A config file in a fresh folder, removed at the end of the test.
class ConfigFile {
public:
    explicit ConfigFile(std::string_view yaml) {
        std::random_device rd;
        folder_ = fs::temp_directory_path() / ("actiondrop-config-" + std::to_string(rd()));
        fs::create_directories(folder_);
        std::ofstream(path()) << yaml;
    }
    ~ConfigFile() { fs::remove_all(folder_); }
    fs::path path() const { return folder_ / "actiondrop.yaml"; }
    const fs::path& folder() const { return folder_; }

private:
    fs::path folder_;
};

std::vector<ConfigError> errors_of(std::string_view yaml) {
    ConfigFile file(yaml);
    auto result = read_service_config(file.path());
    REQUIRE_FALSE(result.has_value());
    for (const ConfigError& e : result.error()) CHECK(e.file == file.path().string());
    return result.error();
}

constexpr std::string_view kLocalInbox = R"(
  - {name: drop, account: "1000", kind: local, path: /srv/in, outbox: /srv/out}
)";

}  // namespace

TEST_CASE("service config: durations") {
    CHECK(parse_duration("500ms") == 500ms);
    CHECK(parse_duration("2s") == 2000ms);
    CHECK(parse_duration("5m") == 300'000ms);
    CHECK(parse_duration("1h") == 3'600'000ms);
    CHECK(parse_duration("0s") == 0ms);
    CHECK_FALSE(parse_duration(""));
    CHECK_FALSE(parse_duration("5"));  // a unit is required: seconds or milliseconds?
    CHECK_FALSE(parse_duration("1.5s"));
    CHECK_FALSE(parse_duration("-1s"));
    CHECK_FALSE(parse_duration("2 s"));
    CHECK_FALSE(parse_duration("2sec"));
    CHECK_FALSE(parse_duration("1d"));
    CHECK_FALSE(parse_duration("s"));
    CHECK_FALSE(parse_duration("9999999999999999h"));  // overflows milliseconds
}

TEST_CASE("service config: a duration longer than a year is refused at its key") {
    // Added to the monotonic clock's now, a duration of about 292 years overflowed it: the
    // service then woke at once, round after round.
    auto errors = errors_of(
        "sweep_interval: 2562048h\nlifecycle: {interval: 8761h}\n"
        "inboxes: []\n");
    CHECK_CONFIG_ERROR(errors, 1, "sweep_interval", "at most 8760h");
    CHECK_CONFIG_ERROR(errors, 2, "lifecycle.interval", "at most 8760h");
    ConfigFile year("sweep_interval: 8760h\ninboxes: []\n");
    CHECK(read_service_config(year.path()));
}

TEST_CASE("service config: sizes") {
    CHECK(parse_size("64KiB") == 64 * 1024);
    CHECK(parse_size("512MiB") == 512LL * 1024 * 1024);
    CHECK(parse_size("1GiB") == 1LL << 30);
    CHECK(parse_size("2TiB") == 2LL << 40);
    CHECK(parse_size("1048576") == 1048576);
    CHECK_FALSE(parse_size(""));
    CHECK_FALSE(parse_size("64KB"));  // KB or KiB? only the binary units are accepted
    CHECK_FALSE(parse_size("64k"));
    CHECK_FALSE(parse_size("1.5GiB"));
    CHECK_FALSE(parse_size("-1"));
    CHECK_FALSE(parse_size("MiB"));
    CHECK_FALSE(parse_size("99999999999999999999"));
    CHECK_FALSE(parse_size("9999999999TiB"));
}

TEST_CASE("service config: an empty file is refused, and a folder: a reload keeps the old config") {
    // A config emptied while it is edited would stop every inbox at the next SIGHUP; the
    // built-in defaults are for no config file at all (README.md, "The CLI").
    for (std::string_view text : {"", "\n  \n", "# only a comment\n", "---\n"}) {
        CAPTURE(text);
        auto errors = errors_of(text);
        REQUIRE(errors.size() == 1);
        CHECK(errors[0].message.find("the config is empty") != std::string::npos);
    }
    ConfigFile file("");
    auto folder = read_service_config(file.folder());
    REQUIRE_FALSE(folder);
    CHECK(folder.error().at(0).str().find("is a folder, not a config file") != std::string::npos);
}

TEST_CASE("service config: what a file leaves out is the default") {
    ConfigFile file("inboxes: []\n");
    auto c = read_service_config(file.path());
    REQUIRE(c);
    CHECK(c->store == "sqlite:/var/lib/actiondrop/ledger.db");
    CHECK(c->state_dir == "/var/lib/actiondrop");
    CHECK(c->workers == 2);
    CHECK(c->metrics_listen == "127.0.0.1:9464");
    CHECK(c->lifecycle_interval == 60s);
    CHECK(c->sweep_interval == 5s);
    CHECK(c->pull_lease == 2min);
    CHECK(c->limits.max_file_bytes == 512LL << 20);
    CHECK(c->inboxes.empty());
}

TEST_CASE("service config: the Appendix A example is read") {
    ConfigFile file(R"(store: sqlite:/var/lib/actiondrop/ledger.db   # or postgresql://user@host/db
state_dir: /var/lib/actiondrop
workers: 3
metrics: {listen: "127.0.0.1:9500"}
lifecycle: {interval: 30s}
sweep_interval: 500ms
limits: {max_file_bytes: 256MiB, max_rows: 1000, max_line_bytes: 32KiB}
inboxes:
  - {name: acme-drop, account: "1000", type: modifications, kind: local,
     path: /srv/actiondrop/1000/inbox, outbox: /srv/actiondrop/1000/outbox,
     pattern: "*.csv", settle: 2s, done_file: true, duplicates: reprocess, all_or_nothing: true,
     send_invoices: true, limits: {max_rows: 10}}
  - {name: acme-pull, account: "1000", type: conversions, kind: sftp,
     host: sftp.acme.example, port: 2222, user: actiondrop, identity_file: /etc/actiondrop/keys/acme,
     # or password_file: /etc/actiondrop/secrets/acme.password
     known_hosts: /etc/actiondrop/known_hosts, folder: /exports, pattern: "Conversions_*.csv",
     delete_after_pull: false, archive_folder: /exports/done, result_folder: /exports/results,
     poll_interval: 60s, settle: 10s}
)");
    auto c = read_service_config(file.path());
    INFO((c ? std::string() : test::all_errors(c.error())));
    REQUIRE(c);
    CHECK(c->workers == 3);
    CHECK(c->metrics_listen == "127.0.0.1:9500");
    CHECK(c->lifecycle_interval == 30s);
    CHECK(c->sweep_interval == 500ms);
    CHECK(c->limits.max_file_bytes == 256LL << 20);
    CHECK(c->limits.max_rows == 1000);
    REQUIRE(c->inboxes.size() == 2);
    const InboxConfig* drop = c->inbox("acme-drop");
    REQUIRE(drop != nullptr);
    REQUIRE(drop->local() != nullptr);
    CHECK(drop->local()->path == "/srv/actiondrop/1000/inbox");
    CHECK(drop->outbox == "/srv/actiondrop/1000/outbox");
    CHECK(drop->pattern == "*.csv");
    CHECK(drop->done_file);
    CHECK(drop->duplicates == "reprocess");
    CHECK(drop->all_or_nothing);
    CHECK(drop->send_invoices);
    // An inbox's limits override the global ones key by key.
    CHECK(drop->limits.max_rows == 10);
    CHECK(drop->limits.max_file_bytes == 256LL << 20);
    CHECK(drop->limits.max_line_bytes == 32 * 1024);
    const InboxConfig* pull = c->inbox("acme-pull");
    REQUIRE(pull != nullptr);
    CHECK(pull->type == "conversions");
    CHECK(pull->kind() == "sftp");
    REQUIRE(std::holds_alternative<SftpSource>(pull->source));
    const auto& sftp = std::get<SftpSource>(pull->source);
    CHECK(sftp.host == "sftp.acme.example");
    CHECK(sftp.port == 2222);
    CHECK(sftp.identity_file == "/etc/actiondrop/keys/acme");
    CHECK(sftp.known_hosts == "/etc/actiondrop/known_hosts");
    CHECK(sftp.folder == "/exports");
    CHECK(sftp.archive_folder == "/exports/done");
    CHECK(sftp.result_folder == "/exports/results");
    CHECK(sftp.poll_interval == 60s);
    CHECK(pull->settle == 10s);
    CHECK_FALSE(pull->send_invoices);  // the default
    CHECK(c->inbox("nope") == nullptr);
}

TEST_CASE("service config: relative paths are taken from the config file's folder") {
    ConfigFile file(R"(store: sqlite:db/ledger.db
state_dir: state
inboxes:
  - {name: drop, account: "1000", path: in, outbox: ./out/../results}
  - {name: pull, account: "1000", kind: sftp, host: h, user: u, password_file: secrets/pw,
     known_hosts: known_hosts, folder: exports, result_folder: exports/results}
)");
    auto c = read_service_config(file.path());
    INFO((c ? std::string() : test::all_errors(c.error())));
    REQUIRE(c);
    CHECK(c->store == "sqlite:" + (file.folder() / "db/ledger.db").string());
    CHECK(c->state_dir == file.folder() / "state");
    REQUIRE(c->inboxes[0].local() != nullptr);
    CHECK(c->inboxes[0].local()->path == file.folder() / "in");
    CHECK(c->inboxes[0].outbox == file.folder() / "results");
    CHECK(c->inboxes[0].type == "modifications");
    CHECK(c->inboxes[0].kind() == "local");
    REQUIRE(std::holds_alternative<SftpSource>(c->inboxes[1].source));
    const auto& sftp = std::get<SftpSource>(c->inboxes[1].source);
    CHECK(sftp.password_file == file.folder() / "secrets/pw");
    CHECK(sftp.known_hosts == file.folder() / "known_hosts");
    // Remote folders are the server's, not ours.
    CHECK(sftp.folder == "exports");
}

TEST_CASE("service config: PostgreSQL URLs are kept, a password in them is refused") {
    ConfigFile file(
        "store: postgresql://actiondrop@db.example/ledger?passfile=/etc/actiondrop/pgpass\n");
    auto c = read_service_config(file.path());
    REQUIRE(c);
    CHECK(c->store == "postgresql://actiondrop@db.example/ledger?passfile=/etc/actiondrop/pgpass");
    CHECK_CONFIG_ERROR(errors_of("store: postgresql://u:secret@db/ledger\n"), 1, "store",
                       "secrets are given only by file");
    CHECK_CONFIG_ERROR(errors_of("store: postgres://u@db/ledger?password=x\n"), 1, "store",
                       "secrets are given only by file");
    CHECK_CONFIG_ERROR(errors_of("store: mysql://db\n"), 1, "store",
                       "expected sqlite:PATH or postgresql://");
    CHECK_CONFIG_ERROR(errors_of("\nstore: 'sqlite:'\n"), 2, "store",
                       "sqlite: needs a database file");
}

TEST_CASE("service config: top-level values are checked") {
    auto errors = errors_of(R"(workers: 0
metrics: {listen: "localhost"}
lifecycle: {interval: 0s}
sweep_interval: 5 seconds
limits: {max_file_bytes: 1.5GiB, max_rows: lots, max_line_bytes: 0}
state_dir: ""
pull_lease: 500ms
)");
    CHECK_CONFIG_ERROR(errors, 1, "workers", "must be between 1 and 256");
    CHECK_CONFIG_ERROR(errors, 2, "metrics.listen", "expected HOST:PORT");
    CHECK_CONFIG_ERROR(errors, 3, "lifecycle.interval", "must be longer than 0");
    CHECK_CONFIG_ERROR(errors, 4, "sweep_interval", "expected a duration such as 500ms");
    CHECK_CONFIG_ERROR(errors, 5, "limits.max_file_bytes", "expected a size such as 64KiB");
    CHECK_CONFIG_ERROR(errors, 5, "limits.max_rows", "expected a whole number");
    CHECK_CONFIG_ERROR(errors, 5, "limits.max_line_bytes", "must be above 0");
    CHECK_CONFIG_ERROR(errors, 6, "state_dir", "a path is required here");
    CHECK_CONFIG_ERROR(errors, 7, "pull_lease", "expected at least 1s");
    CHECK(errors.size() == 9);
}

TEST_CASE("service config: metrics.listen is a loopback IP address, as the daemon serves it") {
    // The daemon's endpoint has no authentication and refuses any other address
    // (lib/observe/metrics_http.cpp); the check must refuse what the daemon would.
    for (std::string_view good :
         {"127.0.0.1:9464", "127.0.0.2:1", "localhost:9100", "[::1]:9464"}) {
        ConfigFile file("metrics: {listen: \"" + std::string(good) + "\"}\n");
        auto c = read_service_config(file.path());
        INFO(good << (c ? std::string() : "\n" + test::all_errors(c.error())));
        REQUIRE(c);
        CHECK(c->metrics_listen == good);
    }
    for (std::string_view open :
         {"0.0.0.0:9464", "192.0.2.7:9464", "[::]:9464", "[2001:db8::1]:1"}) {
        INFO(open);
        CHECK_CONFIG_ERROR(
            errors_of("workers: 2\nmetrics: {listen: \"" + std::string(open) + "\"}\n"), 2,
            "metrics.listen", "not a loopback address");
    }
    // Names are not resolved, and an IPv6 address needs its brackets.
    CHECK_CONFIG_ERROR(errors_of("metrics: {listen: \"metrics.example:9464\"}\n"), 1,
                       "metrics.listen", "an IP address");
    CHECK_CONFIG_ERROR(errors_of("metrics: {listen: \"::1:9464\"}\n"), 1, "metrics.listen",
                       "in brackets");
}

TEST_CASE("service config: unknown and duplicate keys") {
    auto errors = errors_of(R"(workers: 2
worker: 3
workers: 4
metrics: {listen: "127.0.0.1:1", port: 2}
inboxes:
  - {name: a, account: "1", path: /in, outbox: /out, outbx: /o, settle: 1s, settle: 2s}
)");
    CHECK_CONFIG_ERROR(errors, 2, "worker",
                       "unknown key (expected one of: store, state_dir, workers");
    CHECK_CONFIG_ERROR(errors, 3, "workers", "duplicate key (first written at line 1)");
    CHECK_CONFIG_ERROR(errors, 4, "metrics.port", "unknown key");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[0].outbx", "unknown key");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[0].settle", "duplicate key");
    // The keys refused with a message of their own (a secret) are not offered.
    const auto* outbx = test::find_error(errors, "inboxes[0].outbx", "unknown key");
    REQUIRE(outbx != nullptr);
    CHECK(outbx->message.find("password_file") != std::string::npos);
    CHECK(outbx->message.find("password,") == std::string::npos);
    CHECK(outbx->message.find("private_key") == std::string::npos);
    CHECK(errors[0].str().starts_with(errors[0].file + ":2:1: worker: unknown key"));
}

TEST_CASE("service config: syntax errors and a missing file") {
    auto errors = errors_of("workers: 2\ninboxes: [\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.starts_with("YAML syntax"));
    CHECK(errors[0].line >= 2);
    auto missing = read_service_config("/nonexistent/actiondrop.yaml");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().at(0).str() ==
          "/nonexistent/actiondrop.yaml: cannot open: No such file or directory");
    CHECK_CONFIG_ERROR(errors_of("[1, 2]\n"), 1, "", "expected a mapping");
}

TEST_CASE("service config: inbox names are required, safe and unique") {
    auto errors = errors_of(std::string("inboxes:") + std::string(kLocalInbox) +
                            R"(  - {name: drop, account: "2", path: /a, outbox: /b}
  - {name: ../etc, account: "2", path: /c, outbox: /d}
  - {account: "2", path: /e, outbox: /f}
  - {name: x, path: /g, outbox: /h}
)");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[1].name", "inbox name 'drop' is used twice");
    CHECK_CONFIG_ERROR(errors, 4, "inboxes[2].name", "an inbox name is 1-64 letters");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[3].name", "missing required key");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[4].account", "missing required key");
}

TEST_CASE("service config: inbox type, kind, duplicates and flags are validated") {
    auto errors = errors_of(R"(inboxes:
  - name: a
    account: "1"
    type: modification
    kind: ftps
    duplicates: ignore
    done_file: sometimes
    all_or_nothing: 1
    pattern: "in/*.csv"
    settle: fast
)");
    CHECK_CONFIG_ERROR(errors, 4, "inboxes[0].type",
                       "expected one of modifications, conversions, funds_transfers");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[0].kind", "expected one of local, sftp, ftp");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[0].duplicates", "expected one of reject, reprocess");
    CHECK_CONFIG_ERROR(errors, 7, "inboxes[0].done_file", "expected true or false");
    CHECK_CONFIG_ERROR(errors, 8, "inboxes[0].all_or_nothing", "expected true or false");
    CHECK_CONFIG_ERROR(errors, 9, "inboxes[0].pattern", "no '/'");
    CHECK_CONFIG_ERROR(errors, 10, "inboxes[0].settle", "expected a duration");
}

TEST_CASE(
    "service config: send_invoices is a boolean of local and sftp inboxes, false by default") {
    ConfigFile file(R"(inboxes:
  - {name: a, account: "1", path: /srv/a, outbox: /srv/a-out, send_invoices: true}
  - {name: b, account: "1", path: /srv/b, outbox: /srv/b-out}
  - {name: c, account: "1", path: /srv/c, outbox: /srv/c-out, send_invoices: false}
  - {name: d, account: "1", kind: sftp, host: h, user: u, identity_file: /k, known_hosts: /kh,
     folder: /in, result_folder: /out, send_invoices: true}
)");
    auto c = read_service_config(file.path());
    INFO((c ? std::string() : test::all_errors(c.error())));
    REQUIRE(c);
    CHECK(c->inbox("a")->send_invoices);
    CHECK_FALSE(c->inbox("b")->send_invoices);
    CHECK_FALSE(c->inbox("c")->send_invoices);
    // A pulled inbox sends them to its result_folder (docs/lifecycle.md).
    CHECK(c->inbox("d")->send_invoices);

    auto errors = errors_of(R"(inboxes:
  - {name: a, account: "1", path: /srv/a, outbox: /srv/a-out,
     send_invoices: yes please}
  - {name: b, account: "1", path: /srv/b, outbox: /srv/b-out, send_invoices: true,
     send_invoices: false}
)");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].send_invoices", "expected true or false");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[1].send_invoices", "duplicate key");
}

TEST_CASE("service config: a local inbox needs its folders, and the outbox is not the inbox") {
    auto errors = errors_of(R"(inboxes:
  - {name: a, account: "1", path: /srv/in, outbox: /srv/in}
  - {name: b, account: "1", path: /srv/in2/, outbox: /srv/in2/results}
  - {name: c, account: "1", path: /srv/x}
  - {name: d, account: "1", path: /srv/in, outbox: /srv/inbox-results}
  - {name: e, account: "1", path: /srv/in3, outbox: /srv/out, host: h}
)");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].outbox",
                       "must not be the inbox or a folder inside it");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[1].outbox",
                       "must not be the inbox or a folder inside it");
    CHECK_CONFIG_ERROR(errors, 4, "inboxes[2].outbox", "missing required key");
    // A sibling whose name merely starts like the inbox is fine; reusing the folder is not.
    CHECK(test::find_error(errors, "inboxes[3].outbox", "") == nullptr);
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[3].path", "already inbox 'a'");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[4].host", "applies only to kind: sftp");
}

TEST_CASE("service config: an outbox that resolves to the inbox, or into it, is refused") {
    // A symlink, a symlinked parent or a bind mount is the inbox under another name: answers
    // written there would be taken as uploads (docs/formats.md, "The service config file").
    ConfigFile file("");
    const fs::path in = file.folder() / "in";
    fs::create_directories(in / "sub");
    fs::create_directories(file.folder() / "elsewhere");
    fs::create_directories(file.folder() / "in2");
    fs::create_directory_symlink(in, file.folder() / "in-link");
    fs::create_directory_symlink(file.folder(), file.folder() / "here");
    fs::create_directory_symlink(in / "sub", file.folder() / "sub-link");
    fs::create_directory_symlink(file.folder() / "elsewhere", file.folder() / "out-link");
    std::ofstream(file.path()) << "inboxes:\n"
                                  "  - {name: a, account: \"1\", path: in, outbox: in-link}\n"
                                  "  - {name: b, account: \"1\", path: in-link/../in, outbox: "
                                  "here/in}\n"
                                  "  - {name: c, account: \"1\", path: in-link, outbox: sub-link}\n"
                                  "  - {name: d, account: \"1\", path: in, outbox: "
                                  "here/in/not-yet}\n"
                                  "  - {name: e, account: \"1\", path: in2, outbox: out-link}\n";
    auto read = read_service_config(file.path());
    REQUIRE_FALSE(read.has_value());
    const auto& errors = read.error();
    for (int i = 0; i < 4; ++i) {
        const std::string key = "inboxes[" + std::to_string(i) + "].outbox";
        INFO(key);
        CHECK_CONFIG_ERROR(errors, i + 2, key, "must not be the inbox or a folder inside it");
        const ConfigError* e = test::find_error(errors, key, "");
        REQUIRE(e != nullptr);
        CHECK(e->file == file.path().string());
    }
    // A link to a folder that is not the inbox is an outbox like any other.
    CHECK(test::find_error(errors, "inboxes[4].outbox", "") == nullptr);
}

TEST_CASE("service config: each inbox has folders of its own, which hold no secret and no state") {
    // Whoever uploads to an inbox owns everything under its folder: another inbox's folder
    // or outbox there would let them upload for another account or read its answers; a
    // shared outbox mixes two inboxes' answers; the ledger, the state folder or a secret file
    // there would be theirs to read or change (docs/formats.md, "The service config file").
    ConfigFile file("");
    const fs::path root = file.folder();
    fs::create_directories(root / "a");
    fs::create_directories(root / "e");
    fs::create_directory_symlink(root / "a", root / "a-link");
    std::ofstream(file.path())
        << "state_dir: a-out/state\n"
           "store: sqlite:e-out/ledger.db\n"
           "inboxes:\n"
           "  - {name: a, account: \"1\", path: a, outbox: a-out}\n"
           "  - {name: b, account: \"2\", path: a/b, outbox: b-out}\n"
           "  - {name: c, account: \"2\", path: c, outbox: a-link/c-out}\n"
           "  - {name: d, account: \"1\", path: d, outbox: a-out}\n"
           "  - {name: e, account: \"3\", path: e, outbox: e-out}\n"
           "  - {name: f, account: \"3\", kind: sftp, host: h, user: u, known_hosts: kh,\n"
           "     password_file: e/password, folder: /x, result_folder: /y}\n"
           "  - {name: g, account: \"4\", path: g, outbox: g-out}\n"
           "  - {name: h, account: \"4\", path: g-out/../h, outbox: h-out}\n";
    auto read = read_service_config(file.path());
    REQUIRE_FALSE(read.has_value());
    const auto& errors = read.error();
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[1].path", "inside inbox 'a''s folder");
    CHECK_CONFIG_ERROR(errors, 6, "inboxes[2].outbox", "inside inbox 'a''s folder");
    CHECK_CONFIG_ERROR(errors, 7, "inboxes[3].outbox", "is inbox 'a''s outbox");
    CHECK_CONFIG_ERROR(errors, 4, "inboxes[0].outbox", "holds the state folder");
    CHECK_CONFIG_ERROR(errors, 8, "inboxes[4].outbox", "holds the SQLite ledger");
    CHECK_CONFIG_ERROR(errors, 10, "inboxes[5].password_file", "inside inbox 'e''s folder");
    // Folders side by side are fine, however they are spelled.
    for (const char* key :
         {"inboxes[6].path", "inboxes[6].outbox", "inboxes[7].path", "inboxes[7].outbox"})
        CHECK(test::find_error(errors, key, "") == nullptr);
    for (const ConfigError& e : errors) CHECK(e.file == file.path().string());
}

TEST_CASE("service config: the pulled folder is recognised however it is spelled") {
    auto errors = errors_of(R"(inboxes:
  - {name: a, account: "1", kind: sftp, host: h, user: u, known_hosts: /kh, password_file: /p,
     folder: /in, result_folder: /in/., archive_folder: //x/../in/}
  - {name: b, account: "1", kind: ftp, host: h, user: u, password_file: /p,
     folder: exports, result_folder: ./exports//}
  - {name: c, account: "1", kind: sftp, host: h, user: u, known_hosts: /kh, password_file: /p,
     folder: /in, result_folder: /in/out, archive_folder: in}
)");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].result_folder",
                       "must not be the folder we pull from");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].archive_folder",
                       "must not be the folder we pull from");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[1].result_folder",
                       "must not be the folder we pull from");
    // A folder inside it, or a relative one (the login folder is the server's), is another.
    CHECK(test::find_error(errors, "inboxes[2].result_folder", "") == nullptr);
    CHECK(test::find_error(errors, "inboxes[2].archive_folder", "") == nullptr);
}

TEST_CASE(
    "service config: an sftp inbox needs host, user, known_hosts, one secret file and distinct "
    "folders") {
    auto errors = errors_of(R"(inboxes:
  - name: a
    account: "1"
    kind: sftp
    port: 70000
    identity_file: /k
    password_file: /p
    folder: /exports/
    result_folder: /exports
    archive_folder: /exports
    delete_after_pull: true
    poll_interval: 0s
    path: /local
  - {name: b, account: "1", kind: sftp, host: h, user: u, known_hosts: /kh, folder: /x, result_folder: /y,
     password: hunter2}
)");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].host", "missing required key");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].user", "missing required key");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].known_hosts", "missing required key");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0]", "exactly one of identity_file or password_file");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[0].port", "between 1 and 65535");
    CHECK_CONFIG_ERROR(errors, 9, "inboxes[0].result_folder",
                       "must not be the folder we pull from");
    CHECK_CONFIG_ERROR(errors, 10, "inboxes[0].archive_folder",
                       "must not be the folder we pull from");
    CHECK_CONFIG_ERROR(errors, 11, "inboxes[0].delete_after_pull", "exclude each other");
    CHECK_CONFIG_ERROR(errors, 12, "inboxes[0].poll_interval", "must be longer than 0");
    CHECK_CONFIG_ERROR(errors, 13, "inboxes[0].path", "applies only to kind: local");
    CHECK_CONFIG_ERROR(errors, 14, "inboxes[1]", "exactly one of identity_file or password_file");
    CHECK_CONFIG_ERROR(errors, 15, "inboxes[1].password", "secrets are given only as file paths");
}

TEST_CASE("service config: record limits, their defaults, and an inbox's own") {
    ConfigFile defaults("inboxes: []\n");
    auto d = read_service_config(defaults.path());
    REQUIRE(d);
    CHECK(d->limits.max_record_bytes == 1LL << 20);
    CHECK(d->limits.max_fields == 2000);

    ConfigFile file(R"(limits: {max_record_bytes: 256KiB, max_fields: 600}
inboxes:
  - {name: a, account: "1", path: /in/a, outbox: /out/a, limits: {max_fields: 900}}
  - {name: b, account: "1", path: /in/b, outbox: /out/b, limits: {max_record_bytes: 4MiB, max_rows: 5}}
)");
    auto c = read_service_config(file.path());
    INFO((c ? std::string() : test::all_errors(c.error())));
    REQUIRE(c);
    CHECK(c->limits.max_record_bytes == 256 * 1024);
    CHECK(c->limits.max_fields == 600);
    const InboxConfig* a = c->inbox("a");
    REQUIRE(a != nullptr);
    CHECK(a->limits.max_record_bytes == 256 * 1024);
    CHECK(a->limits.max_fields == 900);
    const InboxConfig* b = c->inbox("b");
    REQUIRE(b != nullptr);
    CHECK(b->limits.max_record_bytes == 4LL << 20);
    CHECK(b->limits.max_fields == 600);
    CHECK(b->limits.max_rows == 5);

    auto errors = errors_of(R"(limits: {max_record_bytes: 0, max_fields: 0}
inboxes:
  - {name: a, account: "1", path: /in, outbox: /out, limits: {max_record_bytes: 1MB, max_fields: many}}
)");
    CHECK_CONFIG_ERROR(errors, 1, "limits.max_record_bytes", "must be above 0");
    CHECK_CONFIG_ERROR(errors, 1, "limits.max_fields", "between 1 and");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].limits.max_record_bytes",
                       "expected a size such as 64KiB");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].limits.max_fields", "expected a whole number");
    CHECK(errors.size() == 4);
}

TEST_CASE("service config: inbox limits are checked like the global ones") {
    auto errors = errors_of(R"(inboxes:
  - {name: a, account: "1", path: /in, outbox: /out, limits: {max_rows: 0, max_bytes: 1}}
)");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].limits.max_rows", "between 1 and");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].limits.max_bytes", "unknown key");
}

TEST_CASE("service config: --config wins, then $ACTIONDROP_CONFIG") {
    ::setenv("ACTIONDROP_CONFIG", "/from/env.yaml", 1);
    CHECK(locate_service_config("/given.yaml") == std::filesystem::path("/given.yaml"));
    CHECK(locate_service_config("") == std::filesystem::path("/from/env.yaml"));
    ::unsetenv("ACTIONDROP_CONFIG");
    auto fallback = locate_service_config("");
    CHECK(
        (fallback.empty() || fallback == std::filesystem::path("/etc/actiondrop/actiondrop.yaml")));
}

TEST_CASE(
    "service config: kind ftp has TLS unless written out, a CA file or a pinned fingerprint") {
    ConfigFile file(R"(inboxes:
  - {name: a, account: "1", kind: ftp, host: ftp.example, user: u, password_file: /pw,
     folder: /exports, result_folder: /results}
  - {name: b, account: "1", kind: ftp, host: ftp.example, user: u, password_file: /pw,
     folder: /exports, result_folder: /results, tls: implicit,
     sha256: "AB:cd:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab"}
  - {name: c, account: "1", kind: ftp, host: ftp.example, port: 2121, user: u, password_file: /pw,
     folder: /exports, result_folder: /results, tls: none, delete_after_pull: true}
  - {name: d, account: "1", kind: ftp, host: ftp.example, user: u, password_file: /pw,
     folder: /exports, result_folder: /results, ca_file: /etc/ca.pem}
)");
    auto c = read_service_config(file.path());
    INFO((c ? std::string() : test::all_errors(c.error())));
    REQUIRE(c);
    REQUIRE(c->inboxes.size() == 4);
    const auto& a = std::get<FtpSource>(c->inboxes[0].source);
    CHECK(c->inboxes[0].kind() == "ftp");
    CHECK(c->inboxes[0].remote() == &a);
    CHECK(a.tls == FtpTls::Explicit);
    CHECK(a.port == 21);
    CHECK(a.password_file == "/pw");
    CHECK(a.sha256.empty());
    const auto& b = std::get<FtpSource>(c->inboxes[1].source);
    CHECK(b.tls == FtpTls::Implicit);
    CHECK(b.port == 990);
    CHECK(b.sha256 == "abcd0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab");
    const auto& cc = std::get<FtpSource>(c->inboxes[2].source);
    CHECK(cc.tls == FtpTls::None);
    CHECK(cc.port == 2121);
    CHECK(cc.delete_after_pull);
    CHECK(std::get<FtpSource>(c->inboxes[3].source).ca_file == "/etc/ca.pem");
}

TEST_CASE("service config: kind ftp refuses what it cannot use") {
    auto errors = errors_of(R"(inboxes:
  - {name: a, account: "1", kind: ftp, host: h, user: u, folder: /x, result_folder: /r,
     identity_file: /k, known_hosts: /kh}
  - {name: b, account: "1", kind: ftp, host: h, user: u, password_file: /pw, folder: /x,
     result_folder: /r, tls: maybe, sha256: "12:34"}
  - {name: c, account: "1", kind: ftp, host: h, user: u, password_file: /pw, folder: /x,
     result_folder: /r, tls: none, ca_file: /ca.pem}
  - {name: d, account: "1", kind: sftp, host: h, user: u, password_file: /pw, known_hosts: /kh,
     folder: /x, result_folder: /r, tls: explicit}
)");
    CHECK_CONFIG_ERROR(errors, 2, "inboxes[0].password_file", "missing required key");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].identity_file", "applies only to kind: sftp");
    CHECK_CONFIG_ERROR(errors, 3, "inboxes[0].known_hosts", "applies only to kind: sftp");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[1].tls", "expected one of explicit, implicit, none");
    CHECK_CONFIG_ERROR(errors, 5, "inboxes[1].sha256", "64 hex digits");
    CHECK_CONFIG_ERROR(errors, 7, "inboxes[2].tls", "tls: none checks no certificate");
    CHECK_CONFIG_ERROR(errors, 9, "inboxes[3].tls", "applies only to kind: ftp");
}

TEST_CASE("service config: pull_lease sets how long a pull's claim holds without renewal") {
    ConfigFile file("pull_lease: 30s\n");
    auto c = read_service_config(file.path());
    REQUIRE(c);
    CHECK(c->pull_lease == 30s);
}
