#include "pull/ftp/ftp_listing.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

namespace actiondrop::pull::ftp {

namespace {

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::optional<std::int64_t> number(std::string_view s) {
    if (!all_digits(s) || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// A field and where the text after it starts; fields are separated by runs of spaces.
struct Fields {
    std::vector<std::string_view> fields;
    std::vector<std::size_t> ends;  // offset just past each field
};

Fields split_fields(std::string_view line, std::size_t most) {
    Fields f;
    std::size_t i = 0;
    while (f.fields.size() < most) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i >= line.size()) break;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        f.fields.push_back(line.substr(start, i - start));
        f.ends.push_back(i);
    }
    return f;
}

int month_of(std::string_view s) {
    static constexpr std::array<std::string_view, 12> months = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
    const std::string l = lower(s);
    for (std::size_t i = 0; i < months.size(); ++i)
        if (l == months[i]) return static_cast<int>(i) + 1;
    return 0;
}

bool is_clock(std::string_view s) {  // HH:MM
    return s.size() == 5 && s[2] == ':' && all_digits(s.substr(0, 2)) && all_digits(s.substr(3));
}

// `ls -l`: MODE LINKS OWNER [GROUP] SIZE MON DAY HH:MM|YYYY NAME ("NAME -> TARGET" for a link).
std::optional<ListedEntry> parse_unix(std::string_view line) {
    Fields f = split_fields(line, 9);
    if (f.fields.size() < 8) return std::nullopt;
    std::string_view mode = f.fields[0];
    if (mode.size() < 10 || mode.size() > 11) return std::nullopt;
    for (std::size_t i = 1; i < 10; ++i)
        if (std::string_view("rwxsStTl-").find(mode[i]) == std::string_view::npos)
            return std::nullopt;
    // The month is the 6th field with a group, the 5th without.
    for (std::size_t m : {std::size_t{5}, std::size_t{4}}) {
        if (m + 2 >= f.fields.size()) continue;
        if (!month_of(f.fields[m]) || !number(f.fields[m - 1]) || !all_digits(f.fields[1]))
            continue;
        auto day = number(f.fields[m + 1]);
        std::string_view when = f.fields[m + 2];
        if (!day || *day < 1 || *day > 31) continue;
        if (!is_clock(when) && !(when.size() == 4 && all_digits(when))) continue;
        // The name is everything after the one space that follows the time or year.
        std::size_t at = f.ends[m + 2] + 1;
        if (at >= line.size()) return std::nullopt;
        std::string_view name = line.substr(at);
        ListedEntry e;
        switch (mode[0]) {
            case '-':
                e.entry.type = RemoteType::RegularFile;
                break;
            case 'd':
                e.entry.type = RemoteType::Folder;
                break;
            case 'l': {
                e.entry.type = RemoteType::Symlink;
                if (auto arrow = name.find(" -> "); arrow != std::string_view::npos)
                    name = name.substr(0, arrow);
                break;
            }
            case 'b':
            case 'c':
            case 'p':
            case 's':
            case 'D':
                e.entry.type = RemoteType::Other;
                break;
            default:
                return std::nullopt;
        }
        if (name.empty()) return std::nullopt;
        e.entry.name = std::string(name);
        e.entry.size = *number(f.fields[m - 1]);
        e.listed_time =
            std::string(f.fields[m]) + " " + std::string(f.fields[m + 1]) + " " + std::string(when);
        return e;
    }
    return std::nullopt;
}

// Windows: MM-DD-YY[YY] HH:MM(AM|PM) (<DIR>|SIZE) NAME.
std::optional<ListedEntry> parse_windows(std::string_view line) {
    Fields f = split_fields(line, 3);
    if (f.fields.size() < 3) return std::nullopt;
    std::string_view date = f.fields[0], time = f.fields[1], what = f.fields[2];
    if (!(date.size() == 8 || date.size() == 10) || date[2] != '-' || date[5] != '-' ||
        !all_digits(date.substr(0, 2)) || !all_digits(date.substr(3, 2)) ||
        !all_digits(date.substr(6)))
        return std::nullopt;
    std::string_view clock = time;
    if (time.size() == 7) {
        const std::string suffix = lower(time.substr(5));
        if (suffix != "am" && suffix != "pm") return std::nullopt;
        clock = time.substr(0, 5);
    } else if (time.size() != 5) {
        return std::nullopt;
    }
    if (!is_clock(clock)) return std::nullopt;
    ListedEntry e;
    if (what == "<DIR>") {
        e.entry.type = RemoteType::Folder;
    } else if (auto size = number(what)) {
        e.entry.type = RemoteType::RegularFile;
        e.entry.size = *size;
    } else {
        return std::nullopt;
    }
    std::size_t at = f.ends[2];
    while (at < line.size() && line[at] == ' ') ++at;
    if (at >= line.size()) return std::nullopt;
    e.entry.name = std::string(line.substr(at));
    e.listed_time = std::string(date) + " " + std::string(time);
    return e;
}

}  // namespace

std::optional<std::int64_t> parse_ftp_time(std::string_view text) {
    if (text.size() < 14 || !all_digits(text.substr(0, 14))) return std::nullopt;
    if (text.size() > 14 && (text[14] != '.' || !all_digits(text.substr(15)))) return std::nullopt;
    auto field = [&](std::size_t at, std::size_t n) { return *number(text.substr(at, n)); };
    const std::int64_t y = field(0, 4), mo = field(4, 2), d = field(6, 2), h = field(8, 2),
                       mi = field(10, 2), s = field(12, 2);
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
    return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
           h * 3600 + mi * 60 + s;
}

std::optional<ListedEntry> parse_mlsd_line(std::string_view line) {
    // The facts end at the first "; " ... strictly: facts are "name=value;" each, then one
    // space, then the name (which may hold spaces and ';').
    const auto space = line.find(' ');
    if (space == std::string_view::npos || space == 0 || line[space - 1] != ';')
        return std::nullopt;
    std::string_view facts = line.substr(0, space);
    std::string_view name = line.substr(space + 1);
    if (name.empty()) return std::nullopt;
    ListedEntry e;
    e.entry.name = std::string(name);
    bool typed = false;
    while (!facts.empty()) {
        const auto semi = facts.find(';');
        std::string_view fact = facts.substr(0, semi);
        facts = semi == std::string_view::npos ? std::string_view{} : facts.substr(semi + 1);
        const auto eq = fact.find('=');
        if (eq == std::string_view::npos) return std::nullopt;
        const std::string key = lower(fact.substr(0, eq));
        std::string_view value = fact.substr(eq + 1);
        if (key == "type") {
            const std::string v = lower(value);
            typed = true;
            if (v == "file")
                e.entry.type = RemoteType::RegularFile;
            else if (v == "dir" || v == "cdir" || v == "pdir")
                e.entry.type = RemoteType::Folder;
            else if (v.starts_with("os.unix=slink") || v.starts_with("os.unix=symlink"))
                e.entry.type = RemoteType::Symlink;
            else
                e.entry.type = RemoteType::Other;
        } else if (key == "size") {
            auto size = number(value);
            if (!size) return std::nullopt;
            e.entry.size = *size;
        } else if (key == "modify") {
            auto t = parse_ftp_time(value);
            if (!t) return std::nullopt;
            e.entry.mtime = *t;
            e.has_mtime = true;
        }
    }
    if (!typed) return std::nullopt;
    return e;
}

bool is_list_total(std::string_view line) {
    return line.starts_with("total ") && all_digits(line.substr(6));
}

std::optional<ListedEntry> parse_list_line(std::string_view line) {
    if (auto e = parse_unix(line)) return e;
    return parse_windows(line);
}

std::vector<std::string_view> listing_lines(std::string_view body, std::size_t most) {
    std::vector<std::string_view> lines;
    while (!body.empty() && lines.size() < most) {
        auto nl = body.find('\n');
        std::string_view line = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

}  // namespace actiondrop::pull::ftp
