#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "util/journal_fields.hpp"

using namespace actiondrop::util;
using Fields = std::vector<JournalField>;

TEST_CASE("journal fields: the tokens of a line the service logs when it answers a file") {
    CHECK(
        journal_fields("inbox=acme-drop account=1000 batch=20261124T183651Z-9f2c4e1a7b3d "
                       "file=conversions.csv status=COMPLETE total=2 applied=2 rejected=0 ms=41") ==
        Fields{{"ACCOUNT", "1000"},
               {"INBOX", "acme-drop"},
               {"BATCH", "20261124T183651Z-9f2c4e1a7b3d"},
               {"FILE", "conversions.csv"}});
}

TEST_CASE("journal fields: a key absent or empty gives no field") {
    CHECK(journal_fields("serving 2 inboxes, sweeping every 5000ms").empty());
    CHECK(journal_fields("inbox=acme: the folder cannot be listed") ==
          Fields{{"INBOX", "acme"}});  // the colon is the sentence's, not the name's
    CHECK(journal_fields("inbox=acme account=1000 file=a.csv failed: disk full; retrying in 2s") ==
          Fields{{"ACCOUNT", "1000"}, {"INBOX", "acme"}, {"FILE", "a.csv"}});
    CHECK(journal_fields("inbox= account=1000 batch=") == Fields{{"ACCOUNT", "1000"}});
    CHECK(journal_fields("file=") == Fields{});
}

TEST_CASE("journal fields: values may hold '=', and a quoted value anything, exactly") {
    CHECK(journal_fields("inbox=a batch=x=y file=a=b.csv status=COMPLETE") ==
          Fields{{"INBOX", "a"}, {"BATCH", "x=y"}, {"FILE", "a=b.csv"}});
    CHECK(
        journal_fields("inbox=a account=1 batch=B file=\"my report  2024.csv\" status=COMPLETE") ==
        Fields{{"ACCOUNT", "1"}, {"INBOX", "a"}, {"BATCH", "B"}, {"FILE", "my report  2024.csv"}});
    // \" and \\ are a quote and a backslash; other escapes stay as written.
    CHECK(journal_fields(
              "inbox=a skipped file=\"say \\\"hi\\\" \\\\ bad\\x0aname.csv\": a name with a "
              "control character") ==
          Fields{{"INBOX", "a"}, {"FILE", "say \"hi\" \\ bad\\x0aname.csv"}});
    CHECK(journal_fields("inbox=a skipped file=x.csv: does not match the inbox pattern 'y=*'") ==
          Fields{{"INBOX", "a"}, {"FILE", "x.csv"}});
    CHECK(journal_fields("inbox=a account=1 file=x.csv abandoned to stop: rolled back") ==
          Fields{{"ACCOUNT", "1"}, {"INBOX", "a"}, {"FILE", "x.csv"}});
    CHECK(journal_fields("inbox=a skipped file=\"b.csv\": a FIFO") ==
          Fields{{"INBOX", "a"}, {"FILE", "b.csv"}});
    CHECK(journal_fields("file=\"\" inbox=a") == Fields{{"INBOX", "a"}});  // empty: no field
}

TEST_CASE("journal fields: a file name cannot add or change a field") {
    // The name `x account=9999 batch=B.csv`, as the service prints it: quoted.
    const std::string name = "\"x account=9999 batch=B.csv\"";
    CHECK(journal_fields("inbox=a skipped file=" + name + ": a FIFO") ==
          Fields{{"INBOX", "a"}, {"FILE", "x account=9999 batch=B.csv"}});
    CHECK(journal_fields("inbox=a file=" + name +
                         " cannot be answered (too long); moved untaken to "
                         "\"/var/lib/actiondrop/failed/a/x account=9999 batch=B.csv\"") ==
          Fields{{"INBOX", "a"}, {"FILE", "x account=9999 batch=B.csv"}});
    CHECK(journal_fields("inbox=a account=1000 batch=20261124T183651Z-9f2c file=" + name +
                         " status=COMPLETE total=1") ==
          Fields{{"ACCOUNT", "1000"},
                 {"INBOX", "a"},
                 {"BATCH", "20261124T183651Z-9f2c"},
                 {"FILE", "x account=9999 batch=B.csv"}});
    // A quote inside the name cannot end the value early.
    CHECK(journal_fields("inbox=a skipped file=\"x\\\" account=9999 batch=B.csv\": a FIFO") ==
          Fields{{"INBOX", "a"}, {"FILE", "x\" account=9999 batch=B.csv"}});
    // Quoted text elsewhere, and the prose after the first ": ", are never read for tokens.
    CHECK(journal_fields("removed \"/srv/in/.claims/x account=9999 batch=B.csv\", left behind")
              .empty());
    CHECK(journal_fields(
              "inbox=a account=1 file=x.csv failed: open /srv/x account=9 batch=B: denied") ==
          Fields{{"ACCOUNT", "1"}, {"INBOX", "a"}, {"FILE", "x.csv"}});
    // A quote never closed takes the rest of the line with it.
    CHECK(journal_fields("inbox=a file=\"x account=9999 batch=B.csv") == Fields{{"INBOX", "a"}});
}

TEST_CASE("journal fields: no match inside other words, and the first token of a key wins") {
    CHECK(journal_fields("profile=x myinbox=y inboxes=3 batch_id=z refile=w account_=v").empty());
    CHECK(journal_fields("store sqlite:/var/lib/actiondrop/ledger.db?file=x at schema").empty());
    CHECK(journal_fields("inbox=first inbox=second") == Fields{{"INBOX", "first"}});
    CHECK(journal_fields("file=a.csv,") == Fields{{"FILE", "a.csv"}});
}

TEST_CASE("journal fields: an entry is MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, then the fields") {
    CHECK(journal_entry("inbox=acme account=1000 file=\"a b.csv\" failed: boom", LogLevel::error,
                        "actiondropd") ==
          std::vector<std::string>{"MESSAGE=inbox=acme account=1000 file=\"a b.csv\" failed: boom",
                                   "PRIORITY=3", "SYSLOG_IDENTIFIER=actiondropd", "ACCOUNT=1000",
                                   "INBOX=acme", "FILE=a b.csv"});
    CHECK(journal_entry("two\nlines", LogLevel::info, "x") ==
          std::vector<std::string>{"MESSAGE=two\nlines", "PRIORITY=6", "SYSLOG_IDENTIFIER=x"});
}

TEST_CASE("journal fields: spdlog levels map to syslog priorities") {
    CHECK(syslog_priority(LogLevel::trace) == 7);
    CHECK(syslog_priority(LogLevel::debug) == 7);
    CHECK(syslog_priority(LogLevel::info) == 6);
    CHECK(syslog_priority(LogLevel::warn) == 4);
    CHECK(syslog_priority(LogLevel::error) == 3);
    CHECK(syslog_priority(LogLevel::critical) == 2);
}

TEST_CASE("journal fields: JOURNAL_STREAM must name the very stream, device and inode") {
    auto path = std::filesystem::temp_directory_path() /
                ("actiondrop-journal-stream-" + std::to_string(::getpid()));
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    const std::string same = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    CHECK(is_journal_stream(same.c_str(), fd));
    const std::string other_inode = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);
    CHECK_FALSE(is_journal_stream(other_inode.c_str(), fd));
    const std::string other_device =
        std::to_string(st.st_dev + 1) + ":" + std::to_string(st.st_ino);
    CHECK_FALSE(is_journal_stream(other_device.c_str(), fd));
    CHECK_FALSE(is_journal_stream(nullptr, fd));
    CHECK_FALSE(is_journal_stream("", fd));
    CHECK_FALSE(is_journal_stream((same + "x").c_str(), fd));
    CHECK_FALSE(is_journal_stream((":" + std::to_string(st.st_ino)).c_str(), fd));
    ::close(fd);
    CHECK_FALSE(is_journal_stream(same.c_str(), fd));  // closed: nothing to compare
    std::filesystem::remove(path);
}
