#pragma once
// Reading YAML that a user wrote, with every complaint collected as a ConfigError that
// names the file, line, column and key path. yaml-cpp accepts duplicate mapping keys and
// any key at all, so MapReader checks each mapping's keys once before anything is read.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"

namespace actiondrop::config {

// The file being read and the errors found so far.
class YamlFile {
public:
    explicit YamlFile(std::string file_name) : file_(std::move(file_name)) {}

    // Parses the text; a syntax error or more than one document is recorded and gives
    // nullopt. An empty file gives a null node.
    std::optional<YAML::Node> parse(std::string_view text);

    void error(const YAML::Mark& mark, std::string key, std::string message);
    void error(const YAML::Node& at, std::string key, std::string message);

    // A scalar's text exactly as written (ids such as 1000 stay "1000"); records an
    // error for a sequence, mapping or empty value.
    std::optional<std::string> text(const YAML::Node& node, const std::string& key);
    // true/false (also True/TRUE/False/FALSE, as YAML 1.2 spells them).
    std::optional<bool> boolean(const YAML::Node& node, const std::string& key);
    // A plain decimal integer in [min, max].
    std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& key,
                                        std::int64_t min, std::int64_t max);
    // A sequence; records an error for anything else. An empty value is an empty list.
    bool sequence(const YAML::Node& node, const std::string& key);

    const std::string& file() const { return file_; }
    std::vector<ConfigError>& errors() { return errors_; }

private:
    std::string file_;
    std::vector<ConfigError> errors_;
};

std::string key_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t i);

// One YAML mapping whose keys were checked: not a mapping, a non-scalar key, a key
// outside `known` and `refused` or a key written twice are each recorded once, here. The
// `refused` keys are read only to be refused with a message of their own (a secret written
// into the file), so an unknown key's message does not offer them.
class MapReader {
public:
    MapReader(YamlFile& file, const YAML::Node& node, std::string path,
              std::initializer_list<std::string_view> known,
              std::initializer_list<std::string_view> refused = {});

    bool is_map() const { return is_map_; }
    bool has(std::string_view key) const;
    // The value under key; an undefined node when absent.
    YAML::Node operator[](std::string_view key) const;
    std::string path(std::string_view key) const { return key_path(path_, key); }
    const std::string& path() const { return path_; }
    // Where the key is written (for errors about its value, even an empty one).
    YAML::Mark mark(std::string_view key) const;
    YAML::Mark mark() const { return mark_; }

    // Records "missing key" at the mapping when absent; returns has(key).
    bool require(std::string_view key);
    // The value under key when present and not empty; an empty value is recorded.
    std::optional<YAML::Node> value(std::string_view key);

    std::optional<std::string> text(std::string_view key);
    std::optional<std::string> required_text(std::string_view key);
    std::optional<bool> boolean(std::string_view key);
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);

    // Keys in the order written (each once).
    const std::vector<std::string>& keys() const { return order_; }

private:
    YamlFile& file_;
    std::string path_;
    YAML::Mark mark_;
    bool is_map_ = false;
    struct Entry {
        YAML::Node value;
        YAML::Mark key_mark;
    };
    std::map<std::string, Entry, std::less<>> entries_;
    std::vector<std::string> order_;
};

}  // namespace actiondrop::config
