#pragma once
// What a log line becomes in the systemd journal (sd_journal_sendv(3)): MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER, and the fields ACCOUNT, INBOX, BATCH and FILE read from the
// `inbox=NAME account=A batch=B file=F` tokens that the service's log lines carry, so that
// `journalctl -u actiondropd INBOX=acme-drop` finds one inbox's lines.
//
// The tokens are the `key=value` words before the prose of a line, which starts at its first
// ": " (`inbox=acme: the folder cannot be listed`). A token starts the message or follows a
// space, and its key is exactly one of inbox, account, batch, file (`profile=x` or
// `inboxes=2` give no field); the first token of a key wins. A value is either quoted, `"`
// then any text with \" for a quote and \\ for a backslash then `"`, and taken exactly, or
// runs to the next space without one trailing ':', ',' or ';', and may hold '='. Quoted text
// outside a token is never read for tokens, and neither is the prose.
//
// So text that an outsider chose (a file name, a path holding one) can never add or change a
// field when it is printed quoted (util::printable), or after the first ": ": whatever it
// holds stays inside its quotes or in the prose. A quote that is never closed ends the tokens.
#include <string>
#include <string_view>
#include <vector>

namespace actiondrop::util {

// The levels of a log line, in spdlog's order (trace = 0 ... critical = 5).
enum class LogLevel { trace, debug, info, warn, error, critical };

struct JournalField {
    std::string name;   // ACCOUNT, INBOX, BATCH, FILE
    std::string value;  // as printed in the message
    bool operator==(const JournalField&) const = default;
};

// The fields named by the message's tokens, in the order ACCOUNT, INBOX, BATCH, FILE;
// a key absent from the message, or with an empty value, gives no field.
std::vector<JournalField> journal_fields(std::string_view message);

// The syslog priority journald files a line under (0 emerg ... 7 debug).
int syslog_priority(LogLevel level);

// Every "NAME=value" string of one journal entry: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER,
// then the fields of journal_fields().
std::vector<std::string> journal_entry(std::string_view message, LogLevel level,
                                       std::string_view identifier);

// Whether `fd` is the stream that $JOURNAL_STREAM ("DEVICE:INODE", in decimal) names:
// systemd sets it for a service whose stdout or stderr goes to the journal, and a child
// that redirected its stderr elsewhere inherits it, hence the comparison (systemd.exec(5)).
bool is_journal_stream(const char* journal_stream, int fd);

}  // namespace actiondrop::util
