// Dates and times of batch files and the calendar rules (lib/ledger/time.*, dates.*). The
// input is an IANA zone name, a date as a file gives it, and optionally four numbers for
// a locking and clearing rule ("America/New_York\n2026-03-08T02:30:00\n1 0 27 20").
// Besides crashes and UB it checks that format_instant of a parsed instant parses back
// to the same instant in any zone and is its own canonical form; that a date with Z or an
// offset does not depend on the zone and one without an offset read with no zone is UTC;
// that a local date-time lands on its own local day or, inside a DST gap, the next; and
// that cap periods hold the instant and locking and clearing dates come after the event.
#include <charconv>
#include <cstdint>

#include "fuzz_support.hpp"
#include "ledger/dates.hpp"
#include "ledger/time.hpp"

using namespace actiondrop;
using ledger::Instant;

namespace {

const ledger::TimeZone kUtc = ledger::find_time_zone("UTC");

bool has_offset(std::string_view text) {
    return text.size() > 19 &&
           (text.back() == 'Z' || text[text.size() - 6] == '+' || text[text.size() - 6] == '-');
}

// The next number of `text` (after spaces), clamped into [0, max]; 0 when none.
int number(std::string_view& text, int max) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    text.remove_prefix(static_cast<std::size_t>(end - text.data()));
    if (ec != std::errc()) return 0;
    return static_cast<int>(value % (static_cast<unsigned>(max) + 1));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto line = fuzz::lines_of(fuzz::text_of(data, size), 3);
    const ledger::TimeZone tz = ledger::find_time_zone(line[0]);
    const std::string_view text = line[1];

    const auto parsed = ledger::parse_instant(text, tz);
    if (!parsed) {
        fuzz::check(!parsed.error().empty(), "a refused date says why");
        return 0;
    }
    const Instant t = *parsed;

    const std::string formatted = ledger::format_instant(t);
    for (ledger::TimeZone zone : {tz, ledger::TimeZone{nullptr}, kUtc}) {
        const auto again = ledger::parse_instant(formatted, zone);
        fuzz::check(again && *again == t, "format_instant parses back to the same instant");
    }
    fuzz::check(ledger::format_instant(*ledger::parse_instant(formatted, nullptr)) == formatted,
                "format_instant is canonical");

    if (has_offset(text)) {
        const auto without_zone = ledger::parse_instant(text, nullptr);
        fuzz::check(without_zone && *without_zone == t, "an explicit offset ignores the zone");
    } else {
        const auto as_utc = ledger::parse_instant(
            std::string(text) + (text.size() == 10 ? "T00:00:00Z" : "Z"), nullptr);
        if (!tz) fuzz::check(as_utc && *as_utc == t, "without a zone, a local time is UTC");
        fuzz::check(as_utc.has_value(), "a local time is also a valid UTC time");
        // The local day of the instant: the date written, or the next one after a DST gap
        // (or a skipped day, as in Pacific/Apia on 2011-12-30).
        const ledger::Days written = std::chrono::floor<std::chrono::days>(*as_utc);
        const ledger::Days day = ledger::local_day(t, tz);
        fuzz::check(day == written || day == written + std::chrono::days{1},
                    "a local time lands on its own local day");
        if (text.size() == 10)
            fuzz::check(ledger::start_of_local_day(written, tz) == t,
                        "a bare date is the start of that local day");
    }

    const ledger::Days day = ledger::local_day(t, tz);
    const Instant day_start = ledger::start_of_local_day(day, tz);
    fuzz::check(day_start <= t, "the local day starts at or before the instant");

    for (auto period : {ledger::Limit::Period::Day, ledger::Limit::Period::Week,
                        ledger::Limit::Period::Month, ledger::Limit::Period::Quarter}) {
        const auto [from, to] = ledger::cap_period(period, t, tz);
        fuzz::check(from <= t && t < to, "a cap period holds the instant");
    }

    // The rule's ranges are those the catalog loader allows (catalog_file.cpp).
    std::string_view numbers = line[2];
    ledger::Locking locking;
    locking.after =
        number(numbers, 1) ? ledger::Locking::After::EndOfMonth : ledger::Locking::After::EventDay;
    locking.months = locking.after == ledger::Locking::After::EndOfMonth ? number(numbers, 120) : 0;
    locking.days = number(numbers, 27);
    const ledger::Clearing clearing{number(numbers, 120), number(numbers, 366)};
    const Instant lock = ledger::locking_date(locking, t, tz);
    fuzz::check(lock > t, "the locking date comes after the event");
    fuzz::check(ledger::start_of_local_day(ledger::local_day(lock, tz), tz) == lock,
                "the locking date starts a local day");
    const Instant clear = ledger::clearing_date(clearing, lock, tz);
    fuzz::check(clear > lock, "the clearing date comes after the locking date");
    return 0;
}
