// The bad-input corpus (tests/data/bad, listed in MANIFEST.tsv): every file-level entry
// must be refused with its code by the reader and the layout; every row-level entry must
// pass as a file, and when its expected error is one of the form checks (no ledger
// needed), the first row failing them must be the expected one.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "batch/layout.hpp"
#include "ledger/errors.hpp"
#include "ledger/rules.hpp"
#include "ledger/rules_form.hpp"

namespace batch = actiondrop::batch;
namespace ledger = actiondrop::ledger;
namespace fs = std::filesystem;

namespace {

const fs::path kCorpus = fs::path(ACTIONDROP_TEST_DATA) / "bad";

struct Entry {
    std::string file, type, level, expected, account;
};

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> cells;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        cells.push_back(line.substr(start, tab - start));
        if (tab == std::string::npos) break;
        start = tab + 1;
    }
    return cells;
}

std::vector<Entry> manifest() {
    std::ifstream in(kCorpus / "MANIFEST.tsv");
    REQUIRE(in);
    std::vector<Entry> entries;
    std::string line;
    std::getline(in, line);
    REQUIRE(line == "file\ttype\tlevel\texpected\taccount");
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto cells = split_tabs(line);
        REQUIRE(cells.size() == 5);
        entries.push_back({cells[0], cells[1], cells[2], cells[3], cells[4]});
    }
    return entries;
}

// "LINE:CODE" of the first row that fails the checks needing no ledger, or "" if none.
std::string first_form_error(const Entry& e, batch::FileType type) {
    std::ifstream in(kCorpus / e.file, std::ios::binary);
    batch::CsvReader reader(in, batch::Limits{});
    batch::Record record;
    REQUIRE(reader.next(record).value());
    auto layout = batch::Layout::parse(type, record);
    REQUIRE(layout);
    const ledger::Currency* currency =
        e.account == "2000" ? ledger::find_currency("JPY") : ledger::find_currency("USD");
    static const ledger::TimeZone utc = ledger::find_time_zone("UTC");
    while (reader.next(record).value()) {
        const std::string at = std::to_string(record.line) + ":";
        if (type == batch::FileType::Modifications) {
            auto row = layout->modification(record);
            if (!row) return at + std::string(ledger::error_name(row.error().code));
            auto [code, message] = ledger::check_modification_form(*row);
            if (code != ledger::ErrorCode::None) return at + std::string(ledger::error_name(code));
        } else if (type == batch::FileType::Conversions) {
            auto row = layout->conversion(record);
            if (!row) return at + std::string(ledger::error_name(row.error().code));
            if (auto values = ledger::parse_conversion_values(*row, utc, currency); !values) {
                return at + std::string(ledger::error_name(values.error().code));
            }
            if (auto missing = ledger::check_conversion_fields(*row)) {
                return at + std::string(ledger::error_name(missing->code));
            }
        } else {
            auto row = layout->transfer(record);
            if (!row) return at + std::string(ledger::error_name(row.error().code));
            // The corpus's payment dates are far in the past or far ahead of any test run.
            const ledger::Instant now = std::chrono::sys_days{std::chrono::year{2100} / 1 / 1};
            if (auto values = ledger::parse_transfer_values(*row, utc, currency, now); !values) {
                return at + std::string(ledger::error_name(values.error().code));
            }
            if (auto missing = ledger::check_transfer_fields(*row)) {
                return at + std::string(ledger::error_name(missing->code));
            }
        }
    }
    return "";
}

bool is_form_code(const std::string& code) {
    return code == "MALFORMED" || code == "MISSING_IDENTIFIER" || code == "MISSING_REASON" ||
           code == "UNKNOWN_REASON" || code == "MISSING_FIELD";
}

}  // namespace

TEST_CASE("bad corpus: the manifest lists every file, and only existing ones") {
    const auto entries = manifest();
    CHECK(entries.size() >= 30);
    std::set<std::string> listed;
    for (const auto& e : entries) {
        CAPTURE(e.file);
        CHECK(listed.insert(e.file).second);
        CHECK(fs::is_regular_file(kCorpus / e.file));
        CHECK(batch::parse_file_type(e.type).has_value());
        CHECK((e.level == "file" || e.level == "row" || e.level == "ok"));
        CHECK((e.account == "1000" || e.account == "2000"));
    }
    for (const auto& f : fs::directory_iterator(kCorpus)) {
        const auto name = f.path().filename().string();
        if (name == "MANIFEST.tsv") continue;
        CAPTURE(name);
        CHECK(listed.contains(name));
    }
}

TEST_CASE("bad corpus: file-level entries are refused with their code") {
    int checked = 0;
    for (const auto& e : manifest()) {
        if (e.level != "file") continue;
        CAPTURE(e.file);
        std::ifstream in(kCorpus / e.file, std::ios::binary);
        REQUIRE(in);
        auto result = batch::check_file(in, *batch::parse_file_type(e.type), batch::Limits{});
        REQUIRE_FALSE(result.has_value());
        CHECK(ledger::error_name(result.error().code) == e.expected);
        CHECK_FALSE(result.error().message.empty());
        ++checked;
    }
    CHECK(checked >= 20);
}

TEST_CASE("bad corpus: row-level entries pass as files and fail on the expected row") {
    int checked = 0;
    for (const auto& e : manifest()) {
        if (e.level == "file") continue;
        CAPTURE(e.file);
        const auto type = *batch::parse_file_type(e.type);
        std::ifstream in(kCorpus / e.file, std::ios::binary);
        auto result = batch::check_file(in, type, batch::Limits{});
        REQUIRE_MESSAGE(result.has_value(), result.error().message);
        if (e.level == "ok") continue;
        const auto colon = e.expected.find(':');
        REQUIRE(colon != std::string::npos);
        const std::string code = e.expected.substr(colon + 1);
        const std::string form = first_form_error(e, type);
        if (is_form_code(code)) {
            CHECK(form == e.expected);
        } else {
            // Rejected later by the ledger: no row up to it may fail on its form.
            CHECK(form == "");
        }
        ++checked;
    }
    CHECK(checked >= 20);
}

TEST_CASE("bad corpus: a file-level error names the line where one applies") {
    struct Case {
        const char* file;
        std::int64_t line;
    };
    for (const auto& c : {Case{"invalid_utf8_line_1200.csv", 1200}, Case{"bare_cr.csv", 2},
                          Case{"unterminated_quote.csv", 3}, Case{"line_100k.csv", 2},
                          Case{"unknown_column.csv", 1}}) {
        CAPTURE(c.file);
        std::ifstream in(kCorpus / c.file, std::ios::binary);
        auto result = batch::check_file(in, batch::FileType::Modifications, batch::Limits{});
        REQUIRE_FALSE(result.has_value());
        CHECK(result.error().line == c.line);
        if (c.line > 1) {
            CHECK(result.error().message.find("line " + std::to_string(c.line)) !=
                  std::string::npos);
        }
    }
}
