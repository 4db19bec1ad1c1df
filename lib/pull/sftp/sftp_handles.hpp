#pragma once
// The libssh handles behind an SftpSession and the translation of libssh's failures into
// SftpError values; shared by the connection code and the transfer code.
#include <libssh/libssh.h>
#include <libssh/sftp.h>

#include <chrono>
#include <string>

#include "pull/sftp/sftp_session.hpp"

namespace actiondrop::pull {

// libssh 0.10 waits forever for an SFTP reply in blocking mode, whatever its timeout
// option says. While an operation runs, a watchdog shuts the socket down once the server has
// been silent for longer than the limit; the call then fails at once and is reported as a
// Timeout. It touches nothing of libssh, only the file descriptor. One watchdog thread serves
// the guards of every session in the process, so that a pull inbox costs no thread for it.
class StallGuard {
public:
    StallGuard();
    ~StallGuard();
    StallGuard(const StallGuard&) = delete;
    StallGuard& operator=(const StallGuard&) = delete;

    void watch(int fd, std::chrono::milliseconds limit);  // starts the clock
    void feed();                                          // the server just answered
    void stop();
    bool fired() const;
    // Shuts the socket now, and again at each later watch(): the service is stopping. Any
    // thread.
    void interrupt();

private:
    // The watchdog's thread: shuts the sockets of the guards whose deadline passed.
    static void watch_all();
    // All of them under the watchdog's one mutex.
    int fd_ = -1;
    std::chrono::milliseconds limit_{0};
    std::chrono::steady_clock::time_point deadline_;
    bool watching_ = false, fired_ = false, interrupted_ = false;
};

struct SftpSession::Handles {
    ssh_session ssh = nullptr;
    sftp_session sftp = nullptr;
    bool broken = false;  // the transport failed: no more traffic, not even a polite goodbye
    StallGuard guard;

    Handles() = default;
    Handles(const Handles&) = delete;
    Handles& operator=(const Handles&) = delete;
    ~Handles();

    // Shuts the socket at once, so that closing the SFTP layer afterwards fails fast instead
    // of waiting on a server that stopped answering.
    void break_connection();
    // The SftpError for a libssh or SFTP call that just failed while doing `what`; a lost
    // connection also marks the handles broken.
    SftpError failure(const std::string& what);
};

// Watches one operation on `ssh` for stalls, for as long as it lives.
class Watch {
public:
    Watch(StallGuard& guard, ssh_session ssh, std::chrono::milliseconds limit) : guard_(guard) {
        guard_.watch(ssh_get_fd(ssh), limit);
    }
    ~Watch() { guard_.stop(); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

private:
    StallGuard& guard_;
};

SftpError make_error(SftpErrorKind kind, std::string message);

}  // namespace actiondrop::pull
