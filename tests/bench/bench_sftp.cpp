// SFTP pull speed against OpenSSH's own client, same loopback sshd, same run: downloads a
// 256 MiB file and lists a 10,000-file folder with SftpSession and with OpenSSH's `sftp`.
//
// Fair by construction: both read the same file, warm in the page cache; both write a new
// file in the same local folder, removed and synced away before the next measurement; the
// order alternates from round to round; each round waits (up to 10 s) for an idle machine;
// and both are timed on an open connection, OpenSSH's `sftp` being driven through a pipe
// (`-b -`) with a `pwd` after each command as the marker of its end. OpenSSH runs with its
// defaults (no cipher or buffer options, no fsync); our download includes the fsync that
// makes the spool file durable. The SHA-256 that the claim then computes of the copy is
// timed apart and printed as a second ratio.
//
// Usage: bench_sftp_client [MIB [FILES [ROUNDS]]]
// Prints one line per measurement, the medians and their ratios (ours / OpenSSH for rates,
// OpenSSH's time / ours for listings), the cipher each side negotiated, and whether our
// socket has TCP_NODELAY.
#include <dirent.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench_timing.hpp"
#include "pull/sftp/cipher_choice.hpp"
#include "pull/sftp/sftp_session.hpp"
#include "sshd_fixture.hpp"
#include "util/sha256.hpp"

namespace fs = std::filesystem;
using actiondrop::bench::Clock;
using actiondrop::bench::median;
using actiondrop::bench::seconds_since;
using actiondrop::pull::SftpSession;
using actiondrop::pull::testing::nodelay_towards;
using actiondrop::pull::testing::SshServer;

namespace {

// OpenSSH's sftp, started once and fed commands through a pipe; each command is followed by
// `pwd`, whose answer marks the end of the command's work.
class OpensshSftp {
public:
    OpensshSftp(const SshServer& server) {
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) throw std::runtime_error("pipe");
        const std::string port = std::to_string(server.port());
        const std::string known = "UserKnownHostsFile=" + server.known_hosts().string();
        const std::string key = server.client_key().string();
        auto start = Clock::now();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(in[0], 0);
            ::dup2(out[1], 1);
            ::close(in[0]);
            ::close(in[1]);
            ::close(out[0]);
            ::close(out[1]);
            ::execlp("sftp", "sftp", "-q", "-b", "-", "-P", port.c_str(), "-i", key.c_str(), "-o",
                     "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", known.c_str(), "-o",
                     "GlobalKnownHostsFile=/dev/null", "root@127.0.0.1",
                     static_cast<char*>(nullptr));
            ::_exit(127);
        }
        ::close(in[0]);
        ::close(out[1]);
        to_ = ::fdopen(in[1], "w");
        from_ = ::fdopen(out[0], "r");
        fmt::print(to_, "pwd\n");
        std::fflush(to_);
        await_marker("connecting");  // answered once connected, authenticated and serving
        connect_seconds_ = seconds_since(start);
    }
    ~OpensshSftp() {
        if (to_ != nullptr) std::fclose(to_);  // EOF on its stdin: sftp exits
        if (from_ != nullptr) std::fclose(from_);
        if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
    }
    OpensshSftp(const OpensshSftp&) = delete;
    OpensshSftp& operator=(const OpensshSftp&) = delete;

    double connect_seconds() const { return connect_seconds_; }

    // Runs `command`; returns its wall time, up to the marker's answer. Its output is
    // read and dropped, as a terminal or /dev/null would.
    double run(const std::string& command) {
        auto start = Clock::now();
        fmt::print(to_, "{}\npwd\n", command);
        std::fflush(to_);
        await_marker(command);
        return seconds_since(start);
    }

private:
    void await_marker(const std::string& during) {
        char line[4096];
        // In batch mode the echo of `pwd` comes first, then its answer.
        while (std::fgets(line, sizeof line, from_) != nullptr)
            if (std::strncmp(line, "Remote working directory:", 25) == 0) return;
        throw std::runtime_error("sftp ended during: " + during);
    }

    pid_t pid_ = -1;
    FILE* to_ = nullptr;
    FILE* from_ = nullptr;
    double connect_seconds_ = 0;
};

// Waits (up to `limit`) for a moment when the machine's CPUs are at least 90% idle, so that
// a round is not measured against someone else's compiler; returns whether it came.
// The machine's CPU time so far, in clock ticks: (all, idle or waiting for the disk).
std::pair<long long, long long> cpu_ticks() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    stat >> cpu;
    long long total = 0, idle = 0, v = 0;
    for (int i = 0; i < 10 && stat >> v; ++i) {
        total += v;
        if (i == 3 || i == 4) idle += v;  // idle and iowait
    }
    return {total, idle};
}

// How busy the machine's CPUs were (0..1) since `before` was taken with cpu_ticks().
double busy_since(std::pair<long long, long long> before) {
    auto [t1, i1] = cpu_ticks();
    const long long total = t1 - before.first;
    return total > 0 ? 1.0 - static_cast<double>(i1 - before.second) / static_cast<double>(total)
                     : 0.0;
}

bool await_idle(std::chrono::seconds limit) {
    const auto sample = cpu_ticks;
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
        auto [t0, i0] = sample();
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        auto [t1, i1] = sample();
        if ((i1 - i0) * 10 >= (t1 - t0) * 9) return true;
    }
    return false;
}

void drop(const fs::path& file) {
    fs::remove(file);
    ::sync();
}

}  // namespace

// The CPU and the flags that decide what a cipher costs: AES-NI and carry-less multiply for
// AES-GCM (and their vector forms), AVX2/AVX-512 for chacha20-poly1305, SHA-NI for the
// claim's SHA-256. Printed beside the figures, since the ratio depends on them.
void print_cpu() {
    std::ifstream in("/proc/cpuinfo");
    std::string model, flags;
    for (std::string line; std::getline(in, line);) {
        if (model.empty() && line.starts_with("model name"))
            model = line.substr(line.find(':') + 2);
        if (flags.empty() && line.starts_with("flags"))
            flags = " " + line.substr(line.find(':') + 2) + " ";
    }
    std::string have, lack;
    for (const char* f :
         {"aes", "pclmulqdq", "vaes", "vpclmulqdq", "avx2", "avx512f", "avx512vl", "sha_ni"})
        (flags.find(std::string(" ") + f + " ") != std::string::npos ? have : lack) +=
            std::string(" ") + f;
    fmt::print("cpu: {} ({} cores); flags:{}; without:{}\n", model.empty() ? "unknown" : model,
               std::thread::hardware_concurrency(), have.empty() ? " none" : have,
               lack.empty() ? " none" : lack);
    const auto& t = actiondrop::pull::cipher_timing();
    const std::string& offered = actiondrop::pull::sftp_cipher_preference();
    fmt::print(
        "cipher timing: aes128-gcm {:.0f} MB/s, chacha20-poly1305 {:.0f} MB/s; ours offers "
        "{} first\n",
        t.aes128_gcm_mb_s, t.chacha20_poly1305_mb_s, offered.substr(0, offered.find(',')));
}

int main(int argc, char** argv) {
    print_cpu();
    const std::int64_t mib = argc > 1 ? std::stoll(argv[1]) : 256;
    const int files = argc > 2 ? std::stoi(argv[2]) : 10'000;
    const int rounds = argc > 3 ? std::stoi(argv[3]) : 3;
    SshServer server(std::chrono::seconds(900));
    const fs::path work = server.dir() / "local";
    fs::create_directories(work);

    const fs::path big = server.files() / "big.csv";
    {
        std::string block(1 << 20, '\0');
        std::mt19937_64 random(42);
        std::ofstream out(big, std::ios::binary);
        for (std::int64_t i = 0; i < mib; ++i) {
            for (std::size_t j = 0; j + 8 <= block.size(); j += 8) {
                auto v = random();
                std::memcpy(block.data() + j, &v, 8);
            }
            out.write(block.data(), static_cast<std::streamsize>(block.size()));
        }
    }
    const fs::path many = server.files() / "many";
    fs::create_directories(many);
    for (int i = 0; i < files; ++i)
        std::ofstream(many / fmt::format("Conversions_{:05}.csv", i)) << "a,b\n";
    ::sync();
    {  // warm: the remote file is read from the page cache by both clients
        std::ifstream in(big, std::ios::binary);
        std::vector<char> buffer(1 << 20);
        while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()))) {
        }
    }
    const double megabytes = static_cast<double>(mib) * 1024 * 1024 / 1e6;

    // Ours connects first, so the first cipher line of sshd's log is ours.
    auto start = Clock::now();
    SftpSession session(server.endpoint());
    if (auto c = session.connect(); !c) {
        fmt::print(stderr, "connect: {}\n", c.error().message);
        return 1;
    }
    const double our_connect = seconds_since(start);
    const std::vector<bool> nodelay = nodelay_towards(server.port());
    OpensshSftp openssh(server);

    std::vector<double> our_download, their_download, our_list, their_list;
    std::vector<double> our_busy, their_busy;  // CPU use of the machine during each download
    std::vector<double> our_hash;              // the claim's SHA-256 of each downloaded copy
    const fs::path ours_file = work / "ours.csv", theirs_file = work / "theirs.csv";
    auto ours_get = [&] {
        const auto ticks = cpu_ticks();
        auto t = Clock::now();
        auto got = session.download(big.string(), ours_file);
        const double s = seconds_since(t);
        our_busy.push_back(busy_since(ticks));
        if (!got || got->size != mib << 20)
            throw std::runtime_error("download: " +
                                     (got ? std::string("short") : got.error().message));
        // What a pulled file costs before it is applied: the claim's SHA-256 of the copy.
        t = Clock::now();
        actiondrop::util::digest_file(ours_file);
        our_hash.push_back(seconds_since(t));
        drop(ours_file);
        our_download.push_back(s);
    };
    auto theirs_get = [&] {
        const auto ticks = cpu_ticks();
        double s = openssh.run(fmt::format("get {} {}", big.string(), theirs_file.string()));
        their_busy.push_back(busy_since(ticks));
        if (fs::file_size(theirs_file) != static_cast<std::uintmax_t>(mib << 20))
            throw std::runtime_error("sftp get: short file");
        drop(theirs_file);
        their_download.push_back(s);
    };
    auto ours_ls = [&] {
        auto t = Clock::now();
        auto listing = session.list(many.string(), "*.csv");
        const double s = seconds_since(t);
        if (!listing || listing->files.size() != static_cast<std::size_t>(files))
            throw std::runtime_error("list failed");
        our_list.push_back(s);
    };
    auto theirs_ls = [&] { their_list.push_back(openssh.run("ls -l " + many.string())); };

    for (int r = 0; r < rounds; ++r) {
        const bool idle = await_idle(std::chrono::seconds(10));
        if (r % 2 == 0) {
            ours_get();
            theirs_get();
            ours_ls();
            theirs_ls();
        } else {
            theirs_get();
            ours_get();
            theirs_ls();
            ours_ls();
        }
        fmt::print(
            "round {}  download {} MiB  ours {:.3f} s ({:.0f} MB/s, fsynced, CPUs {:.0f}% busy, "
            "then SHA-256 {:.3f} s)  openssh {:.3f} s ({:.0f} MB/s, CPUs {:.0f}% busy)  |  list {} "
            "files  ours "
            "{:.3f} s  openssh ls -l {:.3f} s{}\n",
            r + 1, mib, our_download.back(), megabytes / our_download.back(), 100 * our_busy.back(),
            our_hash.back(), their_download.back(), megabytes / their_download.back(),
            100 * their_busy.back(), files, our_list.back(), their_list.back(),
            idle ? "" : "  (machine busy)");
    }
    const double od = median(our_download), td = median(their_download);
    const double ol = median(our_list), tl = median(their_list);
    fmt::print("connect+auth        ours {:.3f} s   openssh {:.3f} s (incl. first pwd)\n",
               our_connect, openssh.connect_seconds());
    fmt::print(
        "download {} MiB     ours {:.3f} s ({:.0f} MB/s)   openssh {:.3f} s ({:.0f} MB/s)   "
        "rate ratio {:.2f}x\n",
        mib, od, megabytes / od, td, megabytes / td, td / od);
    const double oh = median(our_hash);
    fmt::print(
        "download + SHA-256  ours {:.3f} s ({:.0f} MB/s)   openssh (no hash) {:.3f} s   rate "
        "ratio {:.2f}x\n",
        od + oh, megabytes / (od + oh), td, td / (od + oh));
    fmt::print("list {} files     ours {:.3f} s   openssh ls -l {:.3f} s   speed ratio {:.2f}x\n",
               files, ol, tl, tl / ol);
    fmt::print("TCP_NODELAY on our socket: {}\n",
               nodelay.empty() ? "socket not found" : (nodelay.front() ? "on" : "OFF"));
    // Which cipher each client negotiated, from sshd's log: ours connected first; OpenSSH
    // rekeys chacha20-poly1305 after 1 GiB, which adds lines.
    std::string log = server.log();
    const char* who[] = {"ours", "openssh"};
    int n = 0;
    for (auto at = log.find("server->client cipher:"); at != std::string::npos;
         at = log.find("server->client cipher:", at + 1), ++n)
        fmt::print("cipher {}: {}\n", n < 2 ? who[n] : "rekey",
                   log.substr(at + 23, log.find(" MAC:", at) - at - 23));
    return 0;
}
