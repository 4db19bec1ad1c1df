#include <doctest/doctest.h>

#include <stdexcept>
#include <tuple>

#include "store/write_behind.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;

namespace {

struct Written {
    std::vector<std::tuple<std::int64_t, bool, bool>> actions;  // key, stored, indexed changed
    std::vector<std::int64_t> entries;                          // entry ids
};

Written write(WriteBehind& cache) {
    Written w;
    cache.write(
        [&](const ledger::Action& a, bool stored, bool indexed_changed) {
            w.actions.emplace_back(a.key, stored, indexed_changed);
        },
        [&](const std::vector<WriteBehind::QueuedHistory>& history) {
            for (const auto& h : history) w.entries.push_back(h.entry_id);
        });
    return w;
}

}  // namespace

TEST_CASE("the write-behind cache hands changes over in key order, each action once") {
    WriteBehind cache;
    cache.start(100, 500);
    ledger::Action stored = sample_action("1000", "A-1");
    stored.key = 7;
    ledger::Action* a1 = cache.adopt(ledger::Action(stored));
    CHECK(cache.cached("1000", "A-1") != nullptr);
    // A second read of a cached action keeps the cached one.
    CHECK(cache.adopt("1000", "A-1", [](ledger::Action&) { FAIL("read again"); }) == a1);

    ledger::Action& created =
        cache.created(sample_action("1000", "A-2"), sample_entry(ledger::Operation::Create, 1, 0));
    CHECK(created.key == 100);
    CHECK(cache.next_key() == 101);
    CHECK(cache.pending_by_order("1000", created.order_id, created.tracker_id) == &created);
    CHECK(cache.pending_by_customer("1000", created.tracker_id, created.customer_id) == &created);
    CHECK_THROWS_AS(cache.created(sample_action("1000", "A-2"), {}), std::logic_error);

    a1->amount += 1;
    cache.changed(*a1, sample_entry(ledger::Operation::Modify, 2, 0));
    cache.changed(*a1, sample_entry(ledger::Operation::Modify, 3, 0));
    CHECK_FALSE(cache.indexed_changed());
    ledger::Action stranger = sample_action("1000", "A-1");
    CHECK_THROWS_AS(cache.changed(stranger, {}), std::logic_error);

    CHECK_FALSE(cache.written(7));
    Written w = write(cache);
    CHECK(w.actions ==
          std::vector<std::tuple<std::int64_t, bool, bool>>{{7, true, false}, {100, false, false}});
    CHECK(w.entries == std::vector<std::int64_t>{500, 501, 502});
    CHECK(cache.written(7));
    CHECK(cache.written(100));
    CHECK_FALSE(cache.written(8));
    CHECK_FALSE(cache.any_pending());
    CHECK(cache.pending_by_order("1000", created.order_id, created.tracker_id) == nullptr);

    // A searched column changed: the store must rewrite it, and indexed queries wait for that.
    a1->order_id = "O-other";
    cache.changed(*a1, sample_entry(ledger::Operation::Modify, 4, 0));
    CHECK(cache.indexed_changed());
    w = write(cache);
    CHECK(w.actions == std::vector<std::tuple<std::int64_t, bool, bool>>{{7, true, true}});
    CHECK_FALSE(cache.indexed_changed());

    cache.clear();
    CHECK(cache.cached("1000", "A-1") == nullptr);
    CHECK(cache.written(7));  // what was written stays known until the transaction ends
}
