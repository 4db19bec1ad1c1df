#pragma once
// The service configuration file /etc/actiondrop/actiondrop.yaml (docs/formats.md,
// "The service config file"; etc/actiondrop.yaml).
#include <chrono>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/config_error.hpp"

namespace actiondrop::config {

// The limits of a batch file, key by key those of batch::Limits (lib/batch/csv_reader.hpp),
// with the same defaults; README.md, "Limits", says what memory they bound.
struct FileLimits {
    std::int64_t max_file_bytes = 512LL * 1024 * 1024;
    std::int64_t max_rows = 5'000'000;
    std::int64_t max_line_bytes = 64 * 1024;
    std::int64_t max_record_bytes = 1024 * 1024;  // a record, quoted line breaks included
    std::int64_t max_fields = 2'000;              // fields of a record, the header's too
};

// Where an inbox's files come from, one struct per `kind:`. A new kind is a struct here, an
// alternative of InboxSource and a case in read_service_config(); a kind pulled from a server
// derives from RemoteSource, which is all the puller reads (lib/pull).

// kind: local, a folder of this machine that uploaders write into.
struct LocalSource {
    static constexpr std::string_view kind = "local";
    std::filesystem::path path;
    bool operator==(const LocalSource&) const = default;
};

// What every inbox pulled from a server has, whatever the protocol.
struct RemoteSource {
    std::string host;
    int port = 0;
    std::string user;
    std::string folder, result_folder, archive_folder;
    bool delete_after_pull = false;
    std::chrono::milliseconds poll_interval{60000};
    bool operator==(const RemoteSource&) const = default;
};

// kind: sftp.
struct SftpSource : RemoteSource {
    static constexpr std::string_view kind = "sftp";
    SftpSource() { port = 22; }
    std::filesystem::path identity_file, password_file, known_hosts;
    bool operator==(const SftpSource&) const = default;
};

// kind: ftp (README.md, "FTP pull inboxes"). TLS is on unless `tls: none` is written out;
// the server's certificate is checked against the system's CAs, `ca_file`, or a pinned
// SHA-256 fingerprint of the certificate (`sha256`, which replaces the CA check).
enum class FtpTls { Explicit, Implicit, None };
struct FtpSource : RemoteSource {
    static constexpr std::string_view kind = "ftp";
    FtpSource() { port = 21; }
    std::filesystem::path password_file;
    FtpTls tls = FtpTls::Explicit;
    std::filesystem::path ca_file;
    std::string sha256;  // 64 hex digits, lower case, colons removed; empty when not pinned
    bool operator==(const FtpSource&) const = default;
};

using InboxSource = std::variant<LocalSource, SftpSource, FtpSource>;

struct InboxConfig {
    std::string name;
    std::string account;
    std::string type = "modifications";  // modifications | conversions | funds_transfers
    InboxSource source;                  // by kind; local unless said otherwise
    std::filesystem::path outbox;        // local inboxes: where answers go
    // Not read from the file: set by the service for the local inbox it makes of a pulled
    // inbox's spool, whose outbox stages the answers its puller uploads.
    bool outbox_staged = false;
    std::string pattern = "*";
    std::chrono::milliseconds settle{2000};
    bool done_file = false;
    std::string duplicates = "reject";  // reject | reprocess
    bool all_or_nothing = false;
    // The account's invoices are also written into this inbox's outbox (a pulled inbox: its
    // result_folder, through the spool's `.outbox/`), docs/lifecycle.md, "Invoices in the
    // outboxes".
    bool send_invoices = false;
    FileLimits limits;

    // The `kind:` of the source ("local", "sftp", "ftp").
    std::string_view kind() const;
    // The local folder, or null when the inbox is pulled from a server.
    const LocalSource* local() const { return std::get_if<LocalSource>(&source); }
    // What every pulled kind has, or null for a local inbox.
    const RemoteSource* remote() const;
};

struct ServiceConfig {
    std::string store = "sqlite:/var/lib/actiondrop/ledger.db";
    std::filesystem::path state_dir = "/var/lib/actiondrop";
    int workers = 2;
    std::string metrics_listen = "127.0.0.1:9464";
    std::chrono::milliseconds lifecycle_interval{60000};
    std::chrono::milliseconds sweep_interval{5000};
    // How long a pull inbox's claim holds without renewal before another service sharing the
    // store may take it over (docs/postgres.md, "Claims and leases").
    std::chrono::milliseconds pull_lease{120000};
    bool inotify = true;  // false: local inboxes are found by the sweep alone
    FileLimits limits;
    std::vector<InboxConfig> inboxes;

    const InboxConfig* inbox(std::string_view name) const;
};

// Parses durations ("500ms", "2s", "5m", "1h") and sizes ("64KiB", "512MiB", "1GiB", or
// a plain byte count).
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<std::int64_t> parse_size(std::string_view text);

// The config file to read: `option` (--config) when given, else $ACTIONDROP_CONFIG, else
// /etc/actiondrop/actiondrop.yaml when it exists; empty means the built-in defaults.
std::filesystem::path locate_service_config(std::string_view option);

// Reads and validates the file: unknown keys, duplicate keys, bad values, duplicate
// inbox names, an outbox that is its inbox or inside it (as written, or once symlinks are
// followed), a metrics address the daemon would not listen on: each an error naming file,
// line and key. Relative paths are resolved against the config file's folder.
std::expected<ServiceConfig, std::vector<ConfigError>> read_service_config(
    const std::filesystem::path& file);

}  // namespace actiondrop::config
