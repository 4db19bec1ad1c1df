// lifecycle::QueueOrder, the clear's queue put in order in memory (docs/lifecycle.md,
// "Scale").
#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "lifecycle/queue_order.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;

namespace {

struct Kept {
    std::int64_t key = 0;
    std::string id;
    std::int64_t payout = 0;
    std::int64_t clearing = 0;
    bool overdue = false;
    bool operator==(const Kept&) const = default;
};

QueueItem item_of(const Kept& k) {
    return QueueItem{k.key, k.id, k.payout, Instant{std::chrono::milliseconds{k.clearing}},
                     k.overdue};
}

std::vector<Kept> drained(QueueOrder& q) {
    std::vector<Kept> out;
    q.drain([&](const QueueItem& a) {
        out.push_back(Kept{a.key, std::string(a.action_id), a.payout,
                           a.clearing_date.time_since_epoch().count(), a.overdue});
    });
    return out;
}

// Ids that share long prefixes, differ only after their 8th byte or in their length, hold
// bytes above 0x7f (which order after every ASCII byte) and zero bytes.
std::string random_id(std::mt19937_64& random) {
    static const std::vector<std::string> stems{"",           "A",
                                                "A0000001",   "A00000011",
                                                "A000000112", "\xc3\xa9t\xc3\xa9",
                                                "\xff",       std::string("A\0B", 3),
                                                "z",          "\x7f",
                                                "\x80"};
    std::string id = stems[random() % stems.size()];
    const std::size_t extra = random() % 12;
    for (std::size_t i = 0; i < extra; ++i) {
        const auto r = random() % 8;
        id += r == 0 ? '\0' : r == 1 ? '\xfe' : static_cast<char>('0' + random() % 3);
    }
    return id;
}

}  // namespace

TEST_CASE("queue order: by clearing date, then action id bytewise, over several sorted pieces") {
    for (unsigned seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        std::mt19937_64 random(seed);
        // More than two pieces, few dates, so that most actions tie on the date.
        const std::size_t n = 2 * QueueOrder::kPieceRows + 7919;
        std::vector<Kept> all;
        std::set<std::string> seen;  // an account's action ids are unique
        QueueOrder q(std::size_t{1} << 30);
        for (std::size_t i = 0; all.size() < n; ++i) {
            std::string id = random_id(random) + std::to_string(i);
            if (!seen.insert(id).second) continue;
            Kept k{static_cast<std::int64_t>(i), std::move(id),
                   static_cast<std::int64_t>(random() % 100000),
                   1'700'000'000'000 + static_cast<std::int64_t>(random() % 5) * 86'400'000,
                   random() % 7 == 0};
            REQUIRE(q.add(item_of(k)));
            all.push_back(std::move(k));
        }
        CHECK(q.size() == n);
        std::vector<Kept> expected = all;
        std::sort(expected.begin(), expected.end(), [](const Kept& a, const Kept& b) {
            return std::tie(a.clearing, a.id) < std::tie(b.clearing, b.id);
        });
        const std::vector<Kept> got = drained(q);
        REQUIRE(got.size() == expected.size());
        CHECK(got == expected);
        CHECK(q.size() == 0);
        CHECK(drained(q).empty());
    }
}

TEST_CASE("queue order: ids that tie on their first 8 bytes are ordered by the rest and length") {
    QueueOrder q(std::size_t{1} << 30);
    const std::vector<std::string> ids{"A0000001\x80",
                                       "A0000001",
                                       "A00000010",
                                       "A0000001\x01",
                                       "A000000",
                                       std::string("A0000001\0", 9),
                                       "B",
                                       "",
                                       "z",
                                       "\xc3\xa9",
                                       "\x7f",
                                       "\x80"};
    for (std::size_t i = 0; i < ids.size(); ++i)
        REQUIRE(q.add(QueueItem{static_cast<std::int64_t>(i), ids[i], 1, Instant{}, false}));
    std::vector<std::string> got;
    q.drain([&](const QueueItem& a) { got.emplace_back(a.action_id); });
    std::vector<std::string> expected = ids;
    std::sort(expected.begin(), expected.end());
    CHECK(got == expected);
    CHECK(got.front().empty());
    CHECK(got.back() == "\xc3\xa9");  // bytes above 0x7f after every ASCII byte
}

TEST_CASE("queue order: past its memory it keeps nothing and says so") {
    // Two pieces' rows fit, the third does not.
    QueueOrder q(2 * QueueOrder::kPieceRows * 40 + 4096 * 1024);
    std::size_t added = 0;
    bool refused = false;
    for (std::int64_t i = 0; i < 3 * static_cast<std::int64_t>(QueueOrder::kPieceRows); ++i) {
        if (!q.add(QueueItem{i, "A" + std::to_string(i), 1, Instant{}, false})) {
            refused = true;
            break;
        }
        ++added;
    }
    CHECK(refused);
    CHECK(q.over());
    CHECK(added >= 2 * QueueOrder::kPieceRows);
    CHECK(q.size() == 0);
    CHECK_FALSE(q.add(QueueItem{0, "A", 1, Instant{}, false}));
    CHECK(drained(q).empty());
}
