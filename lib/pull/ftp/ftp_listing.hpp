#pragma once
// What an FTP server says about a folder, read strictly (README.md, "FTP pull inboxes"):
// MLSD lines (RFC 3659) where the server has them, else the two LIST formats that servers
// actually send, Unix `ls -l` and Windows (IIS/DOS). A line that fits neither is never
// guessed at: it is returned as unreadable, and the caller logs it once.
//
// A LIST line's time is coarse (minutes, or only a day for files older than six months,
// and no year on recent ones), so FtpSession asks the server for each file's MDTM instead;
// `listed_time` keeps the line's own text so that an unchanged line needs no new MDTM.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pull/remote_folder.hpp"

namespace actiondrop::pull::ftp {

struct ListedEntry {
    RemoteEntry entry;        // mtime is 0 unless the line had a full time (MLSD)
    std::string listed_time;  // LIST lines: the date and time as written
    bool has_mtime = false;   // MLSD's `modify` fact was there
};

// One MLSD line, "fact=value;fact=value; name". nullopt when it is not one; "." and ".."
// (type cdir/pdir) come back as folders.
std::optional<ListedEntry> parse_mlsd_line(std::string_view line);
// One LIST line in the Unix or the Windows format; nullopt when it is neither, and for
// the "total N" line (check is_list_total first).
std::optional<ListedEntry> parse_list_line(std::string_view line);
bool is_list_total(std::string_view line);

// An MDTM reply's time ("213 YYYYMMDDHHMMSS[.fff]", UTC) or an MLSD `modify` value, as
// seconds since the epoch.
std::optional<std::int64_t> parse_ftp_time(std::string_view text);

// A listing's body split into lines (CRLF or LF), empty lines dropped; at most `most` of
// them, so that a body of tiny lines costs no more than a listing's budget of entries.
std::vector<std::string_view> listing_lines(std::string_view body,
                                            std::size_t most = std::size_t(-1));

}  // namespace actiondrop::pull::ftp
