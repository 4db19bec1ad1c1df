#include "apply/apply_file.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <future>
#include <limits>
#include <memory>
#include <new>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "batch/outputs.hpp"
#include "ledger/errors.hpp"
#include "ledger/rules.hpp"
#include "util/atomic_file.hpp"
#include "apply/file_limits.hpp"
#include "apply/journal.hpp"
#include "util/batch_id.hpp"
#include "util/opened_file.hpp"
#include "util/sha256.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;
using ledger::ErrorCode;

int ApplyResult::exit_code() const {
    if (status == "REJECTED") return 65;
    return rejected > 0 ? 3 : 0;
}

namespace {

// Rows read ahead, fetched together and written together: bounds memory, keeps every
// write batch sorted by key, and is small enough that the pages one chunk touches stay in
// the store's page cache from its reads to its writes. A chunk also closes once its records
// hold chunk_bytes (held_bytes() below), which rows of ordinary size never reach.
constexpr std::size_t chunk_rows = 8'000;
constexpr std::size_t chunk_bytes = 16 << 20;
constexpr std::size_t problems_kept = 20;
// Of a rejected row kept for the terminal: its message may quote a value as long as a record.
constexpr std::size_t problem_message_bytes = 300;

std::string to_string(const ledger::Instant t) { return ledger::format_instant(t); }

// Output files being built for one batch, in a private spool folder.
class Spool {
public:
    Spool(fs::path folder) : folder_(std::move(folder)) {
        fs::remove_all(folder_);
        fs::create_directories(folder_);
    }
    ~Spool() {
        std::error_code ec;
        fs::remove_all(folder_, ec);
    }
    fs::path path(const std::string& name) const { return folder_ / name; }

private:
    fs::path folder_;
};

std::ofstream open_output(const fs::path& path) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw std::system_error(errno, std::generic_category(), "create " + path.string());
    return out;
}

void close_output(std::ofstream& out, const fs::path& path) {
    out.flush();
    if (!out) throw std::system_error(errno ? errno : EIO, std::generic_category(), "write " + path.string());
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
        if (!more) throw std::runtime_error("re-reading our own result file: " + more.error().message);
        if (!*more) break;
        if (!header && record.fields.size() > 4 && record.fields[4] == "APPLIED")
            record.fields[4] = "NOT_APPLIED";
        header = false;
        // Cells were made formula-safe when first written, so writing them again is exact.
        batch::write_csv_record(out, record.fields);
    }
    close_output(out, rewritten);
}

// Read-ahead rows: the record and, for a modification file, its mapped row.
struct Pending {
    batch::Record record;
    std::optional<std::expected<ledger::ModificationRow, batch::RowError>> modification;
};

// ---- What records read ahead hold ------------------------------------------------------
//
// Quoted line breaks let a record be as long as max_record_bytes, so a number of rows alone
// does not bound the memory of rows read ahead: every batch of them also closes at a number
// of bytes (README.md, "Limits"). A record holds more than its bytes in the file: each field
// is a std::string (32 bytes, its text inline up to 15 bytes), the row mapped from it copies
// the fields, and its result may repeat a value twice (the ActionId, and a message quoting
// it); held_bytes() counts all of it, that is four times its text.
//
// The slots of a batch are reused by the next one, so that a steady file allocates nothing
// per row, and a slot keeps the capacity of what it held: so a batch closes once all its
// slots hold the bound, those it has not reached yet included; the slots it did not reach are
// then emptied, and once it is done, those that held a large record.

constexpr std::size_t large_record = 64 << 10;

std::size_t held_bytes(const batch::Record& record) {
    std::size_t text = 0;
    for (const std::string& field : record.fields)
        if (field.capacity() > std::string().capacity()) text += field.capacity() + 1;
    return 2 * record.fields.capacity() * sizeof(std::string) + 4 * text;
}

// What the slots of rows read ahead hold (held_bytes()), by slot and in all.
class SlotBytes {
public:
    explicit SlotBytes(std::size_t slots) : held_(slots) {}
    std::size_t total() const { return total_; }
    // Slot `i` holds `record` now.
    void refilled(std::size_t i, const batch::Record& record) {
        total_ -= held_[i];
        held_[i] = held_bytes(record);
        total_ += held_[i];
    }
    // Empties, through empty(i), the slots from `first` on that hold anything.
    template <typename Empty>
    void release_from(std::size_t first, Empty&& empty) {
        for (std::size_t i = first; i < held_.size(); ++i) release(i, empty);
    }
    // Empties the slots that hold a large record.
    template <typename Empty>
    void release_large(Empty&& empty) {
        for (std::size_t i = 0; i < held_.size(); ++i)
            if (held_[i] > large_record) release(i, empty);
    }

private:
    template <typename Empty>
    void release(std::size_t i, Empty& empty) {
        if (held_[i] == 0) return;
        empty(i);
        total_ -= held_[i];
        held_[i] = 0;
    }
    std::vector<std::size_t> held_;
    std::size_t total_ = 0;
};

// glibc raises its mmap threshold to the size of the largest block freed, so after one long
// record the buffers of every later one come from malloc's heaps, one per thread that made
// them, and stay there once freed: the process would keep several times what it holds. A
// fixed threshold (glibc's first one) sends each buffer of 128 KiB or more back when freed.
void return_large_blocks() { ::mallopt(M_MMAP_THRESHOLD, 128 << 10); }

// A rejected row as the terminal is shown it (ApplyResult::first_problems).
RowProblem kept_problem(RowProblem problem) {
    if (problem.message.size() > problem_message_bytes) {
        std::size_t cut = problem_message_bytes;  // not inside a UTF-8 sequence
        while (cut > 0 && (static_cast<unsigned char>(problem.message[cut]) & 0xC0) == 0x80) --cut;
        problem.message = problem.message.substr(0, cut) + "...";  // and the rest freed
    }
    return problem;
}

// ---- Rows in the store's key order -----------------------------------------------------
//
// A modification row reads and changes only the action its ActionId names, unless its
// reversal cascades to children. So when every row that reaches the ledger names its action
// by ActionId and none of these actions has children, applying the rows grouped by the
// store's key (each action's rows still in file order) gives every row the result it has in
// file order, while the store reads and writes each of its pages once rather than once per
// chunk. Such a span of rows is read once to find the keys, then once per range of keys to
// gather that range's rows compactly; result and error lines, made in key order, are written
// as sorted runs to a spool file and merged back into file order.

constexpr std::size_t span_ranges = 4;  // a span holds this many ranges of rows
// Bytes of the ids a span copies to ask for them in id order: a span closes early when they
// reach it (a million ids of 32 bytes do not).
constexpr std::size_t span_id_bytes = 32 << 20;
// Bytes of gathered rows per range, whatever the row count: two ranges are in memory at once
// (one applied, the next one gathered).
constexpr std::size_t range_bytes = 12 << 20;
// Rows applied between two writes close also at this many held_bytes(); three chunks are in
// memory at once.
constexpr std::size_t key_chunk_bytes = 4 << 20;
// The key of a row that cannot reach a stored action (unmapped, or no such action).
constexpr std::int64_t no_action = std::numeric_limits<std::int64_t>::min();

struct Keyed {
    std::int64_t key;
    std::uint32_t row;    // in the span, from 0
    std::uint32_t bytes;  // of the row's fields, to bound a range's memory
};

// Bytes in blocks of 1 MiB: nothing moves, nothing is copied to grow. The blocks are mapped
// and unmapped directly: filled on one thread and dropped on another, through malloc they
// would stay in the heap of the thread that made them and add to the peak RSS.
class Arena {
public:
    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena() { clear(); }

    char* allocate(std::size_t n) {
        if (n > left_) {
            const std::size_t size = std::max<std::size_t>(n, 1 << 20);
            void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (block == MAP_FAILED) throw std::bad_alloc();
            blocks_.emplace_back(static_cast<char*>(block), size);
            next_ = blocks_.back().first;
            left_ = size;
        }
        char* p = next_;
        next_ += n;
        left_ -= n;
        return p;
    }
    void clear() {
        for (const auto& [block, size] : blocks_) ::munmap(block, size);
        blocks_.clear();
        next_ = nullptr;
        left_ = 0;
    }

private:
    std::vector<std::pair<char*, std::size_t>> blocks_;
    char* next_ = nullptr;
    std::size_t left_ = 0;
};

void put_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

std::uint64_t get_varint(const char*& p) {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
        const auto byte = static_cast<unsigned char>(*p++);
        value |= std::uint64_t{byte & 0x7fu} << shift;
        if ((byte & 0x80) == 0) return value;
    }
}

// A record as varints and bytes: line, field count, then each field's size and bytes.
void encode_record(const batch::Record& record, std::string& out) {
    out.clear();
    put_varint(out, static_cast<std::uint64_t>(record.line));
    put_varint(out, record.fields.size());
    for (const std::string& field : record.fields) {
        put_varint(out, field.size());
        out.append(field);
    }
}

// Into `record`, reusing its strings.
void decode_record(const char* p, batch::Record& record) {
    record.line = static_cast<std::int64_t>(get_varint(p));
    record.fields.resize(get_varint(p));
    for (std::string& field : record.fields) {
        const std::size_t size = get_varint(p);
        field.assign(p, size);
        p += size;
    }
}

// An output stream into a string.
class StringBuf : public std::streambuf {
public:
    std::string text;

private:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) text.push_back(traits_type::to_char_type(c));
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        text.append(s, static_cast<std::size_t>(n));
        return n;
    }
};

class StringOut : public std::ostream {
public:
    StringOut() : std::ostream(&buf_) {}
    std::string& text() { return buf_.text; }

private:
    StringBuf buf_;
};

// The file read again, positioned after its header and `skip` data rows. Its first reading
// found these rows well formed, so a failure now means that the file changed meanwhile.
class Rereading {
public:
    Rereading(const util::OpenedFile& file, const batch::Limits& limits, std::size_t skip)
        : in_(file.fd(), file.path()), reader_(in_, limits) {
        batch::Record record;
        for (std::size_t i = 0; i <= skip; ++i)
            if (!next(record)) changed();
    }
    bool next(batch::Record& record) {
        auto more = reader_.next(record);
        if (!more) changed();
        return *more;
    }
    batch::CsvReader& reader() { return reader_; }
    [[noreturn]] static void changed() { throw std::runtime_error("the batch file changed while it was applied"); }

private:
    util::DescriptorStream in_;
    batch::CsvReader reader_;
};

// Result and error lines of rows, in sorted runs of a spool file, merged back in row order.
class LineRuns {
public:
    explicit LineRuns(fs::path path) : path_(std::move(path)), out_(open_output(path_)) {}
    ~LineRuns() {
        std::error_code ec;
        fs::remove(path_, ec);
    }

    // One row's lines; `row` orders them.
    void add(std::uint32_t row, std::string_view result, std::string_view error) {
        pieces_.push_back({row, static_cast<std::uint32_t>(text_.size()),
                           static_cast<std::uint32_t>(result.size()), static_cast<std::uint32_t>(error.size())});
        text_.append(result);
        text_.append(error);
    }

    // Writes the rows added since the last run as one run, in row order.
    void end_run() {
        if (pieces_.empty()) return;
        std::sort(pieces_.begin(), pieces_.end(), [](const Piece& a, const Piece& b) { return a.row < b.row; });
        const std::int64_t start = out_.tellp();
        for (const Piece& p : pieces_) {
            const std::uint32_t head[3] = {p.row, p.result_size, p.error_size};
            out_.write(reinterpret_cast<const char*>(head), sizeof head);
            out_.write(text_.data() + p.offset, p.result_size + p.error_size);
        }
        runs_.push_back({start, static_cast<std::int64_t>(out_.tellp())});
        pieces_.clear();
        // A chunk of long rows leaves no large buffer behind for the rest of the batch.
        if (text_.capacity() > key_chunk_bytes) text_ = std::string();
        text_.clear();
    }

    // Writes every row's lines to `results` and `errors` in row order.
    void merge(std::ostream& results, std::ostream& errors) {
        end_run();
        close_output(out_, path_);
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

private:
    struct Piece {
        std::uint32_t row, offset, result_size, error_size;
    };
    // A run being read: its next row, through a small buffer. A row's lines can be as long as
    // its record, and every run has a cursor: they are passed on piece by piece.
    struct Cursor {
        std::int64_t at = 0, end = 0;  // unread part of the run in the file
        std::string buffer;
        std::size_t pos = 0;
        std::uint32_t row = 0, result_size = 0, error_size = 0;

        // Hands the next n bytes of the run to sink(data, size), a piece at a time.
        template <typename Sink>
        void take(int fd, const fs::path& path, std::size_t n, Sink&& sink) {
            while (n > 0) {
                if (pos == buffer.size()) {
                    const std::size_t want = static_cast<std::size_t>(std::min<std::int64_t>(end - at, 16 << 10));
                    if (want == 0) throw std::runtime_error(path.string() + ": truncated spool file");
                    buffer.resize(want);
                    const ssize_t got = ::pread(fd, buffer.data(), want, at);
                    if (got <= 0) throw std::system_error(got < 0 ? errno : EIO, std::generic_category(), "read " + path.string());
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
            take(fd, path, result_size,
                 [&](const char* data, std::size_t size) { results.write(data, static_cast<std::streamsize>(size)); });
            take(fd, path, error_size,
                 [&](const char* data, std::size_t size) { errors.write(data, static_cast<std::streamsize>(size)); });
        }
    };

    fs::path path_;
    std::ofstream out_;
    std::vector<Piece> pieces_;
    std::string text_;
    std::vector<std::pair<std::int64_t, std::int64_t>> runs_;  // [start, end) in the file
};

class BatchRun {
public:
    BatchRun(store::Store& store, const ledger::Catalog& catalog, const ApplyRequest& request,
             const Clock& clock)
        : store_(store), catalog_(catalog), req_(request), clock_(clock) {}

    ApplyResult run();

private:
    ApplyResult reject(ErrorCode code, std::string message, std::optional<std::int64_t> line);
    ApplyResult finish(store::BatchTransaction* tx, std::vector<std::pair<std::string, fs::path>> files);
    void process_rows(store::BatchTransaction& tx);
    ledger::RowResult apply_row(store::BatchTransaction& tx, const batch::Layout& layout, Pending& pending);
    std::optional<RowProblem> count_result(ledger::RowResult& row, const batch::Record& record);
    std::optional<RowProblem> count_row(ledger::RowResult& row, const batch::Record& record,
                                        const batch::Layout& layout, std::ostream& results, std::ostream& errors);
    void apply_in_file_order(store::BatchTransaction& tx, batch::CsvReader& reader, const batch::Layout& layout,
                             std::ostream& results, std::ostream& errors);
    void apply_in_key_order(store::BatchTransaction& tx, batch::CsvReader& reader, const batch::Layout& layout,
                            std::ostream& results, std::ostream& errors);
    bool find_keys(store::BatchTransaction& tx, batch::CsvReader& reader, const batch::Layout& layout,
                   std::size_t most, std::vector<Keyed>& keyed, bool& at_end);
    void apply_span(store::BatchTransaction& tx, const batch::Layout& layout, std::size_t span_start,
                    std::vector<Keyed> keyed, std::int64_t bytes_from, std::int64_t bytes_to, std::ostream& results,
                    std::ostream& errors);
    // A batch committed before (a crash or a failed delivery after its commit): it is never
    // applied again, only answered again if it was not delivered yet.
    ApplyResult answer_committed(const store::BatchRecord& done);
    batch::Summary summary() const;
    void write_summary(const fs::path& path) const;
    void deliver_files(const std::vector<std::pair<std::string, fs::path>>& files);

    store::Store& store_;
    const ledger::Catalog& catalog_;
    const ApplyRequest& req_;
    const Clock& clock_;

    const ledger::Account* account_ = nullptr;
    std::string file_name_;
    std::optional<util::OpenedFile> own_file_;  // opened here when the caller did not
    const util::OpenedFile* file_ = nullptr;    // every read of the batch file goes through it
    util::FileDigest digest_;
    store::BatchRecord record_;
    ledger::Instant now_{};
    std::optional<Spool> spool_;
    ApplyResult result_;
    std::optional<batch::FileError> file_error_;  // a file-level error found while reading rows
    ledger::BatchContext ctx_;
};

batch::Summary BatchRun::summary() const {
    batch::Summary s;
    s.batch_id = record_.batch_id;
    s.file = file_name_;
    s.sha256 = digest_.sha256;
    s.type = std::string(batch::file_type_name(req_.type));
    s.status = result_.status;
    s.total = result_.total;
    s.applied = result_.applied;
    s.rejected = result_.rejected;
    s.error_counts = result_.error_counts;
    s.received_at = record_.received_at;
    s.completed_at = record_.completed_at.value_or(record_.received_at);
    s.error_code = result_.error_code;
    s.error_message = result_.error_message;
    s.line = result_.error_line;
    return s;
}

void BatchRun::write_summary(const fs::path& path) const {
    auto out = open_output(path);
    batch::write_summary(out, summary());
    close_output(out, path);
}

void BatchRun::deliver_files(const std::vector<std::pair<std::string, fs::path>>& files) {
    if (!req_.write_outputs) return;
    for (const auto& [name, path] : files) {
        util::copy_file_atomically(path, req_.outbox / name);
        result_.delivered.push_back(req_.outbox / name);
    }
}

// Commits the journal record and outputs (with the row effects of `tx`, if any), then
// delivers. A dry run rolls back and only delivers.
ApplyResult BatchRun::finish(store::BatchTransaction* tx,
                             std::vector<std::pair<std::string, fs::path>> files) {
    record_.completed_at = clock_();
    record_.status = result_.status;
    record_.total = result_.total;
    record_.applied = result_.applied;
    record_.rejected = result_.rejected;
    record_.error_code = result_.error_code;
    record_.error_message = result_.error_message;
    record_.error_line = result_.error_line;
    {
        std::string counts = "{";
        for (const auto& [code, n] : result_.error_counts)
            counts += fmt::format("{}\"{}\":{}", counts.size() > 1 ? "," : "", code, n);
        record_.error_counts_json = counts + "}";
    }
    auto summary_path = spool_->path(batch::summary_name(file_name_));
    write_summary(summary_path);
    files.emplace_back(batch::summary_name(file_name_), summary_path);

    if (req_.dry_run) {
        if (tx) tx->rollback();
        deliver_files(files);
        return result_;
    }
    std::unique_ptr<store::BatchTransaction> own;
    if (!tx) {
        own = store_.begin_batch(record_.batch_id);
        tx = own.get();
    }
    std::vector<store::BatchOutput> outputs;
    for (const auto& [name, path] : files) outputs.push_back({name, path});
    // What was hashed and read must still be the file: an uploader who kept a descriptor
    // open could have written to it meanwhile.
    if (file_ && file_->changed_since_open())
        throw std::runtime_error("the batch file changed while it was applied; it will be read again");
    move_to(record_, BatchState::Applied);
    tx->commit(record_, outputs);
    if (req_.committed) req_.committed();
    deliver_files(files);
    move_to(record_, BatchState::Delivered);
    store_.put_batch(record_);
    return result_;
}

ApplyResult BatchRun::answer_committed(const store::BatchRecord& done) {
    result_.batch_id = done.batch_id;
    result_.status = done.status;
    result_.error_code = done.error_code;
    result_.error_message = done.error_message;
    result_.error_line = done.error_line;
    result_.total = done.total;
    result_.applied = done.applied;
    result_.rejected = done.rejected;
    if (done.state == BatchState::Applied) {
        result_.redelivered = true;
        if (req_.write_outputs) result_.delivered = deliver(store_, done, req_.outbox);
    }
    return result_;
}

ApplyResult BatchRun::reject(ErrorCode code, std::string message, std::optional<std::int64_t> line) {
    result_.status = "REJECTED";
    result_.error_code = std::string(ledger::error_name(code));
    result_.error_message = std::move(message);
    result_.error_line = line;
    return finish(nullptr, {});
}

ledger::RowResult BatchRun::apply_row(store::BatchTransaction& tx, const batch::Layout& layout, Pending& pending) {
    ledger::RowResult row;
    if (req_.type == batch::FileType::Modifications) {
        auto& parsed = *pending.modification;
        if (parsed) {
            row = ledger::apply_modification(catalog_, *account_, tx, *parsed, ctx_);
        } else {
            row.error = parsed.error().code;
            row.message = parsed.error().message;
        }
    } else {
        auto parsed = layout.conversion(pending.record);
        if (parsed) {
            row = ledger::apply_conversion(catalog_, *account_, tx, *parsed, ctx_);
        } else {
            row.error = parsed.error().code;
            row.message = parsed.error().message;
        }
    }
    row.line = pending.record.line;
    return row;
}

// Counts a row's result; returns the problem of a rejected row.
std::optional<RowProblem> BatchRun::count_result(ledger::RowResult& row, const batch::Record& record) {
    ++result_.total;
    if (row.outcome == ledger::Outcome::Applied) {
        ++result_.applied;
        return std::nullopt;
    }
    row.outcome = ledger::Outcome::Rejected;
    ++result_.rejected;
    std::string code(ledger::error_name(row.error));
    ++result_.error_counts[code];
    if (row.message.empty()) row.message = code;
    return RowProblem{record.line, std::move(code), row.message};
}

// A counted row's result line, and its error line when it was rejected.
void write_lines(const ledger::RowResult& row, const batch::Record& record, const batch::Layout& layout,
                 std::ostream& results, std::ostream& errors) {
    if (row.outcome != ledger::Outcome::Applied) {
        auto cells = layout.original_cells(record);
        cells.emplace_back(ledger::error_name(row.error));
        cells.push_back(row.message);
        batch::write_csv_record(errors, cells);
    }
    batch::write_result_line(results, row);
}

std::optional<RowProblem> BatchRun::count_row(ledger::RowResult& row, const batch::Record& record,
                                              const batch::Layout& layout, std::ostream& results,
                                              std::ostream& errors) {
    auto problem = count_result(row, record);
    write_lines(row, record, layout, results, errors);
    return problem;
}

// Rows read a chunk ahead so that the store can fetch their actions in its key order before
// the rows are applied, still one by one in file order; to the end of the file.
void BatchRun::apply_in_file_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                                   const batch::Layout& layout, std::ostream& results, std::ostream& errors) {
    return_large_blocks();
    const bool modifications = req_.type == batch::FileType::Modifications;
    std::vector<Pending> chunk(chunk_rows);
    SlotBytes held(chunk_rows);
    auto empty = [&](std::size_t i) { chunk[i] = Pending{}; };
    std::vector<std::string_view> action_ids;
    action_ids.reserve(chunk_rows);
    bool at_end = false;
    while (!at_end) {
        std::size_t filled = 0;
        action_ids.clear();
        while (filled < chunk.size() && held.total() < chunk_bytes) {
            Pending& pending = chunk[filled];
            auto more = reader.next(pending.record);
            if (!more) {
                file_error_ = more.error();
                return;
            }
            if (!*more) {
                at_end = true;
                break;
            }
            if (modifications) {
                pending.modification = layout.modification(pending.record);
                if (*pending.modification && (*pending.modification)->action_id)
                    action_ids.push_back(*(*pending.modification)->action_id);
            }
            held.refilled(filled, pending.record);
            ++filled;
        }
        held.release_from(filled, empty);
        if (!action_ids.empty()) tx.prefetch(account_->id, action_ids);
        for (std::size_t i = 0; i < filled; ++i) {
            ledger::RowResult row = apply_row(tx, layout, chunk[i]);
            auto problem = count_row(row, chunk[i].record, layout, results, errors);
            if (problem && result_.first_problems.size() < problems_kept)
                result_.first_problems.push_back(kept_problem(std::move(*problem)));
        }
        held.release_large(empty);
        if (filled > 0) {
            tx.flush();
            if (req_.progress) req_.progress(reader.bytes_read(), digest_.size);
        }
    }
}

void BatchRun::apply_in_key_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                                  const batch::Layout& layout, std::ostream& results, std::ostream& errors) {
    return_large_blocks();
    const std::size_t span_rows = std::max<std::size_t>(req_.key_order_rows, 1) * span_ranges;
    std::size_t span_start = 0;  // data rows before the span
    for (;;) {
        std::vector<Keyed> keyed;
        keyed.reserve(span_rows);
        const std::int64_t bytes_from = reader.bytes_read();
        bool at_end = false;
        const bool in_key_order = find_keys(tx, reader, layout, span_rows, keyed, at_end);
        if (file_error_) return;
        if (!in_key_order) {
            // This span and the rest of the file in file order.
            keyed = {};
            Rereading again(*file_, req_.limits, span_start);
            apply_in_file_order(tx, again.reader(), layout, results, errors);
            return;
        }
        const std::size_t rows = keyed.size();
        if (rows == 0) return;
        apply_span(tx, layout, span_start, std::move(keyed), bytes_from, reader.bytes_read(), results, errors);
        if (at_end) return;
        span_start += rows;
    }
}

// Reads up to a span of rows (fewer once their ids hold span_id_bytes; at_end tells whether the
// file ended) and finds the key of the action each one names. False when a row may reach the
// ledger otherwise than through the ActionId of an action without children, or when the store
// has no key order: then the rows stay in file order.
bool BatchRun::find_keys(store::BatchTransaction& tx, batch::CsvReader& reader, const batch::Layout& layout,
                         std::size_t most, std::vector<Keyed>& keyed, bool& at_end) {
    // The span's ids, asked for in id order: a store can walk its id index once.
    struct Named {
        std::uint64_t prefix;  // the id's first 8 bytes, big-endian: most comparisons end here
        const char* id;
        std::uint32_t size;
        std::uint32_t row;
        std::string_view view() const { return {id, size}; }
    };
    auto prefix_of = [](std::string_view id) {
        std::uint64_t prefix = 0;
        for (std::size_t i = 0; i < 8; ++i)
            prefix = (prefix << 8) | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
        return prefix;
    };
    Arena bytes;
    std::vector<Named> named;
    named.reserve(most);  // grown by doubling, it would hold two copies at once
    batch::Record record;
    std::size_t id_bytes = 0;
    while (keyed.size() < most && id_bytes < span_id_bytes) {
        auto more = reader.next(record);
        if (!more) {
            file_error_ = more.error();
            return false;
        }
        if (!*more) {
            at_end = true;
            break;
        }
        std::size_t size = 16;
        for (const std::string& field : record.fields) size += field.size() + 1;
        keyed.push_back({no_action, static_cast<std::uint32_t>(keyed.size()),
                         static_cast<std::uint32_t>(std::min<std::size_t>(size, UINT32_MAX))});
        auto parsed = layout.modification(record);
        if (!parsed) continue;  // refused before any ledger lookup
        if (!parsed->action_id) {
            // Found by order id, unless its form is refused before any lookup.
            if (ledger::check_modification_form(*parsed).first != ErrorCode::None) continue;
            return false;
        }
        const std::string& id = *parsed->action_id;
        char* copy = bytes.allocate(id.size());
        std::memcpy(copy, id.data(), id.size());
        id_bytes += id.size();
        named.push_back({prefix_of(id), copy, static_cast<std::uint32_t>(id.size()), keyed.back().row});
    }
    std::sort(named.begin(), named.end(), [](const Named& a, const Named& b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.view() < b.view();
    });
    std::vector<std::string_view> ids;
    for (std::size_t first = 0; first < named.size(); first += chunk_rows) {
        const std::size_t n = std::min(chunk_rows, named.size() - first);
        ids.clear();
        for (std::size_t i = first; i < first + n; ++i) ids.push_back(named[i].view());
        const auto keys = tx.action_keys(account_->id, ids);
        if (keys.size() != n) return false;
        for (std::size_t i = 0; i < n; ++i) {
            if (!keys[i]) continue;  // no such action: the row touches nothing
            if (keys[i]->has_children) return false;
            keyed[named[first + i].row].key = keys[i]->key;
        }
    }
    return true;
}

void BatchRun::apply_span(store::BatchTransaction& tx, const batch::Layout& layout, std::size_t span_start,
                          std::vector<Keyed> keyed, std::int64_t bytes_from, std::int64_t bytes_to,
                          std::ostream& results, std::ostream& errors) {
    const std::size_t count = keyed.size();
    std::sort(keyed.begin(), keyed.end(),
              [](const Keyed& a, const Keyed& b) { return a.key != b.key ? a.key < b.key : a.row < b.row; });
    // rank[row]: the row's place in key order; ranges: where each range of places starts.
    std::vector<std::uint32_t> rank(count);
    std::vector<std::int64_t> keys(count);  // by place
    std::vector<std::size_t> ranges{0};
    {
        const std::size_t most_rows = std::max<std::size_t>(req_.key_order_rows, 1);
        std::size_t rows = 0, bytes = 0;
        for (std::size_t at = 0; at < count; ++at) {
            if (rows == most_rows || (rows > 0 && bytes + keyed[at].bytes > range_bytes)) {
                ranges.push_back(at);
                rows = bytes = 0;
            }
            ++rows;
            bytes += keyed[at].bytes;
            rank[keyed[at].row] = static_cast<std::uint32_t>(at);
            keys[at] = keyed[at].key;
        }
        ranges.push_back(count);
        keyed = {};
    }

    LineRuns runs(spool_->path("lines.runs"));
    std::map<std::int64_t, RowProblem> problems;  // the span's first ones, by line
    const std::size_t problems_wanted = problems_kept - std::min(problems_kept, result_.first_problems.size());
    // A range's rows, compactly, in key order; the next range's are gathered from the file on
    // another thread while one range is applied.
    struct Gathered {
        Arena records;
        std::vector<const char*> rows;      // by place in the range
        std::vector<std::uint32_t> row_of;  // by place in the range: the row in the span
    };
    Gathered gathered[2];
    auto gather = [&](Gathered& g, std::size_t from, std::size_t to) {
        g.records.clear();
        g.rows.assign(to - from, nullptr);
        g.row_of.assign(to - from, 0);
        Rereading file(*file_, req_.limits, span_start);
        batch::Record record;
        std::string encoded;
        std::size_t missing = to - from;
        for (std::size_t row = 0; row < count && missing > 0; ++row) {
            if (!file.next(record)) Rereading::changed();
            const std::uint32_t place = rank[row];
            if (place < from || place >= to) continue;
            encode_record(record, encoded);
            char* bytes = g.records.allocate(encoded.size());
            std::memcpy(bytes, encoded.data(), encoded.size());
            g.rows[place - from] = bytes;
            g.row_of[place - from] = static_cast<std::uint32_t>(row);
            --missing;
        }
    };
    const Gathered* range = nullptr;  // the range being applied
    // Three chunks: while one is applied, the next one's rows are decoded and its actions
    // read ahead, and the result and error lines of the one before are written, each on a
    // thread of its own.
    struct Chunk {
        explicit Chunk(std::size_t rows) : pending(rows), rows(rows), file_rows(rows), held(rows) {}
        std::vector<Pending> pending;
        std::vector<ledger::RowResult> rows;
        std::vector<std::uint32_t> file_rows;
        SlotBytes held;
        std::vector<std::int64_t> keys;  // of the actions its rows name
        std::unique_ptr<store::BatchTransaction::ReadAhead> ahead;
        std::size_t size = 0;
    };
    const std::size_t key_chunk_rows = std::max<std::size_t>(req_.key_chunk_rows, 1);
    Chunk chunks[3]{Chunk(key_chunk_rows), Chunk(key_chunk_rows), Chunk(key_chunk_rows)};
    std::size_t lo = 0, hi = 0;  // the range being applied, in places
    // The chunk of rows from place `first`, up to key_chunk_rows or key_chunk_bytes: decoded,
    // mapped, and their actions read ahead. Its slots are free: its lines were written.
    auto prepare = [&](Chunk& c, std::size_t first) {
        auto empty = [&c](std::size_t i) {
            c.pending[i] = Pending{};
            c.rows[i] = ledger::RowResult{};
        };
        c.held.release_large(empty);
        const std::size_t most = std::min(key_chunk_rows, hi - first);
        c.size = 0;
        c.keys.clear();
        while (c.size < most && c.held.total() < key_chunk_bytes) {
            const std::size_t i = c.size++;
            Pending& pending = c.pending[i];
            decode_record(range->rows[first + i - lo], pending.record);
            pending.modification = layout.modification(pending.record);
            c.file_rows[i] = range->row_of[first + i - lo];
            if (keys[first + i] != no_action) c.keys.push_back(keys[first + i]);
            c.held.refilled(i, pending.record);
        }
        c.held.release_from(c.size, empty);
        c.ahead = c.keys.empty() ? nullptr : tx.read_ahead(account_->id, c.keys);
    };
    StringOut result_line, error_line;
    auto write_chunk = [&](Chunk& c) {
        for (std::size_t i = 0; i < c.size; ++i) {
            result_line.text().clear();
            error_line.text().clear();
            write_lines(c.rows[i], c.pending[i].record, layout, result_line, error_line);
            runs.add(c.file_rows[i], result_line.text(), error_line.text());
        }
        runs.end_run();
    };
    // Declared after what they use: destroyed (and waited for) first.
    std::future<void> writing, preparing, gathering;
    std::size_t done = 0, turn = 0;
    gather(gathered[0], ranges[0], ranges[1]);
    for (std::size_t r = 0; r + 1 < ranges.size(); ++r) {
        if (gathering.valid()) gathering.get();
        lo = ranges[r];
        hi = ranges[r + 1];
        range = &gathered[r % 2];
        if (r + 2 < ranges.size())
            gathering = std::async(std::launch::async, gather, std::ref(gathered[(r + 1) % 2]), ranges[r + 1],
                                   ranges[r + 2]);
        prepare(chunks[turn % 3], lo);
        for (std::size_t first = lo; first < hi;) {
            if (preparing.valid()) preparing.get();
            Chunk& chunk = chunks[turn % 3];
            const std::size_t next = first + chunk.size;
            // The next chunk is neither this one nor the one whose lines may still be written.
            if (next < hi)
                preparing = std::async(std::launch::async, prepare, std::ref(chunks[(turn + 1) % 3]), next);
            ++turn;
            if (!chunk.keys.empty()) tx.prefetch_keys(account_->id, chunk.keys, std::move(chunk.ahead));
            for (std::size_t i = 0; i < chunk.size; ++i) {
                chunk.rows[i] = apply_row(tx, layout, chunk.pending[i]);
                auto problem = count_result(chunk.rows[i], chunk.pending[i].record);
                if (problem && problems_wanted > 0 &&
                    (problems.size() < problems_wanted || problem->line < problems.rbegin()->first)) {
                    problems.emplace(problem->line, kept_problem(std::move(*problem)));
                    if (problems.size() > problems_wanted) problems.erase(std::prev(problems.end()));
                }
            }
            tx.flush();
            if (writing.valid()) writing.get();  // the other chunk's lines: it is free again
            writing = std::async(std::launch::async, write_chunk, std::ref(chunk));
            done += chunk.size;
            first = next;
            if (req_.progress)
                req_.progress(bytes_from + (bytes_to - bytes_from) * static_cast<std::int64_t>(done) /
                                               static_cast<std::int64_t>(count),
                              digest_.size);
        }
    }
    if (writing.valid()) writing.get();
    runs.merge(results, errors);
    for (auto& [line, problem] : problems) result_.first_problems.push_back(std::move(problem));
}

void BatchRun::process_rows(store::BatchTransaction& tx) {
    util::DescriptorStream in(file_->fd(), file_->path());
    batch::CsvReader reader(in, req_.limits);
    batch::Record record;

    auto first = reader.next(record);
    if (!first) {
        file_error_ = first.error();
        return;
    }
    if (!*first) {
        file_error_ = batch::FileError{ErrorCode::EmptyFile, "the file is empty: no header and no data record", std::nullopt};
        return;
    }
    auto layout = batch::Layout::parse(req_.type, record);
    if (!layout) {
        file_error_ = layout.error();
        return;
    }

    auto result_path = spool_->path(batch::result_name(file_name_));
    auto errors_path = spool_->path(batch::errors_name(file_name_));
    auto results = open_output(result_path);
    auto errors = open_output(errors_path);
    batch::write_result_header(results);
    batch::write_csv_record(errors, layout->errors_header());

    ctx_ = ledger::BatchContext{record_.batch_id, now_};
    if (req_.type == batch::FileType::Modifications && req_.key_order)
        apply_in_key_order(tx, reader, *layout, results, errors);
    else
        apply_in_file_order(tx, reader, *layout, results, errors);
    if (file_error_) return;
    if (req_.progress) req_.progress(digest_.size, digest_.size);
    close_output(results, result_path);
    close_output(errors, errors_path);
    if (result_.total == 0)
        file_error_ = batch::FileError{ErrorCode::EmptyFile, "the file has a header but no data record", std::nullopt};
}

ApplyResult BatchRun::run() {
    account_ = catalog_.account(req_.account_id);
    if (!account_) throw std::invalid_argument(fmt::format("unknown account '{}'", req_.account_id));
    if (req_.type == batch::FileType::FundsTransfers)
        throw std::invalid_argument("funds_transfers files cannot be applied by this version");
    if (req_.as_of && !req_.dry_run) throw std::invalid_argument("--as-of is only allowed with --dry-run");

    file_name_ = req_.file_name.empty() ? req_.file.filename().string() : req_.file_name;
    record_.received_at = clock_();
    if (req_.opened) {
        file_ = req_.opened;
    } else {
        own_file_.emplace(util::OpenedFile::open(req_.file, /*follow_links=*/true));
        if (!S_ISREG(own_file_->status().st_mode))
            throw std::invalid_argument(
                fmt::format("{}: {}, not a batch file", req_.file.string(), own_file_->refusal()));
        file_ = &*own_file_;
    }
    // The size comes first: a file over the limit is answered without reading it.
    const bool too_large = file_->size() > req_.limits.max_file_bytes;
    if (too_large)
        digest_.size = file_->size();  // never hashed: its receipt and summary have no sha256
    else
        digest_ = file_->digest();
    now_ = req_.as_of.value_or(record_.received_at);

    record_.account_id = req_.account_id;
    record_.inbox = req_.inbox;
    record_.file_name = file_name_;
    record_.sha256 = digest_.sha256;
    record_.size = digest_.size;
    record_.type = std::string(batch::file_type_name(req_.type));
    record_.state = BatchState::Claimed;

    std::optional<store::BatchRecord> duplicate_of;
    if (!req_.dry_run && !req_.batch_id.empty()) {
        // A claim: its own journal record, whatever else has the same content.
        record_.batch_id = req_.batch_id;
        if (auto mine = store_.find_batch(req_.batch_id)) {
            if (committed(*mine)) return answer_committed(*mine);
            record_.attempts = mine->attempts;
        }
        if (!too_large && !req_.reprocess_duplicates)
            if (auto done = store_.find_complete_batch(req_.account_id, digest_.sha256);
                done && done->batch_id != record_.batch_id)
                duplicate_of = done;
    } else if (!req_.dry_run && !too_large) {
        if (auto done = store_.find_complete_batch(req_.account_id, digest_.sha256)) {
            if (done->state == BatchState::Applied) return answer_committed(*done);
            if (!req_.reprocess_duplicates) duplicate_of = done;
        }
        if (auto open = store_.find_open_batch(req_.account_id, digest_.sha256); open && !duplicate_of) {
            // An attempt that died before its commit: resume it under the same batch id.
            record_.batch_id = open->batch_id;
            record_.attempts = open->attempts;
        }
    }
    if (record_.batch_id.empty()) record_.batch_id = util::new_batch_id(record_.received_at);
    ++record_.attempts;
    result_.batch_id = record_.batch_id;
    if (!req_.dry_run) store_.put_batch(record_);

    spool_.emplace(req_.spool / record_.batch_id);
    if (req_.write_outputs) {
        std::ostringstream receipt;
        batch::write_receipt(receipt, {record_.batch_id, file_name_, digest_.sha256, digest_.size,
                                       record_.received_at});
        util::write_file_atomically(req_.outbox / batch::receipt_name(file_name_), receipt.str());
        result_.delivered.push_back(req_.outbox / batch::receipt_name(file_name_));
    }

    if (duplicate_of)
        return reject(ErrorCode::DuplicateFile,
                      fmt::format("the same content was applied as batch {} (file '{}', completed {})",
                                  duplicate_of->batch_id, duplicate_of->file_name,
                                  duplicate_of->completed_at ? to_string(*duplicate_of->completed_at) : "?"),
                      std::nullopt);
    if (too_large)
        return reject(ErrorCode::TooLarge,
                      fmt::format("the file has {} bytes; the limit is {}", digest_.size, req_.limits.max_file_bytes),
                      std::nullopt);

    auto tx = store_.begin_batch(record_.batch_id);
    process_rows(*tx);
    if (file_error_) {
        tx->rollback();
        tx.reset();
        result_.total = result_.applied = result_.rejected = 0;
        result_.error_counts.clear();
        result_.first_problems.clear();
        return reject(file_error_->code, file_error_->message, file_error_->line);
    }

    auto result_file = batch::result_name(file_name_);
    auto errors_file = batch::errors_name(file_name_);
    if (req_.all_or_nothing && result_.rejected > 0) {
        tx->rollback();
        tx.reset();
        auto rewritten = spool_->path(result_file + ".not_applied");
        mark_not_applied(spool_->path(result_file), rewritten);
        fs::rename(rewritten, spool_->path(result_file));
        result_.status = "REJECTED";
        result_.error_code = std::string(ledger::error_name(ErrorCode::RowsRejected));
        result_.error_message = fmt::format("{} of {} rows were rejected; with all_or_nothing nothing was applied",
                                            result_.rejected, result_.total);
        result_.applied = 0;
        return finish(nullptr, {{result_file, spool_->path(result_file)}, {errors_file, spool_->path(errors_file)}});
    }
    result_.status = "COMPLETE";
    return finish(tx.get(), {{result_file, spool_->path(result_file)}, {errors_file, spool_->path(errors_file)}});
}

}  // namespace

ApplyResult apply_file(store::Store& store, const ledger::Catalog& catalog, const ApplyRequest& request,
                       const Clock& clock) {
    return BatchRun(store, catalog, request, clock).run();
}

ApplyRequest request_for(const config::InboxConfig& inbox, const fs::path& spool) {
    ApplyRequest req;
    req.account_id = inbox.account;
    auto type = batch::parse_file_type(inbox.type);
    if (!type) throw std::invalid_argument(fmt::format("inbox {}: unknown type '{}'", inbox.name, inbox.type));
    req.type = *type;
    req.inbox = inbox.name;
    req.all_or_nothing = inbox.all_or_nothing;
    req.reprocess_duplicates = inbox.duplicates == "reprocess";
    req.limits = reader_limits(inbox.limits);
    req.outbox = inbox.outbox;
    req.spool = spool;
    return req;
}

batch::Summary file_level_summary(const store::BatchRecord& record) {
    batch::Summary s;
    s.batch_id = record.batch_id;
    s.file = record.file_name;
    s.sha256 = record.sha256;
    s.type = record.type;
    s.status = record.status;
    s.received_at = record.received_at;
    s.completed_at = record.completed_at.value_or(record.received_at);
    s.error_code = record.error_code;
    s.error_message = record.error_message;
    s.line = record.error_line;
    return s;
}

std::vector<fs::path> deliver(store::Store& store, const store::BatchRecord& batch, const fs::path& outbox) {
    std::vector<fs::path> written;
    for (const auto& [name, bytes] : store.batch_outputs(batch.batch_id)) {
        util::write_file_atomically(outbox / name, bytes);
        written.push_back(outbox / name);
    }
    // A first delivery moves the journal on; a later one (`batches redeliver`) leaves it.
    if (batch.state == BatchState::Applied) {
        auto delivered = batch;
        move_to(delivered, BatchState::Delivered);
        store.put_batch(delivered);
    }
    return written;
}

}  // namespace actiondrop::apply
