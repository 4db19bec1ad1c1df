// FtpSession against a real vsftpd on 127.0.0.1 (vsftpd_fixture.hpp), in plain FTP and
// with explicit TLS where the behaviour is the same.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "pull/ftp/ftp_session.hpp"
#include "test_pull_fixtures.hpp"
#include "vsftpd_fixture.hpp"

namespace fs = std::filesystem;
using namespace actiondrop::pull;
using actiondrop::pull::testing::FtpMode;
using actiondrop::pull::testing::FtpServerProcess;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;

namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 random(seed);
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    return bytes;
}

const char* name_of(FtpMode mode) {
    return mode == FtpMode::Plain         ? "plain"
           : mode == FtpMode::ExplicitTls ? "explicit TLS"
                                          : "implicit TLS";
}

}  // namespace

TEST_CASE("ftp: list keeps matching regular files, with exact times, and skips links and folders") {
    for (FtpMode mode : {FtpMode::Plain, FtpMode::ExplicitTls}) {
        const std::string mode_name = name_of(mode);
        CAPTURE(mode_name);
        FtpServerProcess server(mode);
        const fs::path root = server.files();
        write(root / "Conversions_1.csv", "a,b\n");
        write(root / "Conversions 22 é.csv", std::string(1000, 'x'));
        write(root / "notes.txt", "x");
        write(root / ".Conversions_3.csv.tmp", "half");
        fs::create_symlink(root / "Conversions_1.csv", root / "Conversions_link.csv");
        fs::create_directory(root / "Conversions_dir.csv");
        // An old file: LIST shows only its day, MDTM its second.
        struct ::utimbuf old {
            1'600'000'123, 1'600'000'123
        };
        ::utime((root / "Conversions_1.csv").c_str(), &old);

        FtpSession session(server.endpoint());
        auto connected = session.connect();
        REQUIRE_MESSAGE(connected, connected.error().message);
        CHECK_FALSE(session.has_mlsd());  // vsftpd has no MLSD: LIST and MDTM
        auto listing = session.list(root.string(), "Conversions*.csv", 1000);
        REQUIRE_MESSAGE(listing, listing.error().message);
        CHECK(listing->complete);
        CHECK(listing->unreadable.empty());
        std::vector<std::string> names;
        for (const auto& f : listing->files) names.push_back(f.name);
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"Conversions 22 é.csv", "Conversions_1.csv"});
        for (const auto& f : listing->files) {
            CHECK(f.type == RemoteType::RegularFile);
            CHECK(f.size == static_cast<std::int64_t>(fs::file_size(root / f.name)));
            struct ::stat st {};
            ::stat((root / f.name).c_str(), &st);
            CHECK(f.mtime == st.st_mtime);
        }
        REQUIRE(listing->skipped.size() == 2);
        for (const auto& s : listing->skipped) {
            if (s.entry.name == "Conversions_link.csv")
                CHECK(s.reason == "symlink");
            else
                CHECK((s.entry.name == "Conversions_dir.csv" && s.reason == "folder"));
        }
        auto budgeted = session.list(root.string(), "*", 2);
        REQUIRE(budgeted);
        CHECK_FALSE(budgeted->complete);

        auto entry = session.stat((root / "Conversions 22 é.csv").string());
        REQUIRE(entry);
        CHECK(entry->size == 1000);
        CHECK(session.stat((root / "missing.csv").string()).error().kind ==
              RemoteErrorKind::NotFound);
        CHECK(session.stat((root / "Conversions_dir.csv").string())->type == RemoteType::Folder);
        CHECK(session.ping());
    }
}

TEST_CASE("ftp: download copies a multi-MiB file exactly, with its size and time") {
    for (FtpMode mode : {FtpMode::Plain, FtpMode::ExplicitTls}) {
        const std::string mode_name = name_of(mode);
        CAPTURE(mode_name);
        FtpServerProcess server(mode);
        TempDir local;
        const std::string bytes = random_bytes(5 * 1024 * 1024 + 12345, 7);
        write(server.files() / "big file.csv", bytes);
        FtpSession session(server.endpoint());
        REQUIRE(session.connect());
        std::int64_t last = 0;
        auto got =
            session.download((server.files() / "big file.csv").string(), local.path() / "big.csv",
                             [&](std::int64_t n) { last = n; }, 1 << 30);
        REQUIRE_MESSAGE(got, got.error().message);
        CHECK(got->size == static_cast<std::int64_t>(bytes.size()));
        CHECK(last == got->size);
        struct ::stat st {};
        ::stat((server.files() / "big file.csv").c_str(), &st);
        CHECK(got->mtime == st.st_mtime);
        CHECK(read(local.path() / "big.csv") == bytes);

        write(server.files() / "empty.csv", "");
        auto empty = session.download((server.files() / "empty.csv").string(),
                                      local.path() / "empty.csv", {}, 1 << 30);
        REQUIRE(empty);
        CHECK(fs::file_size(local.path() / "empty.csv") == 0);

        auto missing = session.download((server.files() / "gone.csv").string(),
                                        local.path() / "gone.csv", {}, 1 << 30);
        REQUIRE_FALSE(missing);
        CHECK(missing.error().kind == RemoteErrorKind::NotFound);
        CHECK_FALSE(fs::exists(local.path() / "gone.csv"));
        CHECK(session.connected());
    }
}

TEST_CASE("ftp: a file over the limit is refused before a byte is read") {
    FtpServerProcess server;
    TempDir local;
    write(server.files() / "huge.csv", std::string(2 * 1024 * 1024, 'x'));
    FtpSession session(server.endpoint());
    REQUIRE(session.connect());
    std::int64_t most = 0;
    auto got = session.download((server.files() / "huge.csv").string(), local.path() / "huge.csv",
                                [&](std::int64_t n) { most = std::max(most, n); }, 1 << 20);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == RemoteErrorKind::TooLarge);
    CHECK(most == 0);
    CHECK_FALSE(fs::exists(local.path() / "huge.csv"));
    CHECK(server.commands_seen("RETR") == 0);
    CHECK(session.connected());
}

TEST_CASE("ftp: a file that grows or shrinks during the download is not taken") {
    FtpServerProcess server;
    TempDir local;
    const fs::path remote = server.files() / "growing.csv";
    for (bool grow : {true, false}) {
        CAPTURE(grow);
        write(remote, random_bytes(8 * 1024 * 1024, 19));
        FtpSession session(server.endpoint());
        REQUIRE(session.connect());
        bool changed = false;
        auto got = session.download(
            remote.string(), local.path() / "growing.csv",
            [&](std::int64_t n) {
                if (!changed && n > 1024 * 1024) {
                    if (grow)
                        write(remote, random_bytes(1024 * 1024, 23), std::ios::app);
                    else
                        fs::resize_file(remote, 2 * 1024 * 1024);
                    changed = true;
                }
            },
            1 << 30);
        REQUIRE(changed);
        REQUIRE_FALSE(got);
        CHECK(got.error().kind == RemoteErrorKind::ChangedWhileReading);
        CHECK_FALSE(fs::exists(local.path() / "growing.csv"));
    }
}

TEST_CASE("ftp: write_new, rename, remove and ensure_folder, and a vanished source is NotFound") {
    for (FtpMode mode : {FtpMode::Plain, FtpMode::ExplicitTls}) {
        const std::string mode_name = name_of(mode);
        CAPTURE(mode_name);
        FtpServerProcess server(mode);
        TempDir local;
        const fs::path results = server.files() / "results";
        fs::create_directory(results);
        ::chown(results.c_str(), 0, 0);
        ::chmod(results.c_str(), 0777);
        write(local.path() / "answer.csv", "result\n" + random_bytes(200'000, 3));
        FtpSession session(server.endpoint());
        REQUIRE(session.connect());
        const auto connections = server.connections();
        const std::string tmp = (results / ".answer.csv.tmp").string();
        auto written = session.write_new(local.path() / "answer.csv", tmp);
        REQUIRE_MESSAGE(written, written.error().message);
        CHECK(read(results / ".answer.csv.tmp") == read(local.path() / "answer.csv"));
        CHECK_FALSE(session.write_new(local.path() / "answer.csv", tmp));  // exists already
        REQUIRE(session.rename(tmp, (results / "answer 1.csv").string()));
        CHECK(read(results / "answer 1.csv") == read(local.path() / "answer.csv"));

        write(server.files() / "Conversions_2.csv", "rows\n");
        const std::string processing = (server.files() / ".processing").string();
        auto made = session.ensure_folder(processing);
        REQUIRE_MESSAGE(made, made.error().message);
        REQUIRE(session.ensure_folder(processing));  // already there is fine
        const std::string source = (server.files() / "Conversions_2.csv").string();
        const std::string claimed = remote_join(processing, "Conversions_2.csv");
        REQUIRE(session.rename(source, claimed));
        CHECK(read(server.files() / ".processing" / "Conversions_2.csv") == "rows\n");
        CHECK(session.rename(source, claimed).error().kind == RemoteErrorKind::NotFound);
        REQUIRE(session.remove(claimed));
        CHECK_FALSE(fs::exists(server.files() / ".processing" / "Conversions_2.csv"));
        CHECK(session.remove(claimed).error().kind == RemoteErrorKind::NotFound);
        CHECK(session.connected());
        // Refusals are answers: the one connection served them all.
        CHECK(server.connections() == connections);
    }
}

TEST_CASE("ftp: a wrong password fails authentication and never shows in the error") {
    FtpServerProcess server;
    TempDir local;
    write(local.path() / "password", "not-the-password-42\n");
    ::chmod((local.path() / "password").c_str(), 0600);
    FtpEndpoint endpoint = server.endpoint();
    endpoint.password_file = local.path() / "password";
    FtpSession session(endpoint);
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == RemoteErrorKind::AuthFailed);
    CHECK(result.error().message.find("not-the-password-42") == std::string::npos);
    CHECK(result.error().message.find(server.password()) == std::string::npos);

    SUBCASE("a password file its group may read is refused before connecting") {
        ::chmod((local.path() / "password").c_str(), 0640);
        const auto before = server.connections();
        auto refused = FtpSession(endpoint).connect();
        REQUIRE_FALSE(refused);
        CHECK(refused.error().kind == RemoteErrorKind::AuthFailed);
        CHECK(refused.error().message.find("chmod 600") != std::string::npos);
        CHECK(server.connections() == before);
    }
}

TEST_CASE("ftp: TLS with a pinned fingerprint, and a wrong certificate refused before any login") {
    FtpServerProcess server(FtpMode::ExplicitTls);
    const std::string right = FtpServerProcess::sha256_of(server.certificate());
    REQUIRE(right.size() == 64);

    SUBCASE("the pinned fingerprint is trusted without a CA") {
        FtpEndpoint e = server.endpoint();
        e.ca_file.clear();
        e.sha256 = right;
        FtpSession session(e);
        auto c = session.connect();
        REQUIRE_MESSAGE(c, c.error().message);
        CHECK(session.offered_sha256() == right);
        CHECK(session.list(server.files().string(), "*", 100));
    }
    SUBCASE("another fingerprint is Untrusted, and no user name or password is sent") {
        FtpEndpoint e = server.endpoint();
        e.ca_file.clear();
        e.sha256 = FtpServerProcess::sha256_of(server.other_certificate());
        FtpSession session(e);
        auto c = session.connect();
        REQUIRE_FALSE(c);
        CHECK(c.error().kind == RemoteErrorKind::Untrusted);
        CHECK(c.error().message.find(right) != std::string::npos);
        CHECK(session.offered_sha256() == right);
        CHECK(server.commands_seen("AUTH") >= 1);
        CHECK(server.commands_seen("USER") == 0);
        CHECK(server.commands_seen("PASS") == 0);
    }
    SUBCASE("a certificate no trusted CA signed is Untrusted, and no login is sent") {
        FtpEndpoint e = server.endpoint();
        e.ca_file = server.other_certificate();
        FtpSession session(e);
        auto c = session.connect();
        REQUIRE_FALSE(c);
        CHECK(c.error().kind == RemoteErrorKind::Untrusted);
        CHECK(server.commands_seen("USER") == 0);
        CHECK(server.commands_seen("PASS") == 0);
    }
    SUBCASE("the server's own certificate as ca_file is trusted") {
        FtpSession session(server.endpoint());
        auto c = session.connect();
        REQUIRE_MESSAGE(c, c.error().message);
        CHECK(server.commands_seen("USER") == 1);
    }
}

TEST_CASE("ftp: implicit TLS") {
    FtpServerProcess server(FtpMode::ImplicitTls);
    write(server.files() / "a.csv", "x,y\n");
    TempDir local;
    FtpSession session(server.endpoint());
    auto c = session.connect();
    REQUIRE_MESSAGE(c, c.error().message);
    auto got =
        session.download((server.files() / "a.csv").string(), local.path() / "a.csv", {}, 100);
    REQUIRE_MESSAGE(got, got.error().message);
    CHECK(read(local.path() / "a.csv") == "x,y\n");
}

TEST_CASE("ftp: the server killed mid-download gives a lost connection and no partial file") {
    FtpServerProcess server;
    TempDir local;
    write(server.files() / "big.csv", random_bytes(16 * 1024 * 1024, 11));
    FtpSession session(server.endpoint());
    REQUIRE(session.connect());
    bool killed = false;
    auto got = session.download((server.files() / "big.csv").string(), local.path() / "big.csv",
                                [&](std::int64_t n) {
                                    if (!killed && n > 1024 * 1024) {
                                        server.kill_all();
                                        killed = true;
                                    }
                                },
                                1 << 30);
    REQUIRE(killed);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == RemoteErrorKind::Lost);
    CHECK_FALSE(fs::exists(local.path() / "big.csv"));
    CHECK_FALSE(session.connected());
}

TEST_CASE("ftp: interrupt ends a download from a silent server at once, and later requests") {
    // The service's stop (Puller::stop): long before the silence timeout.
    FtpServerProcess server;
    TempDir local;
    write(server.files() / "big.csv", random_bytes(16 * 1024 * 1024, 19));
    FtpSession session(server.endpoint());
    REQUIRE(session.connect());
    std::vector<pid_t> stopped;
    std::thread stopper;
    auto asked = std::chrono::steady_clock::now();
    auto got = session.download((server.files() / "big.csv").string(), local.path() / "big.csv",
                                [&](std::int64_t n) {
                                    if (!stopped.empty() || n <= 1024 * 1024) return;
                                    stopped = server.sessions();
                                    for (pid_t p : stopped) ::kill(p, SIGSTOP);
                                    stopper = std::thread([&] {
                                        std::this_thread::sleep_for(std::chrono::milliseconds(300));
                                        asked = std::chrono::steady_clock::now();
                                        session.interrupt();
                                    });
                                },
                                1 << 30);
    const auto waited = std::chrono::steady_clock::now() - asked;
    if (stopper.joinable()) stopper.join();
    for (pid_t p : stopped) ::kill(p, SIGCONT);
    REQUIRE_FALSE(stopped.empty());
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == RemoteErrorKind::Lost);
    CHECK(waited < std::chrono::seconds(2));
    CHECK_FALSE(fs::exists(local.path() / "big.csv"));
    CHECK_FALSE(session.connected());
    const auto again = std::chrono::steady_clock::now();
    CHECK_FALSE(session.ping());
    CHECK(std::chrono::steady_clock::now() - again < std::chrono::seconds(2));
}

// A passive port can be taken between two transfers: the kernel may give it to any outgoing
// connection as its source port while the server does not listen on it. The server then picks
// another port of its range, and the transfer goes on.
TEST_CASE("ftp: a passive port another socket holds does not stop a transfer") {
    FtpServerProcess server;
    TempDir local;
    const std::vector<int> passive = server.passive_ports();
    REQUIRE_FALSE(passive.empty());
    // Held as an outgoing connection's port is: bound, without SO_REUSEADDR.
    const int held = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(passive.front()));
    REQUIRE(::bind(held, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    write(server.files() / "a.csv", "OrderId,Amount\n1,1.00\n");
    FtpSession session(server.endpoint());
    REQUIRE(session.connect());
    for (int i = 0; i < 5; ++i) {
        CAPTURE(i);
        auto got = session.download((server.files() / "a.csv").string(), local.path() / "a.csv", {},
                                    1 << 30);
        REQUIRE_MESSAGE(got, got.error().message);
        CHECK(read(local.path() / "a.csv") == "OrderId,Amount\n1,1.00\n");
        fs::remove(local.path() / "a.csv");
    }
    ::close(held);
}

// A test server's port lies outside the range the kernel gives outgoing connections, so that
// no connection of another test can take it while the server restarts.
TEST_CASE("ftp: the test servers' ports are outside the kernel's range for outgoing connections") {
    int low = 0, high = 0;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
    REQUIRE(low > 0);
    FtpServerProcess server;
    std::vector<int> ports = server.passive_ports();
    ports.push_back(server.port());
    for (int port : ports) {
        CAPTURE(port);
        CHECK((port < low || port > high));
    }
}

// vsftpd's per-connection process logs the fixture's probe a moment after the connect.
TEST_CASE("ftp: the test server is ready only once its log names the fixture's probe") {
    for (int i = 0; i < 20; ++i) {
        FtpServerProcess server;
        CHECK(server.connections() == 1);
    }
}

TEST_CASE("ftp: nothing listening is a lost connection") {
    FtpServerProcess server;
    FtpEndpoint e = server.endpoint();
    server.kill_all();
    FtpSession session(e);
    auto c = session.connect();
    REQUIRE_FALSE(c);
    CHECK(c.error().kind == RemoteErrorKind::Lost);
}

// The puller reconnects only when an error says the connection is gone: a dead server must
// never look like an empty or missing folder.
TEST_CASE("ftp: a listing on a connection whose server died says the connection is lost") {
    for (int round = 0; round < 3; ++round) {
        FtpServerProcess server;
        write(server.files() / "a.csv", "x\n");
        FtpSession session(server.endpoint());
        REQUIRE(session.connect());
        server.kill_all();
        auto listing = session.list(server.files().string(), "*", 100);
        REQUIRE_FALSE(listing);
        INFO("round ", round, ": ", to_string(listing.error().kind), ": ", listing.error().message);
        CHECK(listing.error().kind == RemoteErrorKind::Lost);
        CHECK_FALSE(session.connected());
    }
}

// A server that answers the login byte by byte (a banner of continuation lines, one every
// 100 ms): the service's stop must not wait for the connect timeout.
TEST_CASE("ftp: the server's stop flag ends a connect to a server that drips its banner") {
    TempDir dir;
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    std::atomic<bool> done{false};
    std::thread dripping([&] {
        const int c = ::accept(listener, nullptr, nullptr);
        for (int i = 0; c >= 0 && i < 150 && !done; ++i) {
            if (::send(c, "220-wait\r\n", 10, MSG_NOSIGNAL) < 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (c >= 0) ::close(c);
    });
    FtpEndpoint e;
    e.host = "127.0.0.1";
    e.port = ntohs(addr.sin_port);
    e.user = "someone";
    e.password_file = dir.path() / "password";
    write(e.password_file, "secret\n");
    fs::permissions(e.password_file, fs::perms::owner_read | fs::perms::owner_write);
    e.tls = FtpSecurity::None;
    std::atomic<bool> stopping{false};
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        stopping = true;
    });
    FtpSession session(e, &stopping);
    const auto started = std::chrono::steady_clock::now();
    auto c = session.connect();
    const auto took = std::chrono::steady_clock::now() - started;
    done = true;
    stopper.join();
    dripping.join();
    ::close(listener);
    REQUIRE_FALSE(c);
    CHECK(c.error().kind == RemoteErrorKind::Lost);
    CHECK(took < std::chrono::seconds(2));
    CHECK_FALSE(session.connected());
}

namespace {

// Reads one command line from the control connection `c`; empty when it closed.
std::string command_line(int c) {
    std::string line;
    char ch = 0;
    while (::recv(c, &ch, 1, 0) == 1) {
        if (ch == '\n') return line;
        if (ch != '\r') line += ch;
    }
    return {};
}

// A listener on 127.0.0.1 with a port of the kernel's choice; the port through `port`.
int loopback_listener(std::uint16_t& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd, 1) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("cannot listen on 127.0.0.1");
    port = ntohs(addr.sin_port);
    return fd;
}

}  // namespace

// A hostile FTP server on 127.0.0.1 that logs in anyone, announces no MLST, says every file
// has `size` bytes, and lets `transfer` write what it likes on the data connection of a
// LIST or RETR. One client, one transfer; stopped by its destructor.
class FakeFtpServer {
public:
    using Transfer = std::function<void(int data, const std::atomic<bool>& done)>;
    FakeFtpServer(std::int64_t size, Transfer transfer)
        : listener_(loopback_listener(port_)),
          thread_([this, size, transfer] { serve(size, transfer); }) {}
    ~FakeFtpServer() {
        done_ = true;
        ::shutdown(listener_, SHUT_RDWR);
        thread_.join();
        ::close(listener_);
    }
    FtpEndpoint endpoint(const fs::path& folder) const {
        FtpEndpoint e;
        e.host = "127.0.0.1";
        e.port = port_;
        e.user = "someone";
        e.password_file = folder / "password";
        write(e.password_file, "secret\n");
        fs::permissions(e.password_file, fs::perms::owner_read | fs::perms::owner_write);
        e.tls = FtpSecurity::None;
        return e;
    }

private:
    void serve(std::int64_t size, const Transfer& transfer) {
        const int c = ::accept(listener_, nullptr, nullptr);
        if (c < 0) return;
        auto say = [&](std::string_view reply) {
            (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        };
        say("220 ready\r\n");
        int data_listener = -1;
        for (std::string line; !done_ && !(line = command_line(c)).empty();) {
            const std::string verb = line.substr(0, line.find(' '));
            if (verb == "USER") {
                say("331 password\r\n");
            } else if (verb == "PASS") {
                say("230 in\r\n");
            } else if (verb == "PWD") {
                say("257 \"/\"\r\n");
            } else if (verb == "FEAT") {
                say("211-Features:\r\n UTF8\r\n211 End\r\n");
            } else if (verb == "SIZE") {
                say(fmt::format("213 {}\r\n", size));
            } else if (verb == "MDTM") {
                say("213 20260101000000\r\n");
            } else if (verb == "EPSV") {
                std::uint16_t data_port = 0;
                if (data_listener >= 0) ::close(data_listener);
                data_listener = loopback_listener(data_port);
                say(fmt::format("229 Entering Extended Passive Mode (|||{}|)\r\n", data_port));
            } else if (verb == "LIST" || verb == "RETR") {
                const int d = ::accept(data_listener, nullptr, nullptr);
                say(verb == "RETR"
                        ? fmt::format("150 Opening BINARY connection ({} bytes)\r\n", size)
                        : std::string("150 here it comes\r\n"));
                if (d >= 0) {
                    transfer(d, done_);
                    ::close(d);
                }
                say("226 done\r\n");
            } else if (verb == "QUIT") {
                say("221 bye\r\n");
                break;
            } else {
                say("200 ok\r\n");
            }
        }
        if (data_listener >= 0) ::close(data_listener);
        ::close(c);
    }

    std::uint16_t port_ = 0;
    int listener_;
    std::atomic<bool> done_{false};
    std::thread thread_;
};

// A listing sent one line every 200 ms (for ever, as far as the client can tell): fast
// enough for the silence timeout never to end it. The listing's own time limit must, or the
// inbox waits inside one listing without a word.
TEST_CASE("ftp: a listing that trickles for ever is cut at its time limit, as a lost connection") {
    TempDir dir;
    FakeFtpServer server(10, [](int data, const std::atomic<bool>& done) {
        // 15 s at most, so that a client without the limit fails the test instead of
        // hanging it.
        for (int i = 0; !done && i < 75; ++i) {
            const std::string entry =
                fmt::format("-rw-r--r-- 1 u g 10 Jan 01  2026 f{}.csv\r\n", i);
            if (::send(data, entry.data(), entry.size(), MSG_NOSIGNAL) < 0) break;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    });
    FtpEndpoint e = server.endpoint(dir.path());
    e.list_timeout = std::chrono::seconds(2);
    FtpSession session(e);
    REQUIRE(session.connect());
    const auto started = std::chrono::steady_clock::now();
    auto listing = session.list("/in", "*", 50'000);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(listing);
    CHECK(listing.error().kind == RemoteErrorKind::Lost);
    CHECK(listing.error().message.find("took longer than 2 s") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));
    CHECK_FALSE(session.connected());
}

// A server whose SIZE (and the 150 reply) say 10 bytes and that sends 22: the file is still
// being written, or the server lies. Its first 10 bytes must not be taken for the file.
TEST_CASE("ftp: a download that brings more bytes than the file had is not taken") {
    TempDir dir;
    FakeFtpServer server(10, [](int data, const std::atomic<bool>&) {
        const std::string bytes = "0123456789ZZZZZZZZZZZZ";
        (void)::send(data, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    });
    FtpSession session(server.endpoint(dir.path()));
    REQUIRE(session.connect());
    auto got = session.download("/in/a.csv", dir.path() / "a.csv", nullptr, 1 << 20);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == RemoteErrorKind::ChangedWhileReading);
    CHECK_FALSE(fs::exists(dir.path() / "a.csv"));
}
