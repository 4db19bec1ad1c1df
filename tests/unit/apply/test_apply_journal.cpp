// The batch journal's moves (docs/ingest.md, "The journal of a batch"): each allowed move,
// and each move that must be refused, from every state.
#include <doctest/doctest.h>

#include "apply/journal.hpp"

using namespace actiondrop;
using apply::BatchState;
using S = BatchState;

namespace {

constexpr S kAll[] = {S::Claimed, S::Applied, S::Delivered, S::Archived, S::Failed, S::Quarantined};

store::BatchRecord record_in(S state) {
    store::BatchRecord r;
    r.batch_id = "20261204T000000Z-000000000001";
    r.state = state;
    return r;
}

// Moves a record from `from` to `to`; true when the journal allowed it.
bool moves(S from, S to) {
    auto r = record_in(from);
    try {
        apply::move_to(r, to);
    } catch (const apply::JournalError&) {
        CHECK(r.state == from);  // a refused move leaves the record as it was
        return false;
    }
    CHECK(r.state == to);
    return true;
}

// Every move from `from` is refused except those to `allowed`.
void only(S from, std::initializer_list<S> allowed) {
    for (S to : kAll) {
        CAPTURE(store::state_name(from));
        CAPTURE(store::state_name(to));
        const bool want = std::find(allowed.begin(), allowed.end(), to) != allowed.end();
        CHECK(apply::may_move(from, to) == want);
        CHECK(moves(from, to) == want);
    }
}

}  // namespace

TEST_CASE("journal: claimed -> claimed, another attempt at the same claim") {
    CHECK(moves(S::Claimed, S::Claimed));
}
TEST_CASE("journal: claimed -> applied, the commit") { CHECK(moves(S::Claimed, S::Applied)); }
TEST_CASE("journal: claimed -> quarantined, a refused file or the last failed attempt") {
    CHECK(moves(S::Claimed, S::Quarantined));
}
TEST_CASE("journal: applied -> delivered, the answers in the outbox") {
    CHECK(moves(S::Applied, S::Delivered));
}
TEST_CASE("journal: applied -> quarantined, answers that could not be delivered") {
    CHECK(moves(S::Applied, S::Quarantined));
}
TEST_CASE("journal: delivered -> archived, a COMPLETE original kept") {
    CHECK(moves(S::Delivered, S::Archived));
}
TEST_CASE("journal: delivered -> failed, a REJECTED original kept") {
    CHECK(moves(S::Delivered, S::Failed));
}
TEST_CASE(
    "journal: a final state may be written again unchanged (the move of the original redone)") {
    CHECK(moves(S::Archived, S::Archived));
    CHECK(moves(S::Failed, S::Failed));
    CHECK(moves(S::Quarantined, S::Quarantined));
}

TEST_CASE("journal: from claimed, no delivery, archive or failure without a commit") {
    only(S::Claimed, {S::Claimed, S::Applied, S::Quarantined});
}
TEST_CASE(
    "journal: from applied, never back to claimed (no second apply) nor kept before delivery") {
    only(S::Applied, {S::Delivered, S::Quarantined});
}
TEST_CASE("journal: from delivered, only the keeping of the original") {
    only(S::Delivered, {S::Archived, S::Failed});
}
TEST_CASE("journal: archived, failed and quarantined are final") {
    only(S::Archived, {S::Archived});
    only(S::Failed, {S::Failed});
    only(S::Quarantined, {S::Quarantined});
}

TEST_CASE("journal: a refused move names the batch and both states") {
    auto r = record_in(S::Delivered);
    CHECK_THROWS_WITH_AS(
        apply::move_to(r, S::Claimed),
        "batch 20261204T000000Z-000000000001: the journal cannot move from delivered to claimed",
        apply::JournalError);
}

TEST_CASE("journal: committed once past claimed, and the kept state follows the status") {
    auto r = record_in(S::Claimed);
    CHECK_FALSE(apply::committed(r));
    r.status = "COMPLETE";
    CHECK(apply::committed(r));
    CHECK(apply::kept_state(r) == S::Archived);
    r.status = "REJECTED";
    CHECK(apply::kept_state(r) == S::Failed);
}

TEST_CASE("journal: every state has a stored name that reads back, and no other name does") {
    for (S s : kAll) CHECK(store::parse_state(store::state_name(s)) == s);
    CHECK_FALSE(store::parse_state("fetched"));
    CHECK_FALSE(store::parse_state("Archived"));
    CHECK_FALSE(store::parse_state(""));
}
