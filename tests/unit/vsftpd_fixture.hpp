#pragma once
// A private vsftpd on 127.0.0.1 for the FTP tests: a throw-away account with a password
// (checked by pam_unix through a PAM service of its own), its folder in a temporary folder,
// passive ports, the protocol logged to a file, and with TLS a certificate for 127.0.0.1
// made by openssl here. Needs root (accounts, PAM, vsftpd).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pull/ftp/ftp_session.hpp"
#include "sshd_fixture.hpp"

namespace actiondrop::pull::testing {

enum class FtpMode { Plain, ExplicitTls, ImplicitTls };

class FtpServerProcess {
public:
    explicit FtpServerProcess(FtpMode mode = FtpMode::Plain,
                              std::chrono::seconds deadline = std::chrono::seconds(120))
        : mode_(mode) {
        using namespace sshd_detail;
        ::alarm(static_cast<unsigned>(deadline.count()));
        static std::atomic<int> counter{0};
        dir_ =
            std::filesystem::temp_directory_path() /
            ("actiondrop-vsftpd-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_ / "empty");
        std::filesystem::create_directories(files());
        std::filesystem::permissions(dir_, std::filesystem::perms(0711));
        std::mt19937_64 random{std::random_device{}()};
        const auto suffix = std::to_string(random() % 1'000'000'000);
        user_ = "adftpt" + suffix;
        password_ = "pw-" + std::to_string(random()) + "-x";
        pam_ = "actiondrop-ftp-test-" + suffix;
        run("useradd -M -N -d " + files().string() + " -s /usr/sbin/nologin " + user_);
        run("echo '" + user_ + ":" + password_ + "' | chpasswd");
        run("chown " + user_ + " " + files().string());
        std::ofstream("/etc/pam.d/" + pam_) << "auth required pam_unix.so\n"
                                               "account required pam_unix.so\n";
        std::ofstream(password_file()) << password_ << "\n";
        ::chmod(password_file().c_str(), 0600);
        if (mode_ != FtpMode::Plain) {
            run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                (dir_ / "key.pem").string() + " -out " + certificate().string());
            run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
                "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                (dir_ / "other_key.pem").string() + " -out " + other_certificate().string());
        }
        port_ = free_port();
        pasv_ = free_ports(passive_count_);
        write_config();
        start();
    }
    ~FtpServerProcess() {
        kill_all();
        ::alarm(0);
        std::error_code ec;
        std::filesystem::remove("/etc/pam.d/" + pam_, ec);
        std::system(("userdel " + user_ + " >/dev/null 2>&1").c_str());
        std::filesystem::remove_all(dir_, ec);
    }
    FtpServerProcess(const FtpServerProcess&) = delete;
    FtpServerProcess& operator=(const FtpServerProcess&) = delete;

    int port() const { return port_; }
    const std::string& user() const { return user_; }
    // The ports a passive transfer may be served on.
    std::vector<int> passive_ports() const {
        std::vector<int> out;
        for (int p = pasv_; p < pasv_ + passive_count_; ++p) out.push_back(p);
        return out;
    }
    const std::string& password() const { return password_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path files() const { return dir_ / "files"; }  // remote paths are absolute
    std::filesystem::path password_file() const { return dir_ / "password"; }
    std::filesystem::path certificate() const { return dir_ / "cert.pem"; }
    // A second certificate for the same name, which the server does not use.
    std::filesystem::path other_certificate() const { return dir_ / "other_cert.pem"; }
    std::string log() const { return sshd_detail::slurp(dir_ / "vsftpd.log"); }

    // The SHA-256 fingerprint of a certificate file, 64 lower-case hex digits.
    static std::string sha256_of(const std::filesystem::path& pem) {
        std::string command = "openssl x509 -noout -fingerprint -sha256 -in " + pem.string();
        FILE* pipe = ::popen(command.c_str(), "r");
        char line[512] = {};
        std::string out = std::fgets(line, sizeof line, pipe) ? line : "";
        ::pclose(pipe);
        std::string hex;
        for (char c : out.substr(out.find('=') + 1))
            if (std::isxdigit(static_cast<unsigned char>(c)))
                hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return hex;
    }

    FtpEndpoint endpoint() const {
        FtpEndpoint e;
        e.host = "127.0.0.1";
        e.port = port_;
        e.user = user_;
        e.password_file = password_file();
        e.tls = mode_ == FtpMode::Plain         ? FtpSecurity::None
                : mode_ == FtpMode::ExplicitTls ? FtpSecurity::Explicit
                                                : FtpSecurity::Implicit;
        if (mode_ != FtpMode::Plain) e.ca_file = certificate();
        e.connect_timeout = std::chrono::seconds(5);
        e.io_timeout = std::chrono::seconds(5);
        return e;
    }

    // Lines of the protocol log with this command sent by a client ("USER", "PASS", ...).
    std::size_t commands_seen(const std::string& command) const {
        const std::string text = log();
        const std::string needle = "FTP command: Client \"127.0.0.1\", \"" + command;
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
            ++n;
        return n;
    }
    std::size_t connections() const {
        const std::string text = log();
        std::size_t n = 0;
        for (auto at = text.find("CONNECT: Client"); at != std::string::npos;
             at = text.find("CONNECT: Client", at + 1))
            ++n;
        return n;
    }

    // The processes serving connections (the listener's descendants).
    std::vector<pid_t> sessions() const { return sshd_detail::descendants(pid_); }

    // Ends the listener and every connection it serves.
    void kill_all() {
        if (pid_ <= 0) return;
        for (pid_t p : sshd_detail::descendants(pid_)) ::kill(p, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void restart() {
        kill_all();
        start();
    }
    // Serves each transfer at no more than this many bytes a second (0: no limit), from the
    // next start on.
    void limit_rate(int bytes_per_second) {
        max_rate_ = bytes_per_second;
        write_config();
    }
    // Gives `path` to the account, so that it may write, rename and remove there.
    void own(const std::filesystem::path& path) const {
        sshd_detail::run("chown -R " + user_ + " '" + path.string() + "'");
    }

private:
    void write_config() {
        std::ofstream c(dir_ / "vsftpd.conf");
        c << "listen=YES\nlisten_ipv6=NO\nlisten_address=127.0.0.1\nlisten_port=" << port_
          << "\nbackground=NO\nseccomp_sandbox=NO\nsecure_chroot_dir=" << (dir_ / "empty").string()
          << "\nanonymous_enable=NO\nlocal_enable=YES\nwrite_enable=YES\nlocal_umask=022\n"
          << "pam_service_name=" << pam_ << "\nuserlist_enable=NO\nchroot_local_user=NO\n"
          << "local_root=" << files().string() << "\n"
          << "pasv_enable=YES\npasv_address=127.0.0.1\npasv_min_port=" << pasv_
          << "\npasv_max_port=" << pasv_ + passive_count_ - 1
          << "\nport_enable=NO\nconnect_from_port_20=NO\n"
          << "xferlog_enable=YES\nxferlog_std_format=NO\nlog_ftp_protocol=YES\n"
          << "vsftpd_log_file=" << (dir_ / "vsftpd.log").string() << "\n"
          << "max_per_ip=50\nmax_clients=50\nlocal_max_rate=" << max_rate_ << "\n";
        if (mode_ != FtpMode::Plain)
            c << "ssl_enable=YES\nrsa_cert_file=" << certificate().string()
              << "\nrsa_private_key_file=" << (dir_ / "key.pem").string()
              << "\nforce_local_logins_ssl=YES\nforce_local_data_ssl=YES\n"
              << "ssl_tlsv1=YES\nssl_sslv2=NO\nssl_sslv3=NO\nssl_ciphers=HIGH\n"
              << "require_ssl_reuse=YES\n"
              << (mode_ == FtpMode::ImplicitTls ? "implicit_ssl=YES\n" : "");
    }
    void start() {
        const std::size_t logged = connections();
        pid_ = ::fork();
        if (pid_ == 0) {
            ::setpgid(0, 0);
            int out = ::open((dir_ / "stderr.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            ::dup2(out, 1);
            ::dup2(out, 2);
            ::execl("/usr/sbin/vsftpd", "/usr/sbin/vsftpd", (dir_ / "vsftpd.conf").c_str(),
                    static_cast<char*>(nullptr));
            ::_exit(127);
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!sshd_detail::accepts(port_)) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("vsftpd exited: " +
                                         sshd_detail::slurp(dir_ / "stderr.log"));
            }
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("vsftpd did not listen within 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        // The probe's process logs it a moment later; tests count connections from here.
        while (connections() == logged) {
            if (std::chrono::steady_clock::now() > deadline)
                throw std::runtime_error("vsftpd did not log its probe within 10 s");
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }

    FtpMode mode_;
    std::filesystem::path dir_;
    std::string user_, password_, pam_;
    int port_ = 0, pasv_ = 0, max_rate_ = 0;
    // Several: vsftpd tries another when one is taken, and ends the session when all are.
    int passive_count_ = 8;
    pid_t pid_ = -1;
};

}  // namespace actiondrop::pull::testing
