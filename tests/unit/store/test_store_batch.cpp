#include <doctest/doctest.h>

#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
using ledger::Operation;

namespace {

ledger::Action make(std::string id, std::string order, std::string tracker = "19816") {
    ledger::Action a = sample_action("1000", std::move(id));
    a.order_id = std::move(order);
    a.tracker_id = std::move(tracker);
    a.outside_terms = false;
    return a;
}

ledger::HistoryEntry entry(Operation op, std::int64_t line, std::int64_t at = 1'768'600'000'000) {
    return sample_entry(op, line, at);
}

std::vector<std::string> ids(const std::vector<ledger::Action*>& actions) {
    std::vector<std::string> out;
    for (const ledger::Action* a : actions) out.push_back(a->action_id);
    return out;
}

}  // namespace

TEST_CASE("a created action is found at once and durable after commit, every field intact") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    CHECK(tx->find("1000", "A-1") == nullptr);
    ledger::Action& a1 = tx->created(sample_action("1000", "A-1"), entry(Operation::Create, 2));
    ledger::Action& a2 = tx->created(sample_action("1000", "A-2"), entry(Operation::Create, 3));
    CHECK(a1.key > 0);
    CHECK(a2.key == a1.key + 1);
    CHECK(tx->find("1000", "A-1") == &a1);
    CHECK(tx->find("2000", "A-1") == nullptr);
    ledger::Action want = a1;
    tx->commit(sample_record("B-1", "1000", "aa"), {});

    auto reopened = open_store(dir.url());
    auto got = reopened->action("1000", "A-1");
    REQUIRE(got);
    check_same_action(*got, want);
    CHECK_FALSE(reopened->action("2000", "A-1"));
    CHECK(reopened->find_batch("B-1")->state == store::BatchState::Claimed);

    // Keys keep growing across batches.
    auto tx2 = reopened->begin_batch("B-2");
    ledger::Action& a3 = tx2->created(sample_action("1000", "A-3"), entry(Operation::Create, 2));
    CHECK(a3.key == want.key + 2);
    ledger::Action* loaded = tx2->find("1000", "A-1");
    REQUIRE(loaded != nullptr);
    check_same_action(*loaded, want);
}

TEST_CASE(
    "changes are seen inside the transaction, hidden from others until commit, then durable") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        tx->created(make("A-1", "O-1"), entry(Operation::Create, 2, 100));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto reader = open_store(dir.url());
    auto tx = store->begin_batch("B-2");
    ledger::Action* a = tx->find("1000", "A-1");
    REQUIRE(a != nullptr);
    a->amount = 5'000;
    a->payout = 400;
    a->modification_count += 1;
    a->items[0].category = "toys";
    tx->changed(*a, entry(Operation::Modify, 2, 300));
    CHECK(tx->find("1000", "A-1") == a);  // the cached, changed object
    CHECK(tx->find("1000", "A-1")->amount == 5'000);

    tx->flush();
    ledger::Action* after_flush = tx->find("1000", "A-1");
    REQUIRE(after_flush != nullptr);
    CHECK(after_flush->amount == 5'000);
    CHECK(after_flush->items[0].category == "toys");
    after_flush->status = ledger::Status::Approved;
    tx->changed(*after_flush, entry(Operation::Approve, 3, 200));

    // Written to the database but not committed: another connection sees the old action.
    CHECK(reader->action("1000", "A-1")->amount == 12'345);
    CHECK(reader->history("1000", "A-1").size() == 1);

    ledger::Action want = *after_flush;
    tx->commit(sample_record("B-2", "1000", "bb"), {});
    auto got = reader->action("1000", "A-1");
    REQUIRE(got);
    check_same_action(*got, want);

    // History: by time, then insertion; every field kept.
    auto history = reader->history("1000", "A-1");
    REQUIRE(history.size() == 3);
    CHECK(history[0].operation == Operation::Create);
    CHECK(history[1].operation == Operation::Approve);
    CHECK(history[2].operation == Operation::Modify);
    const ledger::HistoryEntry expected = entry(Operation::Modify, 2, 300);
    const ledger::HistoryEntry& h = history[2];
    CHECK(h.action_id == "A-1");
    CHECK(h.at == expected.at);
    CHECK(h.batch_id == expected.batch_id);
    CHECK(h.line == 2);
    CHECK(h.reason == expected.reason);
    CHECK(h.old_amount == expected.old_amount);
    CHECK(h.new_amount == expected.new_amount);
    CHECK(h.old_payout == expected.old_payout);
    CHECK(h.new_payout == expected.new_payout);
    CHECK(h.old_status == expected.old_status);
    CHECK(h.new_status == expected.new_status);
    CHECK(h.contract_id == expected.contract_id);
    CHECK(h.contract_version == expected.contract_version);
    CHECK(h.note == expected.note);
}

TEST_CASE(
    "entries at the same time keep their insertion order, a missing contract version stays empty") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    ledger::Action& a = tx->created(make("A-1", "O-1"), entry(Operation::Create, 2, 500));
    for (int line = 3; line < 8; ++line) {
        ledger::HistoryEntry e = entry(Operation::Modify, line, 500);
        e.contract_version.reset();
        e.operation = line % 2 == 0 ? Operation::Reverse : Operation::Reset;
        tx->changed(a, e);
    }
    tx->commit(sample_record("B-1", "1000", "aa"), {});
    auto history = store->history("1000", "A-1");
    REQUIRE(history.size() == 6);
    for (std::size_t i = 0; i < history.size(); ++i)
        CHECK(history[i].line == static_cast<std::int64_t>(i) + 2);
    CHECK(history[1].operation == Operation::Reset);
    CHECK(history[2].operation == Operation::Reverse);
    CHECK_FALSE(history[1].contract_version);
}

TEST_CASE("rollback and the destructor drop every change") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        tx->created(make("A-1", "O-1"), entry(Operation::Create, 2));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    {
        auto tx = store->begin_batch("B-2");
        ledger::Action* a = tx->find("1000", "A-1");
        a->amount = 1;
        tx->changed(*a, entry(Operation::Modify, 2));
        tx->created(make("A-2", "O-2"), entry(Operation::Create, 3));
        tx->flush();
        tx->rollback();
        CHECK_THROWS_AS(tx->find("1000", "A-1"), std::logic_error);
    }
    {
        auto tx = store->begin_batch("B-3");
        tx->created(make("A-3", "O-3"), entry(Operation::Create, 2));
        tx->flush();
    }  // destroyed without commit
    CHECK(store->action("1000", "A-1")->amount == 12'345);
    CHECK_FALSE(store->action("1000", "A-2"));
    CHECK_FALSE(store->action("1000", "A-3"));
    CHECK(store->history("1000", "A-1").size() == 1);
    CHECK_FALSE(store->find_batch("B-2"));
    // The store takes a new batch after either.
    auto tx = store->begin_batch("B-4");
    CHECK(tx->find("1000", "A-1") != nullptr);
}

TEST_CASE(
    "a batch committed by another attempt is never committed again, nor taken back to claimed") {
    // Two services that both took the same claim (the second after the first's lease ran out,
    // docs/postgres.md, "Claims and leases"): the commit checks the state it started from.
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto other = open_store(dir.url());
    BatchRecord claimed = sample_record("B-1", "1000", "aa");
    claimed.attempts = 1;
    store->put_batch(claimed);

    BatchRecord theirs = claimed;
    theirs.state = BatchState::Applied;
    theirs.status = "COMPLETE";
    theirs.completed_at = at_ms(1'768'600'001'000);
    theirs.total = theirs.applied = 1;
    {
        auto tx = other->begin_batch("B-1");
        tx->created(make("A-1", "O-1"), entry(Operation::Create, 2));
        tx->commit(theirs, {});
    }

    // The late attempt: its claimed record (a second attempt) does not undo the commit ...
    BatchRecord late = claimed;
    late.attempts = 2;
    store->put_batch(late);
    CHECK(store->find_batch("B-1")->state == BatchState::Applied);
    CHECK(store->find_batch("B-1")->status == "COMPLETE");
    // ... and its commit is refused whole: none of its rows are written.
    {
        auto tx = store->begin_batch("B-1");
        ledger::Action* a = tx->find("1000", "A-1");
        REQUIRE(a != nullptr);
        a->amount = 1;
        tx->changed(*a, entry(Operation::Modify, 2));
        tx->created(make("A-2", "O-2"), entry(Operation::Create, 3));
        BatchRecord mine = late;
        mine.state = BatchState::Applied;
        mine.status = "COMPLETE";
        mine.total = mine.applied = 2;
        CHECK_THROWS_AS(tx->commit(mine, {}), BatchCommittedElsewhere);
    }
    CHECK(store->action("1000", "A-1")->amount == 12'345);
    CHECK_FALSE(store->action("1000", "A-2"));
    CHECK(store->history("1000", "A-1").size() == 1);
    CHECK(store->find_batch("B-1")->total == 1);
    // A decided status is never replaced by another one.
    BatchRecord quarantined = late;
    quarantined.state = BatchState::Quarantined;
    quarantined.status = "REJECTED";
    store->put_batch(quarantined);
    CHECK(store->find_batch("B-1")->status == "COMPLETE");
    // The store takes the next batch.
    CHECK_NOTHROW(store->begin_batch("B-2"));
}

TEST_CASE("one batch transaction at a time per store") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    CHECK_THROWS_AS(store->begin_batch("B-2"), std::logic_error);
    tx->rollback();
    CHECK_NOTHROW(store->begin_batch("B-2"));
}

TEST_CASE("find_by_order gives the newest action of the order and tracker, written or not") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        tx->created(make("A-1", "O-1"), entry(Operation::Create, 2));
        tx->created(make("A-2", "O-1"), entry(Operation::Create, 3));
        tx->created(make("A-3", "O-1", "19817"), entry(Operation::Create, 4));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    ledger::Action* newest = tx->find_by_order("1000", "O-1", "19816");
    REQUIRE(newest != nullptr);
    CHECK(newest->action_id == "A-2");
    CHECK(tx->find("1000", "A-2") == newest);
    CHECK(tx->find_by_order("1000", "O-1", "19817")->action_id == "A-3");
    CHECK(tx->find_by_order("1000", "O-1", "19818") == nullptr);
    CHECK(tx->find_by_order("2000", "O-1", "19816") == nullptr);

    // An id that sorts before the others but is created later is still the newest.
    ledger::Action& later = tx->created(make("A-0", "O-1"), entry(Operation::Create, 2));
    CHECK(tx->find_by_order("1000", "O-1", "19816") == &later);
    tx->flush();
    CHECK(tx->find_by_order("1000", "O-1", "19816")->action_id == "A-0");
    ledger::Action& pending = tx->created(make("A-00", "O-2"), entry(Operation::Create, 3));
    CHECK(tx->find_by_order("1000", "O-2", "19816") == &pending);
}

TEST_CASE("an indexed column changed in memory is seen by the lookups") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        tx->created(make("A-1", "O-1"), entry(Operation::Create, 2));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    ledger::Action* a = tx->find("1000", "A-1");
    a->order_id = "O-9";
    tx->changed(*a, entry(Operation::Modify, 2));
    CHECK(tx->find_by_order("1000", "O-1", "19816") == nullptr);
    CHECK(tx->find_by_order("1000", "O-9", "19816") == a);

    ledger::Action& b = tx->created(make("A-2", "O-2"), entry(Operation::Create, 3));
    b.order_id = "O-3";
    tx->changed(b, entry(Operation::Modify, 4));
    CHECK(tx->find_by_order("1000", "O-2", "19816") == nullptr);
    CHECK(tx->find_by_order("1000", "O-3", "19816") == &b);
    tx->commit(sample_record("B-2", "1000", "bb"), {});
    CHECK(store->action("1000", "A-1")->order_id == "O-9");
}

TEST_CASE("latest_for_customer and children see written and unwritten actions") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        tx->created(make("P-1", "O-1"), entry(Operation::Create, 2));
        ledger::Action c1 = make("C-1", "O-2", "19818");
        c1.parent_action_id = "P-1";
        c1.customer_id = "CUST";
        tx->created(c1, entry(Operation::Create, 3));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    CHECK(tx->latest_for_customer("1000", "19818", "CUST")->action_id == "C-1");
    CHECK(tx->latest_for_customer("1000", "19816", "CUST") == nullptr);
    CHECK(ids(tx->children("1000", "P-1")) == std::vector<std::string>{"C-1"});

    ledger::Action c0 = make("C-0", "O-3", "19818");
    c0.parent_action_id = "P-1";
    c0.customer_id = "CUST";
    ledger::Action& created = tx->created(c0, entry(Operation::Create, 2));
    CHECK(tx->latest_for_customer("1000", "19818", "CUST") == &created);
    auto children = tx->children("1000", "P-1");
    CHECK(ids(children) == std::vector<std::string>{"C-1", "C-0"});  // oldest first
    CHECK(children[0] == tx->find("1000", "C-1"));
    CHECK(tx->children("1000", "C-1").empty());
    CHECK(tx->children("2000", "P-1").empty());

    tx->flush();
    CHECK(ids(tx->children("1000", "P-1")) == std::vector<std::string>{"C-1", "C-0"});
    CHECK(tx->latest_for_customer("1000", "19818", "CUST")->action_id == "C-0");
}

TEST_CASE(
    "cap totals count non-reversed, within-terms actions from start to end (end excluded), "
    "unwritten changes "
    "included") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    const std::int64_t day = 86'400'000;
    const std::int64_t start = 1'767'225'600'000;  // 2026-01-01
    auto action_on = [&](std::string id, std::int64_t offset, std::int64_t payout) {
        ledger::Action a = make(std::move(id), "O");
        a.event_date = at_ms(start + offset);
        a.payout = payout;
        return a;
    };
    {
        auto tx = store->begin_batch("B-1");
        tx->created(action_on("A-1", 0, 100), entry(Operation::Create, 2));
        tx->created(action_on("A-2", day, 200), entry(Operation::Create, 3));
        tx->created(action_on("A-3", 31 * day, 400), entry(Operation::Create, 4));  // February
        ledger::Action other = action_on("A-4", day, 800);
        other.contract_id = "C-2";
        tx->created(other, entry(Operation::Create, 5));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    const auto from = at_ms(start), to = at_ms(start + 31 * day);
    ledger::CapTotals totals = tx->cap_totals("1000", "P-77", "C-1", from, to);
    CHECK(totals.payout == 300);
    CHECK(totals.count == 2);

    ledger::Action* a2 = tx->find("1000", "A-2");
    a2->status = ledger::Status::Reversed;
    a2->payout = 0;
    tx->changed(*a2, entry(Operation::Reverse, 2));
    ledger::Action outside = action_on("A-5", 2 * day, 0);
    outside.outside_terms = true;
    tx->created(outside, entry(Operation::Create, 3));
    tx->created(action_on("A-6", 31 * day - 1, 50), entry(Operation::Create, 4));
    totals = tx->cap_totals("1000", "P-77", "C-1", from, to);
    CHECK(totals.payout == 150);
    CHECK(totals.count == 2);
    CHECK(tx->cap_totals("1000", "P-77", "C-2", from, to).payout == 800);
    CHECK(tx->cap_totals("1000", "P-78", "C-1", from, to).count == 0);
    // The pointers handed out before stay valid: cap_totals writes but keeps the cache.
    CHECK(a2->status == ledger::Status::Reversed);
    CHECK(tx->find("1000", "A-2") == a2);
}

TEST_CASE(
    "pointers stay valid while many actions are added, and for_each_action goes by creation") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    ledger::Action& first = tx->created(make("Z-first", "O-0"), entry(Operation::Create, 2));
    for (int i = 0; i < 3000; ++i)
        tx->created(make("A-" + std::to_string(i), "O-" + std::to_string(i)),
                    entry(Operation::Create, i + 3));
    CHECK(first.action_id == "Z-first");
    CHECK(tx->find("1000", "Z-first") == &first);
    tx->commit(sample_record("B-1", "1000", "aa"), {});

    std::vector<std::string> order;
    std::int64_t last_key = 0;
    bool increasing = true;
    store->for_each_action("1000", [&](const ledger::Action& a) {
        increasing = increasing && a.key > last_key;
        last_key = a.key;
        if (order.size() < 3) order.push_back(a.action_id);
    });
    CHECK(increasing);
    CHECK(order == std::vector<std::string>{"Z-first", "A-0", "A-1"});
    int other = 0;
    store->for_each_action("2000", [&](const ledger::Action&) { ++other; });
    CHECK(other == 0);
}

TEST_CASE("for_each_change gives each entry once, action by action, each in history order") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    // More actions than a page of the PostgreSQL store's reads (2,000).
    for (int i = 0; i < 2300; ++i)
        tx->created(make("A-" + std::to_string(i), "O-" + std::to_string(i)),
                    entry(Operation::Create, i + 2));
    for (int i = 0; i < 3; ++i)
        tx->created(sample_action("2000", "X-" + std::to_string(i)), entry(Operation::Create, 2));
    tx->commit(sample_record("B-1", "1000", "aa"), {});
    // Every 7th action changed twice more, once dated before its creation: history order is
    // by date, not by entry.
    auto tx2 = store->begin_batch("B-2");
    int changed = 0;
    for (int i = 0; i < 2300; i += 7) {
        ledger::Action* a = tx2->find("1000", "A-" + std::to_string(i));
        REQUIRE(a != nullptr);
        ledger::HistoryEntry later = entry(Operation::Modify, i + 2, 1'768'700'000'000);
        later.batch_id = "B-2";
        tx2->changed(*a, later);
        ledger::HistoryEntry earlier = entry(Operation::Modify, i + 3, 1'768'500'000'000);
        earlier.batch_id = "B-2";
        earlier.reason = "EARLIER";
        tx2->changed(*a, earlier);
        changed += 2;
    }
    tx2->commit(sample_record("B-2", "1000", "bb"), {});

    auto describe = [](const ledger::Action& a, const ledger::HistoryEntry& h) {
        return a.action_id + " " + h.action_id + " " +
               std::string(ledger::operation_name(h.operation)) + " " +
               ledger::format_instant(h.at) + " " + h.batch_id + " " + std::to_string(h.line) +
               " " + h.reason + " " + std::to_string(h.new_amount);
    };
    std::vector<std::string> got, want;
    store->for_each_change("1000", [&](const ledger::Action& a, const ledger::HistoryEntry& h) {
        got.push_back(describe(a, h));
    });
    // What it stands for: each action, then its history (the default of every store).
    store->for_each_action("1000", [&](const ledger::Action& a) {
        for (const auto& h : store->history("1000", a.action_id)) want.push_back(describe(a, h));
    });
    CHECK(got.size() == static_cast<std::size_t>(2300 + changed));
    CHECK(got == want);
    REQUIRE(got.size() > 2);
    CHECK(got[0].starts_with("A-0 A-0 MODIFY"));  // dated before its creation
    CHECK(got[0].find("EARLIER") != std::string::npos);
    int other = 0;
    store->for_each_change("2000",
                           [&](const ledger::Action&, const ledger::HistoryEntry&) { ++other; });
    CHECK(other == 3);
}

TEST_CASE("reporting an action the batch did not hand out is a bug") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto tx = store->begin_batch("B-1");
    ledger::Action stray = make("A-1", "O-1");
    CHECK_THROWS_AS(tx->changed(stray, entry(Operation::Modify, 2)), std::logic_error);
    tx->created(make("A-1", "O-1"), entry(Operation::Create, 2));
    CHECK_THROWS_AS(tx->created(make("A-1", "O-1"), entry(Operation::Create, 3)), std::logic_error);
    CHECK_THROWS_AS(tx->commit(sample_record("B-other", "1000", "aa"), {}), std::logic_error);
}

TEST_CASE(
    "prefetch reads many actions at once, keeps those already cached, and skips unknown ids") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    std::vector<ledger::Action> want;
    {
        auto tx = store->begin_batch("B-1");
        // More ids than one prefetch statement takes, so that a short last group is read too.
        for (int i = 0; i < 150; ++i) {
            ledger::Action& a =
                tx->created(make("A-" + std::to_string(i), "O-" + std::to_string(i)),
                            entry(Operation::Create, i + 2));
            want.push_back(a);
        }
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    ledger::Action* changed = tx->find("1000", "A-7");
    REQUIRE(changed != nullptr);
    changed->amount = 777;
    tx->changed(*changed, entry(Operation::Modify, 2));

    std::vector<std::string> wanted_ids;
    for (int i = 149; i >= 0; i -= 2) wanted_ids.push_back("A-" + std::to_string(i));
    wanted_ids.push_back("A-7");
    wanted_ids.push_back("A-149");  // twice
    wanted_ids.push_back("NO-SUCH");
    std::vector<std::string_view> views(wanted_ids.begin(), wanted_ids.end());
    tx->key_order()->prefetch("1000", views);
    tx->key_order()->prefetch("2000",
                              views);  // another account's ids are not this account's actions

    CHECK(tx->find("1000", "A-7") == changed);
    CHECK(tx->find("1000", "A-7")->amount == 777);
    CHECK(tx->find("1000", "NO-SUCH") == nullptr);
    CHECK(tx->find("2000", "A-149") == nullptr);
    for (int i : {149, 147, 1, 0, 2, 148}) {
        ledger::Action* a = tx->find("1000", "A-" + std::to_string(i));
        REQUIRE(a != nullptr);
        check_same_action(*a, want[static_cast<std::size_t>(i)]);
    }
}

TEST_CASE("history entries written in groups keep their order and fields") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        ledger::Action& a = tx->created(make("A-1", "O-1"), entry(Operation::Create, 2, 100));
        ledger::Action& b = tx->created(make("A-2", "O-2"), entry(Operation::Create, 3, 100));
        // 70 entries: two full groups of rows and a few written one by one.
        for (int i = 0; i < 68; ++i) {
            ledger::Action& target = i % 3 == 0 ? b : a;
            target.modification_count += 1;
            tx->changed(target, entry(Operation::Modify, i + 4, 200 + i));
        }
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto history_a = store->history("1000", "A-1");
    auto history_b = store->history("1000", "A-2");
    CHECK(history_a.size() == 1 + 45);
    CHECK(history_b.size() == 1 + 23);
    std::int64_t last_line = 0;
    for (const auto& e : history_a) {
        CHECK(e.line > last_line);
        last_line = e.line;
        CHECK(e.batch_id == sample_entry(Operation::Modify, 0, 0).batch_id);
    }
    CHECK(history_b.back().line == 4 + 66);
    CHECK(history_b.back().at == at_ms(200 + 66));
    CHECK(history_b.back().operation == Operation::Modify);
}

TEST_CASE("many changed actions written in groups keep every change, indexed or not") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    {
        auto tx = store->begin_batch("B-1");
        for (int i = 0; i < 100; ++i)
            tx->created(make("A-" + std::to_string(i), "O-" + std::to_string(i)),
                        entry(Operation::Create, i + 2));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    std::vector<ledger::Action> want;
    {
        auto tx = store->begin_batch("B-2");
        for (int i = 0; i < 100; ++i) {
            ledger::Action* a = tx->find("1000", "A-" + std::to_string(i));
            REQUIRE(a != nullptr);
            a->amount = 1'000 + i;
            a->payout = 10 + i;
            a->status = i % 2 ? ledger::Status::Approved : ledger::Status::Reversed;
            a->items[0].quantity = i + 1;
            a->modification_count += 1;
            // Every seventh also changes an indexed column, which is written on its own.
            if (i % 7 == 3) a->order_id = "NEW-" + std::to_string(i);
            tx->changed(*a, entry(Operation::Modify, i + 2));
            want.push_back(*a);
        }
        tx->commit(sample_record("B-2", "1000", "bb"), {});
    }
    auto reopened = open_store(dir.url());
    for (const ledger::Action& w : want) {
        auto got = reopened->action("1000", w.action_id);
        REQUIRE(got);
        check_same_action(*got, w);
    }
    auto tx = reopened->begin_batch("B-3");
    ledger::Action* moved = tx->find_by_order("1000", "NEW-10", "19816");
    REQUIRE(moved != nullptr);
    CHECK(moved->action_id == "A-10");
}

TEST_CASE(
    "cap totals asked again after actions are created and changed are those the store would sum") {
    // The batch keeps a period's totals once asked and adds what it creates
    // (store/cap_totals_cache.hpp): every answer must still be the store's own sum.
    TempDir dir;
    auto store = migrated_store(dir.url());
    const std::int64_t day = 86'400'000;
    const std::int64_t start = 1'767'225'600'000;  // 2026-01-01
    const auto from = at_ms(start), to = at_ms(start + 31 * day);
    auto action_on = [&](std::string id, std::int64_t offset, std::int64_t payout) {
        ledger::Action a = make(std::move(id), "O-" + id);
        a.event_date = at_ms(start + offset);
        a.payout = payout;
        return a;
    };
    ledger::CapTotals asked_in_batch;
    {
        auto tx = store->begin_batch("B-1");
        tx->created(action_on("A-1", 0, 100), entry(Operation::Create, 2));
        tx->flush();
        CHECK(tx->cap_totals("1000", "P-77", "C-1", from, to).payout == 100);
        tx->created(action_on("A-2", 0, 10), entry(Operation::Create, 3));           // at the start
        tx->created(action_on("A-3", 31 * day, 1000), entry(Operation::Create, 4));  // at the end
        ledger::Action reversed = action_on("A-4", day, 2000);
        reversed.status = ledger::Status::Reversed;
        tx->created(reversed, entry(Operation::Create, 5));
        ledger::Action outside = action_on("A-5", day, 4000);
        outside.outside_terms = true;
        tx->created(outside, entry(Operation::Create, 6));
        ledger::Action other_partner = action_on("A-6", day, 8000);
        other_partner.partner_id = "P-78";
        tx->created(other_partner, entry(Operation::Create, 7));
        ledger::Action other_account = action_on("A-7", day, 16000);
        other_account.account_id = "2000";
        tx->created(other_account, entry(Operation::Create, 8));
        const ledger::CapTotals after_creates = tx->cap_totals("1000", "P-77", "C-1", from, to);
        CHECK(after_creates.payout == 110);
        CHECK(after_creates.count == 2);
        // A change to a stored action (a new payout) is seen at the next question.
        ledger::Action* a1 = tx->find("1000", "A-1");
        REQUIRE(a1 != nullptr);
        a1->payout = 40;
        tx->changed(*a1, entry(Operation::Modify, 9));
        tx->created(action_on("A-8", 2 * day, 5), entry(Operation::Create, 10));
        asked_in_batch = tx->cap_totals("1000", "P-77", "C-1", from, to);
        CHECK(asked_in_batch.payout == 55);
        CHECK(asked_in_batch.count == 3);
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    auto tx = store->begin_batch("B-2");
    const ledger::CapTotals stored = tx->cap_totals("1000", "P-77", "C-1", from, to);
    CHECK(stored.payout == asked_in_batch.payout);
    CHECK(stored.count == asked_in_batch.count);
}

TEST_CASE("a report of an account's actions reads one moment of the store, however long it is") {
    // More actions than PostgreSQL reads in one page, and a batch committed by another
    // connection while the report is at its first action: the report shows none of it.
    TempDir dir;
    auto store = migrated_store(dir.url());
    constexpr int n = 4'500;
    {
        auto tx = store->begin_batch("B-1");
        for (int i = 0; i < n; ++i)
            tx->created(make("A-" + std::to_string(i), "O-" + std::to_string(i)),
                        entry(Operation::Create, i + 2));
        tx->commit(sample_record("B-1", "1000", "aa"), {});
    }
    const std::int64_t payout_before = store->action("1000", "A-" + std::to_string(n - 1))->payout;
    auto other = open_store(dir.url());
    int seen = 0;
    std::int64_t last_payout = -1;
    std::size_t last_history = 0;
    store->for_each_action("1000", [&](const ledger::Action& a) {
        if (seen++ == 0) {
            auto tx = other->begin_batch("B-2");
            for (const int i : {1, n - 1}) {
                ledger::Action* changed = tx->find("1000", "A-" + std::to_string(i));
                REQUIRE(changed != nullptr);
                changed->payout += 1'000;
                changed->modification_count += 1;
                tx->changed(*changed, entry(Operation::Modify, 2));
            }
            tx->commit(sample_record("B-2", "1000", "bb"), {});
        }
        if (a.action_id == "A-" + std::to_string(n - 1)) {
            last_payout = a.payout;
            last_history = store->history("1000", a.action_id).size();
        }
    });
    CHECK(seen == n);
    CHECK(last_payout == payout_before);
    CHECK(last_history == 1);  // its CREATE, not the MODIFY of B-2
    // Once the report is done, the store is read as it is now.
    CHECK(store->action("1000", "A-" + std::to_string(n - 1))->payout == payout_before + 1'000);
}

TEST_CASE("an account's undecided claims are found in the order they were first written") {
    TempDir dir;
    auto store = migrated_store(dir.url());
    auto earlier = [&](const char* account, const char* batch) {
        auto found = store->find_earlier_open_batch(account, batch);
        return found ? found->batch_id : std::string("none");
    };
    auto claim = [](const char* batch, const char* account, const char* sha256) {
        BatchRecord r = sample_record(batch, account, sha256);
        r.claim = true;
        return r;
    };
    // A command-line run's record, which nobody runs again, holds nothing back.
    store->put_batch(sample_record("X-0", "1000", "00"));
    CHECK(earlier("1000", "B-9") == "none");
    BatchRecord later_id = claim("B-2", "1000", "aa");  // written first
    store->put_batch(later_id);
    store->put_batch(claim("B-1", "1000", "bb"));
    store->put_batch(claim("C-1", "2000", "cc"));
    CHECK(store->find_batch("B-1")->claim);
    CHECK_FALSE(store->find_batch("X-0")->claim);
    CHECK(earlier("1000", "B-1") == "B-2");  // the order written, not the ids' order
    CHECK(earlier("1000", "B-2") == "none");
    CHECK(earlier("1000", "B-9") == "B-2");   // a batch not written yet comes after them all
    CHECK(earlier("2000", "C-1") == "none");  // other accounts do not count
    CHECK(earlier("3000", "D-1") == "none");

    // A record written again (another attempt) keeps its place.
    later_id.attempts = 2;
    store->put_batch(later_id);
    CHECK(earlier("1000", "B-1") == "B-2");
    CHECK(earlier("1000", "B-2") == "none");

    // Decided, it no longer holds anything back.
    later_id.state = store::BatchState::Quarantined;
    later_id.status = "REJECTED";
    store->put_batch(later_id);
    CHECK(earlier("1000", "B-1") == "none");
    CHECK(earlier("1000", "B-9") == "B-1");
}
