// SFTP pull speed against OpenSSH's own client, same loopback sshd, same run: downloads a
// 256 MiB file and lists a 10,000-file folder with SftpSession and with `sftp -b`.
// Prints one line per measurement and the ratios (ours / OpenSSH for rates).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include "ingest/sftp_session.hpp"
#include "sshd_fixture.hpp"

namespace fs = std::filesystem;
using actiondrop::ingest::SftpSession;
using actiondrop::ingest::testing::SshServer;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs OpenSSH's sftp with `batch` as its command file; returns the wall time.
double openssh_sftp(const SshServer& server, const fs::path& work, const std::string& batch) {
    const fs::path batch_file = work / "batch";
    std::ofstream(batch_file) << batch;
    std::string command = fmt::format(
        "sftp -q -b {} -P {} -i {} -o BatchMode=yes -o StrictHostKeyChecking=yes "
        "-o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null root@127.0.0.1 >/dev/null",
        batch_file.string(), server.port(), server.client_key().string(),
        server.known_hosts().string());
    auto start = Clock::now();
    if (std::system(command.c_str()) != 0) throw std::runtime_error("sftp failed: " + command);
    return seconds_since(start);
}

}  // namespace

int main(int argc, char** argv) {
    const std::int64_t mib = argc > 1 ? std::stoll(argv[1]) : 256;
    const int files = argc > 2 ? std::stoi(argv[2]) : 10'000;
    SshServer server(std::chrono::seconds(600));
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
    const double megabytes = static_cast<double>(mib) * 1024 * 1024 / 1e6;
    std::system("sync");

    // Ours: connect (with host key check and auth) measured apart from the transfer.
    auto start = Clock::now();
    SftpSession session(server.endpoint());
    if (auto c = session.connect(); !c) {
        fmt::print(stderr, "connect: {}\n", c.error().message);
        return 1;
    }
    const double our_connect = seconds_since(start);
    start = Clock::now();
    auto got = session.download(big.string(), work / "ours.csv");
    const double our_download = seconds_since(start);
    if (!got) {
        fmt::print(stderr, "download: {}\n", got.error().message);
        return 1;
    }
    start = Clock::now();
    auto listing = session.list(many.string(), "*.csv");
    const double our_list = seconds_since(start);
    if (!listing || listing->files.size() != static_cast<std::size_t>(files)) {
        fmt::print(stderr, "list failed\n");
        return 1;
    }
    session.disconnect();
    fs::remove(work / "ours.csv");

    // OpenSSH: its connect cost measured with an empty batch, then subtracted.
    const double their_connect = openssh_sftp(server, work, "pwd\n");
    const double their_download_total = openssh_sftp(
        server, work, fmt::format("get {} {}\n", big.string(), (work / "theirs.csv").string()));
    const double their_list_total =
        openssh_sftp(server, work, fmt::format("ls -l {}\n", many.string()));
    fs::remove(work / "theirs.csv");
    const double their_download = std::max(1e-6, their_download_total - their_connect);
    const double their_list = std::max(1e-6, their_list_total - their_connect);

    fmt::print("connect+auth        ours {:.3f} s   openssh {:.3f} s\n", our_connect,
               their_connect);
    fmt::print(
        "download {} MiB     ours {:.3f} s ({:.0f} MB/s, fsynced)   openssh {:.3f} s ({:.0f} MB/s) "
        "  rate ratio {:.2f}x\n",
        mib, our_download, megabytes / our_download, their_download, megabytes / their_download,
        their_download / our_download);
    fmt::print("download+connect    ours {:.3f} s   openssh {:.3f} s   ratio {:.2f}x\n",
               our_connect + our_download, their_download_total,
               their_download_total / (our_connect + our_download));
    fmt::print("list {} files     ours {:.3f} s   openssh ls -l {:.3f} s   speed ratio {:.2f}x\n",
               files, our_list, their_list, their_list / our_list);
    fmt::print("list+connect        ours {:.3f} s   openssh {:.3f} s   ratio {:.2f}x\n",
               our_connect + our_list, their_list_total,
               their_list_total / (our_connect + our_list));
    // Which ciphers each client negotiated, from sshd's debug log: the rates depend on it.
    std::string log = server.log();
    for (auto at = log.find("server->client cipher:"); at != std::string::npos;
         at = log.find("server->client cipher:", at + 1))
        fmt::print("  sshd: {}\n", log.substr(at, log.find('\n', at) - at));
    return 0;
}
