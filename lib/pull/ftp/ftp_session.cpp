#include "pull/ftp/ftp_session.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fnmatch.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>

#include "pull/ftp/ftp_listing.hpp"
#include "pull/local_copy.hpp"
#include "pull/secret_file.hpp"

namespace actiondrop::pull {

namespace {

void global_init() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

RemoteError error(RemoteErrorKind kind, std::string message) {
    return RemoteError{kind, std::move(message)};
}

// Percent-encodes a remote path for a URL; a leading '/' becomes %2F, which is how an FTP
// URL names an absolute path (RFC 1738), and libcurl then sends it as written.
std::string url_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    if (path.starts_with('/')) {
        out = "%2F";
        path.remove_prefix(1);
    }
    for (unsigned char c : path) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// A path goes into an FTP command line as it is: a CR or LF would end the command and start
// another, so a path holding one is never sent.
bool sendable(std::string_view path) {
    return path.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

const char* unsafe_name(std::string_view name) {
    for (unsigned char c : name) {
        if (c == '/') return "'/' in name";
        if (c < 0x20 || c == 0x7f) return "control character in name";
    }
    return nullptr;
}

std::string last_component(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

int pin_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

}  // namespace

struct FtpSession::Handle {
    CURL* curl = nullptr;
    CURLM* multi = nullptr;  // runs each request (perform()) and keeps the connections
    curl_slist* quote = nullptr;
    std::string base;     // ftp[s]://host:port
    std::string replies;  // the control connection's replies during the last request
    std::string entry_path;
    bool broken = false;
    // Set from libcurl's callbacks, which must not throw through C: the first exception is
    // kept here and thrown again once perform() has returned.
    std::exception_ptr failure;
    // TLS: the certificate offered and what we made of it.
    std::string expected_sha256, offered_sha256;
    bool refused = false;
    char message[CURL_ERROR_SIZE] = {};
    // The body of the current request: a listing, or a download into `copy`.
    std::string body;
    std::size_t body_limit = 0;
    bool body_cut = false;
    LocalCopy* copy = nullptr;
    std::int64_t received = 0, expected = 0;
    bool grew = false;
    const DownloadProgress* progress = nullptr;
    int upload_fd = -1;
    const std::atomic<bool>* interrupted = nullptr;  // FtpSession::interrupted_
    const std::atomic<bool>* stopping = nullptr;     // FtpSession::stopping_, if any

    // The session was interrupted or its server is stopping: every request ends at once.
    bool stop_asked() const {
        return (interrupted != nullptr && interrupted->load()) ||
               (stopping != nullptr && stopping->load());
    }

    ~Handle() {
        if (quote != nullptr) curl_slist_free_all(quote);
        if (curl != nullptr) curl_easy_cleanup(curl);
        if (multi != nullptr) curl_multi_cleanup(multi);
    }
};

namespace {

// What curl_easy_perform does, through a multi handle asked again at least every 10 ms.
// libcurl 7.88 waits on the control connection's socket, for up to a second, while a reply
// already sits decrypted in the TLS layer's buffer; over FTPS a download stalled a second or
// more on each of its commands that way (README.md, "FTP pull inboxes"). The connections stay
// in the multi handle between requests, so the control connection is reused as before.
CURLcode perform(FtpSession::Handle& h) {
    if (h.multi == nullptr && (h.multi = curl_multi_init()) == nullptr) return CURLE_OUT_OF_MEMORY;
    if (curl_multi_add_handle(h.multi, h.curl) != CURLM_OK) return CURLE_FAILED_INIT;
    CURLcode result = CURLE_OK;
    bool done = false;
    for (int running = 1; running > 0;) {
        if (h.stop_asked()) {  // checked every 10 ms
            result = CURLE_ABORTED_BY_CALLBACK;
            break;
        }
        if (curl_multi_perform(h.multi, &running) != CURLM_OK ||
            (running > 0 && curl_multi_poll(h.multi, nullptr, 0, 10, nullptr) != CURLM_OK)) {
            result = CURLE_RECV_ERROR;
            break;
        }
    }
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(h.multi, &left))
        if (m->msg == CURLMSG_DONE && m->easy_handle == h.curl) {
            result = m->data.result;
            done = true;
        }
    curl_multi_remove_handle(h.multi, h.curl);
    return done || result != CURLE_OK ? result : CURLE_RECV_ERROR;
}

using Handle = FtpSession::Handle;

size_t on_reply(char* data, size_t size, size_t count, void* user) {
    auto* h = static_cast<Handle*>(user);
    if (h->replies.size() < (1 << 20)) h->replies.append(data, size * count);
    return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* h = static_cast<Handle*>(user);
    const size_t n = size * count;
    try {
        if (h->copy != nullptr) {
            if (h->received + static_cast<std::int64_t>(n) > h->expected) {
                // More than the file had when opened: not read on (README.md, "Too large").
                h->grew = true;
                return 0;
            }
            h->copy->append(data, n);
            h->received += static_cast<std::int64_t>(n);
            if (h->progress != nullptr && *h->progress) (*h->progress)(h->received);
            return n;
        }
        if (h->body.size() + n > h->body_limit) {
            h->body_cut = true;
            return 0;
        }
        h->body.append(data, n);
        return n;
    } catch (...) {
        if (!h->failure) h->failure = std::current_exception();
        return 0;
    }
}

size_t on_upload(char* buffer, size_t size, size_t count, void* user) {
    auto* h = static_cast<Handle*>(user);
    for (;;) {
        ssize_t n = ::read(h->upload_fd, buffer, size * count);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            if (!h->failure)
                h->failure = std::make_exception_ptr(
                    std::system_error(errno, std::generic_category(), "reading an answer"));
            return CURL_READFUNC_ABORT;
        }
        return static_cast<size_t>(n);
    }
}

std::string sha256_of(X509* certificate) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), digest, &length) != 1)
        return {};
    std::string hex;
    for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", digest[i]);
    return hex;
}

// Called by OpenSSL for each certificate of the chain. The server's own certificate (the
// leaf) is recorded; with a pinned fingerprint it alone decides, so a self-signed
// certificate can be trusted by its fingerprint, and any other certificate is refused
// before the handshake ends, so before a user name is sent.
int verify_certificate(int preverified, X509_STORE_CTX* store) {
    auto* ssl =
        static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
    auto* h = ssl ? static_cast<Handle*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_index()))
                  : nullptr;
    if (h == nullptr) return preverified;
    h->offered_sha256 = sha256_of(X509_STORE_CTX_get0_cert(store));
    if (!h->expected_sha256.empty()) {
        if (h->offered_sha256 == h->expected_sha256) {
            X509_STORE_CTX_set_error(store, X509_V_OK);
            return 1;
        }
        h->refused = true;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    if (!preverified) h->refused = true;
    return preverified;
}

CURLcode on_ssl_context(CURL*, void* context, void* user) {
    auto* ctx = static_cast<SSL_CTX*>(context);
    SSL_CTX_set_ex_data(ctx, pin_index(), user);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_certificate);
    return CURLE_OK;
}

// The final line of each reply ("ddd text"; a multi-line reply's other lines are "ddd-" or
// start with a space), in order.
std::vector<std::string> final_replies(const std::string& replies) {
    std::vector<std::string> out;
    for (auto line : ftp::listing_lines(replies))
        if (line.size() >= 4 && line[3] == ' ' &&
            std::isdigit(static_cast<unsigned char>(line[0])) &&
            std::isdigit(static_cast<unsigned char>(line[1])) &&
            std::isdigit(static_cast<unsigned char>(line[2])))
            out.emplace_back(line);
    return out;
}

bool positive(const std::string& reply) { return reply.starts_with('2') || reply.starts_with('3'); }

}  // namespace

FtpSession::FtpSession(FtpEndpoint endpoint, const std::atomic<bool>* stopping)
    : endpoint_(std::move(endpoint)), stopping_(stopping) {}
FtpSession::~FtpSession() = default;

bool FtpSession::connected() const {
    return handle_ != nullptr && !handle_->broken && !handle_->stop_asked();
}

void FtpSession::interrupt() { interrupted_ = true; }

const std::string& FtpSession::offered_sha256() const {
    static const std::string none;
    return handle_ ? handle_->offered_sha256 : none;
}

bool FtpSession::certificate_refused() const { return handle_ && handle_->refused; }

namespace {

std::string where(const FtpEndpoint& e) {
    const char* scheme = e.tls == FtpSecurity::Implicit   ? "ftps"
                         : e.tls == FtpSecurity::Explicit ? "ftp+tls"
                                                          : "ftp";
    return fmt::format("{}://{}@{}:{}", scheme, e.user, e.host, e.port);
}

// The request's options back to their defaults before each request sets its own.
void reset_request(Handle& h) {
    CURL* c = h.curl;
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, nullptr);
    curl_easy_setopt(c, CURLOPT_QUOTE, nullptr);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(-1));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);             // set for a listing only
    curl_easy_setopt(c, CURLOPT_IGNORE_CONTENT_LENGTH, 0L);  // set for a download only
    if (h.quote != nullptr) {
        curl_slist_free_all(h.quote);
        h.quote = nullptr;
    }
    h.replies.clear();
    h.body.clear();
    h.body_limit = 0;
    h.body_cut = false;
    h.copy = nullptr;
    h.received = h.expected = 0;
    h.grew = false;
    h.progress = nullptr;
    h.upload_fd = -1;
    h.failure = nullptr;
    h.message[0] = '\0';
}

}  // namespace

RemoteResult<void> FtpSession::connect() {
    handle_.reset();
    // The password, held only as long as needed, then overwritten (pull/secret_file.hpp).
    Secret password;
    if (endpoint_.password_file.empty())
        return std::unexpected(error(RemoteErrorKind::AuthFailed, "password file: not set"));
    if (auto read = read_password_file(endpoint_.password_file, password); !read)
        return std::unexpected(
            error(RemoteErrorKind::AuthFailed,
                  "password file " + endpoint_.password_file.string() + " " + read.error()));
    global_init();
    auto h = std::make_unique<Handle>();
    h->interrupted = &interrupted_;
    h->stopping = stopping_;
    h->curl = curl_easy_init();
    if (h->curl == nullptr) throw std::bad_alloc();
    CURL* c = h->curl;
    const std::string host =
        endpoint_.host.find(':') != std::string::npos ? "[" + endpoint_.host + "]" : endpoint_.host;
    h->base = fmt::format("{}://{}:{}", endpoint_.tls == FtpSecurity::Implicit ? "ftps" : "ftp",
                          host, endpoint_.port);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 0L);  // its trace would show the PASS command
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->message);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "ftp,ftps");
    curl_easy_setopt(c, CURLOPT_USERNAME, endpoint_.user.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password.text.c_str());  // libcurl keeps its own copy
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(endpoint_.connect_timeout.count()));
    const long silence = std::max<long>(1, static_cast<long>(endpoint_.io_timeout.count() / 1000));
    curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, silence);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);      // less than a byte a second ...
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, silence);  // ... for this long: a silent server
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    // Reads of 256 KiB instead of libcurl's 16 KiB: a plain download took 1.15 times curl's
    // rate with the default, 1.5 times with this (tests/bench/bench_ftp.py).
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    // Full paths in every command (no CWD), passive mode only, EPSV first, and the data
    // connection always to the control connection's address, whatever PASV says.
    curl_easy_setopt(c, CURLOPT_FTP_FILEMETHOD, static_cast<long>(CURLFTPMETHOD_NOCWD));
    curl_easy_setopt(c, CURLOPT_FTP_USE_EPSV, 1L);
    curl_easy_setopt(c, CURLOPT_FTP_SKIP_PASV_IP, 1L);
    curl_easy_setopt(c, CURLOPT_FTP_CREATE_MISSING_DIRS,
                     static_cast<long>(CURLFTP_CREATE_DIR_NONE));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_reply);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h.get());
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(c, CURLOPT_READDATA, h.get());
    if (endpoint_.tls != FtpSecurity::None) {
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        curl_easy_setopt(c, CURLOPT_FTPSSLAUTH, static_cast<long>(CURLFTPAUTH_TLS));
        // TLS 1.2: a server that requires each data connection to resume the control
        // connection's session (vsftpd's require_ssl_reuse, its default) refuses some of them
        // under TLS 1.3 (522), whose session tickets come after the handshake and change with
        // each data connection; TLS 1.2 resumes by one stable session id.
        curl_easy_setopt(c, CURLOPT_SSLVERSION,
                         static_cast<long>(CURL_SSLVERSION_TLSv1_2) |
                             static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2));
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
        // A pinned certificate is the server's identity; otherwise the CA and the host name.
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, endpoint_.sha256.empty() ? 2L : 0L);
        if (!endpoint_.ca_file.empty())
            curl_easy_setopt(c, CURLOPT_CAINFO, endpoint_.ca_file.c_str());
        h->expected_sha256 = endpoint_.sha256;
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_context);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h.get());
    } else {
        curl_easy_setopt(c, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
    }
    handle_ = std::move(h);

    // Log in and ask for the features; a server without FEAT has neither MLST nor MDTM.
    if (auto done = commands({"FEAT"}, "logging in"); !done)
        return std::unexpected(std::move(done.error()));
    for (auto line : ftp::listing_lines(handle_->replies)) {
        if (!line.starts_with(' ')) continue;
        std::string feature(line.substr(1, 4));
        for (char& ch : feature)
            ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (feature == "MLST") mlsd_ = true;
        if (feature == "MDTM") mdtm_ = true;
    }
    char* entry = nullptr;
    if (curl_easy_getinfo(handle_->curl, CURLINFO_FTP_ENTRY_PATH, &entry) == CURLE_OK && entry)
        handle_->entry_path = entry;
    return {};
}

RemoteResult<std::vector<std::string>> FtpSession::commands(const std::vector<std::string>& lines,
                                                            const std::string& what) {
    if (!handle_) return std::unexpected(error(RemoteErrorKind::Lost, "not connected"));
    Handle& h = *handle_;
    reset_request(h);
    // Each command starts with '*': libcurl then goes on after a refusal instead of failing
    // the request, and keeps the connection (it closes it after a failed request); the
    // caller judges each reply.
    for (const auto& line : lines) {
        if (!sendable(line))
            return std::unexpected(
                error(RemoteErrorKind::Refused, what + ": a path with a line break is never sent"));
        h.quote = curl_slist_append(h.quote, ("*" + line).c_str());
    }
    curl_easy_setopt(h.curl, CURLOPT_URL, (h.base + "/").c_str());
    curl_easy_setopt(h.curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h.curl, CURLOPT_QUOTE, h.quote);
    const CURLcode rc = perform(h);
    if (h.failure) std::rethrow_exception(h.failure);
    if (rc == CURLE_OK) {
        auto replies = final_replies(h.replies);
        if (replies.size() < lines.size()) {
            h.broken = true;
            return std::unexpected(
                error(RemoteErrorKind::Lost,
                      fmt::format("{} on {}: {} replies to {} commands", what, where(endpoint_),
                                  replies.size(), lines.size())));
        }
        // Login replies (libcurl logs in again on a dropped connection) come first.
        replies.erase(replies.begin(), replies.end() - static_cast<std::ptrdiff_t>(lines.size()));
        return replies;
    }
    std::string detail = h.message[0] != '\0' ? h.message : curl_easy_strerror(rc);
    std::string message = fmt::format("{} on {}: {}", what, where(endpoint_), detail);
    h.broken = true;
    if (h.refused || rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
        rc == CURLE_USE_SSL_FAILED || rc == CURLE_SSL_ISSUER_ERROR) {
        if (rc == CURLE_USE_SSL_FAILED)
            message +=
                "; the server offers no TLS (tls: none only if the connection cannot "
                "be read by others)";
        else if (!h.offered_sha256.empty())
            message += fmt::format("; it offered the certificate with SHA-256 fingerprint {}",
                                   h.offered_sha256);
        return std::unexpected(error(RemoteErrorKind::Untrusted, message));
    }
    if (rc == CURLE_LOGIN_DENIED)
        return std::unexpected(
            error(RemoteErrorKind::AuthFailed,
                  fmt::format("{} refused our password from {}", where(endpoint_),
                              endpoint_.password_file.string())));
    return std::unexpected(error(RemoteErrorKind::Lost, "connection lost: " + message));
}

RemoteError FtpSession::refusal(const std::string& reply, const std::string& what) const {
    const bool denied = reply.find("ermission") != std::string::npos || reply.starts_with("553") ||
                        reply.starts_with("532");
    return error(denied ? RemoteErrorKind::Denied : RemoteErrorKind::Refused,
                 fmt::format("{} on {}: {}", what, where(endpoint_), reply));
}

RemoteResult<std::vector<std::optional<std::int64_t>>> FtpSession::mdtm(
    const std::vector<std::string>& paths) {
    std::vector<std::optional<std::int64_t>> times;
    constexpr std::size_t per_round = 200;
    for (std::size_t first = 0; first < paths.size(); first += per_round) {
        std::vector<std::string> lines;
        const std::size_t last = std::min(paths.size(), first + per_round);
        for (std::size_t i = first; i < last; ++i) lines.push_back("MDTM " + paths[i]);
        auto replies = commands(lines, "reading file times");
        if (!replies) return std::unexpected(std::move(replies.error()));
        for (const auto& r : *replies)
            times.push_back(r.starts_with("213 ") ? ftp::parse_ftp_time(r.substr(4))
                                                  : std::nullopt);
    }
    return times;
}

RemoteResult<RemoteListing> FtpSession::list(const std::string& folder, std::string_view pattern,
                                             std::size_t budget) {
    if (!connected()) return std::unexpected(error(RemoteErrorKind::Lost, "not connected"));
    Handle& h = *handle_;
    reset_request(h);
    std::string dir = folder;
    if (!dir.ends_with('/')) dir += '/';
    curl_easy_setopt(h.curl, CURLOPT_URL, (h.base + "/" + url_path(dir)).c_str());
    if (mlsd_) curl_easy_setopt(h.curl, CURLOPT_CUSTOMREQUEST, "MLSD");
    // A listing line holds a name of at most 255 bytes and its facts: a server that sends
    // more than 1 KiB per entry of the budget is cut off, as a listing that stopped at the
    // budget (docs/ingest.md, "What a hostile server can cost"). 4 KiB let a listing of a few
    // long lines take the daemon to 1 GB.
    h.body_limit = budget > (std::size_t{1} << 20) ? std::size_t{1} << 30 : budget * 1024 + 65536;
    curl_easy_setopt(h.curl, CURLOPT_TIMEOUT_MS, static_cast<long>(endpoint_.list_timeout.count()));
    const CURLcode rc = perform(h);
    if (h.failure) std::rethrow_exception(h.failure);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && h.body_cut)) {
        const std::string detail =
            rc == CURLE_OPERATION_TIMEDOUT
                ? fmt::format(
                      "the listing took longer than {} s",
                      std::chrono::duration_cast<std::chrono::seconds>(endpoint_.list_timeout)
                          .count())
            : h.message[0] != '\0' ? h.message
                                   : curl_easy_strerror(rc);
        const auto message = fmt::format("listing {} on {}: {}", folder, where(endpoint_), detail);
        if (rc == CURLE_REMOTE_ACCESS_DENIED || rc == CURLE_REMOTE_FILE_NOT_FOUND)
            return std::unexpected(error(RemoteErrorKind::NotFound, message));
        if (rc == CURLE_FTP_COULDNT_RETR_FILE || rc == CURLE_QUOTE_ERROR)
            return std::unexpected(error(RemoteErrorKind::Refused, message));
        h.broken = true;
        return std::unexpected(error(RemoteErrorKind::Lost, "connection lost: " + message));
    }
    RemoteListing listing;
    listing.complete = !h.body_cut;
    const std::string glob(pattern);
    std::vector<ftp::ListedEntry> files;
    std::size_t seen = 0;
    for (auto line : ftp::listing_lines(h.body, budget + 1)) {
        if (seen >= budget) {
            listing.complete = false;
            break;
        }
        ++seen;
        if (!mlsd_ && ftp::is_list_total(line)) continue;
        auto parsed = mlsd_ ? ftp::parse_mlsd_line(line) : ftp::parse_list_line(line);
        if (!parsed) {
            listing.unreadable.emplace_back(line);  // the puller logs its first bytes
            continue;
        }
        RemoteEntry& entry = parsed->entry;
        if (entry.name == "." || entry.name == "..") continue;
        if (::fnmatch(glob.c_str(), entry.name.c_str(), FNM_PERIOD) != 0) continue;
        if (const char* why = unsafe_name(entry.name))
            listing.skipped.push_back({std::move(entry), why});
        else if (entry.type == RemoteType::RegularFile)
            files.push_back(std::move(*parsed));
        else
            listing.skipped.push_back(
                {std::move(entry), entry.type == RemoteType::Symlink  ? "symlink"
                                   : entry.type == RemoteType::Folder ? "folder"
                                                                      : "not a regular file"});
    }
    // A LIST line's time is coarse: each file's comes from MDTM (ftp_session.hpp, Cached).
    const auto now = std::chrono::steady_clock::now();
    constexpr auto minute = std::chrono::seconds(65);
    std::vector<std::string> ask;
    std::vector<std::size_t> asked;
    std::set<std::string> listed;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (files[i].has_mtime) continue;
        const auto path = remote_join(folder, files[i].entry.name);
        listed.insert(path);
        auto known = times_.find(path);
        const bool same = known != times_.end() && known->second.size == files[i].entry.size &&
                          known->second.listed_time == files[i].listed_time;
        if (same && known->second.final) {
            files[i].entry.mtime = known->second.mtime;
            files[i].has_mtime = true;
        } else if (mdtm_) {
            if (!same) times_.erase(path);
            ask.push_back(path);
            asked.push_back(i);
        }
    }
    if (!ask.empty()) {
        auto times = mdtm(ask);
        if (!times) return std::unexpected(std::move(times.error()));
        for (std::size_t k = 0; k < asked.size(); ++k) {
            if (!(*times)[k]) continue;  // gone since the listing: seen again at the next poll
            auto& f = files[asked[k]];
            f.entry.mtime = *(*times)[k];
            f.has_mtime = true;
            auto [it, fresh] = times_.try_emplace(ask[k]);
            if (fresh) it->second = {f.entry.size, f.listed_time, 0, now, false};
            it->second.mtime = f.entry.mtime;
            it->second.final = now - it->second.since >= minute;
        }
    }
    // Forgotten once not listed, even in a listing cut short: a server that lists new names
    // at each poll cannot make the cache grow.
    for (auto it = times_.begin(); it != times_.end();)
        it = it->first.starts_with(remote_join(folder, "")) && !listed.contains(it->first)
                 ? times_.erase(it)
                 : std::next(it);
    for (auto& f : files) {
        if (!f.has_mtime && mdtm_) continue;
        if (!f.has_mtime) {
            // A server without MDTM: the line's own time, as text, is all there is. It stays
            // the same as long as the line does.
            std::int64_t stamp = 0;
            for (unsigned char ch : f.listed_time) stamp = stamp * 131 + ch;
            f.entry.mtime = stamp & 0x3fffffffffffLL;
        }
        listing.files.push_back(std::move(f.entry));
    }
    return listing;
}

RemoteResult<RemoteEntry> FtpSession::stat(const std::string& path) {
    if (!connected()) return std::unexpected(error(RemoteErrorKind::Lost, "not connected"));
    RemoteEntry entry;
    entry.name = last_component(path);
    if (mlsd_) {
        auto replies = commands({"MLST " + path}, "reading the facts of " + path);
        if (!replies) return std::unexpected(std::move(replies.error()));
        if (!replies->front().starts_with('2'))
            return std::unexpected(
                error(RemoteErrorKind::NotFound, path + ": " + replies->front()));
        for (auto line : ftp::listing_lines(handle_->replies)) {
            if (!line.starts_with(' ')) continue;
            if (auto parsed = ftp::parse_mlsd_line(line.substr(1))) {
                parsed->entry.name = entry.name;
                return parsed->entry;
            }
        }
        return std::unexpected(error(RemoteErrorKind::Refused,
                                     "the server's MLST reply for " + path + " cannot be read"));
    }
    // SIZE in binary mode (some servers refuse it in ASCII), then MDTM; a folder has neither.
    auto replies =
        commands({"TYPE I", "SIZE " + path, "MDTM " + path}, "reading the size of " + path);
    if (!replies) return std::unexpected(std::move(replies.error()));
    const std::string& size = (*replies)[1];
    const std::string& time = (*replies)[2];
    if (!size.starts_with("213 ")) {
        auto folder = is_folder(path);
        if (!folder) return std::unexpected(std::move(folder.error()));
        if (*folder) {
            entry.type = RemoteType::Folder;
            return entry;
        }
        return std::unexpected(error(RemoteErrorKind::NotFound, path + ": " + size));
    }
    try {
        entry.size = std::stoll(size.substr(4));
    } catch (...) {
        return std::unexpected(error(RemoteErrorKind::Refused,
                                     "the server's SIZE reply for " + path + " is not a number"));
    }
    auto mtime = time.starts_with("213 ") ? ftp::parse_ftp_time(time.substr(4)) : std::nullopt;
    if (!mtime)
        return std::unexpected(
            error(RemoteErrorKind::Refused, "the server gives no time (MDTM) for " + path));
    entry.mtime = *mtime;
    entry.type = RemoteType::RegularFile;
    return entry;
}

RemoteResult<bool> FtpSession::is_folder(const std::string& path) {
    // CWD moves the control connection; it goes back to where the login left it at once.
    auto replies =
        commands({"CWD " + path,
                  "CWD " + (handle_->entry_path.empty() ? std::string("/") : handle_->entry_path)},
                 "looking at " + path);
    if (!replies) return std::unexpected(std::move(replies.error()));
    return replies->front().starts_with('2');
}

RemoteResult<void> FtpSession::ping() {
    auto replies = commands({"NOOP"}, "keeping the connection");
    if (!replies) return std::unexpected(std::move(replies.error()));
    if (!replies->front().starts_with('2'))
        return std::unexpected(refusal(replies->front(), "keeping the connection"));
    return {};
}

RemoteResult<Download> FtpSession::download(const std::string& remote_path,
                                            const std::filesystem::path& local,
                                            const DownloadProgress& progress,
                                            std::int64_t max_bytes) {
    auto before = stat(remote_path);
    if (!before) return std::unexpected(std::move(before.error()));
    if (before->type != RemoteType::RegularFile)
        return std::unexpected(
            error(RemoteErrorKind::Refused, remote_path + " is not a regular file"));
    if (max_bytes < 0 || before->size > max_bytes)
        return std::unexpected(
            error(RemoteErrorKind::TooLarge,
                  fmt::format("{} has {} bytes, more than the limit of {}; none of it was read",
                              remote_path, before->size, max_bytes)));
    Handle& h = *handle_;
    LocalCopy copy(local);
    reset_request(h);
    curl_easy_setopt(h.curl, CURLOPT_URL, (h.base + "/" + url_path(remote_path)).c_str());
    h.copy = &copy;
    h.expected = before->size;
    // Read to the end of the data connection, not to the size the server announced: libcurl
    // would stop there, and a file sent longer than its size (still written to, or a server
    // that lies) would be taken cut short. on_body() sees the extra bytes instead.
    curl_easy_setopt(h.curl, CURLOPT_IGNORE_CONTENT_LENGTH, 1L);
    h.progress = &progress;
    const CURLcode rc = perform(h);
    h.copy = nullptr;
    if (h.failure) std::rethrow_exception(h.failure);
    const std::int64_t received = h.received;  // the next request starts afresh
    auto changed = [&](std::int64_t after_size) {
        return std::unexpected(error(
            RemoteErrorKind::ChangedWhileReading,
            fmt::format("{} changed while it was downloaded ({} bytes read, {} at the start, {} "
                        "at the end)",
                        remote_path, received, before->size, after_size)));
    };
    if (h.grew) {
        h.broken = true;  // the transfer was cut: libcurl closes the connection
        return changed(-1);
    }
    if (rc != CURLE_OK) {
        const std::string detail = h.message[0] != '\0' ? h.message : curl_easy_strerror(rc);
        const auto message =
            fmt::format("downloading {} from {}: {}", remote_path, where(endpoint_), detail);
        if (rc == CURLE_REMOTE_FILE_NOT_FOUND)
            return std::unexpected(error(RemoteErrorKind::NotFound, message));
        if (rc == CURLE_REMOTE_ACCESS_DENIED)
            return std::unexpected(error(RemoteErrorKind::Denied, message));
        if (rc == CURLE_FTP_COULDNT_RETR_FILE)
            return std::unexpected(error(RemoteErrorKind::Refused, message));
        if (rc == CURLE_PARTIAL_FILE) {
            // Shorter than announced: a file cut by its writer, or a transfer cut by the network.
            auto after = stat(remote_path);
            if (after && (after->size != before->size || after->mtime != before->mtime))
                return changed(after->size);
        }
        h.broken = true;
        return std::unexpected(error(RemoteErrorKind::Lost, "connection lost: " + message));
    }
    auto after = stat(remote_path);
    if (!after) return std::unexpected(std::move(after.error()));
    if (received != before->size || after->size != before->size || after->mtime != before->mtime)
        return changed(after->size);
    copy.keep();
    return Download{received, before->mtime};
}

RemoteResult<void> FtpSession::write_new(const std::filesystem::path& local,
                                         const std::string& remote_path) {
    if (auto existing = stat(remote_path); existing)
        return std::unexpected(error(RemoteErrorKind::Refused, remote_path + " already exists"));
    else if (existing.error().kind != RemoteErrorKind::NotFound)
        return std::unexpected(std::move(existing.error()));
    const int fd = ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw std::system_error(errno, std::generic_category(), "opening " + local.string());
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct ::stat st {};
    if (::fstat(fd, &st) != 0)
        throw std::system_error(errno, std::generic_category(), "reading " + local.string());
    Handle& h = *handle_;
    reset_request(h);
    curl_easy_setopt(h.curl, CURLOPT_URL, (h.base + "/" + url_path(remote_path)).c_str());
    curl_easy_setopt(h.curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h.curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(st.st_size));
    h.upload_fd = fd;
    const CURLcode rc = perform(h);
    h.upload_fd = -1;
    if (h.failure) std::rethrow_exception(h.failure);
    if (rc == CURLE_OK) return {};
    const std::string detail = h.message[0] != '\0' ? h.message : curl_easy_strerror(rc);
    const auto message = fmt::format("writing {} on {}: {}", remote_path, where(endpoint_), detail);
    RemoteError failure = rc == CURLE_UPLOAD_FAILED || rc == CURLE_REMOTE_ACCESS_DENIED
                              ? error(RemoteErrorKind::Denied, message)
                              : error(RemoteErrorKind::Lost, "connection lost: " + message);
    if (failure.kind == RemoteErrorKind::Lost)
        h.broken = true;
    else
        (void)commands({"DELE " + remote_path}, "removing a partial " + remote_path);
    return std::unexpected(std::move(failure));
}

RemoteResult<void> FtpSession::rename(const std::string& from, const std::string& to) {
    const std::string what = "renaming " + from + " to " + to;
    auto replies = commands({"RNFR " + from, "RNTO " + to}, what);
    if (!replies) return std::unexpected(std::move(replies.error()));
    const auto& failed = !positive((*replies)[0]) ? (*replies)[0] : (*replies)[1];
    if (positive((*replies)[0]) && positive((*replies)[1])) return {};
    RemoteError e = refusal(failed, what);
    // A 550 does not say why: a source that is gone was claimed by someone else.
    auto there = stat(from);
    if (!there && there.error().kind != RemoteErrorKind::NotFound)
        return std::unexpected(std::move(there.error()));
    if (!there) e.kind = RemoteErrorKind::NotFound;
    return std::unexpected(std::move(e));
}

RemoteResult<void> FtpSession::remove(const std::string& path) {
    auto replies = commands({"DELE " + path}, "removing " + path);
    if (!replies) return std::unexpected(std::move(replies.error()));
    if (positive(replies->front())) return {};
    RemoteError e = refusal(replies->front(), "removing " + path);
    auto there = stat(path);
    if (!there && there.error().kind != RemoteErrorKind::NotFound)
        return std::unexpected(std::move(there.error()));
    if (!there) e.kind = RemoteErrorKind::NotFound;
    return std::unexpected(std::move(e));
}

RemoteResult<void> FtpSession::ensure_folder(const std::string& path) {
    auto replies = commands({"MKD " + path}, "creating folder " + path);
    if (!replies) return std::unexpected(std::move(replies.error()));
    if (positive(replies->front())) return {};
    auto folder = is_folder(path);
    if (!folder) return std::unexpected(std::move(folder.error()));
    if (*folder) return {};
    return std::unexpected(refusal(replies->front(), "creating folder " + path));
}

}  // namespace actiondrop::pull
