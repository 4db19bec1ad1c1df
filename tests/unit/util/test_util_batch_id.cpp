// Batch ids (util/batch_id.hpp): their form, and the order of those one sequence makes.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "util/batch_id.hpp"

using namespace actiondrop::util;

TEST_CASE("batch ids are unique and start with the UTC time") {
    using namespace std::chrono;
    sys_time<milliseconds> t = sys_days{2026y / 11 / 24} + 18h + 36min + 51s;
    auto a = new_batch_id(t), b = new_batch_id(t);
    CHECK(a != b);
    CHECK(a.rfind("20261124T183651Z-", 0) == 0);
    CHECK(a.size() == 29);
}

TEST_CASE(
    "batch ids of one sequence sort in the order they were made, within a second and "
    "when the clock is set back") {
    using namespace std::chrono;
    sys_time<milliseconds> t = sys_days{2026y / 11 / 24} + 18h + 36min + 51s;
    BatchIds ids;
    std::vector<std::string> made;
    for (int i = 0; i < 2000; ++i) made.push_back(ids.next(t + milliseconds{i % 1000 / 10}));
    made.push_back(ids.next(t + 1s));
    made.push_back(ids.next(t - 1h));  // set back: keeps the last second
    auto sorted = made;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
    CHECK(sorted == made);
    CHECK(made.front().rfind("20261124T183651Z-", 0) == 0);
    CHECK(made.back().rfind("20261124T183652Z-", 0) == 0);
    for (const auto& id : made) CHECK(id.size() == 29);
    // Another sequence in the same second starts elsewhere.
    CHECK(BatchIds{}.next(t) != made.front());
}
