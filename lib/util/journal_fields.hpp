#pragma once
// What a log line becomes in the systemd journal (sd_journal_sendv(3)): MESSAGE, PRIORITY,
// SYSLOG_IDENTIFIER, and the fields ACCOUNT, INBOX, BATCH and FILE read from the
// `inbox=NAME account=A batch=B file=F` tokens that the service's log lines carry, so that
// `journalctl -u actiondropd INBOX=acme-drop` finds one inbox's lines.
//
// A token starts the message or follows a space, and its key is exactly one of
// inbox, account, batch, file (`profile=x` or `inboxes=2` are not tokens); the first token
// of a key wins. A value runs to the next space, without one trailing ':', ',' or ';'
// (`inbox=acme: why`), and may hold '='. FILE alone may hold spaces (names are printed
// as the advertiser gave them, control characters escaped): it runs up to the next
// ` key=` token of the line when no ':' comes before it (`file=my report.csv status=...`);
// a name with a space followed by prose (`file=a b.csv failed: ...`) keeps its first word.
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
