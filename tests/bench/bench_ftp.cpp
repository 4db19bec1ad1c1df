// FTP pull speed against the curl command-line client, same loopback vsftpd, same run:
// downloads a 256 MiB file and lists a 10,000-file folder with FtpSession (libcurl behind
// RemoteFolder) and with `curl`, over explicit TLS (the default of an FTP pull inbox) and over
// plain FTP.
//
// Fair by construction: both read the same file, warm in the page cache; both write a new
// file in the same local folder, removed and synced away before the next measurement; the
// order alternates from round to round. curl is a process per measurement, so its figure
// holds its start, TCP connection, TLS handshake and login (a few milliseconds); ours is
// timed on an open connection, and its download includes the fsync that makes the spool file
// durable, which curl does not do. Listings: curl's `LIST` against our listing as the puller
// asks for it at every poll once the folder's files are over a minute old; the first listing
// of a folder also asks each file's time (MDTM, docs/ingest.md, "Pull inboxes: SFTP and
// FTP"), and so does every one in the minute after a file is first seen: that listing is
// timed once and printed apart as the cold listing.
//
// Usage: bench_ftp_client [MIB [FILES [ROUNDS]]]
// Prints one line per measurement and, per mode, the medians and their ratios (ours / curl
// for rates, curl's time / ours for listings).
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_timing.hpp"
#include "pull/ftp/ftp_session.hpp"
#include "vsftpd_fixture.hpp"

namespace fs = std::filesystem;
using actiondrop::bench::Clock;
using actiondrop::bench::median;
using actiondrop::bench::seconds_since;
using actiondrop::pull::FtpSession;
using actiondrop::pull::testing::FtpMode;
using actiondrop::pull::testing::FtpServerProcess;

namespace {

void run(const std::string& command) {
    if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

// Drops the local copy and what the kernel still holds of it, so that no measurement pays
// for the previous one's writeback.
void forget(const fs::path& file) {
    fs::remove(file);
    ::sync();
}

struct Figures {
    std::vector<double> ours_download, curl_download, ours_list, curl_list;
    double cold_list = 0;
};

Figures measure(FtpMode mode, int mib, int files, int rounds) {
    FtpServerProcess server(mode, std::chrono::seconds(1800));
    const fs::path local = server.dir() / "local";
    fs::create_directories(local);
    // The file: random bytes, so that nothing on the way can compress them.
    run(fmt::format("head -c {} /dev/urandom > '{}'", std::int64_t{mib} << 20,
                    (server.files() / "big.bin").string()));
    fs::create_directories(server.files() / "many");
    for (int i = 0; i < files; ++i)
        std::ofstream(server.files() / "many" / fmt::format("conv_{:05}.csv", i)) << "x\n";
    server.own(server.files());
    run(fmt::format("cat '{}' > /dev/null", (server.files() / "big.bin").string()));

    // curl reads the credentials from a netrc file, never from its command line.
    const fs::path netrc = server.dir() / "netrc";
    std::ofstream(netrc) << "machine 127.0.0.1 login " << server.user() << " password "
                         << server.password() << "\n";
    const std::string tls = mode == FtpMode::Plain ? std::string()
                                                   : fmt::format("--ssl-reqd --cacert '{}' ",
                                                                 server.certificate().string());
    const std::string curl =
        fmt::format("curl -sS --fail --netrc-file '{}' {}", netrc.string(), tls);
    const std::string url = fmt::format("ftp://127.0.0.1:{}", server.port());

    // The server does not chroot its user: remote paths are the files' own.
    const std::string big = (server.files() / "big.bin").string();
    const std::string many = (server.files() / "many").string();
    FtpSession ours(server.endpoint());
    if (auto ok = ours.connect(); !ok) throw std::runtime_error(ok.error().message);

    Figures f;
    {
        const auto start = Clock::now();
        auto listing = ours.list(many, "*", std::size_t(files) + 10);
        f.cold_list = seconds_since(start);
        if (!listing) throw std::runtime_error("the cold listing: " + listing.error().message);
        if (listing->files.size() != std::size_t(files))
            throw std::runtime_error(fmt::format("the cold listing has {} files of {} ({} skipped)",
                                                 listing->files.size(), files,
                                                 listing->skipped.size()));
        fmt::print("cold listing ours {:.3f} s; waiting 66 s for the file times to settle\n",
                   f.cold_list);
        std::fflush(stdout);
        std::this_thread::sleep_for(std::chrono::seconds(66));
        if (auto again = ours.list(many, "*", std::size_t(files) + 10); !again)
            throw std::runtime_error(again.error().message);
    }
    const double bytes = double(std::int64_t{mib} << 20);
    for (int round = 0; round < rounds; ++round) {
        const auto ours_down = [&] {
            const fs::path to = local / "ours.bin";
            const auto start = Clock::now();
            auto got = ours.download(big, to, {}, std::int64_t{1} << 40);
            const double s = seconds_since(start);
            if (!got || fs::file_size(to) != std::uintmax_t(bytes))
                throw std::runtime_error("our download failed");
            forget(to);
            f.ours_download.push_back(s);
            fmt::print("round {} download ours {:.3f} s ({:.0f} MB/s)\n", round + 1, s,
                       bytes / s / 1e6);
        };
        const auto curl_down = [&] {
            const fs::path to = local / "curl.bin";
            const auto start = Clock::now();
            run(fmt::format("{} -o '{}' {}/{}", curl, to.string(), url, big));
            const double s = seconds_since(start);
            if (fs::file_size(to) != std::uintmax_t(bytes))
                throw std::runtime_error("curl's download is short");
            forget(to);
            f.curl_download.push_back(s);
            fmt::print("round {} download curl {:.3f} s ({:.0f} MB/s)\n", round + 1, s,
                       bytes / s / 1e6);
        };
        const auto ours_ls = [&] {
            const auto start = Clock::now();
            auto listing = ours.list(many, "*", std::size_t(files) + 10);
            const double s = seconds_since(start);
            if (!listing || listing->files.size() != std::size_t(files))
                throw std::runtime_error("our listing did not list every file");
            f.ours_list.push_back(s);
            fmt::print("round {} listing ours {:.3f} s\n", round + 1, s);
        };
        const auto curl_ls = [&] {
            const fs::path to = local / "list.txt";
            const auto start = Clock::now();
            run(fmt::format("{} -o '{}' {}/{}/", curl, to.string(), url, many));
            const double s = seconds_since(start);
            std::ifstream in(to);
            std::size_t lines = 0;
            for (std::string line; std::getline(in, line);) ++lines;
            if (lines != std::size_t(files)) throw std::runtime_error("curl's listing is short");
            f.curl_list.push_back(s);
            fmt::print("round {} listing curl {:.3f} s\n", round + 1, s);
        };
        if (round % 2 == 0) {
            ours_down(), curl_down(), ours_ls(), curl_ls();
        } else {
            curl_down(), ours_down(), curl_ls(), ours_ls();
        }
    }
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    const int mib = argc > 1 ? std::atoi(argv[1]) : 256;
    const int files = argc > 2 ? std::atoi(argv[2]) : 10000;
    const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
    ::signal(SIGPIPE, SIG_IGN);
    try {
        for (const FtpMode mode : {FtpMode::ExplicitTls, FtpMode::Plain}) {
            const char* name = mode == FtpMode::Plain ? "plain" : "tls";
            fmt::print("mode {}\n", name);
            const Figures f = measure(mode, mib, files, rounds);
            const double bytes = double(std::int64_t{mib} << 20);
            const double ours = bytes / median(f.ours_download) / 1e6;
            const double theirs = bytes / median(f.curl_download) / 1e6;
            fmt::print(
                "{} download {} MiB: ours {:.0f} MB/s, curl {:.0f} MB/s, rate ratio {:.2f}x\n",
                name, mib, ours, theirs, ours / theirs);
            fmt::print(
                "{} listing {} files: ours {:.3f} s (cold, with MDTM: {:.3f} s), curl "
                "{:.3f} s, speed ratio {:.2f}x\n",
                name, files, median(f.ours_list), f.cold_list, median(f.curl_list),
                median(f.curl_list) / median(f.ours_list));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_ftp_client: %s\n", e.what());
        return 1;
    }
    return 0;
}
