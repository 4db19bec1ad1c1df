#pragma once
// A private OpenSSH sshd on 127.0.0.1 for the SFTP tests and benchmark: its own host key,
// client key, authorized_keys and config in a temporary folder, root login by key only,
// internal-sftp, debug log to a file. Needs root (sshd's privilege separation).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pull/sftp/sftp_session.hpp"

namespace actiondrop::pull::testing {

namespace sshd_detail {

inline std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

inline void run(const std::string& command) {
    if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
        throw std::runtime_error("command failed: " + command);
}

// Whether `port` of 127.0.0.1 can be bound right now (no SO_REUSEADDR: a connection or a
// listener on it, even in TIME_WAIT, says no).
inline bool bindable(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// The first of `count` consecutive ports of 127.0.0.1 that nothing holds right now, below the
// range the kernel gives outgoing connections (ip_local_port_range): a port in that range can
// be taken by any process's connection whenever the server is not listening on it, as between
// a restart's kill and start, or an FTP server's passive transfers.
inline int free_ports(int count) {
    int low = 32768, high = 60999;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low >> high;
    const int first = 10000, last = std::min(low, 65536) - count;  // the first port's bounds
    if (last <= first) throw std::runtime_error("no ports below the outgoing range");
    static std::mt19937 random{std::random_device{}()};
    for (int tries = 0; tries < 1000; ++tries) {
        const int base = first + static_cast<int>(random() % static_cast<unsigned>(last - first));
        bool all = true;
        for (int p = base; all && p < base + count; ++p) all = bindable(p);
        if (all) return base;
    }
    throw std::runtime_error("no free port on 127.0.0.1");
}

inline int free_port() { return free_ports(1); }

inline bool accepts(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

// Every process below `root` (sshd's per-connection processes call setsid, so they leave
// the listener's process group and must be found through their parents).
inline std::vector<pid_t> descendants(pid_t root) {
    std::multimap<pid_t, pid_t> children;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        // A process may vanish between listing and reading: C stdio, which cannot throw.
        char buffer[512] = {};
        FILE* file = std::fopen((entry.path() / "stat").c_str(), "r");
        if (file == nullptr) continue;
        std::size_t got = std::fread(buffer, 1, sizeof buffer - 1, file);
        std::fclose(file);
        std::string stat(buffer, got);
        auto close = stat.rfind(')');
        if (close == std::string::npos) continue;
        char state = 0;
        int parent = 0;
        if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &parent) == 2)
            children.emplace(parent, std::stoi(name));
    }
    std::vector<pid_t> found;
    std::vector<pid_t> todo{root};
    while (!todo.empty()) {
        pid_t p = todo.back();
        todo.pop_back();
        auto [first, last] = children.equal_range(p);
        for (auto it = first; it != last; ++it) {
            found.push_back(it->second);
            todo.push_back(it->second);
        }
    }
    return found;
}

}  // namespace sshd_detail

class SshServer {
public:
    // `deadline` bounds the whole test: a hung transfer kills the test binary with SIGALRM
    // instead of hanging CTest. `sftp_subsystem` is the command sshd runs for SFTP.
    explicit SshServer(std::chrono::seconds deadline = std::chrono::seconds(120),
                       const std::string& sftp_subsystem = "internal-sftp") {
        using namespace sshd_detail;
        ::alarm(static_cast<unsigned>(deadline.count()));
        static std::atomic<int> counter{0};
        dir_ = std::filesystem::temp_directory_path() /
               ("actiondrop-sshd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(files());
        std::filesystem::create_directories("/run/sshd");
        run("ssh-keygen -q -t ed25519 -N '' -C host -f " + (dir_ / "host_key").string());
        run("ssh-keygen -q -t ed25519 -N '' -C client -f " + client_key().string());
        std::filesystem::copy_file(dir_ / "client_key.pub", dir_ / "authorized_keys");
        port_ = free_port();
        std::ofstream(known_hosts()) << known_hosts_line(dir_ / "host_key.pub");
        std::ofstream(dir_ / "sshd_config")
            << "Port " << port_ << "\nListenAddress 127.0.0.1\n"
            << "HostKey " << (dir_ / "host_key").string() << "\n"
            << "PidFile " << (dir_ / "sshd.pid").string() << "\n"
            << "AuthorizedKeysFile " << (dir_ / "authorized_keys").string() << "\n"
            << "StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            << "PasswordAuthentication yes\nKbdInteractiveAuthentication no\nUseDNS no\n"
            << "MaxStartups 100\nLogLevel DEBUG1\nSubsystem sftp " << sftp_subsystem << "\n";
        start();
    }
    ~SshServer() {
        kill_all();
        ::alarm(0);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    SshServer(const SshServer&) = delete;
    SshServer& operator=(const SshServer&) = delete;

    int port() const { return port_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path files() const { return dir_ / "files"; }  // remote paths are absolute
    std::filesystem::path client_key() const { return dir_ / "client_key"; }
    std::filesystem::path known_hosts() const { return dir_ / "known_hosts"; }
    std::filesystem::path host_public_key() const { return dir_ / "host_key.pub"; }
    std::string log() const { return sshd_detail::slurp(dir_ / "sshd.log"); }
    // Connections sshd accepted, by client port (its log may say it more than once).
    std::size_t connections() const {
        std::set<std::string> ports;
        const std::string text = log();
        const std::string mark = "Connection from 127.0.0.1 port ";
        for (auto at = text.find(mark); at != std::string::npos; at = text.find(mark, at + 1)) {
            const auto from = at + mark.size();
            ports.insert(text.substr(from, text.find(' ', from) - from));
        }
        return ports.size();
    }

    // A known_hosts line naming this server with the public key in `public_key_file`.
    std::string known_hosts_line(const std::filesystem::path& public_key_file) const {
        return "[127.0.0.1]:" + std::to_string(port_) + " " + sshd_detail::slurp(public_key_file);
    }

    SftpEndpoint endpoint() const {
        SftpEndpoint e;
        e.host = "127.0.0.1";
        e.port = port_;
        e.user = "root";
        e.identity_file = client_key();
        e.known_hosts = known_hosts();
        e.connect_timeout = std::chrono::seconds(5);
        e.io_timeout = std::chrono::seconds(5);
        return e;
    }

    // The per-connection processes (not the listener).
    std::vector<pid_t> sessions() const { return sshd_detail::descendants(pid_); }

    // Cuts every transfer at once: the listener and all its per-connection processes.
    void kill_all() {
        if (pid_ <= 0) return;
        for (pid_t p : sessions()) ::kill(p, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

private:
    void start() {
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            int log = ::open((dir_ / "sshd.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(log, 1);
            ::dup2(log, 2);
            ::execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f",
                    (dir_ / "sshd_config").c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!sshd_detail::accepts(port_)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("sshd exited: " + log());
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("sshd did not listen within 10 s: " + log());
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        // The probe's process logs it a moment later; tests count connections from here.
        while (connections() == 0) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("sshd did not log its probe within 10 s: " + log());
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    std::filesystem::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

// TCP_NODELAY of this process's TCP connections to `port`, one per socket (a getsockopt that
// fails counts as off).
inline std::vector<bool> nodelay_towards(int port) {
    std::vector<bool> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        int fd = std::stoi(entry.path().filename().string());
        sockaddr_in peer{};
        socklen_t length = sizeof peer;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0 ||
            peer.sin_family != AF_INET || ntohs(peer.sin_port) != port)
            continue;
        int value = 0;
        socklen_t size = sizeof value;
        found.push_back(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &size) == 0 &&
                        value != 0);
    }
    return found;
}

}  // namespace actiondrop::pull::testing
