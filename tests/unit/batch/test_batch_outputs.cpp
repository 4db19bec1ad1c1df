#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "batch/outputs.hpp"
#include "ledger/money.hpp"

namespace batch = actiondrop::batch;
namespace ledger = actiondrop::ledger;

namespace {

ledger::Instant at(int y, unsigned m, unsigned d, int hours, int minutes = 0) {
    using namespace std::chrono;
    return ledger::Instant(sys_days(year{y} / month{m} / day{d}) + std::chrono::hours(hours) +
                           std::chrono::minutes(minutes));
}

std::string record(const std::vector<std::string>& cells) {
    std::ostringstream out;
    batch::write_csv_record(out, cells);
    return out.str();
}

}  // namespace

TEST_CASE("outputs: formula_safe protects cells a spreadsheet would run") {
    CHECK(batch::formula_safe("=SUM(A1)") == "'=SUM(A1)");
    CHECK(batch::formula_safe("+1") == "'+1");
    CHECK(batch::formula_safe("-5") == "'-5");
    CHECK(batch::formula_safe("@cmd") == "'@cmd");
    CHECK(batch::formula_safe("\tx") == "'\tx");
    CHECK(batch::formula_safe("\rx") == "'\rx");
    CHECK(batch::formula_safe("") == "");
    CHECK(batch::formula_safe("A=1") == "A=1");
    CHECK(batch::formula_safe("'=x") == "'=x");
    CHECK(batch::formula_safe(" =x") == " =x");
    CHECK(batch::formula_safe("12.50") == "12.50");
}

TEST_CASE("outputs: CSV records end in CRLF and quote only when needed") {
    CHECK(record({"a", "b", ""}) == "a,b,\r\n");
    CHECK(record({"a,b"}) == "\"a,b\"\r\n");
    CHECK(record({"say \"hi\""}) == "\"say \"\"hi\"\"\"\r\n");
    CHECK(record({"two\nlines", "cr\rhere", "crlf\r\nx"}) ==
          "\"two\nlines\",\"cr\rhere\",\"crlf\r\nx\"\r\n");
    CHECK(record({"caf\xC3\xA9", " spaced "}) == "caf\xC3\xA9, spaced \r\n");
    CHECK(record({}) == "\r\n");
}

TEST_CASE("outputs: CSV cells are made formula-safe before quoting") {
    CHECK(record({"=1+2", "-5", "ok"}) == "'=1+2,'-5,ok\r\n");
    CHECK(record({"=a,b"}) == "\"'=a,b\"\r\n");
    CHECK(record({"\r\nx"}) == "\"'\r\nx\"\r\n");
}

TEST_CASE("outputs: names of the outbox files") {
    CHECK(batch::result_name("mods.csv") == "result_mods.csv");
    CHECK(batch::errors_name("mods.csv") == "errors_mods.csv");
    CHECK(batch::receipt_name("mods.csv") == "receipt_mods.csv.txt");
    CHECK(batch::summary_name("mods.csv") == "mods.csv_summary.json");
}

TEST_CASE("outputs: the receipt is key: value lines with CRLF") {
    batch::Receipt r;
    r.batch_id = "B-1";
    r.file_name = "mods.csv";
    r.size = 1234;
    r.sha256 = std::string(64, 'a');
    r.received_at = at(2026, 3, 21, 4, 5);
    std::ostringstream out;
    batch::write_receipt(out, r);
    CHECK(out.str() == "batch_id: B-1\r\nfile: mods.csv\r\nsize: 1234\r\nsha256: " +
                           std::string(64, 'a') + "\r\nreceived_at: 2026-03-21T04:05:00Z\r\n");
}

TEST_CASE(
    "outputs: a file name that is not UTF-8 is written in the receipt as the summary has it") {
    batch::Receipt r;
    r.batch_id = "B-1";
    r.file_name =
        "a\xFF"
        "b\xC3.csv";  // a byte that starts nothing, a sequence cut short
    r.received_at = at(2026, 3, 21, 4, 5);
    std::ostringstream receipt;
    batch::write_receipt(receipt, r);
    CHECK(receipt.str().find("file: a\xEF\xBF\xBD"
                             "b\xEF\xBF\xBD.csv\r\n") != std::string::npos);
    batch::Summary s;
    s.file = r.file_name;
    std::ostringstream summary;
    batch::write_summary(summary, s);
    CHECK(summary.str().find("\"a\xEF\xBF\xBD"
                             "b\xEF\xBF\xBD.csv\"") != std::string::npos);
    // A name that is UTF-8 is kept as it is.
    r.file_name = "r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC.csv";
    std::ostringstream kept;
    batch::write_receipt(kept, r);
    CHECK(kept.str().find("file: r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC.csv\r\n") != std::string::npos);
}

TEST_CASE("outputs: the result header is exactly the one of docs/formats.md") {
    std::ostringstream out;
    batch::write_result_header(out);
    CHECK(out.str() ==
          "Line,ActionId,OrderId,Operation,Outcome,ErrorType,ErrorCode,Message,OldAmount,"
          "NewAmount,Currency,OldPayout,NewPayout,PayoutCurrency,Status,ModificationCount\r\n");
}

TEST_CASE("outputs: an applied row shows amounts with the currency's digits") {
    ledger::RowResult r;
    r.line = 2;
    r.action_id = "A1";
    r.order_id = "O-1";
    r.operation = ledger::Operation::Modify;
    r.outcome = ledger::Outcome::Applied;
    r.old_amount = 10000;
    r.new_amount = 50;
    r.currency = ledger::find_currency("JPY");
    r.old_payout = 800;
    r.new_payout = 4;
    r.payout_currency = ledger::find_currency("USD");
    r.status = ledger::Status::Pending;
    r.modification_count = 3;
    REQUIRE(r.currency);
    REQUIRE(r.payout_currency);
    std::ostringstream out;
    batch::write_result_line(out, r);
    CHECK(out.str() == "2,A1,O-1,MODIFY,APPLIED,,,,10000,50,JPY,8.00,0.04,USD,PENDING,3\r\n");
}

TEST_CASE("outputs: a rejected row without an action leaves the values empty") {
    ledger::RowResult r;
    r.line = 5;
    r.action_id = "=HYPERLINK(\"x\")";
    r.outcome = ledger::Outcome::Rejected;
    r.error = ledger::ErrorCode::ActionRefNotFound;
    r.message = "no such action, in this account";
    std::ostringstream out;
    batch::write_result_line(out, r);
    CHECK(out.str() ==
          "5,\"'=HYPERLINK(\"\"x\"\")\",,,REJECTED,Validation,ACTION_REF_NOT_FOUND,"
          "\"no such action, in this account\",,,,,,,,\r\n");
}

TEST_CASE("outputs: contract errors are typed Contract Error") {
    ledger::RowResult r;
    r.line = 3;
    r.action_id = "A9";
    r.operation = ledger::Operation::Create;
    r.outcome = ledger::Outcome::Rejected;
    r.error = ledger::ErrorCode::FxRateNotFound;
    r.currency = ledger::find_currency("KWD");
    r.new_amount = 1234;
    std::ostringstream out;
    batch::write_result_line(out, r);
    CHECK(out.str() ==
          "3,A9,,CREATE,REJECTED,Contract Error,FX_RATE_NOT_FOUND,,,1.234,KWD,,,,,\r\n");
}

TEST_CASE("outputs: a row not applied under all_or_nothing has no error type") {
    ledger::RowResult r;
    r.line = 4;
    r.action_id = "A1";
    r.operation = ledger::Operation::Reverse;
    r.outcome = ledger::Outcome::NotApplied;
    r.status = ledger::Status::Reversed;
    std::ostringstream out;
    batch::write_result_line(out, r);
    CHECK(out.str() == "4,A1,,REVERSE,NOT_APPLIED,,,,,,,,,,REVERSED,\r\n");
}

TEST_CASE("outputs: a complete summary in the keys of docs/formats.md, CRLF") {
    batch::Summary s;
    s.batch_id = "B-7";
    s.file = "mods.csv";
    s.sha256 = "ab";
    s.type = "modifications";
    s.status = "COMPLETE";
    s.total = 3;
    s.applied = 2;
    s.rejected = 1;
    s.error_counts = {{"ACTION_LOCKED", 1}};
    s.received_at = at(2026, 1, 2, 3, 4);
    s.completed_at = at(2026, 1, 2, 3, 5);
    std::ostringstream out;
    batch::write_summary(out, s);
    const std::string text = out.str();
    CHECK(text ==
          "{\r\n"
          "  \"batch_id\": \"B-7\",\r\n"
          "  \"file\": \"mods.csv\",\r\n"
          "  \"sha256\": \"ab\",\r\n"
          "  \"type\": \"modifications\",\r\n"
          "  \"status\": \"COMPLETE\",\r\n"
          "  \"total\": 3,\r\n"
          "  \"applied\": 2,\r\n"
          "  \"rejected\": 1,\r\n"
          "  \"error_counts\": {\r\n"
          "    \"ACTION_LOCKED\": 1\r\n"
          "  },\r\n"
          "  \"received_at\": \"2026-01-02T03:04:00Z\",\r\n"
          "  \"completed_at\": \"2026-01-02T03:05:00Z\"\r\n"
          "}\r\n");
    CHECK(text.find("error_code") == std::string::npos);
}

TEST_CASE("outputs: a file-level rejection names code, message and line") {
    batch::Summary s;
    s.batch_id = "B-8";
    s.file = "bad.csv";
    s.type = "conversions";
    s.status = "REJECTED";
    s.error_code = "NOT_UTF8";
    s.error_message = "invalid UTF-8 on line 1500";
    s.line = 1500;
    std::ostringstream out;
    batch::write_summary(out, s);
    auto j = nlohmann::json::parse(out.str());
    CHECK(j["status"] == "REJECTED");
    CHECK(j["error_code"] == "NOT_UTF8");
    CHECK(j["error_message"] == "invalid UTF-8 on line 1500");
    CHECK(j["line"] == 1500);
    CHECK(j["error_counts"].is_object());
    CHECK(j["error_counts"].empty());
    CHECK(j["total"] == 0);

    s.line.reset();
    s.error_code = "TOO_LARGE";
    std::ostringstream no_line;
    batch::write_summary(no_line, s);
    auto k = nlohmann::json::parse(no_line.str());
    CHECK(k["error_code"] == "TOO_LARGE");
    CHECK_FALSE(k.contains("line"));
}

TEST_CASE("outputs: a file name that is not UTF-8 does not break the summary") {
    batch::Summary s;
    s.file = "caf\xE9.csv";
    s.status = "REJECTED";
    std::ostringstream out;
    batch::write_summary(out, s);
    auto j = nlohmann::json::parse(out.str());
    CHECK(j["file"] == "caf\xEF\xBF\xBD.csv");  // U+FFFD
}

TEST_CASE("outputs: records written are read back cell for cell") {
    // Deterministic pseudo-random cells over an alphabet with every delicate character.
    const std::string alphabet[] = {
        "a", "Z", "0", ",", "\"", "\r\n", "\n", " ", "\xC3\xA9", "\xF0\x9D\x84\x9E", "'", "\r"};
    std::uint32_t seed = 12345;
    auto next = [&seed](std::uint32_t n) {
        seed = seed * 1664525u + 1013904223u;
        return (seed >> 8) % n;
    };
    std::vector<std::vector<std::string>> written;
    std::ostringstream out;
    for (int r = 0; r < 300; ++r) {
        std::vector<std::string> cells(3);
        cells[0] = "row" + std::to_string(r);  // never blank, never a formula
        for (std::size_t c = 1; c < cells.size(); ++c) {
            const auto length = next(6);
            for (std::uint32_t i = 0; i < length; ++i) cells[c] += alphabet[next(12)];
        }
        batch::write_csv_record(out, cells);
        // A cell starting with a CR is read back with the apostrophe that protects it.
        for (auto& cell : cells) cell = batch::formula_safe(cell);
        written.push_back(cells);
    }
    std::istringstream in(out.str());
    batch::CsvReader reader(in, {});
    batch::Record rec;
    std::size_t n = 0;
    while (reader.next(rec).value()) {
        REQUIRE(n < written.size());
        CHECK(rec.fields == written[n]);
        ++n;
    }
    CHECK(n == written.size());
}
