#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "util/journal_fields.hpp"
#include "util/name_rules.hpp"

using actiondrop::util::journal_fields;
using actiondrop::util::never_taken;
using actiondrop::util::printable;

TEST_CASE("ingest: our own answers, markers and temporary names are never taken") {
    for (const char* name :
         {"receipt_a.csv.txt", "result_a.csv", "errors_a.csv", "a.csv_summary.json", "a.csv.done",
          "a.csv.part", "a.csv.filepart", "a.csv.tmp", ".a.csv", ".processing"}) {
        CAPTURE(name);
        CHECK(never_taken(name, "*").has_value());
    }
}

TEST_CASE("ingest: client temporary names are never taken, in any case") {
    // A half-written upload under a name a client or its platform writes in capitals must
    // not be taken by an inbox whose pattern is `*`.
    for (const char* name : {"a.csv.PART", "A.CSV.Part", "a.csv.FilePart", "a.csv.TMP"}) {
        CAPTURE(name);
        CHECK(never_taken(name, "*") == "a client's temporary name");
    }
    CHECK_FALSE(never_taken("a.partner.csv", "*").has_value());
    CHECK_FALSE(never_taken("part", "*").has_value());
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

TEST_CASE("ingest: a server's text in a log line keeps its words, its controls escaped") {
    using actiondrop::util::printable_text;
    CHECK(printable_text("550 Permission denied.") == "550 Permission denied.");
    CHECK(printable_text("550 \x1b[2J\x1b[31mPWNED\x07 \b\b") ==
          "550 \\x1b[2J\\x1b[31mPWNED\\x07 \\x08\\x08");
    CHECK(printable_text("a\r\nb") == "a\\x0d\\x0ab");
    CHECK(printable_text("caf\xC3\xA9 \xE2\x80\xAE") == "caf\xC3\xA9 \\u202e");
    CHECK(printable_text("bad\xFF") == "bad\\xff");
    // A name already made printable is left as it is.
    const std::string shown = printable("a\nb \"c\".csv");
    CHECK(printable_text(shown) == shown);
}

TEST_CASE("ingest: a name in a log line is bare when plain, else quoted with escapes") {
    CHECK(printable("ok.csv") == "ok.csv");
    CHECK(printable("Conversions_2026-11(1)+v2.csv") == "Conversions_2026-11(1)+v2.csv");
    CHECK(printable("a\nb") == "\"a\\x0ab\"");
    CHECK(printable("my report.csv") == "\"my report.csv\"");
    CHECK(printable("say \"hi\" \\ x.csv") == "\"say \\\"hi\\\" \\\\ x.csv\"");
    CHECK(printable("a=b.csv") == "\"a=b.csv\"");
    CHECK(printable("a.csv:") == "\"a.csv:\"");
    CHECK(printable("caf\xC3\xA9.csv") == "\"caf\xC3\xA9.csv\"");
    CHECK(printable("") == "\"\"");
    // Bytes that are not UTF-8 are escaped, not written raw into the log.
    CHECK(printable("bad\xFF\xFEutf8.csv") == "\"bad\\xff\\xfeutf8.csv\"");
    CHECK(printable("cut\xC3.csv") == "\"cut\\xc3.csv\"");
    CHECK(printable("over\xC0\xAF.csv") == "\"over\\xc0\\xaf.csv\"");  // overlong '/'
    // Characters that reorder or hide what a line shows are escaped by their code point.
    CHECK(printable("invoice\xE2\x80\xAEvsc.csv") == "\"invoice\\u202evsc.csv\"");
    CHECK(printable("a\xE2\x81\xA6"
                    "b.csv") == "\"a\\u2066b.csv\"");
    CHECK(printable("c1\xC2\x85.csv") == "\"c1\\u0085.csv\"");
    CHECK(printable("a\xE2\x80\x8B"
                    "b.csv") == "\"a\\u200bb.csv\"");  // zero width space
    CHECK(printable("a\xE2\x80\xA8"
                    "b.csv") == "\"a\\u2028b.csv\"");  // line separator
    CHECK(printable("a\xEF\xBB\xBF"
                    "b.csv") == "\"a\\ufeffb.csv\"");  // byte-order mark
    CHECK(printable("\xE6\x97\xA5\xE6\x9C\xAC.csv") == "\"\xE6\x97\xA5\xE6\x9C\xAC.csv\"");
    CHECK(printable("\xF0\x9F\x98\x80.csv") == "\"\xF0\x9F\x98\x80.csv\"");
}

TEST_CASE("ingest: a name printed in a log line cannot add or change a journal field") {
    using actiondrop::util::JournalField;
    using Fields = std::vector<JournalField>;
    const std::string attack = "x account=9999 batch=B.csv";
    CHECK(journal_fields("inbox=a skipped file=" + printable(attack) + ": a FIFO") ==
          Fields{{"INBOX", "a"}, {"FILE", attack}});
    for (const std::string& name :
         {attack, std::string("x\" account=9999 \""), std::string("x\\\" account=9999 \\"),
          std::string("account=9999"), std::string("x: account=9999"), std::string("x.csv:"),
          std::string("x.csv,"),
          std::string("x\xC2\xA0"
                      "account=9999"),
          std::string("\"")}) {
        CAPTURE(name);
        CHECK(journal_fields("inbox=a account=1000 batch=B1 file=" + printable(name) +
                             " status=COMPLETE") ==
              Fields{{"ACCOUNT", "1000"}, {"INBOX", "a"}, {"BATCH", "B1"}, {"FILE", name}});
        CHECK(journal_fields("inbox=a skipped file=" + printable(name) + ": a FIFO") ==
              Fields{{"INBOX", "a"}, {"FILE", name}});
        CHECK(journal_fields("inbox=a file=" + printable(name) +
                             " cannot be answered (too long); moved to " +
                             printable("/var/lib/actiondrop/failed/a/" + name)) ==
              Fields{{"INBOX", "a"}, {"FILE", name}});
    }
    // A control character stays escaped in FILE too: the journal gets no raw control bytes.
    CHECK(journal_fields("inbox=a skipped file=" + printable("x\naccount=9999") + ": bad") ==
          Fields{{"INBOX", "a"}, {"FILE", "x\\x0aaccount=9999"}});
}
