#pragma once
// The answer files of one batch while they are built: a private spool folder, output
// streams that fail loudly, and the all_or_nothing rewrite of a result file
// (docs/formats.md, "Outputs").
#include <filesystem>
#include <fstream>
#include <string>

namespace actiondrop::apply {

// A batch's private folder for its outputs being built; emptied when made and removed
// with everything in it when destroyed.
class Spool {
public:
    explicit Spool(std::filesystem::path folder);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;
    std::filesystem::path path(const std::string& name) const { return folder_ / name; }

private:
    std::filesystem::path folder_;
};

// Opens an output for writing from the start; throws std::system_error naming the path.
std::ofstream open_output(const std::filesystem::path& path);
// Flushes and closes it; a failed write (disk full) throws std::system_error naming the path.
void close_output(std::ofstream& out, const std::filesystem::path& path);

// all_or_nothing: writes `result_file` again as `rewritten`, with the rows that would have
// applied reported NOT_APPLIED.
void mark_not_applied(const std::filesystem::path& result_file,
                      const std::filesystem::path& rewritten);

}  // namespace actiondrop::apply
