#include <doctest/doctest.h>

#include "ingest/name_rules.hpp"

using actiondrop::ingest::never_taken;
using actiondrop::ingest::printable;

TEST_CASE("ingest: our own answers, markers and temporary names are never taken") {
    for (const char* name :
         {"receipt_a.csv.txt", "result_a.csv", "errors_a.csv", "a.csv_summary.json", "a.csv.done",
          "a.csv.part", "a.csv.filepart", "a.csv.tmp", ".a.csv", ".processing"}) {
        CAPTURE(name);
        CHECK(never_taken(name, "*").has_value());
    }
}

TEST_CASE("ingest: names with control characters or a slash are never taken") {
    CHECK(never_taken("a\nb.csv", "*").has_value());
    CHECK(never_taken("a\tb.csv", "*").has_value());
    CHECK(never_taken(std::string("a\x7f.csv"), "*").has_value());
    CHECK(never_taken("a/b.csv", "*").has_value());
    CHECK(never_taken("", "*").has_value());
}

TEST_CASE("ingest: the inbox pattern is a glob with * and ?") {
    CHECK_FALSE(never_taken("Conversions_2026.csv", "Conversions_*.csv").has_value());
    CHECK(never_taken("conversions_2026.csv", "Conversions_*.csv").has_value());
    CHECK_FALSE(never_taken("day1.csv", "day?.csv").has_value());
    CHECK(never_taken("day12.csv", "day?.csv").has_value());
    CHECK(never_taken("notes.txt", "*.csv")->find("pattern") != std::string::npos);
}

TEST_CASE("ingest: ordinary names are taken, also with spaces and UTF-8") {
    for (const char* name :
         {"mods.csv", "Mods 2026-11.CSV", "résultats.csv", "results_of_day.csv", "data"}) {
        CAPTURE(name);
        CHECK_FALSE(never_taken(name, "*").has_value());
    }
}

TEST_CASE("ingest: a name in a log line shows control characters escaped") {
    CHECK(printable("a\nb") == "a\\x0ab");
    CHECK(printable("ok.csv") == "ok.csv");
}
