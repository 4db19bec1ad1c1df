#include "command.hpp"

#include <filesystem>
#include <iostream>

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

std::unique_ptr<store::Store> open_migrated(const config::ServiceConfig& cfg) {
    auto s = store::open_store(cfg.store);
    s->migrate();
    return s;
}

void print_csv(const std::vector<nlohmann::ordered_json>& rows, const std::vector<std::string>& columns) {
    auto cell = [](const nlohmann::ordered_json& v) {
        std::string s = v.is_string() ? v.get<std::string>() : v.dump();
        if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r'))
            s.insert(0, "'");
        if (s.find_first_of(",\"\r\n") != std::string::npos) {
            std::string q = "\"";
            for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
            return q + "\"";
        }
        return s;
    };
    for (std::size_t i = 0; i < columns.size(); ++i) std::cout << (i ? "," : "") << columns[i];
    std::cout << "\r\n";
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < columns.size(); ++i) std::cout << (i ? "," : "") << cell(r[columns[i]]);
        std::cout << "\r\n";
    }
}

std::vector<std::string> scalar_columns(const nlohmann::ordered_json& sample) {
    std::vector<std::string> cols;
    for (const auto& [key, value] : sample.items())
        if (!value.is_structured()) cols.push_back(key);
    return cols;
}

}  // namespace actiondrop::cli
