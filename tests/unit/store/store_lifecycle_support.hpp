#pragma once
// Shared by the life cycle's store tests (test_store_lifecycle.cpp on every store,
// test_store_lifecycle_sqlite.cpp on SQLite alone): the worked example's account and actions of
// docs/lifecycle.md.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "ledger/time.hpp"
#include "test_store_fixtures.hpp"

namespace actiondrop::store::testing {

inline ledger::Instant at(std::string_view text) {
    auto t = ledger::parse_instant(text, nullptr);
    REQUIRE(t);
    return *t;
}

inline ledger::Account new_york() {
    ledger::Account a;
    a.id = "1000";
    a.name = "Acme Outdoor";
    a.currency = ledger::find_currency("USD");
    a.timezone_name = "America/New_York";
    a.timezone = ledger::find_time_zone("America/New_York");
    a.invoice_calendar.monthly_on_day = 1;
    return a;
}

// The worked example's January actions: lock on 28 February 05:00Z, clear on 21 March 04:00Z.
inline ledger::Action january(std::string id, std::string partner, std::int64_t payout) {
    ledger::Action a = sample_action("1000", std::move(id));
    a.partner_id = std::move(partner);
    a.payout = payout;
    a.outside_terms = false;
    a.currency = ledger::find_currency("USD");
    a.event_date = at("2026-01-15T12:00:00Z");
    a.locking_date = at("2026-02-28T05:00:00Z");
    a.clearing_date = at("2026-03-21T04:00:00Z");
    return a;
}

// The clear queue's edge cases, for runs compared with their decisions carried out one by one
// (80.00 of funds cover Z0, A10, A9 and B at a run on 23 March). Ties on the clearing date go
// by action id, bytewise: "A10" < "A9" < "B" < "a". A 0 payout behind the first uncovered
// action ("a") is overdue with it; one ahead of it clears without a debit. OUT locks outside
// terms and is never due; NOTYET locks only at a run after 30 March.
inline std::vector<ledger::Action> queue_edge_cases() {
    const auto queued = [](std::string id, std::int64_t payout, std::string_view clearing) {
        ledger::Action a = january(std::move(id), "P-77", payout);
        a.clearing_date = at(clearing);
        return a;
    };
    std::vector<ledger::Action> actions{
        queued("a", 100, "2026-03-21T04:00:00Z"), queued("A9", 3000, "2026-03-21T04:00:00Z"),
        queued("B", 0, "2026-03-21T04:00:00Z"),   queued("A10", 5000, "2026-03-21T04:00:00Z"),
        queued("Z0", 0, "2026-03-20T04:00:00Z"),  queued("C1", 4000, "2026-03-22T04:00:00Z"),
        queued("C0", 0, "2026-03-22T04:00:00Z"),  queued("LATE", 100, "2026-05-21T04:00:00Z"),
        queued("OUT", 0, "2026-03-21T04:00:00Z"), queued("NOTYET", 100, "2026-04-21T04:00:00Z")};
    actions[8].finance_status = ledger::FinanceStatus::OutsideTerms;
    actions[9].locking_date = at("2026-03-30T04:00:00Z");
    return actions;
}

inline void add_actions(Store& s, std::vector<ledger::Action> actions, std::string batch_id) {
    auto tx = s.begin_batch(batch_id);
    for (auto& a : actions) {
        ledger::HistoryEntry created =
            sample_entry(ledger::Operation::Create, 2, 1'768'600'000'000);
        created.batch_id = batch_id;
        tx->created(std::move(a), created);
    }
    tx->commit(sample_record(batch_id, "1000", batch_id.substr(batch_id.size() - 2)), {});
}

inline std::string operations(Store& s, std::string_view id) {
    std::string out;
    for (const auto& h : s.history("1000", id))
        out += (out.empty() ? "" : " ") + std::string(ledger::operation_name(h.operation));
    return out;
}

}  // namespace actiondrop::store::testing
