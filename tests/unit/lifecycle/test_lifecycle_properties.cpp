// Properties of runs over random ledgers (docs/lifecycle.md, "What a run promises"): a run is
// idempotent, runs step by step end where one run to the same time ends, and the funds and
// invoice sums reconcile after every operation.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "ledger/dates.hpp"
#include "ledger/funds.hpp"
#include "lifecycle/run.hpp"
#include "lifecycle_test_support.hpp"

using namespace actiondrop;
using namespace actiondrop::lifecycle;
using namespace actiondrop::lifecycle::testing;

namespace {

constexpr int seeds = 300;

// A random account and book: actions pending (some outside terms, some with a 0 payout),
// approved by a file, reversed; transfers waiting for an invoice; a funds balance.
struct World {
    ledger::Account account;
    AccountBook book;
    Instant start{};
    std::int64_t transfer_total = 0;  // already taken from the balance when applied
};

World random_world(std::mt19937_64& rng) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    static const char* zones[] = {"UTC", "America/New_York", "Asia/Tokyo", "Europe/London",
                                  "Australia/Lord_Howe"};
    World w;
    w.account = account("1000", zones[pick(0, 4)], pick(1, 28));
    const ledger::TimeZone tz = w.account.timezone;
    w.start = at("2026-01-01T00:00:00Z") + std::chrono::hours{pick(0, 24 * 60)};
    if (pick(0, 2) == 0) {
        // A custom calendar: irregular period ends over a year and a half.
        ledger::Days d = ledger::local_day(w.start, tz) - std::chrono::days{pick(0, 40)};
        for (int i = 0; i < 20; ++i) {
            d += std::chrono::days{pick(1, 45)};
            w.account.invoice_calendar.period_ends.push_back(d);
        }
    }
    static const char* partners[] = {"P-1", "P-2", "P-3", "p-1"};
    const int n = pick(0, 40);
    for (int i = 0; i < n; ++i) {
        ActionState a;
        a.key = i + 1;
        a.action_id = "A" + std::to_string(pick(0, 999)) + "-" + std::to_string(i);
        a.partner_id = partners[pick(0, 3)];
        const int kind = pick(0, 9);
        a.payout = kind == 0 ? 0 : pick(1, 3) == 1 ? pick(1, 100) : pick(100, 50000);
        a.event_date = w.start + std::chrono::minutes{pick(0, 60 * 24 * 120)};
        const ledger::Locking lock_rule{
            pick(0, 1) ? ledger::Locking::After::EventDay : ledger::Locking::After::EndOfMonth,
            pick(0, 1), pick(0, 27)};
        a.locking_date = ledger::locking_date(lock_rule, a.event_date, tz);
        a.clearing_date =
            ledger::clearing_date(ledger::Clearing{pick(0, 1), pick(0, 27)}, a.locking_date, tz);
        if (kind == 1) {
            a.finance_status = FinanceStatus::OutsideTerms;
            a.payout = 0;
        } else if (kind == 2) {
            a.status = Status::Reversed;
            a.finance_status = FinanceStatus::Voided;
            a.payout = 0;
        } else if (kind == 3) {
            // Approved by a file: locked at the approval, clearing from there.
            a.status = Status::Approved;
            a.finance_status = FinanceStatus::Due;
            a.locking_date = a.event_date + std::chrono::days{pick(0, 10)};
            a.clearing_date =
                ledger::clearing_date(ledger::Clearing{0, pick(0, 27)}, a.locking_date, tz);
        }
        w.book.actions.push_back(a);
    }
    const int transfers = pick(0, 6);
    for (int i = 0; i < transfers; ++i) {
        auto t = transfer("T" + std::to_string(i), pick(1, 20000),
                          w.start + std::chrono::hours{pick(0, 24 * 150)}, partners[pick(0, 3)],
                          static_cast<ledger::TransferType>(pick(0, 2)));
        t.key = i + 1;
        w.transfer_total += t.amount;
        w.book.transfers.push_back(t);
    }
    w.book.balance = pick(0, 3) == 0 ? 0 : pick(0, 400000);
    return w;
}

Instant random_time(std::mt19937_64& rng, Instant start) {
    return start + std::chrono::minutes{std::uniform_int_distribution<int>(0, 60 * 24 * 330)(rng)};
}

// Queue order of the clear step.
bool before(const ActionState& x, const ActionState& y) {
    return std::tie(x.clearing_date, x.action_id) < std::tie(y.clearing_date, y.action_id);
}

// What every run's decisions must say of themselves.
void check_decisions(const AccountBook& book, const RunDecisions& d) {
    // Strict order: every action cleared in this run is ahead of every action left overdue.
    std::map<std::string, const ActionState*> by_id;
    for (const ActionState& a : book.actions) by_id[a.action_id] = &a;
    for (const Clear& c : d.clearing.clears)
        for (const Overdue& o : d.clearing.overdue)
            CHECK(before(*by_id.at(c.action_id), *by_id.at(o.action_id)));
    // One debit per cleared payout > 0, of that payout; the balance moves by their sum.
    std::int64_t debited = 0;
    std::size_t paid = 0;
    for (const Clear& c : d.clearing.clears) paid += c.payout > 0;
    CHECK(d.clearing.debits.size() == paid);
    for (const auto& e : d.clearing.debits) {
        CHECK(e.amount == by_id.at(e.reference)->payout);
        debited += e.amount;
    }
    CHECK(d.clearing.balance_after == book.balance - debited);
    CHECK(d.clearing.balance_after >= 0);
    // Invoices: never empty, totals are their lines, dates not after the run.
    for (const Invoice& inv : d.invoices) {
        CHECK_FALSE(inv.lines.empty());
        std::int64_t sum = 0;
        for (const InvoiceLine& l : inv.lines) {
            sum += l.payout;
            CHECK(l.cleared_at < inv.invoice_date);
        }
        CHECK(inv.total == sum);
        CHECK(inv.invoice_date <= d.now);
        if (book.last_invoice_date) CHECK(inv.invoice_date > *book.last_invoice_date);
    }
}

// The state of a book with every transfer's invoice, for comparing two histories.
struct Outcome {
    std::vector<ActionState> actions;
    std::vector<std::string> transfer_invoices;
    std::int64_t balance = 0;
    std::optional<Instant> last_invoice_date;
    bool operator==(const Outcome&) const = default;
};

Outcome outcome(const AccountBook& book) {
    Outcome o{book.actions, {}, book.balance, book.last_invoice_date};
    for (const auto& t : book.transfers) o.transfer_invoices.push_back(t.invoice_id);
    return o;
}

}  // namespace

TEST_CASE("property: a second run at the same time decides nothing new") {
    for (int seed = 0; seed < seeds; ++seed) {
        CAPTURE(seed);
        std::mt19937_64 rng(seed);
        World w = random_world(rng);
        const Instant now = random_time(rng, w.start);
        const RunDecisions first = decide_run(w.account, w.book, now);
        check_decisions(w.book, first);
        apply_run(w.book, first);
        const RunDecisions again = decide_run(w.account, w.book, now);
        CHECK(again.changes_nothing());
        // What is still overdue is reported again, and is what the first run left overdue.
        CHECK(ids(again.clearing.overdue) == ids(first.clearing.overdue));
        CHECK(again.clearing.balance_after == w.book.balance);
        const Outcome before_again = outcome(w.book);
        apply_run(w.book, again);
        CHECK(outcome(w.book) == before_again);
    }
}

TEST_CASE("property: runs step by step end where one run to the same time ends") {
    for (int seed = 0; seed < seeds; ++seed) {
        CAPTURE(seed);
        std::mt19937_64 rng(1000 + seed);
        World w = random_world(rng);
        std::vector<Instant> steps(std::uniform_int_distribution<int>(1, 6)(rng));
        for (Instant& t : steps) t = random_time(rng, w.start);
        std::sort(steps.begin(), steps.end());

        AccountBook stepped = w.book;
        std::vector<Invoice> stepped_invoices;
        std::vector<ledger::FundsEntry> stepped_debits;
        for (Instant t : steps) {
            const RunDecisions d = decide_run(w.account, stepped, t);
            check_decisions(stepped, d);
            stepped_invoices.insert(stepped_invoices.end(), d.invoices.begin(), d.invoices.end());
            stepped_debits.insert(stepped_debits.end(), d.clearing.debits.begin(),
                                  d.clearing.debits.end());
            apply_run(stepped, d);
        }

        AccountBook jumped = w.book;
        const RunDecisions d = decide_run(w.account, jumped, steps.back());
        check_decisions(jumped, d);
        apply_run(jumped, d);

        // Without deposits in between, an action overdue at one step stays overdue behind
        // the same first uncovered payout, so even cleared_at agrees; and the funds ledger is
        // the same one, entry by entry, with the same times (a debit is dated at cleared_at).
        CHECK(outcome(stepped) == outcome(jumped));
        CHECK(stepped_invoices == d.invoices);
        CHECK(stepped_debits == d.clearing.debits);
    }
}

TEST_CASE("property: the balance is deposits less cleared payouts and transfers, always") {
    for (int seed = 0; seed < seeds; ++seed) {
        CAPTURE(seed);
        std::mt19937_64 rng(2000 + seed);
        World w = random_world(rng);
        // The funds entries so far: what was deposited before, less the transfers applied.
        std::vector<ledger::FundsEntry> entries{ledger::FundsEntry{
            ledger::FundsEntry::Kind::Deposit, w.book.balance + w.transfer_total, w.start, "D0"}};
        std::int64_t deposits = entries[0].amount;
        for (const auto& t : w.book.transfers)
            entries.push_back(
                {ledger::FundsEntry::Kind::Transfer, t.amount, t.applied_at, t.transfer_id});

        std::set<std::string> debited, issued;
        std::map<std::string, std::int64_t> invoice_totals;
        Instant now = w.start;
        for (int op = 0; op < 12; ++op) {
            now += std::chrono::hours{std::uniform_int_distribution<int>(0, 24 * 40)(rng)};
            if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
                const std::int64_t amount = std::uniform_int_distribution<int>(1, 60000)(rng);
                entries.push_back(
                    {ledger::FundsEntry::Kind::Deposit, amount, now, "D" + std::to_string(op)});
                deposits += amount;
                w.book.balance += amount;
            } else {
                const RunDecisions d = decide_run(w.account, w.book, now);
                check_decisions(w.book, d);
                for (const auto& e : d.clearing.debits) {
                    CHECK(debited.insert(e.reference).second);  // never taken twice
                    entries.push_back(e);
                }
                for (const Invoice& inv : d.invoices) {
                    CHECK(issued.insert(inv.invoice_id).second);  // never issued twice
                    invoice_totals[inv.invoice_id] = inv.total;
                }
                apply_run(w.book, d);
            }
            std::int64_t cleared_payouts = 0;
            std::map<std::string, std::int64_t> invoiced;
            for (const ActionState& a : w.book.actions) {
                if (a.finance_status == FinanceStatus::Cleared ||
                    a.finance_status == FinanceStatus::Invoiced)
                    cleared_payouts += a.payout;
                if (!a.invoice_id.empty()) invoiced[a.invoice_id] += a.payout;
            }
            for (const auto& t : w.book.transfers)
                if (!t.invoice_id.empty()) invoiced[t.invoice_id] += t.amount;
            CHECK(w.book.balance >= 0);
            CHECK(w.book.balance == deposits - cleared_payouts - w.transfer_total);
            CHECK(ledger::balance_of(entries) == w.book.balance);
            // Each invoice's total is what its actions and transfers carry.
            CHECK(invoiced == invoice_totals);
        }
    }
}
