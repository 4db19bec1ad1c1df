// Properties of lifecycle runs carried out by each store over random ledgers
// (docs/lifecycle.md, "What a run promises"), each step compared with the in-memory reference
// (lifecycle::decide_run and lifecycle::apply_run on an AccountBook):
//   1. a second run at the same time changes nothing (ledger, history, funds, invoices);
//   2. without deposits or files in between, runs at T1 then T2 end where one run at T2 ends,
//      except the cleared_at of actions overdue at T1;
//   3. after every operation that moves money, the balance is the deposits less the cleared
//      payouts and the transfers, the sum of the funds entries, never negative, with one
//      CLEARING debit per action at most;
//   4. an invoice's total is the sum of its lines and of what it invoices, each cleared action
//      is on exactly one invoice, no invoice is empty and none changes once issued;
//   5. the store ends where the reference ends.
// Each case is a seed: a failure prints it, and LIFECYCLE_PROPERTY_SEED=<seed> runs that case
// alone (LIFECYCLE_PROPERTY_CASES=<n> runs n cases from it).
// Transfers (make-goods, bonuses, paid placements) are made by batches as a funds_transfers file
// makes them, each covered by the balance the batch meets; they are debited at once and wait
// for an invoice like cleared actions (docs/lifecycle.md, "Make-goods").
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ledger/dates.hpp"
#include "ledger/time.hpp"
#include "lifecycle/run.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;
using ledger::FinanceStatus;
using ledger::FundsEntry;
using ledger::Instant;
using ledger::Status;

namespace {

using std::chrono::days;
using std::chrono::minutes;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

Instant at(std::string_view text) {
    auto t = ledger::parse_instant(text, nullptr);
    if (!t) throw std::invalid_argument("bad test instant");
    return *t;
}

std::string text(std::optional<Instant> t) { return t ? ledger::format_instant(*t) : "-"; }

// ---- The script of a case: accounts, their first actions, then operations in time order.

struct Op {
    enum class Kind { Deposit, Run, Arrive, Reverse, Approve, Transfer };
    Kind kind = Kind::Run;
    Instant at{};
    std::string account_id;                // Deposit, Reverse, Approve, Transfer
    std::int64_t amount = 0;               // Deposit; Transfer: at most this, and the balance
    std::vector<ledger::Action> arriving;  // Arrive
    std::string action_id;                 // Reverse, Approve; Transfer: its partner
    int transfer_type = 0;                 // Transfer: a TransferType
};

struct Script {
    std::vector<ledger::Account> accounts;
    std::vector<ledger::Action> first_actions;
    Instant start{};
    std::vector<Op> ops;  // the last two are runs at T1 < T2 with nothing in between
};

class Generator {
public:
    explicit Generator(std::uint64_t seed) : rng_(seed) {}

    Script script() {
        Script s;
        s.start = at("2026-01-01T00:00:00Z") + minutes{pick(0, 60 * 24 * 60)};
        const int accounts = pick(1, 3);
        for (int i = 0; i < accounts; ++i) s.accounts.push_back(account(i, s.start));
        for (const auto& a : s.accounts) {
            const int n = pick(0, 30);
            for (int i = 0; i < n; ++i) {
                const Instant event = s.start - minutes{pick(0, 60 * 24 * 60)};
                s.first_actions.push_back(action(a, event));
                remember(s.first_actions.back());
            }
        }
        Instant clock = s.start;
        const int ops = pick(2, 14);
        for (int i = 0; i < ops; ++i) {
            clock += minutes{pick(0, 60 * 24 * 40)};
            const int k = pick(0, 10);
            if (k < 4)
                s.ops.push_back(run(clock));
            else if (k < 7)
                s.ops.push_back(deposit(s, clock));
            else if (k == 10)
                s.ops.push_back(transfer(s, clock));
            else if (k == 7)
                s.ops.push_back(arrive(s, clock));
            else if (auto op = change(s, clock, k == 8 ? Op::Kind::Reverse : Op::Kind::Approve))
                s.ops.push_back(*op);
        }
        clock += minutes{pick(0, 60 * 24 * 40)};
        s.ops.push_back(run(clock));
        clock += minutes{pick(1, 60 * 24 * 80)};
        s.ops.push_back(run(clock));
        return s;
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    ledger::Account account(int i, Instant start) {
        static const char* zones[] = {"UTC",           "America/New_York",    "Asia/Tokyo",
                                      "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata"};
        ledger::Account a;
        a.id = std::to_string(1000 * (i + 1));
        a.name = "Account " + a.id;
        a.currency = ledger::find_currency(i == 1 ? "JPY" : "USD");
        a.timezone_name = zones[pick(0, 5)];
        a.timezone = ledger::find_time_zone(a.timezone_name);
        a.invoice_calendar.monthly_on_day = pick(1, 28);
        if (pick(0, 2) == 0) {
            // A custom calendar: irregular period ends, which may run out before the last run.
            ledger::Days d = ledger::local_day(start, a.timezone) - days{pick(0, 60)};
            const int n = pick(1, 20);
            for (int k = 0; k < n; ++k) {
                d += days{pick(1, 45)};
                a.invoice_calendar.period_ends.push_back(d);
            }
        }
        return a;
    }

    // A new action of the account from an event at `event`: pending (some outside terms, some
    // with a 0 payout), approved by its file, or reversed by it.
    ledger::Action action(const ledger::Account& acct, Instant event) {
        static const char* partners[] = {"P-1", "P-2", "P-3", "p-1"};
        ledger::Action a = sample_action(
            acct.id, "A" + std::to_string(pick(0, 999)) + "-" + std::to_string(next_id_++));
        a.partner_id = partners[pick(0, 3)];
        a.currency = acct.currency;
        a.items.clear();
        a.outside_terms = false;
        a.parent_action_id.clear();
        a.status = Status::Pending;
        a.finance_status = FinanceStatus::Estimated;
        const int kind = pick(0, 9);
        a.payout = kind == 0 ? 0 : pick(1, 3) == 1 ? pick(1, 100) : pick(100, 50000);
        a.event_date = a.reported_event_date = event;
        const ledger::Locking lock_rule{
            pick(0, 1) ? ledger::Locking::After::EventDay : ledger::Locking::After::EndOfMonth,
            pick(0, 1), pick(0, 27)};
        a.locking_date = ledger::locking_date(lock_rule, event, acct.timezone);
        a.clearing_date = ledger::clearing_date(ledger::Clearing{pick(0, 1), pick(0, 27)},
                                                a.locking_date, acct.timezone);
        if (kind == 1) {
            a.outside_terms = true;
            a.finance_status = FinanceStatus::OutsideTerms;
            a.payout = 0;
        } else if (kind == 2) {
            a.status = Status::Reversed;
            a.finance_status = FinanceStatus::Voided;
            a.payout = 0;
        } else if (kind == 3) {
            a.status = Status::Approved;
            a.finance_status = FinanceStatus::Due;
            a.locking_date = event + days{pick(0, 10)};
            a.clearing_date = ledger::clearing_date(ledger::Clearing{0, pick(0, 27)},
                                                    a.locking_date, acct.timezone);
        }
        return a;
    }

    void remember(const ledger::Action& a) {
        if (a.status == Status::Pending)
            pending_.push_back({a.account_id, a.action_id, a.locking_date});
    }

    Op run(Instant t) { return Op{Op::Kind::Run, t, "", 0, {}, ""}; }

    Op deposit(const Script& s, Instant t) {
        const auto& acct = s.accounts[pick(0, int(s.accounts.size()) - 1)];
        const int size = pick(0, 3);
        const int amount = size == 0   ? pick(1, 100)
                           : size == 3 ? pick(100000, 500000)
                                       : pick(100, 80000);
        return Op{Op::Kind::Deposit, t, acct.id, amount, {}, ""};
    }

    // A funds_transfers file of one row to a partner, of what the balance allows then.
    Op transfer(const Script& s, Instant t) {
        static const char* partners[] = {"P-1", "P-2", "P-3", "p-1"};
        const auto& acct = s.accounts[pick(0, int(s.accounts.size()) - 1)];
        Op op{Op::Kind::Transfer,  t, acct.id, pick(0, 1) ? pick(1, 500) : pick(500, 60000), {},
              partners[pick(0, 3)]};
        op.transfer_type = pick(0, 2);
        return op;
    }

    // A conversions file: actions whose event dates are at most 20 days old; one whose locking
    // date has already passed takes the file's time as its event date (a late conversion).
    Op arrive(const Script& s, Instant t) {
        Op op{Op::Kind::Arrive, t, "", 0, {}, ""};
        const auto& acct = s.accounts[pick(0, int(s.accounts.size()) - 1)];
        op.account_id = acct.id;
        const int n = pick(1, 6);
        for (int i = 0; i < n; ++i) {
            ledger::Action a = action(acct, t - minutes{pick(0, 60 * 24 * 20)});
            if (a.status == Status::Pending && a.locking_date <= t) a = action(acct, t);
            remember(a);
            op.arriving.push_back(std::move(a));
        }
        return op;
    }

    // A modifications file reversing or approving a pending action whose locking date is still
    // ahead: nothing can have moved it since it arrived.
    std::optional<Op> change(const Script&, Instant t, Op::Kind kind) {
        std::vector<std::size_t> open;
        for (std::size_t i = 0; i < pending_.size(); ++i)
            if (pending_[i].locking_date > t) open.push_back(i);
        if (open.empty()) return std::nullopt;
        const std::size_t i = open[std::size_t(pick(0, int(open.size()) - 1))];
        Op op{kind, t, pending_[i].account_id, 0, {}, pending_[i].id};
        pending_.erase(pending_.begin() + std::ptrdiff_t(i));
        return op;
    }

    struct PendingAction {
        std::string account_id;
        std::string id;
        Instant locking_date;
    };
    std::mt19937_64 rng_;
    int next_id_ = 0;
    std::vector<PendingAction> pending_;
};

// A folder for a case's store, in memory when the machine has /dev/shm: a case commits
// a few dozen times, and on a disk each commit of a SQLite file waits for its fsync.
class CaseDir {
public:
    CaseDir() : path_(fresh_path()), store_(path_) {}
    ~CaseDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    CaseDir(const CaseDir&) = delete;
    CaseDir& operator=(const CaseDir&) = delete;
    const std::string& url() const { return store_.url(); }

private:
    static std::filesystem::path fresh_path() {
        static std::atomic<int> counter{0};
        const std::filesystem::path root = std::filesystem::is_directory("/dev/shm")
                                               ? std::filesystem::path("/dev/shm")
                                               : std::filesystem::temp_directory_path();
        std::filesystem::path path =
            root / ("actiondrop-lifecycle-properties-" + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++));
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
        return path;
    }

    std::filesystem::path path_;
    StoreLocation store_;
};

// ---- One store carrying a script out, with the reference beside it.

struct Reference {
    lifecycle::AccountBook book;
    std::vector<lifecycle::Invoice> invoices;
    std::vector<FundsEntry> entries;
    std::int64_t deposits = 0;
    std::int64_t transfers = 0;  // the sum of the transfers' amounts
};

ledger::Account account_of(const Script& s, std::string_view id) {
    for (const auto& a : s.accounts)
        if (a.id == id) return a;
    throw std::invalid_argument("no such account");
}

class Harness {
public:
    explicit Harness(const Script& script, bool check)
        : script_(script),
          check_(check),
          store_(migrated_store(dir_.url())),
          life_(*store_->lifecycle_ledger()) {
        for (const auto& a : script.accounts) refs_[a.id];
        add_actions(script.first_actions, script.start);
        if (check_) check_all();
    }

    Store& store() { return *store_; }

    // Carries out script op `i`; `overdue_at_t1` collects what is overdue after it.
    void apply(const Op& op) {
        switch (op.kind) {
            case Op::Kind::Deposit: {
                Reference& r = refs_.at(op.account_id);
                const auto after = life_.deposit(op.account_id, op.amount, op.at, "D" + op_name());
                CHECK(after == r.book.balance + op.amount);
                r.book.balance += op.amount;
                r.deposits += op.amount;
                r.entries.push_back(
                    FundsEntry{FundsEntry::Kind::Deposit, op.amount, op.at, "D" + op_name()});
                break;
            }
            case Op::Kind::Arrive:
                add_actions(op.arriving, op.at);
                break;
            case Op::Kind::Reverse:
            case Op::Kind::Approve:
                change_action(op);
                break;
            case Op::Kind::Run:
                run_all(op.at);
                break;
            case Op::Kind::Transfer:
                transfer(op);
                break;
        }
        ++ops_done_;
        if (check_) check_all();
    }

    // Property 1: a second run of every account at the same time changes nothing.
    void check_second_run(Instant t) {
        const std::string before = snapshot({});
        for (const auto& acct : script_.accounts) {
            CAPTURE(acct.id);
            CHECK(life_.run_lifecycle(acct, t).changes_nothing());
        }
        CHECK(snapshot({}) == before);
    }

    std::set<std::string> overdue_ids() {
        std::set<std::string> out;
        for (const auto& acct : script_.accounts)
            store_->for_each_action(acct.id, [&](const ledger::Action& a) {
                if (a.finance_status == FinanceStatus::Overdue)
                    out.insert(acct.id + "/" + a.action_id);
            });
        return out;
    }

    // Everything a run may change, as text. Of `masked` actions ("account/id") it shows neither
    // cleared_at nor what follows from it: when their debit and CLEAR entry are dated, and
    // whether an invoice date has come since (their invoice, its line, their INVOICE entry).
    std::string snapshot(const std::set<std::string>& masked) {
        std::string out;
        for (const auto& acct : script_.accounts) {
            out += "account " + acct.id + "\n";
            store_->for_each_action(acct.id, [&](const ledger::Action& a) {
                const bool mask = masked.contains(acct.id + "/" + a.action_id);
                const bool paid = a.finance_status == FinanceStatus::Cleared ||
                                  a.finance_status == FinanceStatus::Invoiced;
                out += a.action_id + " " + std::string(ledger::status_name(a.status)) + " " +
                       (mask && paid ? "CLEARED"
                                     : std::string(ledger::finance_status_name(a.finance_status))) +
                       " " + std::to_string(a.payout) + " " + (mask ? "?" : text(a.cleared_at)) +
                       " " + (mask ? "?" : a.invoice_id) + " [";
                for (const auto& h : store_->history(acct.id, a.action_id)) {
                    if (mask && h.operation == ledger::Operation::Invoice) continue;
                    const bool masked_at = mask && h.operation == ledger::Operation::Clear;
                    out += " " + std::string(ledger::operation_name(h.operation)) + "@" +
                           (masked_at ? "?" : ledger::format_instant(h.at)) + ":" + h.reason + ":" +
                           std::string(ledger::status_name(h.new_status));
                }
                out += " ]\n";
            });
            for (const auto& e : life_.funds_entries(acct.id)) {
                const bool mask = e.kind == FundsEntry::Kind::Clearing &&
                                  masked.contains(acct.id + "/" + e.reference);
                out += std::string(ledger::funds_entry_kind_name(e.kind)) + " " +
                       std::to_string(e.amount) + " " +
                       (mask ? "?" : ledger::format_instant(e.at)) + " " + e.reference + "\n";
            }
            for (const auto& inv : life_.invoices(acct.id)) {
                std::string lines;
                std::int64_t total = 0;
                for (const auto& l : inv.lines) {
                    if (l.is_action() && masked.contains(acct.id + "/" + l.id)) continue;
                    total += l.payout;
                    lines += " " + std::string(l.kind()) + "/" + l.id + "/" +
                             std::to_string(l.payout) + "/" + ledger::format_instant(l.cleared_at);
                }
                if (lines.empty()) continue;  // only masked lines (none is empty: property 4)
                out += inv.invoice_id + " " + ledger::format_instant(inv.invoice_date) + " " +
                       std::to_string(total) + ":" + lines + "\n";
            }
            out += "balance " + std::to_string(life_.balance(acct.id)) + "\n";
        }
        return out;
    }

private:
    std::string op_name() const { return std::to_string(ops_done_); }

    void add_actions(const std::vector<ledger::Action>& actions, Instant when) {
        if (actions.empty()) return;
        char batch_id[64];
        std::snprintf(batch_id, sizeof batch_id, "20260101T000000Z-%012x", ++batches_);
        auto tx = store_->begin_batch(batch_id);
        for (ledger::Action a : actions) {
            a.created_at = when;
            ledger::HistoryEntry created =
                sample_entry(ledger::Operation::Create, 1, when.time_since_epoch().count());
            created.batch_id = batch_id;
            tx->created(std::move(a), created);
        }
        tx->commit(sample_record(batch_id, actions.front().account_id, batch_id), {});
        for (const auto& a : actions) {
            const auto stored = store_->action(a.account_id, a.action_id);
            REQUIRE(stored);
            lifecycle::ActionState s;
            s.key = stored->key;
            s.action_id = a.action_id;
            s.partner_id = a.partner_id;
            s.status = a.status;
            s.finance_status = a.finance_status;
            s.payout = a.payout;
            s.event_date = a.event_date;
            s.locking_date = a.locking_date;
            s.clearing_date = a.clearing_date;
            refs_.at(a.account_id).book.actions.push_back(s);
        }
    }

    // A transfer batch: the store debits it at once, and it waits for an invoice.
    void transfer(const Op& op) {
        Reference& r = refs_.at(op.account_id);
        const std::int64_t amount = std::min(op.amount, r.book.balance);
        if (amount == 0) return;  // the file's row would be INSUFFICIENT_FUNDS
        char batch_id[64];
        std::snprintf(batch_id, sizeof batch_id, "20260101T000000Z-%012x", ++batches_);
        ledger::Transfer t;
        t.transfer_id = std::string("TR-") + batch_id + "-2";
        t.account_id = op.account_id;
        t.partner_id = op.action_id;
        t.campaign_id = "C-1";
        t.type = static_cast<ledger::TransferType>(op.transfer_type);
        t.amount = amount;
        t.payment_date = op.at - days{3};
        t.applied_at = op.at;
        t.comments = "goodwill " + op_name();
        auto tx = store_->begin_batch(batch_id);
        tx->transferred(t);
        tx->commit(sample_record(batch_id, op.account_id, batch_id), {});
        // The key the store gave it, from the book a run reads.
        for (const auto& waiting : life_.load_book(op.account_id, op.at).transfers)
            if (waiting.transfer_id == t.transfer_id) t.key = waiting.key;
        REQUIRE(t.key != 0);
        r.book.balance -= amount;
        r.transfers += amount;
        r.entries.push_back(FundsEntry{FundsEntry::Kind::Transfer, amount, op.at, t.transfer_id});
        r.book.transfers.push_back(std::move(t));
    }

    // A reversal zeroes the payout; an approval locks the action now, clearing from now
    // (docs/rules.md, "What each operation does").
    void change_action(const Op& op) {
        const ledger::Account acct = account_of(script_, op.account_id);
        char batch_id[64];
        std::snprintf(batch_id, sizeof batch_id, "20260101T000000Z-%012x", ++batches_);
        auto tx = store_->begin_batch(batch_id);
        ledger::Action* a = tx->find(op.account_id, op.action_id);
        REQUIRE(a);
        REQUIRE(a->status == Status::Pending);
        ledger::HistoryEntry entry = sample_entry(
            op.kind == Op::Kind::Reverse ? ledger::Operation::Reverse : ledger::Operation::Approve,
            1, op.at.time_since_epoch().count());
        entry.batch_id = batch_id;
        if (op.kind == Op::Kind::Reverse) {
            a->payout = 0;
            a->amount = 0;
            a->status = Status::Reversed;
            a->finance_status = FinanceStatus::Voided;
        } else {
            // An approval brings an action outside terms in; its payout stays as drawn.
            a->outside_terms = false;
            a->status = Status::Approved;
            a->finance_status = FinanceStatus::Due;
            a->locking_date = op.at;
            a->clearing_date = ledger::clearing_date(ledger::Clearing{0, 5}, op.at, acct.timezone);
        }
        const ledger::Action after = *a;
        tx->changed(*a, entry);
        tx->commit(sample_record(batch_id, op.account_id, batch_id), {});
        for (auto& s : refs_.at(op.account_id).book.actions)
            if (s.action_id == op.action_id) {
                s.status = after.status;
                s.finance_status = after.finance_status;
                s.payout = after.payout;
                s.locking_date = after.locking_date;
                s.clearing_date = after.clearing_date;
            }
    }

    void run_all(Instant t) {
        for (const auto& acct : script_.accounts) {
            CAPTURE(acct.id);
            life_.run_lifecycle(acct, t);
            Reference& r = refs_.at(acct.id);
            const auto d = lifecycle::decide_run(acct, r.book, t);
            lifecycle::apply_run(r.book, d);
            r.entries.insert(r.entries.end(), d.clearing.debits.begin(), d.clearing.debits.end());
            r.invoices.insert(r.invoices.end(), d.invoices.begin(), d.invoices.end());
        }
    }

    void check_all() {
        for (const auto& acct : script_.accounts) {
            CAPTURE(acct.id);
            check_money(acct.id);
            check_invoices(acct.id);
            check_reference(acct.id);
        }
    }

    std::map<std::string, ledger::Action> actions_of(const std::string& account_id) {
        std::map<std::string, ledger::Action> out;
        store_->for_each_action(account_id,
                                [&](const ledger::Action& a) { out.emplace(a.action_id, a); });
        return out;
    }

    // Property 3.
    void check_money(const std::string& account_id) {
        const Reference& r = refs_.at(account_id);
        const auto actions = actions_of(account_id);
        const auto entries = life_.funds_entries(account_id);
        const std::int64_t balance = life_.balance(account_id);
        std::int64_t cleared = 0;
        for (const auto& [id, a] : actions)
            if (a.finance_status == FinanceStatus::Cleared ||
                a.finance_status == FinanceStatus::Invoiced)
                cleared += a.payout;
        CHECK(balance == r.deposits - cleared - r.transfers);
        CHECK(ledger::balance_of(entries) == balance);
        CHECK(balance >= 0);
        // Never negative at any point, in the order the entries were made.
        std::int64_t running = 0;
        std::map<std::string, int> debits, transfer_debits;
        for (const auto& e : entries) {
            running += e.signed_amount();
            CHECK(running >= 0);
            CHECK(e.amount > 0);
            if (e.kind == FundsEntry::Kind::Deposit) continue;
            ++debits[e.reference];
            if (e.kind == FundsEntry::Kind::Transfer) {
                ++transfer_debits[e.reference];
                continue;
            }
            // The debit of a cleared action, of its payout, dated at its cleared_at.
            const auto it = actions.find(e.reference);
            REQUIRE(it != actions.end());
            CHECK(e.amount == it->second.payout);
            CHECK(it->second.cleared_at == e.at);
        }
        for (const auto& [id, a] : actions) {
            CAPTURE(id);
            const bool paid = (a.finance_status == FinanceStatus::Cleared ||
                               a.finance_status == FinanceStatus::Invoiced) &&
                              a.payout > 0;
            CHECK(debits[id] == (paid ? 1 : 0));  // one CLEARING debit per action at most
        }
        std::int64_t transferred = 0;
        for (const auto& t : r.book.transfers) {
            CHECK(transfer_debits[t.transfer_id] == 1);  // one TRANSFER debit per transfer
            transferred += t.amount;
        }
        CHECK(transferred == r.transfers);
    }

    // Property 4.
    void check_invoices(const std::string& account_id) {
        const auto actions = actions_of(account_id);
        const auto& transfers = refs_.at(account_id).book.transfers;
        const auto invoices = life_.invoices(account_id);
        std::map<std::string, int> on_invoice;
        std::set<std::string> ids;
        for (const auto& inv : invoices) {
            CAPTURE(inv.invoice_id);
            CHECK(ids.insert(inv.invoice_id).second);
            CHECK_FALSE(inv.lines.empty());
            CHECK(inv.account_id == account_id);
            std::int64_t lines = 0;
            for (const auto& l : inv.lines) {
                lines += l.payout;
                CHECK(l.cleared_at < inv.invoice_date);
                ++on_invoice[l.id];
                if (!l.is_action()) {
                    const auto t =
                        std::ranges::find(transfers, l.id, &ledger::Transfer::transfer_id);
                    REQUIRE(t != transfers.end());
                    CHECK(t->partner_id == inv.partner_id);
                    CHECK(t->amount == l.payout);
                    CHECK(t->applied_at == l.cleared_at);
                    CHECK(l.transfer_type == t->type);
                    continue;
                }
                const auto it = actions.find(l.id);
                REQUIRE(it != actions.end());
                CHECK(it->second.invoice_id == inv.invoice_id);
                CHECK(it->second.partner_id == inv.partner_id);
                CHECK(it->second.payout == l.payout);
                CHECK(it->second.cleared_at == l.cleared_at);
            }
            std::int64_t invoiced = 0;
            for (const auto& [id, a] : actions)
                if (a.invoice_id == inv.invoice_id) invoiced += a.payout;
            for (const auto& t : transfers)
                if (t.invoice_id == inv.invoice_id) invoiced += t.amount;
            CHECK(inv.total == lines);
            CHECK(inv.total == invoiced);
            // Issued once, never changed after.
            const auto [seen, fresh] = issued_.emplace(inv.invoice_id, inv);
            if (!fresh) CHECK(seen->second == inv);
            CHECK(life_.invoice(inv.invoice_id) == inv);
        }
        for (const auto& [id, a] : actions) {
            CAPTURE(id);
            const bool invoiced = a.finance_status == FinanceStatus::Invoiced;
            CHECK(invoiced == !a.invoice_id.empty());
            CHECK(on_invoice[id] == (invoiced ? 1 : 0));
        }
        for (const auto& t : transfers) {
            CAPTURE(t.transfer_id);
            CHECK(on_invoice[t.transfer_id] == (t.invoice_id.empty() ? 0 : 1));
        }
        // An invoice once issued stays in the store.
        for (const auto& [id, inv] : issued_)
            if (inv.account_id == account_id) CHECK(ids.contains(id));
    }

    // Property 5.
    void check_reference(const std::string& account_id) {
        const Reference& r = refs_.at(account_id);
        const auto actions = actions_of(account_id);
        CHECK(actions.size() == r.book.actions.size());
        for (const auto& s : r.book.actions) {
            CAPTURE(s.action_id);
            const auto it = actions.find(s.action_id);
            REQUIRE(it != actions.end());
            const ledger::Action& a = it->second;
            CHECK(a.key == s.key);
            CHECK(a.status == s.status);
            CHECK(a.finance_status == s.finance_status);
            CHECK(text(a.cleared_at) == text(s.cleared_at));
            CHECK(a.invoice_id == s.invoice_id);
            CHECK(a.payout == s.payout);
        }
        CHECK(life_.balance(account_id) == r.book.balance);
        CHECK(life_.funds_entries(account_id) == r.entries);
        // The transfers still waiting for an invoice, keys and all.
        std::vector<ledger::Transfer> waiting;
        for (const auto& t : r.book.transfers)
            if (t.invoice_id.empty()) waiting.push_back(t);
        CHECK(life_.load_book(account_id, script_.start).transfers == waiting);
        auto want = r.invoices;
        std::sort(want.begin(), want.end(), [](const auto& x, const auto& y) {
            return std::tie(x.invoice_date, x.invoice_id) < std::tie(y.invoice_date, y.invoice_id);
        });
        CHECK(life_.invoices(account_id) == want);
        const auto last = want.empty() ? std::optional<Instant>{} : want.back().invoice_date;
        CHECK(r.book.last_invoice_date == last);
    }

    const Script& script_;
    bool check_;
    CaseDir dir_;
    std::unique_ptr<Store> store_;
    LifecycleLedger& life_;
    std::map<std::string, Reference> refs_;
    std::map<std::string, lifecycle::Invoice> issued_;
    unsigned batches_ = 0;
    int ops_done_ = 0;
};

}  // namespace

TEST_CASE("property: lifecycle runs in the store over random ledgers keep their promises") {
    const std::uint64_t first = env_number("LIFECYCLE_PROPERTY_SEED", 20261204);
    const std::uint64_t cases =
        env_number("LIFECYCLE_PROPERTY_CASES", std::getenv("LIFECYCLE_PROPERTY_SEED") ? 1 : 250);
    int overdue_at_t1 = 0, nothing_overdue_at_t1 = 0, invoiced = 0, transfers_invoiced = 0;
    for (std::uint64_t seed = first; seed < first + cases; ++seed) {
        CAPTURE(seed);  // LIFECYCLE_PROPERTY_SEED=<seed> runs this case alone
        const Script script = Generator(seed).script();
        CAPTURE(script.ops.size());

        // Every operation, checked after each; a second run after every run.
        Harness stepped(script, true);
        std::set<std::string> overdue_before, overdue_after;
        for (std::size_t i = 0; i < script.ops.size(); ++i) {
            CAPTURE(i);
            const bool t1 = i + 2 == script.ops.size();
            if (t1) overdue_before = stepped.overdue_ids();
            stepped.apply(script.ops[i]);
            if (script.ops[i].kind != Op::Kind::Run) continue;
            stepped.check_second_run(script.ops[i].at);
            if (t1) overdue_after = stepped.overdue_ids();
        }

        // The same script without the run at T1: the last run at T2 ends in the same place,
        // but for the cleared_at of what was overdue at T1. What the run at T1 left overdue
        // stays so without a deposit, and so agrees in full; what was overdue when it started
        // clears at T1 in one ledger and at T2 in the other, and may be on an invoice between.
        Harness jumped(script, false);
        for (std::size_t i = 0; i < script.ops.size(); ++i)
            if (i + 2 != script.ops.size()) jumped.apply(script.ops[i]);
        if (overdue_before.empty()) {
            CHECK(stepped.snapshot({}) == jumped.snapshot({}));
        } else {
            std::set<std::string> masked = overdue_before;
            masked.insert(overdue_after.begin(), overdue_after.end());
            CHECK(stepped.snapshot(masked) == jumped.snapshot(masked));
        }

        overdue_at_t1 += !overdue_before.empty();
        nothing_overdue_at_t1 += overdue_before.empty() && overdue_after.empty();
        invoiced += !stepped.store().lifecycle_ledger()->invoices(script.accounts[0].id).empty();
        bool transfer_line = false;
        for (const auto& acct : script.accounts)
            for (const auto& inv : stepped.store().lifecycle_ledger()->invoices(acct.id))
                transfer_line |=
                    std::ranges::any_of(inv.lines, [](const auto& l) { return !l.is_action(); });
        transfers_invoiced += transfer_line;
    }
    // The random cases reach what the properties are about.
    if (cases >= 100) {
        CHECK(overdue_at_t1 > int(cases) / 10);
        CHECK(nothing_overdue_at_t1 > int(cases) / 10);
        CHECK(invoiced > int(cases) / 5);
        CHECK(transfers_invoiced > int(cases) / 20);
    }
    MESSAGE(cases << " cases from seed " << first << ": " << overdue_at_t1
                  << " with actions overdue when the run at T1 starts, " << nothing_overdue_at_t1
                  << " with none overdue before or after it, " << invoiced << " with invoices, "
                  << transfers_invoiced << " with a transfer on an invoice");
}
