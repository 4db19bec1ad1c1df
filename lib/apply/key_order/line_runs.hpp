#pragma once
// Result and error lines of rows applied out of file order, in sorted runs of a spool file,
// merged back in row order.
//
// In key order each chunk's rows are applied in the store's key order, so their lines come
// out of order. Each chunk's lines become one run, sorted by row, appended to the spool file;
// at the end of a span the runs are merged (a heap of one cursor per run, each reading its run
// through a buffer of 16 KiB) into result_NAME and errors_NAME, in file order. Memory stays
// that of one chunk's lines and one buffer per run, whatever the span.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace actiondrop::apply::key_order {

class LineRuns {
public:
    // Creates `path` (a spool file of ours, removed by the destructor). After a run, a text
    // buffer grown beyond `keep_bytes` is freed rather than kept for the next one.
    LineRuns(std::filesystem::path path, std::size_t keep_bytes);
    ~LineRuns();
    LineRuns(const LineRuns&) = delete;
    LineRuns& operator=(const LineRuns&) = delete;

    // One row's lines; `row` orders them.
    void add(std::uint32_t row, std::string_view result, std::string_view error) {
        pieces_.push_back({row, static_cast<std::uint32_t>(text_.size()),
                           static_cast<std::uint32_t>(result.size()),
                           static_cast<std::uint32_t>(error.size())});
        text_.append(result);
        text_.append(error);
    }

    // Writes the rows added since the last run as one run, in row order.
    void end_run();

    // Writes every row's lines to `results` and `errors` in row order. Throws
    // std::system_error naming the spool file when it cannot be written or read back.
    void merge(std::ostream& results, std::ostream& errors);

    // Runs written so far.
    std::size_t runs() const { return runs_.size(); }

private:
    struct Piece {
        std::uint32_t row, offset, result_size, error_size;
    };
    struct Cursor;

    std::filesystem::path path_;
    std::size_t keep_bytes_;
    std::ofstream out_;
    std::vector<Piece> pieces_;
    std::string text_;
    std::vector<std::pair<std::int64_t, std::int64_t>> runs_;  // [start, end) in the file
};

}  // namespace actiondrop::apply::key_order
