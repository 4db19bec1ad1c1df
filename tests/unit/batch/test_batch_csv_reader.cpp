#include <doctest/doctest.h>

#include <chrono>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "batch/csv_reader.hpp"
#include "ledger/errors.hpp"

using actiondrop::batch::CsvReader;
using actiondrop::batch::FileError;
using actiondrop::batch::Limits;
using actiondrop::batch::Record;
using actiondrop::ledger::error_name;
using actiondrop::ledger::ErrorCode;

namespace {

struct Outcome {
    std::vector<Record> records;
    std::optional<FileError> error;
};

Outcome read_stream(std::istream& in, Limits limits) {
    Outcome out;
    CsvReader reader(in, limits);
    for (;;) {
        Record r;
        auto got = reader.next(r);
        if (!got) {
            out.error = got.error();
            break;
        }
        if (!*got) break;
        out.records.push_back(std::move(r));
    }
    return out;
}

Outcome read(const std::string& text, Limits limits = {}) {
    std::istringstream in(text);
    return read_stream(in, limits);
}

std::vector<std::string> fields(std::initializer_list<const char*> list) {
    return {list.begin(), list.end()};
}

// A stream that cannot seek, like a pipe, handing out its bytes in small pieces.
class TrickleBuf : public std::streambuf {
public:
    explicit TrickleBuf(std::string text, std::size_t piece)
        : text_(std::move(text)), piece_(piece) {}

protected:
    int_type underflow() override {
        if (at_ >= text_.size()) return traits_type::eof();
        const std::size_t n = std::min(piece_, text_.size() - at_);
        char* p = text_.data() + at_;
        setg(p, p, p + n);
        at_ += n;
        return traits_type::to_int_type(*p);
    }

private:
    std::string text_;
    std::size_t piece_;
    std::size_t at_ = 0;
};

// The code of a failed read, or "" when the file read cleanly.
std::string code_of(const Outcome& o) {
    return o.error ? std::string(error_name(o.error->code)) : "";
}

}  // namespace

TEST_CASE("csv reader: LF records with their physical lines") {
    auto o = read("ActionId,Amount\nA1,10.00\nA2,20.00\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[0].line == 1);
    CHECK(o.records[0].fields == fields({"ActionId", "Amount"}));
    CHECK(o.records[1].line == 2);
    CHECK(o.records[1].fields == fields({"A1", "10.00"}));
    CHECK(o.records[2].line == 3);
    CHECK(o.records[2].fields == fields({"A2", "20.00"}));
}

TEST_CASE("csv reader: CRLF record ends are not part of the values") {
    auto o = read("a,b\r\n1,2\r\n3,\r\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[1].fields == fields({"1", "2"}));
    CHECK(o.records[2].fields == fields({"3", ""}));
    CHECK(o.records[2].line == 3);
}

TEST_CASE("csv reader: a UTF-8 byte order mark is skipped and the header stays line 1") {
    auto o = read(
        "\xEF\xBB\xBF"
        "ActionId,Reason\r\nA1,REJECTED\r\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 2);
    CHECK(o.records[0].fields[0] == "ActionId");
    CHECK(o.records[0].line == 1);
    CHECK(o.records[1].line == 2);
}

TEST_CASE("csv reader: a BOM only in the middle is kept as a character") {
    auto o = read("a\n\xEF\xBB\xBFx\n");
    REQUIRE_FALSE(o.error);
    CHECK(o.records[1].fields[0] == "\xEF\xBB\xBFx");
}

TEST_CASE("csv reader: quoted fields hold commas, doubled quotes and line breaks") {
    auto o = read("h1,h2,h3\n\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\nnext,row,here\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[1].fields == fields({"a,b", "say \"hi\"", "two\nlines"}));
    CHECK(o.records[1].line == 2);
    // The quoted line break moved the next record to physical line 4.
    CHECK(o.records[2].line == 4);
}

TEST_CASE("csv reader: a CRLF inside quotes is kept and counts as one line") {
    auto o = read("h\r\n\"x\r\ny\r\nz\"\r\nlast\r\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[1].fields[0] == "x\r\ny\r\nz");
    CHECK(o.records[2].line == 5);
}

TEST_CASE("csv reader: a bare CR inside quotes is part of the value") {
    auto o = read("h\n\"a\rb\"\n");
    REQUIRE_FALSE(o.error);
    CHECK(o.records[1].fields[0] == "a\rb");
}

TEST_CASE("csv reader: empty and quoted empty fields") {
    auto o = read("a,,b,\n\"\"\n,\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[0].fields == fields({"a", "", "b", ""}));
    CHECK(o.records[1].fields == fields({""}));
    CHECK(o.records[2].fields == fields({"", ""}));
}

TEST_CASE("csv reader: blank lines are skipped but counted") {
    auto o = read("\n\nh\n\n1\r\n\r\n2\n\n\n");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[0].line == 3);
    CHECK(o.records[1].line == 5);
    CHECK(o.records[2].line == 7);
}

TEST_CASE("csv reader: the last record may lack a line end") {
    auto o = read("h1,h2\nx,\"y\"");
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 2);
    CHECK(o.records[1].fields == fields({"x", "y"}));
}

TEST_CASE("csv reader: an empty input has no records") {
    auto o = read("");
    CHECK_FALSE(o.error);
    CHECK(o.records.empty());
    auto bom_only = read("\xEF\xBB\xBF");
    CHECK_FALSE(bom_only.error);
    CHECK(bom_only.records.empty());
}

TEST_CASE("csv reader: a bare CR outside quotes is MALFORMED_CSV naming its line") {
    auto mid = read("h\nok\nab\rcd\n");
    CHECK(code_of(mid) == "MALFORMED_CSV");
    CHECK(mid.error->line == 3);
    CHECK(mid.error->message.find("line 3") != std::string::npos);
    CHECK(mid.records.size() == 2);  // records before the error were delivered

    auto old_mac = read("h\rx\ry\r");
    CHECK(code_of(old_mac) == "MALFORMED_CSV");
    CHECK(old_mac.error->line == 1);

    auto at_end = read("h\nx\r");
    CHECK(code_of(at_end) == "MALFORMED_CSV");
    CHECK(at_end.error->line == 2);

    auto after_quote = read("h\n\"x\"\ry\n");
    CHECK(code_of(after_quote) == "MALFORMED_CSV");

    auto blank = read("h\n\r\nx\n\ry\n");
    CHECK(code_of(blank) == "MALFORMED_CSV");
    CHECK(blank.error->line == 4);
}

TEST_CASE("csv reader: an unterminated quote names the line where the field began") {
    auto o = read("h1,h2\nA1,\"starts here\nand goes on\nto the end");
    CHECK(code_of(o) == "MALFORMED_CSV");
    CHECK(o.error->line == 2);
    CHECK(o.error->message.find("line 2") != std::string::npos);
}

TEST_CASE("csv reader: a quote inside an unquoted field is MALFORMED_CSV") {
    auto o = read("h\n\nab\"c\n");
    CHECK(code_of(o) == "MALFORMED_CSV");
    CHECK(o.error->line == 3);
    CHECK(code_of(read("h\n x\"\n")) == "MALFORMED_CSV");
}

TEST_CASE("csv reader: characters after a closing quote are MALFORMED_CSV") {
    auto o = read("h\n\"ab\"c\n");
    CHECK(code_of(o) == "MALFORMED_CSV");
    CHECK(o.error->line == 2);
    CHECK(code_of(read("a,b\n\"x\" ,y\n")) == "MALFORMED_CSV");
}

TEST_CASE("csv reader: valid multi-byte UTF-8 passes untouched") {
    const std::string text =
        "h\n"
        "caf\xC3\xA9\n"  // U+00E9
        "\xE2\x82\xAC"
        "10\n"                // U+20AC
        "\xEF\xBF\xBF\n"      // U+FFFF
        "\xF0\x9D\x84\x9E\n"  // U+1D11E
        "\xF4\x8F\xBF\xBF\n"  // U+10FFFF
        "\"\xE6\x97\xA5\xE6\x9C\xAC\"\n";
    auto o = read(text);
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 7);
    CHECK(o.records[1].fields[0] == "caf\xC3\xA9");
    CHECK(o.records[5].fields[0] == "\xF4\x8F\xBF\xBF");
    CHECK(o.records[6].fields[0] == "\xE6\x97\xA5\xE6\x9C\xAC");
}

TEST_CASE("csv reader: invalid UTF-8 is NOT_UTF8 naming the line") {
    const std::vector<std::string> bad = {
        "\xC0\x80",          // overlong NUL
        "\xC1\xBF",          // overlong
        "\xE0\x80\x80",      // overlong 3-byte
        "\xF0\x80\x80\x80",  // overlong 4-byte
        "\xED\xA0\x80",      // surrogate U+D800
        "\xED\xBF\xBF",      // surrogate U+DFFF
        "\xF4\x90\x80\x80",  // above U+10FFFF
        "\xF5\x80\x80\x80",  // lead byte never valid
        "\xFF",              // never valid
        "\x80",              // lone continuation
        "\xC3(",             // missing continuation
        "\xE2\x82(",         // truncated before ASCII
        "caf\xE9",           // Latin-1
    };
    for (const auto& bytes : bad) {
        CAPTURE(bytes);
        auto plain = read("h\nok\nx" + bytes + "y\n");
        CHECK(code_of(plain) == "NOT_UTF8");
        CHECK(plain.error->line == 3);
        auto quoted = read("h\n\"a\nb" + bytes + "\"\n");
        CHECK(code_of(quoted) == "NOT_UTF8");
        CHECK(quoted.error->line == 3);
    }
}

TEST_CASE("csv reader: a UTF-8 sequence cut by the end of the file is NOT_UTF8") {
    auto o = read("h\nx\xE2\x82");
    CHECK(code_of(o) == "NOT_UTF8");
    CHECK(o.error->line == 2);
}

TEST_CASE("csv reader: a NUL byte means a binary file: NOT_UTF8") {
    auto o = read(std::string("h\nab\0c\n", 7));
    CHECK(code_of(o) == "NOT_UTF8");
    CHECK(o.error->line == 2);
    CHECK(o.error->message.find("NUL") != std::string::npos);
    CHECK(code_of(read(std::string("h\n\"\0\"\n", 6))) == "NOT_UTF8");
}

TEST_CASE("csv reader: a UTF-16 file is NOT_UTF8 and the message says UTF-16") {
    auto le =
        read(std::string("\xFF\xFE"
                         "A\0c\0t\0\n\0",
                         10));
    CHECK(code_of(le) == "NOT_UTF8");
    CHECK(le.error->message.find("UTF-16") != std::string::npos);
    CHECK(le.error->line == 1);
    auto be = read(std::string("\xFE\xFF\0A\0c", 6));
    CHECK(code_of(be) == "NOT_UTF8");
    CHECK(be.error->message.find("UTF-16") != std::string::npos);
}

TEST_CASE("csv reader: a physical line longer than the limit is LINE_TOO_LONG") {
    Limits limits;
    limits.max_line_bytes = 10;
    CHECK_FALSE(read("h\n" + std::string(10, 'x') + "\n", limits).error);
    CHECK_FALSE(read("h\r\n" + std::string(10, 'x') + "\r\n", limits).error);  // CRLF not counted
    CHECK_FALSE(read("h\n" + std::string(10, 'x'), limits).error);

    auto o = read("h\nok\n" + std::string(11, 'x') + "\n", limits);
    CHECK(code_of(o) == "LINE_TOO_LONG");
    CHECK(o.error->line == 3);
    CHECK(code_of(read("h\n" + std::string(11, 'x'), limits)) == "LINE_TOO_LONG");

    // Each physical line of a multi-line quoted value is measured on its own.
    CHECK_FALSE(read("h\n\"123456789\n123456789\n12345678\"\n", limits).error);
    auto inner = read("h\n\"123\n12345678901\n\"\n", limits);
    CHECK(code_of(inner) == "LINE_TOO_LONG");
    CHECK(inner.error->line == 3);
}

TEST_CASE("csv reader: a 100 KiB line is refused with the default 64 KiB limit") {
    auto o = read("ActionId,Reason\nA1," + std::string(100 * 1024, 'R') + "\n");
    CHECK(code_of(o) == "LINE_TOO_LONG");
    CHECK(o.error->line == 2);
}

TEST_CASE("csv reader: more data records than the limit is TOO_MANY_ROWS") {
    Limits limits;
    limits.max_rows = 2;
    CHECK_FALSE(read("h\n1\n2\n", limits).error);
    auto o = read("h\n1\n2\n\n3\n", limits);
    CHECK(code_of(o) == "TOO_MANY_ROWS");
    CHECK(o.error->line == 5);
}

TEST_CASE("csv reader: a record of max_record_bytes is read, one byte more is RECORD_TOO_LONG") {
    Limits limits;
    limits.max_record_bytes = 20;
    // 20 bytes over two physical lines: the quotes and the line break inside them count.
    const std::string at_limit = "\"" + std::string(8, 'a') + "\n" + std::string(9, 'b') + "\"";
    REQUIRE(at_limit.size() == 20);
    for (const char* end : {"\n", "\r\n", ""}) {  // the record's own line end is not counted
        CAPTURE(end);
        auto o = read("h\n" + at_limit + end, limits);
        REQUIRE_FALSE(o.error);
        REQUIRE(o.records.size() == 2);
        CHECK(o.records[1].fields[0] == std::string(8, 'a') + "\n" + std::string(9, 'b'));
    }
    CHECK_FALSE(read("h\n" + std::string(20, 'x') + "\n", limits).error);

    auto o = read("h\nok\n\n" + std::string(20, 'x') + "y\n", limits);
    CHECK(code_of(o) == "RECORD_TOO_LONG");
    CHECK(o.error->line == 4);  // after a blank line
    CHECK(o.records.size() == 2);
    auto spans =
        read("h\nok\n\"" + std::string(8, 'a') + "\r\n" + std::string(9, 'b') + "\"\n", limits);
    CHECK(code_of(spans) == "RECORD_TOO_LONG");  // 21 bytes: a CRLF inside quotes is two
    CHECK(spans.error->line == 3);  // the line where the record starts, not where it ends
    CHECK(spans.error->message.find("record starting on line 3") != std::string::npos);
    CHECK(spans.error->message.find("line 4 is in it") != std::string::npos);
    auto no_end = read("h\n\"" + std::string(8, 'a') + "\n" + std::string(10, 'b') + "\"", limits);
    CHECK(code_of(no_end) == "RECORD_TOO_LONG");
    CHECK(no_end.error->line == 2);
    auto header = read(std::string(21, 'h') + "\n1\n", limits);
    CHECK(code_of(header) == "RECORD_TOO_LONG");
    CHECK(header.error->line == 1);
    CHECK(header.records.empty());
}

TEST_CASE("csv reader: a record with max_fields fields is read, one more is TOO_MANY_FIELDS") {
    Limits limits;
    limits.max_fields = 3;
    auto o = read("a,b,c\n1,2,3\n,,\n\"1\",\"2\",\"3\"\n", limits);
    REQUIRE_FALSE(o.error);
    CHECK(o.records.size() == 4);
    // A fourth field after each way a field can end: plain, empty, quoted, and at a block's
    // end (where the reader leaves its fast loop).
    // The last: its third comma is the last byte of the reader's first block of 64 KiB.
    const std::string head = "a,b,c\nok\n";
    for (const std::string& record :
         {std::string("1,2,3,4"), std::string(",,,"), std::string("\"1\",\"2\",\"3\",\"4\""),
          std::string(64 * 1024 - head.size() - 5, '1') + ",2,3,4"}) {
        CAPTURE(record.substr(0, 20));
        limits.max_line_bytes = 1 << 20;
        auto over = read(head + record + "\n", limits);
        CHECK(code_of(over) == "TOO_MANY_FIELDS");
        CHECK(over.error->line == 3);
        CHECK(over.records.size() == 2);
    }
    // Fields on lines of their own through quoted line breaks: named by the record's first line.
    auto spans = read("a,b,c\n\"1\n\",\"2\n\",\"3\n\",4\n", limits);
    CHECK(code_of(spans) == "TOO_MANY_FIELDS");
    CHECK(spans.error->line == 2);
    CHECK(spans.error->message.find("record starting on line 2") != std::string::npos);
    CHECK(code_of(read("a,b,c,d\n1\n", limits)) == "TOO_MANY_FIELDS");  // the header too
}

namespace {

// An endless record: `head`, then `line` over and over; counts the bytes it handed out.
class EndlessBuf : public std::streambuf {
public:
    EndlessBuf(std::string head, std::string line)
        : head_(std::move(head)), line_(std::move(line)) {
        while (block_.size() < 4096) block_ += line_;
    }
    std::size_t served = 0;

protected:
    int_type underflow() override {
        std::string& next = first_ ? head_ : block_;
        first_ = false;
        setg(next.data(), next.data(), next.data() + next.size());
        served += next.size();
        return traits_type::to_int_type(next[0]);
    }

private:
    std::string head_, line_, block_;
    bool first_ = true;
};

}  // namespace

TEST_CASE("csv reader: an endless record is refused while it is read, not at its end") {
    // One quoted field that never closes, in short lines: LINE_TOO_LONG never comes.
    EndlessBuf value("ActionId,Reason\nA1,\"", std::string(99, 'x') + "\n");
    std::istream one_field(&value);
    auto o = read_stream(one_field, {});
    CHECK(code_of(o) == "RECORD_TOO_LONG");
    CHECK(o.error->line == 2);
    // The default limit, 1 MiB, and at most two blocks of 64 KiB more.
    CHECK(value.served <= (1u << 20) + 2 * 64 * 1024);

    // Fields without end: each line closes a quoted field, holds 100 more, opens another.
    std::string line = "\",";
    for (int i = 0; i < 100; ++i) line += "a,";
    EndlessBuf fields("ActionId,Reason\n\"\n", line + "\"\n");
    std::istream many(&fields);
    auto f = read_stream(many, {});
    CHECK(code_of(f) == "TOO_MANY_FIELDS");
    CHECK(f.error->line == 2);
    CHECK(fields.served <= 2 * 64 * 1024);  // 2,000 fields are 4 KB
}

TEST_CASE("csv reader: more bytes than the limit is TOO_LARGE, seekable or not") {
    Limits limits;
    limits.max_file_bytes = 10;
    CHECK_FALSE(read("h\n12345678", limits).error);  // exactly 10 bytes
    auto seekable = read("h\n123456789", limits);
    CHECK(code_of(seekable) == "TOO_LARGE");
    CHECK(seekable.records.empty());  // refused before anything is read
    CHECK_FALSE(seekable.error->line);

    TrickleBuf buf("h\n123456789", 3);
    std::istream pipe(&buf);
    CHECK(code_of(read_stream(pipe, limits)) == "TOO_LARGE");
}

TEST_CASE("csv reader: a stream handed out in small pieces reads the same") {
    std::string text = "ActionId,Amount\r\n\"A,1\",\"x\"\"y\"\r\n\r\nA2,caf\xC3\xA9\r\n";
    TrickleBuf buf(text, 1);
    std::istream in(&buf);
    auto o = read_stream(in, {});
    REQUIRE_FALSE(o.error);
    REQUIRE(o.records.size() == 3);
    CHECK(o.records[1].fields == fields({"A,1", "x\"y"}));
    CHECK(o.records[2].line == 4);
    CHECK(o.records[2].fields == fields({"A2", "caf\xC3\xA9"}));
}

TEST_CASE("csv reader: block boundaries split nothing") {
    const std::size_t block = 64 * 1024;
    // Put each delicate sequence across the first block's end.
    struct Case {
        const char* name;
        std::string sequence;
        std::string value;
    };
    const std::vector<Case> cases = {
        {"CRLF", "\r\n", ""},
        {"UTF-8 4-byte", "\xF0\x9D\x84\x9E", "\xF0\x9D\x84\x9E"},
        {"UTF-8 3-byte", "\xE2\x82\xAC", "\xE2\x82\xAC"},
        {"doubled quote", "\"\"", "\""},
    };
    for (const auto& c : cases) {
        for (std::size_t shift = 0; shift < c.sequence.size(); ++shift) {
            CAPTURE(c.name);
            CAPTURE(shift);
            const bool quoted = c.value == "\"";
            // Line 1: a header padded so that the sequence starts `shift` bytes before the
            // block end.
            std::string text = "h\n";
            std::size_t lines = 1;
            while (text.size() + 1000 < block - 100) {
                text += std::string(998, 'p') + "\n";
                ++lines;
            }
            const std::size_t start = block - 1 - shift;
            std::string record = quoted ? "\"" : "";
            record += std::string(start - text.size() - record.size(), 'x');
            record += c.sequence;
            if (c.name == std::string("CRLF")) {
                record += "next";
            } else {
                record += "y";
            }
            if (quoted) record += "\"";
            text += record + "\nend\n";
            Limits limits;
            limits.max_line_bytes = 1 << 20;
            auto o = read(text, limits);
            REQUIRE_FALSE(o.error);
            if (c.name == std::string("CRLF")) {
                REQUIRE(o.records.size() == lines + 3);
                CHECK(o.records[lines + 1].fields[0] == "next");
                CHECK(o.records[lines + 2].line == static_cast<std::int64_t>(lines + 3));
            } else {
                REQUIRE(o.records.size() == lines + 2);
                const std::string& v = o.records[lines].fields[0];
                CHECK(v.substr(v.size() - c.value.size() - 1) == c.value + "y");
                CHECK(o.records[lines + 1].fields[0] == "end");
            }
        }
    }
}

TEST_CASE("csv reader: invalid UTF-8 deep in a big file names its line") {
    std::string text = "ActionId,Reason\n";
    for (int i = 2; i < 1500; ++i) text += "A" + std::to_string(i) + ",REJECTED\n";
    text +=
        "A1500,REJ\xC3\x28"
        "CTED\n";
    for (int i = 1501; i < 3000; ++i) text += "A" + std::to_string(i) + ",REJECTED\n";
    auto o = read(text);
    CHECK(code_of(o) == "NOT_UTF8");
    CHECK(o.error->line == 1500);
    CHECK(o.records.size() == 1499);
}

TEST_CASE("csv reader: an error stays the answer and the end stays the end") {
    std::istringstream in("h\nab\"c\nok\n");
    CsvReader reader(in, {});
    Record r;
    REQUIRE(reader.next(r).value());
    auto first = reader.next(r);
    REQUIRE_FALSE(first);
    auto again = reader.next(r);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::MalformedCsv);

    std::istringstream done("h\n");
    CsvReader finished(done, {});
    REQUIRE(finished.next(r).value());
    CHECK_FALSE(finished.next(r).value());
    CHECK_FALSE(finished.next(r).value());
    CHECK(finished.bytes_read() == 2);
}

TEST_CASE("csv reader: a reused record drops the fields of the previous one") {
    std::istringstream in("a,b,c\nd\n");
    CsvReader reader(in, {});
    Record r;
    REQUIRE(reader.next(r).value());
    CHECK(r.fields.size() == 3);
    REQUIRE(reader.next(r).value());
    CHECK(r.fields == fields({"d"}));
    CHECK(r.line == 2);
}

// Throughput on a generated 1,000,000-row file; run with --no-skip to measure.
TEST_CASE("csv reader: throughput on 1,000,000 rows" * doctest::skip()) {
    std::string text = "ActionId,OrderId,ActionTrackerId,Amount,CurrencyCode,Reason\r\n";
    text.reserve(80'000'000);
    for (int i = 0; i < 1'000'000; ++i) {
        text += "A" + std::to_string(1'000'000 + i) + ",ORD-" + std::to_string(i) + ",19816,\"" +
                std::to_string(i % 1000) + ".50\",USD,ORDER_UPDATE\r\n";
    }
    std::istringstream in(text);
    Limits limits;
    const auto t0 = std::chrono::steady_clock::now();
    CsvReader reader(in, limits);
    Record r;
    std::int64_t rows = 0;
    std::size_t cells = 0;
    while (reader.next(r).value()) {
        ++rows;
        cells += r.fields.size();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("read " << text.size() / 1e6 << " MB, " << rows << " records in " << seconds
                    << " s: " << text.size() / 1e6 / seconds << " MB/s");
    CHECK(rows == 1'000'001);
    CHECK(cells == 6'000'006);
}

TEST_CASE("csv reader: random bytes end in a record stream or one clean error") {
    std::uint32_t seed = 777;
    auto next = [&seed](std::uint32_t n) {
        seed = seed * 1664525u + 1013904223u;
        return (seed >> 8) % n;
    };
    const unsigned char pool[] = {'a',  ',',  '"',  '\r', '\n', 0,    0xC3, 0xA9,
                                  0xE2, 0x82, 0xAC, 0xF0, 0x80, 0xFF, ' ',  'x'};
    int clean = 0, refused = 0;
    for (int round = 0; round < 2000; ++round) {
        std::string text;
        const auto length = next(200);
        for (std::uint32_t i = 0; i < length; ++i) text += static_cast<char>(pool[next(16)]);
        Limits limits;
        limits.max_line_bytes = 50;
        auto o = read(text, limits);
        if (o.error) {
            ++refused;
            CHECK_FALSE(o.error->message.empty());
        } else {
            ++clean;
        }
        std::int64_t last = 0;
        for (const auto& r : o.records) {
            CHECK(r.line > last);
            last = r.line;
        }
    }
    CHECK(clean + refused == 2000);
    CHECK(refused > 0);
}
