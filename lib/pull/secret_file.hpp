#pragma once
// The secrets a pull inbox logs in with: a password file (SFTP and FTP) and a private key
// (SFTP). A secret that anyone but its owner (this service's user, or root) may read or
// change is not a secret any more, so it is refused rather than used: OpenSSH's rule for a
// private key, applied to password files too (deploy/README.md, "Layout and permission model").
#include <expected>
#include <filesystem>
#include <string>

namespace actiondrop::pull {

// Text wiped from memory when it goes; never copied.
struct Secret {
    std::string text;
    Secret() = default;
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret();
};

// Reads a secret file whole into `out`, checked on the very descriptor it is read from (so
// the file checked is the file used, whatever is renamed meanwhile), at most 64 KiB. The error
// says why, without the file's name or content: "cannot be read: No such file or directory",
// "is larger than 65536 bytes", "is not a file", "is accessible by group or others (mode
// 0640); ...", "belongs to another user ...".
std::expected<void, std::string> read_secret_file(const std::filesystem::path& path, Secret& out);

// A password file: read_secret_file, then one line, its line end dropped; "is empty" and
// "holds more than one line" are refused too.
std::expected<void, std::string> read_password_file(const std::filesystem::path& path, Secret& out);

}  // namespace actiondrop::pull
