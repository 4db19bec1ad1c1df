#include "ledger/time.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <stdexcept>

namespace actiondrop::ledger {

namespace {

using std::chrono::milliseconds;

// Local wall-clock time, kept as a count since 1970-01-01T00:00 local.
using LocalMs = date::local_time<milliseconds>;

// The instant of a local time in `tz`: a time in a DST gap becomes the first instant after
// the gap (the clocks were moved past it), an ambiguous time the earlier of its two instants.
Instant resolve_local(LocalMs local, TimeZone tz) {
    if (tz == nullptr) return Instant{local.time_since_epoch()};
    const date::local_info info = tz->get_info(local);
    switch (info.result) {
        case date::local_info::unique:
        case date::local_info::ambiguous:  // `first` is the earlier offset period
            return Instant{local.time_since_epoch() - info.first.offset};
        case date::local_info::nonexistent:
            return std::chrono::time_point_cast<milliseconds>(info.second.begin);
    }
    throw std::logic_error("unexpected date::local_info result");
}

// A fixed-width run of ASCII digits, or -1.
int read_number(std::string_view text, std::size_t pos, std::size_t width) {
    if (pos + width > text.size()) return -1;
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        const char c = text[i];
        if (c < '0' || c > '9') return -1;
        value = value * 10 + (c - '0');
    }
    return value;
}

std::string expected_form(std::string_view text) {
    return "'" + std::string(text) +
           "' is not a date: expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.fff] followed by "
           "nothing, Z or +hh:mm/-hh:mm";
}

}  // namespace

TimeZone find_time_zone(std::string_view name) {
    if (name.empty()) return nullptr;
    try {
        return date::locate_zone(std::string(name));
    } catch (const std::exception&) {
        // date/tz reports an unknown name by throwing; for us it is just "unknown".
        return nullptr;
    }
}

std::expected<Instant, std::string> parse_instant(std::string_view text, TimeZone tz) {
    // YYYY-MM-DD
    const int year = read_number(text, 0, 4);
    const int month = read_number(text, 5, 2);
    const int day = read_number(text, 8, 2);
    if (year < 0 || month < 0 || day < 0 || text[4] != '-' || text[7] != '-')
        return std::unexpected(expected_form(text));
    if (month < 1 || month > 12)
        return std::unexpected("month " + std::to_string(month) + " out of range in '" +
                               std::string(text) + "'");
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{static_cast<unsigned>(month)},
                                          std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok())
        return std::unexpected("day " + std::to_string(day) + " does not exist in that month in '" +
                               std::string(text) + "'");
    const Days date_part{ymd};
    if (text.size() == 10) return start_of_local_day(date_part, tz);

    // Thh:mm:ss
    if (text[10] != 'T') return std::unexpected(expected_form(text));
    const int hour = read_number(text, 11, 2);
    const int minute = read_number(text, 14, 2);
    const int second = read_number(text, 17, 2);
    if (hour < 0 || minute < 0 || second < 0 || text[13] != ':' || text[16] != ':')
        return std::unexpected(expected_form(text));
    if (hour > 23 || minute > 59 || second > 59)
        return std::unexpected("time of day out of range in '" + std::string(text) + "'");
    std::size_t pos = 19;

    // [.fff]
    milliseconds fraction{0};
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        std::size_t digits = 0;
        int value = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            value = value * 10 + (text[pos] - '0');
            ++pos;
            if (++digits > 3)
                return std::unexpected("more than 3 fraction digits in '" + std::string(text) +
                                       "'");
        }
        if (digits == 0)
            return std::unexpected("a digit is required after '.' in '" + std::string(text) + "'");
        for (std::size_t i = digits; i < 3; ++i) value *= 10;
        fraction = milliseconds{value};
    }

    const auto wall = date_part.time_since_epoch() + std::chrono::hours{hour} +
                      std::chrono::minutes{minute} + std::chrono::seconds{second} + fraction;

    // nothing (local), Z, or ±hh:mm
    if (pos == text.size()) return resolve_local(LocalMs{wall}, tz);
    if (text[pos] == 'Z' && pos + 1 == text.size()) return Instant{wall};
    if ((text[pos] == '+' || text[pos] == '-') && pos + 6 == text.size()) {
        const int offset_hours = read_number(text, pos + 1, 2);
        const int offset_minutes = read_number(text, pos + 4, 2);
        if (offset_hours < 0 || offset_minutes < 0 || text[pos + 3] != ':')
            return std::unexpected(expected_form(text));
        if (offset_hours > 23 || offset_minutes > 59)
            return std::unexpected("UTC offset out of range in '" + std::string(text) + "'");
        const auto offset = std::chrono::hours{offset_hours} + std::chrono::minutes{offset_minutes};
        return Instant{text[pos] == '+' ? wall - offset : wall + offset};
    }
    return std::unexpected(expected_form(text));
}

std::string format_instant(Instant t) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(seconds);
    const date::year_month_day ymd{day};
    const int year = int(ymd.year());
    // date::format builds a stream and a locale each call; a run writes an instant per action,
    // so the common case is put together by hand: "YYYY-MM-DDTHH:MM:SS[.mmm]Z".
    if (year < 0 || year > 9999) {
        std::string text = date::format("%FT%T", seconds);
        if (const auto ms = (t - seconds).count(); ms != 0) {
            const std::string digits = std::to_string(ms);
            text += "." + std::string(3 - digits.size(), '0') + digits;
        }
        return text + "Z";
    }
    const auto in_day = (seconds - day).count();
    const auto ms = (t - seconds).count();
    char text[32];
    const auto two = [&text](int at, long long v) {
        text[at] = char('0' + v / 10);
        text[at + 1] = char('0' + v % 10);
    };
    two(0, year / 100);
    two(2, year % 100);
    text[4] = '-';
    two(5, unsigned(ymd.month()));
    text[7] = '-';
    two(8, unsigned(ymd.day()));
    text[10] = 'T';
    two(11, in_day / 3600);
    text[13] = ':';
    two(14, in_day / 60 % 60);
    text[16] = ':';
    two(17, in_day % 60);
    std::size_t n = 19;
    if (ms != 0) {
        text[n++] = '.';
        text[n++] = char('0' + ms / 100);
        two(int(n), ms % 100);
        n += 2;
    }
    text[n++] = 'Z';
    return std::string(text, n);
}

Days local_day(Instant t, TimeZone tz) {
    if (tz == nullptr) return std::chrono::floor<std::chrono::days>(t);
    const auto local = tz->to_local(t);
    return Days{std::chrono::floor<std::chrono::days>(local.time_since_epoch())};
}

Instant start_of_local_day(Days day, TimeZone tz) {
    return resolve_local(LocalMs{std::chrono::duration_cast<milliseconds>(day.time_since_epoch())},
                         tz);
}

}  // namespace actiondrop::ledger
