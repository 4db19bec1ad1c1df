#include "command.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <system_error>

#include "store/open_store.hpp"

namespace fs = std::filesystem;

namespace actiondrop::cli {

config::ServiceConfig load_config(const GlobalOptions& options) {
    const fs::path file = config::locate_service_config(options.config_file);
    config::ServiceConfig cfg;
    if (!file.empty()) {
        auto read = config::read_service_config(file);
        if (!read) {
            std::string text;
            for (const auto& e : read.error()) text += e.str() + "\n";
            throw ConfigFailure(text);
        }
        cfg = *read;
    }
    if (!options.store_url.empty()) cfg.store = options.store_url;
    if (!options.state_dir.empty()) cfg.state_dir = options.state_dir;
    return cfg;
}

std::unique_ptr<store::Store> open_migrated(const config::ServiceConfig& cfg,
                                            IfMissing if_missing) {
    if (const auto db = store::missing_ledger(cfg.store); db && if_missing == IfMissing::refuse)
        throw store::StoreError(fmt::format(
            "the ledger {} does not exist: `actiondrop init` makes it; otherwise check the "
            "config's store: (or --store)",
            db->string()));
    auto s = store::open_store(cfg.store);
    s->migrate();
    return s;
}

const ledger::Account& account_named(const ledger::Catalog& catalog, std::string_view id) {
    const ledger::Account* account = catalog.account(id);
    if (!account) throw UsageError(fmt::format("unknown account '{}'", id));
    return *account;
}

namespace {

// -?digits[.digits]: what the reports write for money and counts.
bool plain_number(std::string_view s) {
    if (s.starts_with('-')) s.remove_prefix(1);
    const auto point = s.find('.');
    const std::string_view whole = s.substr(0, point);
    const std::string_view fraction =
        point == std::string_view::npos ? std::string_view("0") : s.substr(point + 1);
    auto digits = [](std::string_view d) {
        return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
    };
    return digits(whole) && digits(fraction);
}

}  // namespace

namespace {

std::string csv_cell(const nlohmann::ordered_json& v) {
    if (v.is_null()) return std::string();  // not set: an empty cell, never the text null
    std::string s = v.is_string() ? v.get<std::string>() : json_text(v, -1);
    // A cell a spreadsheet would run as a formula gets a leading ', except a plain number
    // such as a debit's -42.50, which a spreadsheet reads as the number it is.
    if (!s.empty() && std::string_view("=+-@\t\r").find(s[0]) != std::string_view::npos &&
        !plain_number(s))
        s.insert(0, "'");
    if (s.find_first_of(",\"\r\n") != std::string::npos) {
        std::string q = "\"";
        for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    }
    return s;
}

void print_csv_header(const std::vector<std::string>& columns) {
    for (std::size_t i = 0; i < columns.size(); ++i) std::cout << (i ? "," : "") << columns[i];
    std::cout << "\r\n";
}

void print_csv_row(const nlohmann::ordered_json& row, const std::vector<std::string>& columns) {
    for (std::size_t i = 0; i < columns.size(); ++i)
        std::cout << (i ? "," : "") << csv_cell(row[columns[i]]);
    std::cout << "\r\n";
}

}  // namespace

std::string json_text(const nlohmann::ordered_json& j, int indent) {
    return j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void print_csv(const std::vector<nlohmann::ordered_json>& rows,
               const std::vector<std::string>& columns) {
    print_csv_header(columns);
    for (const auto& r : rows) print_csv_row(r, columns);
}

void ReportWriter::add(const nlohmann::ordered_json& row) {
    if (json_) {
        // As nlohmann's dump(2) of the whole array: each element indented one level more.
        std::string text = json_text(row);
        std::string indented = "  ";
        for (char c : text) {
            indented += c;
            if (c == '\n') indented += "  ";
        }
        std::cout << (any_ ? ",\n" : "[\n") << indented;
    } else {
        if (!any_) {
            columns_ = scalar_columns(row);
            print_csv_header(columns_);
        }
        print_csv_row(row, columns_);
    }
    any_ = true;
}

void ReportWriter::finish() {
    if (json_)
        std::cout << (any_ ? "\n]\n" : "[]\n");
    else if (!any_)
        print_csv_header({});
}

std::vector<std::string> scalar_columns(const nlohmann::ordered_json& sample) {
    std::vector<std::string> cols;
    for (const auto& [key, value] : sample.items())
        if (!value.is_structured()) cols.push_back(key);
    return cols;
}

}  // namespace actiondrop::cli
