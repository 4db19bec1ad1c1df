#include "apply/answer_files.hpp"

#include <cerrno>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <system_error>

#include "batch/csv_reader.hpp"
#include "batch/outputs.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;

Spool::Spool(fs::path folder) : folder_(std::move(folder)) {
    fs::remove_all(folder_);
    fs::create_directories(folder_);
}

Spool::~Spool() {
    std::error_code ec;
    fs::remove_all(folder_, ec);
}

std::ofstream open_output(const fs::path& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::system_error(errno, std::generic_category(), "create " + path.string());
    return out;
}

void close_output(std::ofstream& out, const fs::path& path) {
    out.flush();
    if (!out)
        throw std::system_error(errno ? errno : EIO, std::generic_category(),
                                "write " + path.string());
    out.close();
}

// all_or_nothing: the rows that would have applied are reported NOT_APPLIED.
void mark_not_applied(const fs::path& result_file, const fs::path& rewritten) {
    std::ifstream in(result_file, std::ios::binary);
    auto out = open_output(rewritten);
    // Our own file, whose lines can be longer than the rows they answer: no limit applies.
    constexpr auto none = std::numeric_limits<std::int64_t>::max();
    batch::CsvReader reader(in, batch::Limits{.max_file_bytes = none,
                                              .max_rows = none,
                                              .max_line_bytes = none,
                                              .max_record_bytes = none,
                                              .max_fields = none});
    batch::Record record;
    bool header = true;
    while (true) {
        auto more = reader.next(record);
        if (!more)
            throw std::runtime_error("re-reading our own result file: " + more.error().message);
        if (!*more) break;
        if (!header && record.fields.size() > 4 && record.fields[4] == "APPLIED")
            record.fields[4] = "NOT_APPLIED";
        header = false;
        // Cells were made formula-safe when first written, so writing them again is exact.
        batch::write_csv_record(out, record.fields);
    }
    close_output(out, rewritten);
}

}  // namespace actiondrop::apply
