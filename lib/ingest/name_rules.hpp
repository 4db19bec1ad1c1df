#pragma once
// Which names in an inbox folder are never taken as batch files (SPEC §4, §5): our own
// answers, markers, hidden and client temporary names, names outside the inbox's pattern,
// and names a shell or a log would misread.
#include <optional>
#include <string>
#include <string_view>

namespace actiondrop::ingest {

// Why `name` is never picked up, or nullopt when it may be a batch file. `pattern` is the
// inbox's glob (`*`, `?`, matched with fnmatch).
std::optional<std::string> never_taken(std::string_view name, std::string_view pattern);

// Hidden names are skipped without a log line: they are our own claim folder and the
// temporary names of atomic writes, which appear all the time.
bool is_hidden(std::string_view name);

// The name as it may appear in a log line: control characters shown as \xNN.
std::string printable(std::string_view name);

}  // namespace actiondrop::ingest
