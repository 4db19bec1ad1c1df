#include "batch/csv_reader.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <string>

namespace actiondrop::batch {

using ledger::ErrorCode;

namespace {

constexpr std::size_t kBlock = 64 * 1024;

// Byte classes; the scanners skip Plain bytes in a tight loop and stop on the rest.
enum : unsigned char { Plain = 0, Quote, Comma, Lf, Cr, Nul, High };

constexpr std::array<unsigned char, 256> make_table(bool quoted) {
    std::array<unsigned char, 256> t{};
    for (int c = 0x80; c < 256; ++c) t[c] = High;
    t['"'] = Quote;
    t['\n'] = Lf;
    t[0] = Nul;
    if (!quoted) {  // inside quotes a comma or a CR is part of the value
        t[','] = Comma;
        t['\r'] = Cr;
    }
    return t;
}
constexpr auto kUnquoted = make_table(false);
constexpr auto kQuoted = make_table(true);

// The length of the valid UTF-8 sequence starting with the non-ASCII byte p[0]; 0 when
// it is invalid (overlong, surrogate, above U+10FFFF, bad continuation); -1 when the
// bytes available end before the sequence does.
int utf8_sequence(const unsigned char* p, std::size_t avail) {
    const unsigned char c = p[0];
    int n = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c == 0xE0) {
        n = 3, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        n = 3;
    } else if (c == 0xED) {
        n = 3, hi = 0x9F;
    } else if (c == 0xF0) {
        n = 4, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        n = 4;
    } else if (c == 0xF4) {
        n = 4, hi = 0x8F;
    } else {
        return 0;
    }
    for (int i = 1; i < n; ++i) {
        if (static_cast<std::size_t>(i) >= avail) return -1;
        const unsigned char b = p[i];
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    }
    return n;
}

// The next field of a record being built; reuses the strings of the caller's previous
// record, so a steady file allocates nothing per field.
[[gnu::always_inline]] inline std::string* next_field(std::vector<std::string>& fields,
                                                      std::size_t& count) {
    if (count == fields.size()) {
        fields.emplace_back();
    } else {
        fields[count].clear();
    }
    return &fields[count++];
}

}  // namespace

struct CsvReader::State {
    std::istream& in;
    Limits limits;
    std::vector<unsigned char> buf;
    std::size_t pos = 0, end = 0;  // unread bytes are buf[pos, end)
    std::int64_t base = 0;         // file offset of buf[0]
    unsigned char prev = 0;        // the byte before buf[0], to see a CR before a LF
    std::int64_t total = 0;        // bytes taken from the stream
    bool eof = false, started = false, finished = false;
    std::int64_t line = 1;          // current physical line
    std::int64_t line_start = 0;    // file offset where it starts
    std::int64_t line_end = 0;      // file offset where the last line ended (before CR LF)
    std::int64_t record_start = 0;  // file offset of the record being read
    std::int64_t record_line = 1;   // its first physical line
    std::int64_t records = 0;       // records returned, header included
    std::optional<FileError> error;

    State(std::istream& i, Limits l) : in(i), limits(l) { buf.resize(kBlock + 8); }

    std::int64_t offset(std::size_t i) const { return base + static_cast<std::int64_t>(i); }

    std::unexpected<FileError> fail(ErrorCode code, std::string message,
                                    std::optional<std::int64_t> at) {
        error = FileError{code, std::move(message), at};
        return std::unexpected(*error);
    }
    std::unexpected<FileError> fail_at_line(ErrorCode code, const std::string& what) {
        return fail(code, what + " on line " + std::to_string(line), line);
    }

    // Keeps the unread bytes, reads the next block; false at the end of the file or on a
    // limit (then `error` is set).
    bool fill() {
        if (eof) return false;
        const std::size_t keep = end - pos;
        if (pos > 0) {
            prev = buf[pos - 1];
            std::memmove(buf.data(), buf.data() + pos, keep);
            base += static_cast<std::int64_t>(pos);
            pos = 0;
            end = keep;
        }
        if (buf.size() < end + kBlock) buf.resize(end + kBlock);
        in.read(reinterpret_cast<char*>(buf.data() + end), kBlock);
        const auto n = static_cast<std::size_t>(in.gcount());
        if (in.bad()) throw std::runtime_error("read error on the batch file");
        if (n == 0) {
            eof = true;
            return false;
        }
        end += n;
        total += static_cast<std::int64_t>(n);
        if (total > limits.max_file_bytes) {
            fail(ErrorCode::TooLarge, too_large_message(), std::nullopt);
            return false;
        }
        return true;
    }

    std::string too_large_message() const {
        return "the file is larger than the limit of " + std::to_string(limits.max_file_bytes) +
               " bytes";
    }

    // The physical line ends at the LF buf[i]; false (error set) when it was too long.
    bool end_line(std::size_t i) {
        std::int64_t length = offset(i) - line_start;
        const unsigned char before = i > 0 ? buf[i - 1] : prev;
        if (length > 0 && before == '\r') --length;  // the CR of a CRLF ends the line
        if (length > limits.max_line_bytes) {
            fail_at_line(ErrorCode::LineTooLong, too_long_message());
            return false;
        }
        line_end = line_start + length;
        ++line;
        line_start = offset(i) + 1;
        return true;
    }

    std::string too_long_message() const {
        return "line longer than the limit of " + std::to_string(limits.max_line_bytes) + " bytes";
    }

    // Before reading more of a line: it already exceeds the limit even if a CR follows.
    bool line_too_long_so_far() const {
        return offset(end) - line_start > limits.max_line_bytes + 1;
    }

    // Before reading more of a record, so that its fields never grow much past the limit:
    // it already exceeds it even if a CR follows.
    bool record_too_long_so_far() const {
        return offset(end) - record_start > limits.max_record_bytes + 1;
    }
    // `last`: the physical line where the record was found too long.
    std::unexpected<FileError> record_too_long(std::int64_t last) {
        return fail(ErrorCode::RecordTooLong,
                    "record starting on line " + std::to_string(record_line) +
                        " is longer than the limit of " + std::to_string(limits.max_record_bytes) +
                        " bytes (line " + std::to_string(last) +
                        " is in it; a quote left open makes one record of the lines after it)",
                    record_line);
    }
    std::unexpected<FileError> too_many_fields() {
        return fail(ErrorCode::TooManyFields,
                    "record starting on line " + std::to_string(record_line) +
                        " has more than the limit of " + std::to_string(limits.max_fields) +
                        " fields (reached on line " + std::to_string(line) + ")",
                    record_line);
    }

    // A CR outside quotes at buf[i] must start a CRLF; on success pos is after the LF.
    bool crlf(std::size_t i) {
        if (i + 1 >= end) {
            pos = i;
            if (!fill()) {
                if (!error) fail_at_line(ErrorCode::MalformedCsv, bare_cr_message());
                return false;
            }
            i = pos;
        }
        if (buf[i + 1] != '\n') {
            fail_at_line(ErrorCode::MalformedCsv, bare_cr_message());
            return false;
        }
        if (!end_line(i + 1)) return false;
        pos = i + 2;
        return true;
    }
    static std::string bare_cr_message() { return "carriage return (CR) without line feed"; }

    std::expected<void, FileError> start();
    std::expected<bool, FileError> next(Record& out);
};

std::expected<void, FileError> CsvReader::State::start() {
    started = true;
    // A seekable stream tells its size up front, so an oversized file is refused unread.
    const auto here = in.tellg();
    if (here != std::streampos(-1)) {
        in.seekg(0, std::ios::end);
        const auto size = in.tellg();
        in.seekg(here);
        if (size != std::streampos(-1) &&
            static_cast<std::int64_t>(size - here) > limits.max_file_bytes) {
            return fail(ErrorCode::TooLarge, too_large_message(), std::nullopt);
        }
    }
    in.clear(in.rdstate() & ~std::ios::failbit);
    while (end - pos < 3 && fill()) {
    }
    if (error) return std::unexpected(*error);
    const std::size_t avail = end - pos;
    if (avail >= 2 && ((buf[0] == 0xFF && buf[1] == 0xFE) || (buf[0] == 0xFE && buf[1] == 0xFF))) {
        return fail(ErrorCode::NotUtf8,
                    std::string("the file is UTF-16 (byte order mark ") +
                        (buf[0] == 0xFF ? "FF FE" : "FE FF") + "), not UTF-8; save it as UTF-8",
                    1);
    }
    if (avail >= 3 && buf[0] == 0xEF && buf[1] == 0xBB && buf[2] == 0xBF) {
        pos = 3;
        line_start = 3;
    }
    return {};
}

std::expected<bool, FileError> CsvReader::State::next(Record& out) {
    enum class Mode { FieldStart, Unquoted, Quoted, AfterQuote };
    auto& fields = out.fields;

    for (;;) {  // one iteration per record; blank lines loop again
        if (pos == end && !fill()) {
            if (error) return std::unexpected(*error);
            finished = true;
            return false;
        }
        // Blank lines are skipped but still counted.
        if (buf[pos] == '\n') {
            if (!end_line(pos)) return std::unexpected(*error);
            ++pos;
            continue;
        }
        if (buf[pos] == '\r') {
            if (!crlf(pos)) return std::unexpected(*error);
            continue;
        }

        record_line = line;
        record_start = offset(pos);
        std::int64_t quote_line = 0;
        std::size_t count = 0;
        const auto max_fields =
            static_cast<std::size_t>(std::max<std::int64_t>(limits.max_fields, 0));
        // nullptr when the record would have more fields than the limit.
        auto begin_field = [&]() {
            return count < max_fields ? next_field(fields, count) : nullptr;
        };
        std::string* field = begin_field();
        if (!field) return too_many_fields();
        Mode mode = Mode::FieldStart;
        bool record_done = false;

        while (!record_done) {
            if (pos == end) {
                if (line_too_long_so_far()) {
                    return fail_at_line(ErrorCode::LineTooLong, too_long_message());
                }
                if (record_too_long_so_far()) return record_too_long(line);
                if (!fill()) {
                    if (error) return std::unexpected(*error);
                    if (mode == Mode::Quoted) {
                        return fail(ErrorCode::MalformedCsv,
                                    "quoted field starting on line " + std::to_string(quote_line) +
                                        " is not closed at the end of the file",
                                    quote_line);
                    }
                    if (offset(end) - line_start > limits.max_line_bytes) {
                        return fail_at_line(ErrorCode::LineTooLong, too_long_message());
                    }
                    break;  // the last record has no line end
                }
            }
            const unsigned char* const data = buf.data();
            const unsigned char* p = data + pos;
            const unsigned char* const e = data + end;

            switch (mode) {
                case Mode::FieldStart:
                    if (*p == '"') {
                        mode = Mode::Quoted;
                        quote_line = line;
                        ++pos;
                        break;
                    }
                    mode = Mode::Unquoted;
                    [[fallthrough]];
                case Mode::Unquoted:
                case Mode::Quoted: {
                    const auto& table = mode == Mode::Quoted ? kQuoted : kUnquoted;
                    const unsigned char* q = p;
                    bool need_more = false;
                    for (;;) {
                        while (q < e && table[*q] == Plain) ++q;
                        if (q == e) break;
                        if (table[*q] == High) {
                            const int n = utf8_sequence(q, static_cast<std::size_t>(e - q));
                            if (n > 0) {
                                q += n;
                                continue;
                            }
                            if (n == 0) return fail_at_line(ErrorCode::NotUtf8, "invalid UTF-8");
                            need_more = true;
                            break;
                        }
                        if (table[*q] == Comma && q + 1 < e && q[1] != '"') {
                            // The common case, a comma before another unquoted field,
                            // stays in this loop.
                            field->append(reinterpret_cast<const char*>(p),
                                          static_cast<std::size_t>(q - p));
                            field = begin_field();
                            if (!field) return too_many_fields();
                            p = ++q;
                            continue;
                        }
                        if (table[*q] == Lf && mode == Mode::Quoted) {
                            // A line break inside quotes belongs to the value.
                            if (!end_line(static_cast<std::size_t>(q - data))) {
                                return std::unexpected(*error);
                            }
                            ++q;
                            continue;
                        }
                        break;
                    }
                    field->append(reinterpret_cast<const char*>(p),
                                  static_cast<std::size_t>(q - p));
                    pos = static_cast<std::size_t>(q - data);
                    if (need_more) {
                        if (!fill()) {
                            if (error) return std::unexpected(*error);
                            return fail_at_line(ErrorCode::NotUtf8,
                                                "truncated UTF-8 sequence at the end of the file");
                        }
                        break;
                    }
                    if (q == e) break;
                    switch (table[*q]) {
                        case Quote:
                            if (mode == Mode::Quoted) {
                                mode = Mode::AfterQuote;
                                ++pos;
                                break;
                            }
                            return fail_at_line(ErrorCode::MalformedCsv,
                                                "quote (\") inside an unquoted field");
                        case Comma:
                            field = begin_field();
                            if (!field) return too_many_fields();
                            mode = Mode::FieldStart;
                            ++pos;
                            break;
                        case Lf:
                            if (!end_line(pos)) return std::unexpected(*error);
                            ++pos;
                            record_done = true;
                            break;
                        case Cr:
                            if (!crlf(pos)) return std::unexpected(*error);
                            record_done = true;
                            break;
                        case Nul:
                            return fail_at_line(ErrorCode::NotUtf8,
                                                "NUL byte (a binary file, not UTF-8 text)");
                        default:
                            throw std::logic_error("csv reader: unexpected byte class");
                    }
                    break;
                }
                case Mode::AfterQuote:
                    switch (*p) {
                        case '"':  // a doubled quote is one quote of the value
                            field->push_back('"');
                            mode = Mode::Quoted;
                            ++pos;
                            break;
                        case ',':
                            field = begin_field();
                            if (!field) return too_many_fields();
                            mode = Mode::FieldStart;
                            ++pos;
                            break;
                        case '\n':
                            if (!end_line(pos)) return std::unexpected(*error);
                            ++pos;
                            record_done = true;
                            break;
                        case '\r':
                            if (!crlf(pos)) return std::unexpected(*error);
                            record_done = true;
                            break;
                        default:
                            return fail_at_line(ErrorCode::MalformedCsv,
                                                "character after the closing quote of a field");
                    }
                    break;
            }
        }

        // Its last line ended at line_end (and line counts the next one), or the file ended
        // without a line break.
        if ((record_done ? line_end : offset(end)) - record_start > limits.max_record_bytes)
            return record_too_long(record_done ? line - 1 : line);
        fields.resize(count);
        out.line = record_line;
        ++records;
        if (records - 1 > limits.max_rows) {
            return fail(ErrorCode::TooManyRows,
                        "more than " + std::to_string(limits.max_rows) + " data records (line " +
                            std::to_string(record_line) + ")",
                        record_line);
        }
        return true;
    }
}

CsvReader::CsvReader(std::istream& in, Limits limits)
    : state_(std::make_shared<State>(in, limits)) {}

std::expected<bool, FileError> CsvReader::next(Record& out) {
    State& s = *state_;
    if (s.error) return std::unexpected(*s.error);
    if (s.finished) return false;
    if (!s.started) {
        if (auto started = s.start(); !started) return std::unexpected(started.error());
    }
    return s.next(out);
}

std::int64_t CsvReader::bytes_read() const { return state_->total; }

}  // namespace actiondrop::batch
