// SftpSession against a real OpenSSH sshd on 127.0.0.1 (sshd_fixture.hpp).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <thread>

#include "pull/sftp/cipher_choice.hpp"
#include "pull/sftp/sftp_session.hpp"
#include "sshd_fixture.hpp"
#include "test_pull_fixtures.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace actiondrop::pull;
using actiondrop::pull::testing::nodelay_towards;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::SshServer;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;

namespace {

std::string random_bytes(std::size_t size, unsigned seed) {
    std::mt19937 random(seed);
    std::string bytes(size, '\0');
    for (auto& c : bytes) c = static_cast<char>(random());
    return bytes;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// What `ssh-keygen -lf` prints for a public key: "256 SHA256:... comment (ED25519)".
std::string openssh_fingerprint(const fs::path& public_key) {
    std::string command = "ssh-keygen -lf " + public_key.string();
    FILE* pipe = ::popen(command.c_str(), "r");
    char line[512] = {};
    std::string out = std::fgets(line, sizeof line, pipe) ? line : "";
    ::pclose(pipe);
    auto start = out.find("SHA256:");
    return out.substr(start, out.find(' ', start) - start);
}

void make_key(const fs::path& path, const std::string& type = "ed25519") {
    std::string command = "ssh-keygen -q -t " + type + " -N '' -f " + path.string() + " >/dev/null";
    REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace

// Both decide the download rate: without TCP_NODELAY small SFTP packets wait on Nagle's
// algorithm (20 MB/s instead of hundreds), and chacha20-poly1305 costs libssh far more per
// byte than AES-GCM on AES-NI machines.
TEST_CASE("sftp: the connection has TCP_NODELAY and the cipher this machine seals fastest") {
    SshServer server;
    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    CHECK(nodelay_towards(server.port()) == std::vector<bool>{true});
    // The first of the list (pull/sftp/cipher_choice.hpp), which OpenSSH's sshd also offers.
    const std::string& offered = actiondrop::pull::sftp_cipher_preference();
    const std::string first = offered.substr(0, offered.find(','));
    CAPTURE(first);
    CHECK(server.log().find("server->client cipher: " + first) != std::string::npos);
    CHECK(server.log().find("client->server cipher: " + first) != std::string::npos);
}

TEST_CASE("sftp: list keeps matching regular files and reports symlinks and folders as skipped") {
    SshServer server;
    fs::path root = server.files();
    write(root / "Conversions_1.csv", "a,b\n");
    write(root / "Conversions_22.csv", std::string(1000, 'x'));
    write(root / "notes.txt", "x");
    write(root / ".Conversions_3.csv.tmp", "half");
    fs::create_symlink(root / "Conversions_1.csv", root / "Conversions_link.csv");
    fs::create_directory(root / "Conversions_dir.csv");

    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    auto listing = session.list(root.string(), "Conversions_*.csv");
    REQUIRE(listing);
    CHECK(listing->complete);
    std::vector<std::string> names;
    for (const auto& f : listing->files) names.push_back(f.name);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"Conversions_1.csv", "Conversions_22.csv"});
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

    auto one_char = session.list(root.string(), "Conversions_?.csv");
    REQUIRE(one_char);
    REQUIRE(one_char->files.size() == 1);
    CHECK(one_char->files[0].name == "Conversions_1.csv");

    auto budgeted = session.list(root.string(), "*", 2);
    REQUIRE(budgeted);
    CHECK_FALSE(budgeted->complete);

    CHECK(session.list((root / "missing").string(), "*").error().kind == SftpErrorKind::NotFound);
    CHECK(session.ping());
}

TEST_CASE("sftp: download copies a multi-MiB file exactly and hashes it") {
    SshServer server;
    TempDir local;
    const std::string bytes = random_bytes(5 * 1024 * 1024 + 12345, 7);
    write(server.files() / "big.csv", bytes);

    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    std::int64_t last_progress = 0;
    bool monotonic = true;
    auto got = session.download((server.files() / "big.csv").string(), local.path() / "big.csv",
                                [&](std::int64_t n) {
                                    monotonic = monotonic && n > last_progress;
                                    last_progress = n;
                                });
    REQUIRE_MESSAGE(got, got.error().message);
    CHECK(got->size == static_cast<std::int64_t>(bytes.size()));
    CHECK(read(local.path() / "big.csv") == bytes);
    CHECK(actiondrop::util::digest_file(local.path() / "big.csv").sha256 ==
          actiondrop::util::digest_file(server.files() / "big.csv").sha256);
    CHECK(monotonic);
    CHECK(last_progress == got->size);

    SUBCASE("an empty file") {
        write(server.files() / "empty.csv", "");
        auto empty =
            session.download((server.files() / "empty.csv").string(), local.path() / "empty.csv");
        REQUIRE(empty);
        CHECK(empty->size == 0);
        CHECK(fs::file_size(local.path() / "empty.csv") == 0);
    }
    SUBCASE("a missing file leaves nothing behind") {
        auto missing =
            session.download((server.files() / "gone.csv").string(), local.path() / "gone.csv");
        REQUIRE_FALSE(missing);
        CHECK(missing.error().kind == SftpErrorKind::NotFound);
        CHECK_FALSE(fs::exists(local.path() / "gone.csv"));
        CHECK(session.connected());
    }
}

TEST_CASE("sftp: upload replaces an existing result through a temporary name, and claims rename") {
    SshServer server;
    TempDir local;
    fs::path results = server.files() / "results";
    fs::create_directory(results);
    write(results / "Conversions_1.csv", "old result\n");
    write(local.path() / "answer.csv", "new result\n" + random_bytes(200'000, 3));

    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    auto uploaded =
        session.upload(local.path() / "answer.csv", results.string(), "Conversions_1.csv");
    REQUIRE_MESSAGE(uploaded, uploaded.error().message);
    CHECK(read(results / "Conversions_1.csv") == read(local.path() / "answer.csv"));
    CHECK(std::distance(fs::directory_iterator(results), fs::directory_iterator{}) == 1);

    write(server.files() / "Conversions_2.csv", "rows\n");
    const std::string processing = (server.files() / ".processing").string();
    REQUIRE(session.ensure_folder(processing));
    REQUIRE(session.ensure_folder(processing));  // already there is fine
    const std::string source = (server.files() / "Conversions_2.csv").string();
    const std::string claimed = remote_join(processing, "Conversions_2.csv");
    REQUIRE(session.rename(source, claimed));
    CHECK(read(server.files() / ".processing" / "Conversions_2.csv") == "rows\n");
    // A second claimant finds the source gone.
    CHECK(session.rename(source, claimed).error().kind == SftpErrorKind::NotFound);
    REQUIRE(session.remove(claimed));
    CHECK_FALSE(fs::exists(server.files() / ".processing" / "Conversions_2.csv"));
    CHECK(session.stat(claimed).error().kind == SftpErrorKind::NotFound);
}

TEST_CASE("sftp: an unknown host key refuses the connection before any authentication") {
    SshServer server;
    std::ofstream(server.known_hosts(), std::ios::trunc) << "";
    SftpSession session(server.endpoint());
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::HostKeyUnknown);
    CHECK(result.error().fingerprint == openssh_fingerprint(server.host_public_key()));
    CHECK(result.error().message.find(result.error().fingerprint) != std::string::npos);
    CHECK(result.error().known_hosts_line.find("ssh-ed25519") != std::string::npos);
    CHECK_FALSE(session.connected());
    // sshd logs every authentication request at DEBUG1; wait for it to see us go.
    for (int i = 0; i < 100 && server.log().find("Connection closed") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK(server.log().find("Connection closed") != std::string::npos);
    CHECK(server.log().find("userauth-request") == std::string::npos);

    SUBCASE("a missing known_hosts file is the same refusal") {
        fs::remove(server.known_hosts());
        CHECK(session.connect().error().kind == SftpErrorKind::HostKeyUnknown);
    }
    SUBCASE("enrolling the offered line lets it in") {
        std::ofstream(server.known_hosts()) << result.error().known_hosts_line << "\n";
        auto again = session.connect();
        CHECK_MESSAGE(again, (again ? "" : again.error().message));
    }
}

TEST_CASE("sftp: a changed host key or one of another type is refused with its fingerprint") {
    SshServer server;
    SUBCASE("changed") {
        make_key(server.dir() / "impostor");
        std::ofstream(server.known_hosts(), std::ios::trunc)
            << server.known_hosts_line(server.dir() / "impostor.pub");
        SftpSession session(server.endpoint());
        auto result = session.connect();
        REQUIRE_FALSE(result);
        CHECK(result.error().kind == SftpErrorKind::HostKeyChanged);
        CHECK(result.error().fingerprint == openssh_fingerprint(server.host_public_key()));
    }
    SUBCASE("other type") {
        make_key(server.dir() / "ecdsa", "ecdsa");
        std::ofstream(server.known_hosts(), std::ios::trunc)
            << server.known_hosts_line(server.dir() / "ecdsa.pub");
        SftpSession session(server.endpoint());
        auto result = session.connect();
        REQUIRE_FALSE(result);
        CHECK(result.error().kind == SftpErrorKind::HostKeyOther);
        CHECK(result.error().fingerprint == openssh_fingerprint(server.host_public_key()));
    }
    CHECK(server.log().find("userauth-request") == std::string::npos);
}

TEST_CASE("sftp: a key the server does not know fails authentication") {
    SshServer server;
    make_key(server.dir() / "stranger");
    SftpEndpoint endpoint = server.endpoint();
    endpoint.identity_file = server.dir() / "stranger";
    SftpSession session(endpoint);
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::AuthFailed);
    CHECK_FALSE(session.connected());
    CHECK(server.log().find("userauth-request") != std::string::npos);
}

TEST_CASE("sftp: a private key readable by its group is refused before connecting") {
    SshServer server;
    const std::size_t connections_before = count(server.log(), "Connection from");
    fs::permissions(server.client_key(), fs::perms::group_read, fs::perm_options::add);
    SftpSession session(server.endpoint());
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::CredentialUnusable);
    CHECK(result.error().message.find("0640") != std::string::npos);
    CHECK(count(server.log(), "Connection from") == connections_before);
}

TEST_CASE("sftp: a wrong password fails authentication and never shows in the error") {
    SshServer server;
    const std::string secret = "Tr0ub4dor-and-3-horses";
    write(server.dir() / "password", secret + "\n");
    fs::permissions(server.dir() / "password", fs::perms::owner_read | fs::perms::owner_write);
    SftpEndpoint endpoint = server.endpoint();
    endpoint.identity_file.clear();
    endpoint.password_file = server.dir() / "password";
    SftpSession session(endpoint);
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::AuthFailed);
    CHECK(result.error().message.find(secret) == std::string::npos);
    CHECK(result.error().message.find("Tr0ub4dor") == std::string::npos);
    CHECK(server.log().find("method password") != std::string::npos);
}

// A password is as much a secret as a key: the same rule as OpenSSH's for keys.
TEST_CASE(
    "sftp: a password file its group may read, or another user's, is refused before connecting") {
    SshServer server;
    const std::size_t connections_before = count(server.log(), "Connection from");
    const std::string secret = "Tr0ub4dor-and-3-horses";
    const auto file = server.dir() / "password";
    write(file, secret + "\n");
    std::string why;
    SUBCASE("readable by its group") {
        fs::permissions(file,
                        fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
        why = "mode 0640";
    }
    SUBCASE("readable by others") {
        fs::permissions(file,
                        fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
        why = "mode 0604";
    }
    SUBCASE("owned by another user") {
        fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write);
        REQUIRE(::chown(file.c_str(), 65534, 65534) == 0);
        why = "belongs to another user";
    }
    SftpEndpoint endpoint = server.endpoint();
    endpoint.identity_file.clear();
    endpoint.password_file = file;
    SftpSession session(endpoint);
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::CredentialUnusable);
    INFO(result.error().message);
    CHECK(result.error().message.find("password file " + file.string()) != std::string::npos);
    CHECK(result.error().message.find(why) != std::string::npos);
    CHECK(result.error().message.find("Tr0ub4dor") == std::string::npos);
    CHECK(count(server.log(), "Connection from") == connections_before);
}

TEST_CASE("sftp: a file over the limit when opened is refused before a byte is read") {
    SshServer server;
    TempDir local;
    const auto remote = server.files() / "huge.csv";
    write(remote, "");
    fs::resize_file(remote, 2LL << 30);  // sparse: 2 GiB that cost the server nothing
    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    std::int64_t most = 0;
    const auto started = std::chrono::steady_clock::now();
    auto got = session.download(
        remote.string(), local.path() / "huge.csv",
        [&](std::int64_t n) { most = std::max(most, n); }, 1 << 20);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == SftpErrorKind::TooLarge);
    CHECK(got.error().message.find("2147483648") != std::string::npos);
    CHECK(got.error().message.find("1048576") != std::string::npos);
    CHECK(most == 0);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
    CHECK_FALSE(fs::exists(local.path() / "huge.csv"));
    CHECK(session.connected());
}

TEST_CASE("sftp: a file that grows past the limit while it is read is not read past its size") {
    SshServer server;
    TempDir local;
    const fs::path remote = server.files() / "growing.csv";
    const std::int64_t size = 4 * 1024 * 1024, limit = size + 100;
    write(remote, random_bytes(static_cast<std::size_t>(size), 19));
    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    bool grown = false;
    std::int64_t most = 0;
    auto got = session.download(
        remote.string(), local.path() / "growing.csv",
        [&](std::int64_t n) {
            most = std::max(most, n);
            if (!grown && n > 1024 * 1024) {
                write(remote, random_bytes(8 * 1024 * 1024, 23), std::ios::app);
                grown = true;
            }
        },
        limit);
    REQUIRE(grown);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == SftpErrorKind::ChangedWhileReading);
    CHECK(most <= size);
    CHECK_FALSE(fs::exists(local.path() / "growing.csv"));
    CHECK(session.connected());
}

TEST_CASE("sftp: the server killed mid-download gives an error and no partial file") {
    SshServer server;
    TempDir local;
    write(server.files() / "big.csv", random_bytes(16 * 1024 * 1024, 11));
    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    bool killed = false;
    auto got = session.download((server.files() / "big.csv").string(), local.path() / "big.csv",
                                [&](std::int64_t n) {
                                    if (!killed && n > 1024 * 1024) {
                                        server.kill_all();
                                        killed = true;
                                    }
                                });
    REQUIRE(killed);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == SftpErrorKind::ConnectFailed);
    CHECK_FALSE(fs::exists(local.path() / "big.csv"));
    CHECK_FALSE(session.connected());
    CHECK(session.list(server.files().string(), "*").error().kind == SftpErrorKind::ConnectFailed);
}

TEST_CASE("sftp: a server that goes silent mid-download times out") {
    SshServer server;
    TempDir local;
    write(server.files() / "big.csv", random_bytes(16 * 1024 * 1024, 13));
    SftpEndpoint endpoint = server.endpoint();
    endpoint.io_timeout = std::chrono::seconds(1);
    SftpSession session(endpoint);
    REQUIRE(session.connect());
    std::vector<pid_t> stopped;
    auto started = std::chrono::steady_clock::now();
    auto got = session.download((server.files() / "big.csv").string(), local.path() / "big.csv",
                                [&](std::int64_t n) {
                                    if (stopped.empty() && n > 1024 * 1024) {
                                        stopped = server.sessions();
                                        for (pid_t p : stopped) ::kill(p, SIGSTOP);
                                        started = std::chrono::steady_clock::now();
                                    }
                                });
    auto waited = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(stopped.empty());
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == SftpErrorKind::Timeout);
    CHECK(waited < std::chrono::seconds(5));
    CHECK_FALSE(fs::exists(local.path() / "big.csv"));
    CHECK_FALSE(session.connected());
}

TEST_CASE("sftp: interrupt ends a download from a silent server at once, and later requests") {
    // The service's stop (Puller::stop): long before the silence timeout.
    SshServer server;
    TempDir local;
    write(server.files() / "big.csv", random_bytes(16 * 1024 * 1024, 17));
    SftpEndpoint endpoint = server.endpoint();
    endpoint.io_timeout = std::chrono::seconds(30);
    SftpSession session(endpoint);
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
                                        std::this_thread::sleep_for(300ms);
                                        asked = std::chrono::steady_clock::now();
                                        session.interrupt();
                                    });
                                });
    const auto waited = std::chrono::steady_clock::now() - asked;
    if (stopper.joinable()) stopper.join();
    for (pid_t p : stopped) ::kill(p, SIGCONT);
    REQUIRE_FALSE(stopped.empty());
    REQUIRE_FALSE(got);
    CHECK(waited < std::chrono::seconds(2));
    CHECK_FALSE(fs::exists(local.path() / "big.csv"));
    CHECK_FALSE(session.connected());
    const auto again = std::chrono::steady_clock::now();
    CHECK_FALSE(session.ping());
    CHECK(std::chrono::steady_clock::now() - again < std::chrono::seconds(2));
}

TEST_CASE("sftp: connected sessions share one stall watchdog and cost no thread each") {
    SshServer server;
    auto threads = [] {
        return std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator());
    };
    SftpSession first(server.endpoint());
    REQUIRE(first.connect());
    const auto with_one = threads();
    std::vector<std::unique_ptr<SftpSession>> more;
    for (int i = 0; i < 3; ++i) {
        more.push_back(std::make_unique<SftpSession>(server.endpoint()));
        REQUIRE(more.back()->connect());
        REQUIRE(more.back()->ping());
    }
    CHECK(threads() == with_one);
}

// Tests count the connections sshd logged; its per-connection process logs the fixture's
// probe of the port a moment after the connect, so the fixture waits for that line.
TEST_CASE("sftp: the test server is ready only once its log names the fixture's probe") {
    for (int i = 0; i < 20; ++i) {
        SshServer server;
        CHECK(server.connections() == 1);
    }
}

TEST_CASE("sftp: nothing listening is a connection failure") {
    SshServer server;
    SftpEndpoint endpoint = server.endpoint();
    server.kill_all();
    SftpSession session(endpoint);
    auto result = session.connect();
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == SftpErrorKind::ConnectFailed);
}

// OpenSSH's sftp-server behind a relay that holds each reply naming a folder's entries for
// 300 ms: a listing that trickles, each entry soon enough for the silence timeout never to
// end it. The listing's own time limit must, or the inbox waits inside one listing without a
// word (docs/ingest.md, "What a hostile server can cost").
TEST_CASE("sftp: a listing that trickles is cut at its time limit, as a lost connection") {
    const fs::path sftp_server = "/usr/lib/openssh/sftp-server";
    REQUIRE(fs::exists(sftp_server));
    TempDir relay_dir;
    const fs::path relay = relay_dir.path() / "slow-sftp";
    write(relay, R"(#!/usr/bin/env python3
import os, subprocess, sys, threading, time
server = subprocess.Popen([")" +
                     sftp_server.string() + R"("], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, bufsize=0)
def up():
    while data := os.read(0, 65536):
        server.stdin.write(data)
    server.stdin.close()
threading.Thread(target=up, daemon=True).start()
def read(n):
    data = b""
    while len(data) < n:
        more = server.stdout.read(n - len(data))
        if not more:
            sys.exit(0)
        data += more
    return data
while True:
    head = read(5)
    body = read(int.from_bytes(head[:4], "big") - 1)
    if head[4] == 104:  # SSH_FXP_NAME: a folder's entries
        time.sleep(0.3)
    os.write(1, head + body)
)");
    fs::permissions(relay, fs::perms::owner_all);
    SshServer server(std::chrono::seconds(120), relay.string());
    // About 100 entries per reply: some 30 replies, 9 s in all.
    for (int i = 0; i < 3000; ++i) write(server.files() / fmt::format("f{}.csv", i), "x");
    SftpEndpoint endpoint = server.endpoint();
    endpoint.list_timeout = std::chrono::seconds(2);
    SftpSession session(endpoint);
    REQUIRE(session.connect());
    const auto started = std::chrono::steady_clock::now();
    auto listing = session.list(server.files().string(), "*", 50'000);
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(listing);
    CHECK(listing.error().kind == SftpErrorKind::Timeout);
    CHECK(listing.error().message.find("took longer than 2 s") != std::string::npos);
    CHECK(took < std::chrono::seconds(4));
    CHECK_FALSE(session.connected());
}

TEST_CASE("sftp: a file that grows or shrinks during the download is not taken") {
    SshServer server;
    TempDir local;
    const fs::path remote = server.files() / "moving.csv";
    write(remote, random_bytes(8 * 1024 * 1024, 17));
    SftpSession session(server.endpoint());
    REQUIRE(session.connect());
    bool touched = false;
    std::function<void()> change;
    SUBCASE("grows") {
        change = [&] { write(remote, "more rows\n", std::ios::app); };
    }
    SUBCASE("shrinks") {
        change = [&] { fs::resize_file(remote, 2 * 1024 * 1024); };
    }
    auto got = session.download(remote.string(), local.path() / "moving.csv", [&](std::int64_t n) {
        if (!touched && n > 1024 * 1024) {
            change();
            touched = true;
        }
    });
    REQUIRE(touched);
    REQUIRE_FALSE(got);
    CHECK(got.error().kind == SftpErrorKind::ChangedWhileReading);
    CHECK_FALSE(fs::exists(local.path() / "moving.csv"));
    CHECK(session.connected());
}
