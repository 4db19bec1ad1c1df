#include <doctest/doctest.h>

#include "observe/health.hpp"

using actiondrop::observe::HealthBoard;

TEST_CASE("health board: each condition is said once until it changes, and all are listed") {
    HealthBoard board;
    CHECK(board.verdict().has_value());
    CHECK_FALSE(board.set("store", ""));  // clearing what is clear changes nothing
    CHECK(board.set("store", "connection refused"));
    CHECK_FALSE(board.set("store", "connection refused"));
    CHECK(board.set("state folder", "/var/lib/actiondrop is missing"));
    auto verdict = board.verdict();
    REQUIRE_FALSE(verdict.has_value());
    CHECK(verdict.error() ==
          "state folder: /var/lib/actiondrop is missing\nstore: connection refused");
    CHECK(board.set("store", "timeout"));
    CHECK(board.set("store", ""));
    CHECK(board.set("state folder", ""));
    CHECK(board.verdict().has_value());
}
