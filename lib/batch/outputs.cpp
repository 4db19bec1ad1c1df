#include "batch/outputs.hpp"

#include <nlohmann/json.hpp>

#include "ledger/action.hpp"
#include "ledger/errors.hpp"
#include "ledger/money.hpp"
#include "ledger/time.hpp"

namespace actiondrop::batch {

namespace {

bool needs_quotes(std::string_view cell) {
    return cell.find_first_of(",\"\r\n") != std::string_view::npos;
}

void write_cell(std::ostream& out, std::string_view cell) {
    if (!needs_quotes(cell)) {
        out << cell;
        return;
    }
    out << '"';
    for (char c : cell) {
        if (c == '"') out << '"';
        out << c;
    }
    out << '"';
}

std::string amount_text(const std::optional<std::int64_t>& minor,
                        const ledger::Currency* currency) {
    if (!minor || !currency) return {};
    return ledger::format_minor(*minor, *currency);
}

}  // namespace

std::string formula_safe(std::string_view cell) {
    if (!cell.empty()) {
        switch (cell.front()) {
            case '=':
            case '+':
            case '-':
            case '@':
            case '\t':
            case '\r':
                return "'" + std::string(cell);
            default:
                break;
        }
    }
    return std::string(cell);
}

void write_csv_record(std::ostream& out, const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i > 0) out << ',';
        write_cell(out, formula_safe(cells[i]));
    }
    out << "\r\n";
}

std::string result_name(std::string_view file_name) { return "result_" + std::string(file_name); }
std::string errors_name(std::string_view file_name) { return "errors_" + std::string(file_name); }
std::string receipt_name(std::string_view file_name) {
    return "receipt_" + std::string(file_name) + ".txt";
}
std::string summary_name(std::string_view file_name) {
    return std::string(file_name) + "_summary.json";
}

namespace {

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD, exactly as the
// summary writes it (write_summary()), so that the receipt stays UTF-8 for any file name.
std::string utf8_or_replaced(const std::string& text) {
    const std::string quoted =
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return nlohmann::json::parse(quoted).get<std::string>();
}

}  // namespace

void write_receipt(std::ostream& out, const Receipt& r) {
    out << "batch_id: " << r.batch_id << "\r\n"
        << "file: " << utf8_or_replaced(r.file_name) << "\r\n"
        << "size: " << r.size << "\r\n"
        << "sha256: " << r.sha256 << "\r\n"
        << "received_at: " << ledger::format_instant(r.received_at) << "\r\n";
}

void write_result_header(std::ostream& out) {
    write_csv_record(
        out, {"Line", "ActionId", "OrderId", "Operation", "Outcome", "ErrorType", "ErrorCode",
              "Message", "OldAmount", "NewAmount", "Currency", "OldPayout", "NewPayout",
              "PayoutCurrency", "Status", "ModificationCount"});
}

void write_result_line(std::ostream& out, const ledger::RowResult& r) {
    const bool failed = r.outcome != ledger::Outcome::Applied && r.error != ledger::ErrorCode::None;
    write_csv_record(
        out, {
                 std::to_string(r.line),
                 r.action_id,
                 r.order_id,
                 std::string(ledger::operation_name(r.operation)),
                 std::string(ledger::outcome_name(r.outcome)),
                 failed ? std::string(ledger::error_type(r.error)) : std::string(),
                 std::string(ledger::error_name(r.error)),
                 r.message,
                 amount_text(r.old_amount, r.currency),
                 amount_text(r.new_amount, r.currency),
                 r.currency ? std::string(r.currency->code) : std::string(),
                 amount_text(r.old_payout, r.payout_currency),
                 amount_text(r.new_payout, r.payout_currency),
                 r.payout_currency ? std::string(r.payout_currency->code) : std::string(),
                 r.status ? std::string(ledger::status_name(*r.status)) : std::string(),
                 r.modification_count ? std::to_string(*r.modification_count) : std::string(),
             });
}

void write_summary(std::ostream& out, const Summary& s) {
    nlohmann::ordered_json j;  // keys in the order of docs/formats.md, "NAME_summary.json"
    j["batch_id"] = s.batch_id;
    j["file"] = s.file;
    j["sha256"] = s.sha256;
    j["type"] = s.type;
    j["status"] = s.status;
    j["total"] = s.total;
    j["applied"] = s.applied;
    j["rejected"] = s.rejected;
    j["error_counts"] = nlohmann::ordered_json::object();
    for (const auto& [code, count] : s.error_counts) j["error_counts"][code] = count;
    j["received_at"] = ledger::format_instant(s.received_at);
    j["completed_at"] = ledger::format_instant(s.completed_at);
    if (!s.error_code.empty()) {
        j["error_code"] = s.error_code;
        j["error_message"] = s.error_message;
        if (s.line) j["line"] = *s.line;
    }
    if (s.dry_run) {
        j["dry_run"] = true;
        if (s.as_of) j["as_of"] = ledger::format_instant(*s.as_of);
    }
    // A file name is not guaranteed UTF-8; replace bad bytes rather than fail the summary.
    out << crlf_lines(j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)) << "\r\n";
}

std::string crlf_lines(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 16);
    for (const char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

}  // namespace actiondrop::batch
