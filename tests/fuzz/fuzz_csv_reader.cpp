// The batch file reader (lib/batch/csv_reader.*). The first input byte picks the limits
// (short lines, few rows, a small file, short records with few fields) and, with its two
// high bits set, a second reading behind a run of blank lines that puts the file's first k
// bytes (k = the file's first byte) at the end of the reader's first 64 KiB block; the rest
// is the file. Besides crashes and UB it checks that a file ends in records or in one
// file-level error whose line lies in the file; that record lines rise and records keep the
// limits; that moving the file across the block boundary changes nothing but the line
// numbers; and that the records written back with write_csv_record (as result_ and errors_
// files are, lib/batch/outputs.*) read back as the same cells, each made formula-safe. A
// record of one empty cell is written as a blank line and so is not read back: skipped.
#include <cstdint>
#include <string>

#include "batch/outputs.hpp"
#include "fuzz_records.hpp"
#include "fuzz_support.hpp"

using namespace actiondrop;
using ledger::ErrorCode;

namespace {

constexpr std::size_t kBlock = 64 * 1024;  // csv_reader.cpp's read size

bool file_level(ErrorCode code) {
    switch (code) {
        case ErrorCode::NotUtf8:
        case ErrorCode::MalformedCsv:
        case ErrorCode::LineTooLong:
        case ErrorCode::TooLarge:
        case ErrorCode::TooManyRows:
        case ErrorCode::RecordTooLong:
        case ErrorCode::TooManyFields:
            return true;
        default:
            return false;
    }
}

std::int64_t count_lines(std::string_view bytes) {
    std::int64_t n = 1;
    for (char c : bytes) n += c == '\n';
    return n;
}

bool starts_with_bom(std::string_view s) {
    return s.starts_with("\xEF\xBB\xBF") || s.starts_with("\xFF\xFE") || s.starts_with("\xFE\xFF");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t options = data[0];
    const std::string_view file = fuzz::text_of(data + 1, size - 1);

    batch::Limits limits;
    static constexpr std::int64_t line_limits[] = {64 * 1024, 8, 40, 300};
    static constexpr std::int64_t row_limits[] = {5'000'000, 0, 1, 3};
    limits.max_line_bytes = line_limits[options & 3];
    limits.max_rows = row_limits[(options >> 2) & 3];
    if (options & 0x10) limits.max_file_bytes = 100;
    if (options & 0x20) {
        limits.max_record_bytes = 100;
        limits.max_fields = 4;
    }

    const fuzz::ReadFile read = fuzz::read_records(file, limits);
    const std::int64_t lines = count_lines(file);
    std::int64_t last = 0;
    for (const auto& r : read.records) {
        fuzz::check(r.line > last && r.line <= lines, "record lines rise within the file");
        fuzz::check(!r.fields.empty(), "a record has a cell");
        fuzz::check(static_cast<std::int64_t>(r.fields.size()) <= limits.max_fields,
                    "max_fields holds");
        last = r.line;
    }
    if (read.error) {
        fuzz::check(file_level(read.error->code), "a reader error is a file-level code");
        fuzz::check(!read.error->message.empty(), "a reader error says why");
        if (read.error->line)
            fuzz::check(*read.error->line >= 1 && *read.error->line <= lines,
                        "the error line is in the file");
    } else {
        fuzz::check(read.bytes_read == static_cast<std::int64_t>(file.size()),
                    "a good file is read whole");
        fuzz::check(static_cast<std::int64_t>(read.records.size()) <= limits.max_rows + 1,
                    "max_rows holds");
    }

    if ((options & 0xC0) == 0xC0 && size > 2 && !starts_with_bom(file)) {
        // The same file behind blank lines, so that its first `k` bytes end the first block.
        const std::size_t k = data[1];
        const std::size_t pad = kBlock - k;
        std::string shifted(pad, '\n');
        shifted.append(file);
        batch::Limits shifted_limits = limits;
        if (limits.max_file_bytes < (1LL << 40))
            shifted_limits.max_file_bytes += static_cast<std::int64_t>(pad);
        const fuzz::ReadFile moved = fuzz::read_records(shifted, shifted_limits);
        const auto shift = static_cast<std::int64_t>(pad);
        fuzz::check(moved.records.size() == read.records.size(),
                    "the block boundary keeps the records");
        for (std::size_t i = 0; i < moved.records.size(); ++i) {
            fuzz::check(moved.records[i].fields == read.records[i].fields,
                        "the block boundary keeps the cells");
            fuzz::check(moved.records[i].line == read.records[i].line + shift,
                        "the block boundary keeps the lines");
        }
        fuzz::check(moved.error.has_value() == read.error.has_value(),
                    "the block boundary keeps the verdict");
        if (read.error) {
            // Known (reported): on a line or record both over its limit and bad in another
            // way (maybe on a later line of the record), the error found first depends on
            // where a block ends; both reject the file.
            auto too_long = [](ErrorCode c) {
                return c == ErrorCode::LineTooLong || c == ErrorCode::RecordTooLong;
            };
            const bool same = moved.error->code == read.error->code;
            fuzz::check(same || too_long(moved.error->code) || too_long(read.error->code),
                        "the block boundary keeps the error");
            if (same)
                fuzz::check(
                    moved.error->line.has_value() == read.error->line.has_value() &&
                        (!read.error->line || *moved.error->line == *read.error->line + shift),
                    "the block boundary keeps the error line");
        }
    }

    if (read.error) return 0;
    // Written under a header line, as every output file is: a first cell starting with
    // U+FEFF would otherwise read back as the file's byte order mark.
    std::ostringstream out;
    std::vector<std::vector<std::string>> expected{{"Header"}};
    batch::write_csv_record(out, expected[0]);
    for (const auto& r : read.records) {
        batch::write_csv_record(out, r.fields);
        if (r.fields.size() == 1 && r.fields[0].empty()) continue;
        auto& cells = expected.emplace_back();
        for (const auto& f : r.fields) cells.push_back(batch::formula_safe(f));
    }
    batch::Limits roomy;
    roomy.max_line_bytes = 1LL << 40;
    const fuzz::ReadFile again = fuzz::read_records(out.str(), roomy);
    fuzz::check(!again.error, "written records read back without error");
    fuzz::check(again.records.size() == expected.size(), "written records read back as many");
    for (std::size_t i = 0; i < expected.size(); ++i)
        fuzz::check(again.records[i].fields == expected[i],
                    "written records read back as the same cells");
    return 0;
}
