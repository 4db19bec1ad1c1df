// lib/config/yaml_map.*: what every YAML file a user writes goes through before its keys
// are read. Cases found by tests/fuzz (fuzz_service_config, fuzz_catalog).
#include <doctest/doctest.h>

#include <string>

#include "config/catalog_file.hpp"
#include "config/yaml_map.hpp"

using namespace actiondrop::config;

TEST_CASE("a stray ',' at the top is a syntax error, not an endless loop") {
    // yaml-cpp 0.7's LoadAll reads the same empty document there forever.
    for (std::string text : {",", "\n,\n", ",,,,\n", "# a comment\n, x\n"}) {
        CAPTURE(text);
        YamlFile file("actiondrop.yaml");
        CHECK_FALSE(file.parse(text).has_value());
        REQUIRE(file.errors().size() == 1);
        CHECK(file.errors()[0].message.starts_with("YAML syntax: "));
        CHECK(file.errors()[0].line >= 1);
    }
}

TEST_CASE("one document is read, and a second one is an error at its start") {
    YamlFile one("a.yaml");
    auto root = one.parse("a: 1\nb: [x, y]\n");
    REQUIRE(root.has_value());
    CHECK((*root)["b"][1].as<std::string>() == "y");
    CHECK(one.errors().empty());

    YamlFile two("a.yaml");
    CHECK_FALSE(two.parse("a: 1\n---\nb: 2\n").has_value());
    REQUIRE(two.errors().size() == 1);
    CHECK(two.errors()[0].line == 2);
    CHECK(two.errors()[0].message.find("more than one YAML document") != std::string::npos);

    YamlFile empty("a.yaml");
    auto none = empty.parse("");
    REQUIRE(none.has_value());
    CHECK(none->IsNull());
}

TEST_CASE("a file that is not UTF-8 is an error naming the line and column of the first bad byte") {
    YamlFile latin1("catalog.yaml");
    CHECK_FALSE(latin1.parse("accounts:\n  - name: Caf\xe9 Paris\n").has_value());
    REQUIRE(latin1.errors().size() == 1);
    CHECK(latin1.errors()[0].line == 2);
    CHECK(latin1.errors()[0].column == 14);
    CHECK(latin1.errors()[0].message.find("UTF-8") != std::string::npos);

    YamlFile good("catalog.yaml");
    CHECK(good.parse("\xEF\xBB\xBFname: \"Caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"\n")
              .has_value());
    CHECK(good.errors().empty());
}

TEST_CASE("the catalog refuses a name that is not UTF-8 instead of storing what JSON cannot hold") {
    // Accepted before, the account then made the store's encoding throw.
    const auto catalog = read_catalog_text(
        "accounts:\n"
        "  - id: \"1\"\n"
        "    name: Acme\n"
        "    currency: USD\n"
        "    dispositions:\n"
        "      - {code: NO_SH\xC3W, name: Guest did not show, action: REJECT}\n",
        "catalog.yaml");
    REQUIRE_FALSE(catalog.has_value());
    CHECK(catalog.error().front().line == 6);
    CHECK(catalog.error().front().message.find("UTF-8") != std::string::npos);
}

TEST_CASE("a control character in the file is an error at its place, never stored") {
    // A NUL inside a scalar: yaml-cpp made of it a byte that is not UTF-8, which the store's
    // encoding of the catalog then threw on (the CLI's "internal error").
    const auto catalog =
        read_catalog_text(std::string("accounts:\n"
                                      "  - id: \"1\"\n"
                                      "    name: Acme\n"
                                      "    currency: USD\n"
                                      "    dispositions:\n"
                                      "      - {code: STA") +
                              '\0' + "_COMPLETE, name: Stay completed, action: APPROVE}\n",
                          "catalog.yaml");
    REQUIRE_FALSE(catalog.has_value());
    CHECK(catalog.error().front().line == 6);
    CHECK(catalog.error().front().column == 19);
    CHECK(catalog.error().front().message.find("control character (byte 0x00)") !=
          std::string::npos);

    for (char c : {'\x01', '\x1b', '\x7f'}) {
        YamlFile file("actiondrop.yaml");
        CHECK_FALSE(file.parse(std::string("a: b") + c + "\n").has_value());
        REQUIRE(file.errors().size() == 1);
        CHECK(file.errors()[0].column == 5);
    }
    YamlFile text("actiondrop.yaml");  // tab, CR and LF are text
    CHECK(text.parse("a:\t\"b\"\r\nc: d\n").has_value());
    CHECK(text.errors().empty());
}
