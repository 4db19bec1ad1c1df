#include "pull/sftp/sftp_session.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>

#include "pull/secret_file.hpp"
#include "pull/sftp/cipher_choice.hpp"
#include "pull/sftp/sftp_handles.hpp"

namespace actiondrop::pull {

std::string_view to_string(SftpErrorKind kind) {
    switch (kind) {
        case SftpErrorKind::HostKeyUnknown:
            return "HostKeyUnknown";
        case SftpErrorKind::HostKeyChanged:
            return "HostKeyChanged";
        case SftpErrorKind::HostKeyOther:
            return "HostKeyOther";
        case SftpErrorKind::AuthFailed:
            return "AuthFailed";
        case SftpErrorKind::CredentialUnusable:
            return "CredentialUnusable";
        case SftpErrorKind::ConnectFailed:
            return "ConnectFailed";
        case SftpErrorKind::Timeout:
            return "Timeout";
        case SftpErrorKind::Protocol:
            return "Protocol";
        case SftpErrorKind::NotFound:
            return "NotFound";
        case SftpErrorKind::PermissionDenied:
            return "PermissionDenied";
        case SftpErrorKind::Refused:
            return "Refused";
        case SftpErrorKind::ChangedWhileReading:
            return "ChangedWhileReading";
        case SftpErrorKind::TooLarge:
            return "TooLarge";
    }
    return "Unknown";
}

SftpError make_error(SftpErrorKind kind, std::string message) {
    return SftpError{kind, std::move(message), {}, {}};
}

namespace {

struct Watchdog {
    std::mutex mutex;
    std::condition_variable wake;
    std::set<StallGuard*> guards;
    bool started = false;
};

// Never destroyed: its detached thread may wait on it until the process ends.
Watchdog& watchdog() {
    static Watchdog* const w = new Watchdog;
    return *w;
}

}  // namespace

StallGuard::StallGuard() {
    Watchdog& w = watchdog();
    std::lock_guard lock(w.mutex);
    w.guards.insert(this);
    if (!w.started) {
        std::thread(&StallGuard::watch_all).detach();
        w.started = true;
    }
}

StallGuard::~StallGuard() {
    Watchdog& w = watchdog();
    std::lock_guard lock(w.mutex);
    w.guards.erase(this);
}

void StallGuard::watch(int fd, std::chrono::milliseconds limit) {
    Watchdog& w = watchdog();
    {
        std::lock_guard lock(w.mutex);
        fd_ = fd;
        limit_ = limit;
        deadline_ = std::chrono::steady_clock::now() + limit;
        watching_ = true;
        if (interrupted_ && fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
    }
    w.wake.notify_one();
}

void StallGuard::interrupt() {
    // The socket stays open until the session is freed, on the puller's thread, which
    // first clears its pointer to the folder (Puller::run, `use(nullptr)`, under the mutex
    // Puller::stop holds while it calls this): shutting it down here cannot touch a
    // descriptor reused by something else.
    std::lock_guard lock(watchdog().mutex);
    interrupted_ = true;
    fired_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void StallGuard::feed() {
    std::lock_guard lock(watchdog().mutex);
    deadline_ = std::chrono::steady_clock::now() + limit_;
}

void StallGuard::stop() {
    std::lock_guard lock(watchdog().mutex);
    watching_ = false;
}

bool StallGuard::fired() const {
    std::lock_guard lock(watchdog().mutex);
    return fired_;
}

void StallGuard::watch_all() {
    Watchdog& w = watchdog();
    std::unique_lock lock(w.mutex);
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        std::optional<std::chrono::steady_clock::time_point> next;
        for (StallGuard* g : w.guards) {
            if (!g->watching_) continue;
            if (now >= g->deadline_) {
                if (g->fd_ >= 0) ::shutdown(g->fd_, SHUT_RDWR);
                g->fired_ = true;
                g->watching_ = false;
            } else if (!next || g->deadline_ < *next) {
                next = g->deadline_;  // feed() only moves a deadline later
            }
        }
        if (next)
            w.wake.wait_until(lock, *next);
        else
            w.wake.wait(lock);
    }
}

SftpSession::Handles::~Handles() {
    if (sftp != nullptr) sftp_free(sftp);
    if (ssh != nullptr) {
        ssh_disconnect(ssh);
        ssh_free(ssh);
    }
}

void SftpSession::Handles::break_connection() {
    // shutdown, not ssh_disconnect: the latter frees the channel the SFTP handles still use.
    if (!broken && ssh != nullptr && ssh_get_fd(ssh) >= 0) ::shutdown(ssh_get_fd(ssh), SHUT_RDWR);
    broken = true;
}

namespace {

bool mentions_timeout(std::string_view text) {
    return text.find("imeout") != std::string_view::npos ||
           text.find("timed out") != std::string_view::npos;
}

}  // namespace

SftpError SftpSession::Handles::failure(const std::string& what) {
    std::string detail = ssh != nullptr ? ssh_get_error(ssh) : "no session";
    std::string message = detail.empty() ? what : what + ": " + detail;
    if (guard.fired()) {
        break_connection();
        return make_error(SftpErrorKind::Timeout, "the server went silent while " + what);
    }
    if (broken || ssh == nullptr || ssh_is_connected(ssh) == 0) {
        break_connection();
        return make_error(
            mentions_timeout(detail) ? SftpErrorKind::Timeout : SftpErrorKind::ConnectFailed,
            "connection lost while " + message);
    }
    switch (sftp != nullptr ? sftp_get_error(sftp) : SSH_FX_FAILURE) {
        case SSH_FX_NO_SUCH_FILE:
        case SSH_FX_NO_SUCH_PATH:
            return make_error(SftpErrorKind::NotFound, message);
        case SSH_FX_PERMISSION_DENIED:
        case SSH_FX_WRITE_PROTECT:
            return make_error(SftpErrorKind::PermissionDenied, message);
        case SSH_FX_BAD_MESSAGE:
        case SSH_FX_OP_UNSUPPORTED:
            return make_error(SftpErrorKind::Protocol, message);
        case SSH_FX_NO_CONNECTION:
        case SSH_FX_CONNECTION_LOST:
            break_connection();
            return make_error(SftpErrorKind::ConnectFailed, "connection lost while " + message);
        default:
            return make_error(SftpErrorKind::Refused, message);
    }
}

namespace {

struct KeyDeleter {
    void operator()(ssh_key key) const { ssh_key_free(key); }
};
using KeyPtr = std::unique_ptr<std::remove_pointer_t<ssh_key>, KeyDeleter>;

// What a session logs in with: a key, or a password wiped when it goes.
struct Credentials {
    KeyPtr key;
    Secret password;
};

SftpResult<void> load_credentials(const SftpEndpoint& endpoint, Credentials& out) {
    if (!endpoint.identity_file.empty()) {
        // Read through the descriptor that was checked (pull/secret_file.hpp), then parsed
        // from memory: the file checked is the file used.
        Secret text;
        if (auto read = read_secret_file(endpoint.identity_file, text); !read)
            return std::unexpected(make_error(
                SftpErrorKind::CredentialUnusable,
                "identity file " + endpoint.identity_file.string() + " " + read.error()));
        ssh_key key = nullptr;
        if (ssh_pki_import_privkey_base64(text.text.c_str(), nullptr, nullptr, nullptr, &key) !=
            SSH_OK)
            return std::unexpected(make_error(SftpErrorKind::CredentialUnusable,
                                              "identity file " + endpoint.identity_file.string() +
                                                  " is not a private key without passphrase"));
        out.key.reset(key);
        return {};
    }
    if (!endpoint.password_file.empty()) {
        if (auto read = read_password_file(endpoint.password_file, out.password); !read)
            return std::unexpected(make_error(
                SftpErrorKind::CredentialUnusable,
                "password file " + endpoint.password_file.string() + " " + read.error()));
        return {};
    }
    return std::unexpected(make_error(SftpErrorKind::CredentialUnusable,
                                      "neither identity_file nor password_file is set"));
}

std::string where(const SftpEndpoint& endpoint) {
    return fmt::format("{}@{}:{}", endpoint.user, endpoint.host, endpoint.port);
}

// The key the server offered, as OpenSSH prints it, and the known_hosts line enrolling it.
void describe_offered_key(ssh_session ssh, SftpError& error) {
    ssh_key key = nullptr;
    if (ssh_get_server_publickey(ssh, &key) != SSH_OK) return;
    KeyPtr owned(key);
    unsigned char* hash = nullptr;
    size_t hash_length = 0;
    if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hash_length) == 0) {
        if (char* text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hash_length)) {
            error.fingerprint = text;
            ssh_string_free_char(text);
        }
        ssh_clean_pubkey_hash(&hash);
    }
    char* line = nullptr;
    if (ssh_session_export_known_hosts_entry(ssh, &line) == SSH_OK && line != nullptr) {
        error.known_hosts_line = line;
        ssh_string_free_char(line);
    }
    error.message += fmt::format(" (offered {} key {})", ssh_key_type_to_char(ssh_key_type(key)),
                                 error.fingerprint);
}

SftpResult<void> check_host_key(ssh_session ssh, const SftpEndpoint& endpoint) {
    SftpErrorKind kind;
    std::string message;
    switch (ssh_session_is_known_server(ssh)) {
        case SSH_KNOWN_HOSTS_OK:
            return {};
        case SSH_KNOWN_HOSTS_UNKNOWN:
        case SSH_KNOWN_HOSTS_NOT_FOUND:
            kind = SftpErrorKind::HostKeyUnknown;
            message =
                fmt::format("host key of {} is not in {}; not connecting until it is enrolled",
                            where(endpoint), endpoint.known_hosts.string());
            break;
        case SSH_KNOWN_HOSTS_CHANGED:
            kind = SftpErrorKind::HostKeyChanged;
            message = fmt::format(
                "HOST KEY OF {} HAS CHANGED from the one in {}: someone may be intercepting the "
                "connection; not connecting",
                where(endpoint), endpoint.known_hosts.string());
            break;
        case SSH_KNOWN_HOSTS_OTHER:
            kind = SftpErrorKind::HostKeyOther;
            message = fmt::format(
                "{} offered a host key of a type that {} does not hold for it; not connecting",
                where(endpoint), endpoint.known_hosts.string());
            break;
        default:
            return std::unexpected(make_error(
                SftpErrorKind::Protocol,
                fmt::format("cannot check the host key of {} against {}: {}", where(endpoint),
                            endpoint.known_hosts.string(), ssh_get_error(ssh))));
    }
    SftpError error = make_error(kind, std::move(message));
    describe_offered_key(ssh, error);
    return std::unexpected(std::move(error));
}

void set_timeout(ssh_session ssh, std::chrono::milliseconds timeout) {
    long seconds = static_cast<long>(timeout.count() / 1000);
    long micros = static_cast<long>(timeout.count() % 1000) * 1000;
    ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &seconds);
    ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT_USEC, &micros);
}

}  // namespace

SftpSession::SftpSession(SftpEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
SftpSession::~SftpSession() = default;

void SftpSession::interrupt() {
    if (handles_ != nullptr) handles_->guard.interrupt();
}

bool SftpSession::connected() const {
    return handles_ != nullptr && !handles_->broken && !handles_->guard.fired();
}

void SftpSession::disconnect() { handles_.reset(); }

SftpResult<void> SftpSession::connect() {
    disconnect();
    if (endpoint_.known_hosts.empty())
        return std::unexpected(make_error(SftpErrorKind::CredentialUnusable,
                                          "known_hosts is mandatory for " + where(endpoint_)));
    Credentials credentials;
    if (auto loaded = load_credentials(endpoint_, credentials); !loaded) return loaded;

    auto handles = std::make_unique<Handles>();
    handles->ssh = ssh_new();
    if (handles->ssh == nullptr) throw std::bad_alloc();
    ssh_session ssh = handles->ssh;
    int no = 0, yes = 1, quiet = SSH_LOG_NOLOG;
    unsigned int port = static_cast<unsigned int>(endpoint_.port);
    // Nothing from ~/.ssh/config may change where we connect or which keys we trust.
    ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &no);
    ssh_options_set(ssh, SSH_OPTIONS_LOG_VERBOSITY, &quiet);
    ssh_options_set(ssh, SSH_OPTIONS_HOST, endpoint_.host.c_str());
    ssh_options_set(ssh, SSH_OPTIONS_PORT, &port);
    ssh_options_set(ssh, SSH_OPTIONS_USER, endpoint_.user.c_str());
    // Both point at the inbox's file, or /etc/ssh/ssh_known_hosts would be trusted too.
    ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, endpoint_.known_hosts.c_str());
    ssh_options_set(ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, endpoint_.known_hosts.c_str());
    // Without it libssh's small SFTP packets wait on Nagle's algorithm: 20 MB/s instead of 400.
    ssh_options_set(ssh, SSH_OPTIONS_NODELAY, &yes);
    // The faster of AES-GCM and chacha20-poly1305 on this machine first (cipher_choice.hpp):
    // which one costs less per byte depends on the CPU, and both are what OpenSSH offers.
    const char* ciphers = sftp_cipher_preference().c_str();
    ssh_options_set(ssh, SSH_OPTIONS_CIPHERS_C_S, ciphers);
    ssh_options_set(ssh, SSH_OPTIONS_CIPHERS_S_C, ciphers);
    set_timeout(ssh, endpoint_.connect_timeout);

    if (ssh_connect(ssh) != SSH_OK) {
        std::string detail = ssh_get_error(ssh);
        return std::unexpected(make_error(
            mentions_timeout(detail) ? SftpErrorKind::Timeout : SftpErrorKind::ConnectFailed,
            fmt::format("cannot connect to {}: {}", where(endpoint_), detail)));
    }
    Watch watch(handles->guard, handles->ssh, endpoint_.connect_timeout);
    // libssh does not look at the host key during ssh_connect: this is the check.
    if (auto known = check_host_key(ssh, endpoint_); !known) return known;

    int auth = credentials.key
                   ? ssh_userauth_publickey(ssh, nullptr, credentials.key.get())
                   : ssh_userauth_password(ssh, nullptr, credentials.password.text.c_str());
    if (auth == SSH_AUTH_DENIED || auth == SSH_AUTH_PARTIAL)
        return std::unexpected(
            make_error(SftpErrorKind::AuthFailed,
                       fmt::format("{} refused our {} from {}", where(endpoint_),
                                   credentials.key ? "key" : "password",
                                   credentials.key ? endpoint_.identity_file.string()
                                                   : endpoint_.password_file.string())));
    if (auth != SSH_AUTH_SUCCESS) return std::unexpected(handles->failure("authenticating"));

    set_timeout(ssh, endpoint_.io_timeout);
    handles->sftp = sftp_new(ssh);
    if (handles->sftp == nullptr) return std::unexpected(handles->failure("opening SFTP channel"));
    if (sftp_init(handles->sftp) != SSH_OK) {
        SftpError error = handles->failure("starting SFTP");
        if (error.kind == SftpErrorKind::Refused) error.kind = SftpErrorKind::Protocol;
        return std::unexpected(std::move(error));
    }
    handles_ = std::move(handles);
    return {};
}

namespace {

struct AttributesDeleter {
    void operator()(sftp_attributes a) const { sftp_attributes_free(a); }
};
using AttributesPtr = std::unique_ptr<sftp_attributes_struct, AttributesDeleter>;

RemoteType type_of(const sftp_attributes_struct& a) {
    switch (a.type) {
        case SSH_FILEXFER_TYPE_REGULAR:
            return RemoteType::RegularFile;
        case SSH_FILEXFER_TYPE_DIRECTORY:
            return RemoteType::Folder;
        case SSH_FILEXFER_TYPE_SYMLINK:
            return RemoteType::Symlink;
        default:
            return RemoteType::Other;
    }
}

RemoteEntry entry_of(const sftp_attributes_struct& a, std::string name) {
    RemoteEntry e;
    e.name = std::move(name);
    e.type = type_of(a);
    if ((a.flags & SSH_FILEXFER_ATTR_SIZE) != 0) e.size = static_cast<std::int64_t>(a.size);
    e.mtime = a.mtime64 != 0 ? static_cast<std::int64_t>(a.mtime64) : a.mtime;
    return e;
}

// Names come from the network: one with a '/' or a control character would let a server
// steer a path or a log line, so it is reported and never taken.
const char* unsafe_name(std::string_view name) {
    for (unsigned char c : name) {
        if (c == '/') return "'/' in name";
        if (c < 0x20 || c == 0x7f) return "control character in name";
    }
    return nullptr;
}

SftpError not_connected(const SftpEndpoint& endpoint) {
    return make_error(SftpErrorKind::ConnectFailed, "not connected to " + where(endpoint));
}

}  // namespace

SftpResult<RemoteListing> SftpSession::list(const std::string& folder, std::string_view pattern,
                                            std::size_t budget) {
    if (!connected()) return std::unexpected(not_connected(endpoint_));
    Watch watch(handles_->guard, handles_->ssh, endpoint_.io_timeout);
    sftp_dir dir = sftp_opendir(handles_->sftp, folder.c_str());
    if (dir == nullptr) return std::unexpected(handles_->failure("opening folder " + folder));
    std::string glob(pattern);
    RemoteListing listing;
    std::size_t seen = 0;
    // A server that sends each reply just before the silence timeout could hold the inbox in
    // one listing for hours: the whole listing has its own limit, after which the connection
    // counts as lost (docs/ingest.md, "What a hostile server can cost").
    const auto give_up = std::chrono::steady_clock::now() + endpoint_.list_timeout;
    while (seen < budget) {
        AttributesPtr attributes(sftp_readdir(handles_->sftp, dir));
        if (!attributes) break;
        handles_->guard.feed();
        if (std::chrono::steady_clock::now() > give_up) {
            handles_->break_connection();
            sftp_closedir(dir);  // fails at once: the connection is gone
            return std::unexpected(make_error(
                SftpErrorKind::Timeout,
                fmt::format("the listing of {} took longer than {} s", folder,
                            std::chrono::duration_cast<std::chrono::seconds>(endpoint_.list_timeout)
                                .count())));
        }
        ++seen;
        std::string_view name = attributes->name != nullptr ? attributes->name : "";
        if (name.empty() || name == "." || name == "..") continue;
        std::string owned(name);
        if (::fnmatch(glob.c_str(), owned.c_str(), FNM_PERIOD) != 0) continue;
        RemoteEntry entry = entry_of(*attributes, std::move(owned));
        if (const char* why = unsafe_name(entry.name))
            listing.skipped.push_back({std::move(entry), why});
        else if (entry.type == RemoteType::RegularFile)
            listing.files.push_back(std::move(entry));
        else {
            const char* reason = entry.type == RemoteType::Symlink  ? "symlink"
                                 : entry.type == RemoteType::Folder ? "folder"
                                                                    : "not a regular file";
            listing.skipped.push_back({std::move(entry), reason});
        }
    }
    listing.complete = sftp_dir_eof(dir) != 0;
    if (!listing.complete && seen < budget) {
        SftpError error = handles_->failure("reading folder " + folder);
        sftp_closedir(dir);  // fails at once when the connection is gone
        return std::unexpected(std::move(error));
    }
    if (sftp_closedir(dir) != SSH_NO_ERROR && !connected())
        return std::unexpected(handles_->failure("closing folder " + folder));
    return listing;
}

SftpResult<RemoteEntry> SftpSession::stat(const std::string& path) {
    if (!connected()) return std::unexpected(not_connected(endpoint_));
    Watch watch(handles_->guard, handles_->ssh, endpoint_.io_timeout);
    AttributesPtr attributes(sftp_lstat(handles_->sftp, path.c_str()));
    if (!attributes) return std::unexpected(handles_->failure("reading attributes of " + path));
    auto slash = path.find_last_of('/');
    return entry_of(*attributes, slash == std::string::npos ? path : path.substr(slash + 1));
}

SftpResult<void> SftpSession::ping() {
    auto entry = stat(".");
    if (!entry) return std::unexpected(std::move(entry.error()));
    return {};
}

SftpResult<void> SftpSession::rename(const std::string& from, const std::string& to) {
    if (!connected()) return std::unexpected(not_connected(endpoint_));
    Watch watch(handles_->guard, handles_->ssh, endpoint_.io_timeout);
    if (sftp_rename(handles_->sftp, from.c_str(), to.c_str()) != SSH_OK)
        return std::unexpected(handles_->failure("renaming " + from + " to " + to));
    return {};
}

SftpResult<void> SftpSession::remove(const std::string& path) {
    if (!connected()) return std::unexpected(not_connected(endpoint_));
    Watch watch(handles_->guard, handles_->ssh, endpoint_.io_timeout);
    if (sftp_unlink(handles_->sftp, path.c_str()) != SSH_OK)
        return std::unexpected(handles_->failure("removing " + path));
    return {};
}

SftpResult<void> SftpSession::ensure_folder(const std::string& path) {
    if (!connected()) return std::unexpected(not_connected(endpoint_));
    std::optional<SftpError> error;
    {
        Watch watch(handles_->guard, handles_->ssh, endpoint_.io_timeout);
        if (sftp_mkdir(handles_->sftp, path.c_str(), 0750) == SSH_OK) return {};
        error = handles_->failure("creating folder " + path);
    }
    if (!connected()) return std::unexpected(std::move(*error));
    // SFTP v3 servers answer a plain failure when the folder exists; look before judging.
    auto existing = stat(path);
    if (existing && existing->type == RemoteType::Folder) return {};
    return std::unexpected(std::move(*error));
}

}  // namespace actiondrop::pull
