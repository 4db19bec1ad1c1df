#include "config/yaml_map.hpp"

#include <yaml-cpp/eventhandler.h>

#include <charconv>
#include <sstream>

namespace actiondrop::config {

std::string key_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    std::string out(parent);
    out += '.';
    out += key;
    return out;
}

std::string index_path(std::string_view parent, std::size_t i) {
    return std::string(parent) + '[' + std::to_string(i) + ']';
}

namespace {

// A byte that makes the text no YAML text: where it is (0-based line, column), and why.
struct BadByte {
    YAML::Mark at;
    std::string why;
};

// The first byte that is not UTF-8, or is a control character other than tab, CR and LF
// (which YAML does not allow), if any. yaml-cpp passes the first through, and turns a NUL into
// a byte that is not UTF-8: a name holding them cannot be stored (the store keeps the
// catalog as JSON).
std::optional<BadByte> first_bad_byte(std::string_view text) {
    YAML::Mark at;
    at.line = 0;
    at.column = 0;
    constexpr const char* not_utf8 =
        "the file is not UTF-8 text (a byte here is not UTF-8); save it as UTF-8";
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
            constexpr char kHex[] = "0123456789ABCDEF";
            return BadByte{at, std::string("the file holds a control character (byte 0x") +
                                   kHex[c >> 4] + kHex[c & 15] + ") here; a YAML file is text"};
        }
        std::size_t n = 1;
        unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
        if (c >= 0x80) {
            if (c >= 0xC2 && c <= 0xDF)
                n = 2;
            else if (c == 0xE0)
                n = 3, lo = 0xA0;
            else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
                n = 3;
            else if (c == 0xED)
                n = 3, hi = 0x9F;
            else if (c == 0xF0)
                n = 4, lo = 0x90;
            else if (c >= 0xF1 && c <= 0xF3)
                n = 4;
            else if (c == 0xF4)
                n = 4, hi = 0x8F;
            else
                return BadByte{at, not_utf8};
            for (std::size_t k = 1; k < n; ++k) {
                if (i + k >= text.size()) return BadByte{at, not_utf8};
                const auto b = static_cast<unsigned char>(text[i + k]);
                if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
                    return BadByte{at, not_utf8};
            }
        }
        if (c == '\n') {
            ++at.line;
            at.column = 0;
        } else {
            ++at.column;
        }
        i += n;
    }
    return std::nullopt;
}

// Where each document of the stream starts, read only as far as a second one.
class DocumentStarts : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;
    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

}  // namespace

std::optional<YAML::Node> YamlFile::parse(std::string_view text) {
    if (auto bad = first_bad_byte(text)) {
        error(bad->at, "", bad->why);
        return std::nullopt;
    }
    try {
        // Documents are counted one at a time rather than by YAML::LoadAll: yaml-cpp 0.7
        // reports an empty document at a token it cannot place (a ',' at the top) without
        // consuming it, so LoadAll loops forever (jbeder/yaml-cpp#1040). A document that
        // starts where the last one did is that stuck token.
        std::istringstream stream{std::string(text)};
        YAML::Parser parser(stream);
        DocumentStarts documents;
        while (documents.starts.size() < 2 && parser.HandleNextDocument(documents)) {
        }
        const auto& starts = documents.starts;
        if (starts.size() == 2 && starts[1].pos == starts[0].pos) {
            error(starts[1], "", "YAML syntax: unexpected character");
            return std::nullopt;
        }
        if (starts.size() == 2) {
            // A second document would otherwise be ignored without a word.
            error(starts[1], "", "the file holds more than one YAML document ('---'); write one");
            return std::nullopt;
        }
        return YAML::Load(std::string(text));  // the one document, as nodes
    } catch (const YAML::Exception& e) {
        error(e.mark, "", "YAML syntax: " + e.msg);
        return std::nullopt;
    }
}

void YamlFile::error(const YAML::Mark& mark, std::string key, std::string message) {
    ConfigError e;
    e.file = file_;
    if (!mark.is_null()) {
        e.line = mark.line + 1;
        e.column = mark.column + 1;
    }
    e.key = std::move(key);
    e.message = std::move(message);
    errors_.push_back(std::move(e));
}

void YamlFile::error(const YAML::Node& at, std::string key, std::string message) {
    error(at.IsDefined() ? at.Mark() : YAML::Mark::null_mark(), std::move(key), std::move(message));
}

std::optional<std::string> YamlFile::text(const YAML::Node& node, const std::string& key) {
    if (!node.IsDefined() || node.IsNull()) {
        error(node, key, "a value is required here");
        return std::nullopt;
    }
    if (!node.IsScalar()) {
        error(node, key,
              node.IsSequence() ? "expected a single value, not a list"
                                : "expected a single value, not a mapping");
        return std::nullopt;
    }
    return node.Scalar();
}

std::optional<bool> YamlFile::boolean(const YAML::Node& node, const std::string& key) {
    std::optional<std::string> s = text(node, key);
    if (!s) return std::nullopt;
    if (*s == "true" || *s == "True" || *s == "TRUE") return true;
    if (*s == "false" || *s == "False" || *s == "FALSE") return false;
    error(node, key, "expected true or false, not '" + *s + "'");
    return std::nullopt;
}

std::optional<std::int64_t> YamlFile::integer(const YAML::Node& node, const std::string& key,
                                              std::int64_t min, std::int64_t max) {
    std::optional<std::string> s = text(node, key);
    if (!s) return std::nullopt;
    std::int64_t value = 0;
    const char* end = s->data() + s->size();
    auto [ptr, ec] = std::from_chars(s->data(), end, value);
    bool digits_only = !s->empty() && s->find_first_not_of("0123456789") == std::string::npos;
    if (!digits_only || ec != std::errc() || ptr != end) {
        error(node, key, "expected a whole number, not '" + *s + "'");
        return std::nullopt;
    }
    if (value < min || value > max) {
        error(node, key,
              "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
                  *s);
        return std::nullopt;
    }
    return value;
}

bool YamlFile::sequence(const YAML::Node& node, const std::string& key) {
    if (node.IsDefined() && (node.IsSequence() || node.IsNull())) return true;
    error(node, key, "expected a list");
    return false;
}

MapReader::MapReader(YamlFile& file, const YAML::Node& node, std::string path,
                     std::initializer_list<std::string_view> known,
                     std::initializer_list<std::string_view> refused)
    : file_(file), path_(std::move(path)) {
    mark_ = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
    if (!node.IsDefined() || !node.IsMap()) {
        file_.error(node, path_, "expected a mapping (key: value pairs)");
        return;
    }
    is_map_ = true;
    for (const auto& pair : node) {  // by value: the iterator hands out temporaries
        const YAML::Node& key = pair.first;
        if (!key.IsScalar()) {
            file_.error(key, path_, "a key must be a plain name");
            continue;
        }
        const std::string& name = key.Scalar();
        bool is_known = false;
        for (std::string_view k : known) is_known = is_known || k == name;
        for (std::string_view k : refused) is_known = is_known || k == name;
        if (!is_known) {
            std::string list;
            for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
            file_.error(key.Mark(), key_path(path_, name),
                        "unknown key (expected one of: " + list + ")");
            continue;
        }
        auto [at, inserted] = entries_.try_emplace(name, Entry{pair.second, key.Mark()});
        if (!inserted) {
            file_.error(key.Mark(), key_path(path_, name),
                        "duplicate key (first written at line " +
                            std::to_string(at->second.key_mark.line + 1) + ")");
            continue;
        }
        order_.push_back(name);
    }
}

bool MapReader::has(std::string_view key) const { return entries_.find(key) != entries_.end(); }

YAML::Node MapReader::operator[](std::string_view key) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return YAML::Node(YAML::NodeType::Undefined);
    return it->second.value;
}

YAML::Mark MapReader::mark(std::string_view key) const {
    auto it = entries_.find(key);
    return it == entries_.end() ? mark_ : it->second.key_mark;
}

bool MapReader::require(std::string_view key) {
    if (has(key)) return true;
    if (is_map_) file_.error(mark_, path(key), "missing required key");
    return false;
}

std::optional<YAML::Node> MapReader::value(std::string_view key) {
    if (!has(key)) return std::nullopt;
    YAML::Node node = (*this)[key];
    if (node.IsNull()) {
        file_.error(mark(key), path(key), "a value is required here");
        return std::nullopt;
    }
    return node;
}

std::optional<std::string> MapReader::text(std::string_view key) {
    if (!has(key)) return std::nullopt;
    YAML::Node value = (*this)[key];
    if (value.IsNull()) {
        file_.error(mark(key), path(key), "a value is required here");
        return std::nullopt;
    }
    return file_.text(value, path(key));
}

std::optional<std::string> MapReader::required_text(std::string_view key) {
    if (!require(key)) return std::nullopt;
    return text(key);
}

std::optional<bool> MapReader::boolean(std::string_view key) {
    if (!has(key)) return std::nullopt;
    YAML::Node value = (*this)[key];
    if (value.IsNull()) {
        file_.error(mark(key), path(key), "expected true or false");
        return std::nullopt;
    }
    return file_.boolean(value, path(key));
}

std::optional<std::int64_t> MapReader::integer(std::string_view key, std::int64_t min,
                                               std::int64_t max) {
    if (!has(key)) return std::nullopt;
    YAML::Node value = (*this)[key];
    if (value.IsNull()) {
        file_.error(mark(key), path(key), "expected a whole number");
        return std::nullopt;
    }
    return file_.integer(value, path(key), min, max);
}

}  // namespace actiondrop::config
