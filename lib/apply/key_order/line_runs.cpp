#include "apply/key_order/line_runs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace actiondrop::apply::key_order {
namespace fs = std::filesystem;

// A run being read: its next row, through a small buffer. A row's lines can be as long as
// its record, and every run has a cursor: they are passed on piece by piece.
struct LineRuns::Cursor {
    std::int64_t at = 0, end = 0;  // unread part of the run in the file
    std::string buffer;
    std::size_t pos = 0;
    std::uint32_t row = 0, result_size = 0, error_size = 0;

    // Hands the next n bytes of the run to sink(data, size), a piece at a time.
    template <typename Sink>
    void take(int fd, const fs::path& path, std::size_t n, Sink&& sink) {
        while (n > 0) {
            if (pos == buffer.size()) {
                const std::size_t want =
                    static_cast<std::size_t>(std::min<std::int64_t>(end - at, 16 << 10));
                if (want == 0) throw std::runtime_error(path.string() + ": truncated spool file");
                buffer.resize(want);
                const ssize_t got = ::pread(fd, buffer.data(), want, at);
                if (got <= 0)
                    throw std::system_error(got < 0 ? errno : EIO, std::generic_category(),
                                            "read " + path.string());
                buffer.resize(static_cast<std::size_t>(got));
                at += got;
                pos = 0;
            }
            const std::size_t part = std::min(n, buffer.size() - pos);
            sink(buffer.data() + pos, part);
            pos += part;
            n -= part;
        }
    }
    // Reads the next row's head; false at the end of the run.
    bool advance(int fd, const fs::path& path) {
        if (pos == buffer.size() && at == end) return false;
        std::uint32_t head[3];
        char* into = reinterpret_cast<char*>(head);
        take(fd, path, sizeof head, [&](const char* data, std::size_t size) {
            std::memcpy(into, data, size);
            into += size;
        });
        row = head[0];
        result_size = head[1];
        error_size = head[2];
        return true;
    }
    // Writes the lines of the row advance() read.
    void lines(int fd, const fs::path& path, std::ostream& results, std::ostream& errors) {
        take(fd, path, result_size, [&](const char* data, std::size_t size) {
            results.write(data, static_cast<std::streamsize>(size));
        });
        take(fd, path, error_size, [&](const char* data, std::size_t size) {
            errors.write(data, static_cast<std::streamsize>(size));
        });
    }
};

LineRuns::LineRuns(fs::path path, std::size_t keep_bytes)
    : path_(std::move(path)),
      keep_bytes_(keep_bytes),
      out_(path_, std::ios::binary | std::ios::trunc) {
    if (!out_) throw std::system_error(errno, std::generic_category(), "create " + path_.string());
}

LineRuns::~LineRuns() {
    std::error_code ec;
    fs::remove(path_, ec);
}

void LineRuns::end_run() {
    if (pieces_.empty()) return;
    std::sort(pieces_.begin(), pieces_.end(),
              [](const Piece& a, const Piece& b) { return a.row < b.row; });
    const std::int64_t start = out_.tellp();
    for (const Piece& p : pieces_) {
        const std::uint32_t head[3] = {p.row, p.result_size, p.error_size};
        out_.write(reinterpret_cast<const char*>(head), sizeof head);
        out_.write(text_.data() + p.offset, p.result_size + p.error_size);
    }
    runs_.push_back({start, static_cast<std::int64_t>(out_.tellp())});
    pieces_.clear();
    // A chunk of long rows leaves no large buffer behind for the rest of the batch.
    if (text_.capacity() > keep_bytes_) text_ = std::string();
    text_.clear();
}

void LineRuns::merge(std::ostream& results, std::ostream& errors) {
    end_run();
    out_.flush();
    if (!out_)
        throw std::system_error(errno ? errno : EIO, std::generic_category(),
                                "write " + path_.string());
    out_.close();
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "open " + path_.string());
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    std::vector<Cursor> cursors(runs_.size());
    std::vector<std::size_t> heap;
    auto later = [&](std::size_t a, std::size_t b) { return cursors[a].row > cursors[b].row; };
    for (std::size_t i = 0; i < runs_.size(); ++i) {
        cursors[i].at = runs_[i].first;
        cursors[i].end = runs_[i].second;
        if (cursors[i].advance(fd, path_)) heap.push_back(i);
    }
    std::make_heap(heap.begin(), heap.end(), later);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        Cursor& c = cursors[heap.back()];
        c.lines(fd, path_, results, errors);
        if (c.advance(fd, path_))
            std::push_heap(heap.begin(), heap.end(), later);
        else
            heap.pop_back();
    }
}

}  // namespace actiondrop::apply::key_order
