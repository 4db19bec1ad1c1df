#pragma once
// Which names in an inbox folder are never taken as batch files (docs/formats.md, docs/ingest.md):
// our own answers, markers, hidden and client temporary names, names outside the inbox's pattern,
// and names a shell or a log would misread; and how a name is printed in a log line.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace actiondrop::util {

// Why `name` is never picked up, or nullopt when it may be a batch file. `pattern` is the
// inbox's glob (`*`, `?`, matched with fnmatch).
std::optional<std::string> never_taken(std::string_view name, std::string_view pattern);

// The longest name of a batch file whose answers can be written: NAME_MAX (255) less the
// longest name made from it, the temporary name of an atomic write of NAME_summary.json
// (".NAME_summary.json.PID.16HEX.tmp", 43 bytes more). The hidden name of a claim across
// mounts (".ad-<tag>.<batch id>_NAME", 43 more) is as long; the claim (`<batch id>_NAME`, 30
// more) and remote temporary names (".result_NAME.16HEX.tmp", 29 more) are shorter.
constexpr std::size_t max_name_bytes = 255 - 43;

// Why no answer could be written for a file of this name (too long), or nullopt.
std::optional<std::string> unanswerable(std::string_view name);

// Hidden names are skipped without a log line: they are our own claim folder and the
// temporary names of atomic writes, which appear all the time.
bool is_hidden(std::string_view name);

// The name (or a path) as it may appear in a log line: bare when it is letters, digits and
// harmless punctuation (`ok.csv`); else quoted, with \" for a quote, \\ for a backslash,
// \xNN for a control character or a byte that is not UTF-8, and \uNNNN for a character that
// reorders, hides or breaks text (a C1 control, a bidirectional mark or override, a
// zero-width character, a line separator) (`"my report.csv"`).
// Whatever a name holds, it cannot add or change a journal field of the line
// (util/journal_fields.hpp reads a quoted value whole), nor show as another name.
std::string printable(std::string_view name);
// Prose that holds text an outsider chose (a server's reply), as it may appear after the
// first ": " of a log line: unquoted, but with the same \xNN and \uNNNN escapes, so that it
// cannot break the line, move the cursor or reorder what a terminal shows. Text that needs
// none, printable()'s output included, is left as it is.
std::string printable_text(std::string_view text);

}  // namespace actiondrop::util
