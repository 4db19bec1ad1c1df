// The FTP listing parsers (pull/ftp/ftp_listing.hpp): MLSD facts and the Unix and Windows
// LIST formats, read strictly.
#include <doctest/doctest.h>

#include "pull/ftp/ftp_listing.hpp"

using namespace actiondrop::pull;
using namespace actiondrop::pull::ftp;

TEST_CASE("ftp listing: MLSD lines give type, size, modification time and names with spaces") {
    auto file =
        parse_mlsd_line("type=file;size=1234;modify=20261204210405;perm=r; Conversions 1.csv");
    REQUIRE(file);
    CHECK(file->entry.type == RemoteType::RegularFile);
    CHECK(file->entry.name == "Conversions 1.csv");
    CHECK(file->entry.size == 1234);
    CHECK(file->has_mtime);
    CHECK(file->entry.mtime == 1796418245);  // 2026-12-04T21:04:05Z

    auto fraction = parse_mlsd_line("Type=File;Size=0;Modify=20261204210405.123; é ü.csv");
    REQUIRE(fraction);
    CHECK(fraction->entry.mtime == 1796418245);
    CHECK(fraction->entry.name == "é ü.csv");

    CHECK(parse_mlsd_line("type=dir;modify=20261204210405; exports")->entry.type ==
          RemoteType::Folder);
    CHECK(parse_mlsd_line("type=cdir; .")->entry.type == RemoteType::Folder);
    CHECK(parse_mlsd_line("type=OS.unix=slink:/x;size=3; link.csv")->entry.type ==
          RemoteType::Symlink);
    CHECK(parse_mlsd_line("type=OS.unix=chr-13/29; tty")->entry.type == RemoteType::Other);

    CHECK_FALSE(parse_mlsd_line("size=3; no type.csv"));
    CHECK_FALSE(parse_mlsd_line("type=file;size=x3; a.csv"));
    CHECK_FALSE(parse_mlsd_line("type=file;size=3;modify=2026; a.csv"));
    CHECK_FALSE(parse_mlsd_line("-rw-r--r-- 1 0 0 4 Dec 04 21:04 a.csv"));
    CHECK_FALSE(parse_mlsd_line("type=file;size=3;"));
}

TEST_CASE("ftp listing: Unix LIST lines, with or without a group, recent or old") {
    auto vsftpd =
        parse_list_line("-rw-r--r--    1 0        0            4 Dec 04 21:04 Conversions_1.csv");
    REQUIRE(vsftpd);
    CHECK(vsftpd->entry.type == RemoteType::RegularFile);
    CHECK(vsftpd->entry.name == "Conversions_1.csv");
    CHECK(vsftpd->entry.size == 4);
    CHECK(vsftpd->listed_time == "Dec 04 21:04");
    CHECK_FALSE(vsftpd->has_mtime);

    auto spaces = parse_list_line("-rw-r--r--   1 ftp ftp  123456 Jan  5  2024 my  report 2.csv");
    REQUIRE(spaces);
    CHECK(spaces->entry.name == "my  report 2.csv");
    CHECK(spaces->entry.size == 123456);
    CHECK(spaces->listed_time == "Jan 5 2024");

    auto no_group = parse_list_line("-rw-r--r-- 1 owner 77 Feb 28 09:15 données.csv");
    REQUIRE(no_group);
    CHECK(no_group->entry.name == "données.csv");
    CHECK(no_group->entry.size == 77);

    auto link = parse_list_line("lrwxrwxrwx 1 0 0 17 Dec 04 21:04 link.csv -> Conversions_1.csv");
    REQUIRE(link);
    CHECK(link->entry.type == RemoteType::Symlink);
    CHECK(link->entry.name == "link.csv");
    CHECK(parse_list_line("drwxr-xr-x 2 0 0 4096 Dec 04 21:04 archive")->entry.type ==
          RemoteType::Folder);
    CHECK(parse_list_line("-rw-r--r--+ 1 a b 4 Dec 04 21:04 acl.csv")->entry.name == "acl.csv");

    CHECK(is_list_total("total 12"));
    CHECK_FALSE(parse_list_line("total 12"));
    CHECK_FALSE(parse_list_line("-rw-r--r-- 1 0 0 four Dec 04 21:04 a.csv"));
    CHECK_FALSE(parse_list_line("-rw-r--r-- 1 0 0 4 Foo 04 21:04 a.csv"));
    CHECK_FALSE(parse_list_line("-rw-r--r-- 1 0 0 4 Dec 44 21:04 a.csv"));
    CHECK_FALSE(parse_list_line("-rw-r--r-- 1 0 0 4 Dec 04 21:04"));
    CHECK_FALSE(parse_list_line("hello world"));
}

TEST_CASE("ftp listing: Windows LIST lines") {
    auto file = parse_list_line("12-04-26  09:04PM                 1234 Conversions 1.csv");
    REQUIRE(file);
    CHECK(file->entry.type == RemoteType::RegularFile);
    CHECK(file->entry.name == "Conversions 1.csv");
    CHECK(file->entry.size == 1234);
    auto dir = parse_list_line("12-04-2026  21:04       <DIR>          done");
    REQUIRE(dir);
    CHECK(dir->entry.type == RemoteType::Folder);
    CHECK(dir->entry.name == "done");
    CHECK_FALSE(parse_list_line("12-04-26  09:04XM                 1234 a.csv"));
    CHECK_FALSE(parse_list_line("12/04/26  09:04PM                 1234 a.csv"));
    CHECK_FALSE(parse_list_line("12-04-26  09:04PM                 12a4 a.csv"));
}

TEST_CASE("ftp listing: MDTM times and listing lines") {
    CHECK(parse_ftp_time("19700101000000") == 0);
    CHECK(parse_ftp_time("20000229235959") == 951868799);
    CHECK_FALSE(parse_ftp_time("20001329235959"));
    CHECK_FALSE(parse_ftp_time("2000022923595"));
    CHECK_FALSE(parse_ftp_time("20000229235959x"));
    auto lines = listing_lines("a\r\nb\n\r\nc");
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "a");
    CHECK(lines[2] == "c");
}

TEST_CASE("ftp: a listing of tiny lines is split no further than asked") {
    std::string body;
    for (int i = 0; i < 100'000; ++i) body += "x\n";
    auto lines = listing_lines(body, 11);
    CHECK(lines.size() == 11);
    CHECK(listing_lines(body).size() == 100'000);
    CHECK(listing_lines("a\n\n\nb\n", 2) == std::vector<std::string_view>{"a", "b"});
}
