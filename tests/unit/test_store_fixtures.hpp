#pragma once
// Shared by the store's tests: a temporary database folder and sample actions.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ledger/action.hpp"
#include "ledger/money.hpp"
#include "store/store.hpp"
#include "store_location.hpp"
#include "temp_dir.hpp"

namespace actiondrop::store::testing {

inline ledger::Instant at_ms(std::int64_t ms) {
    return ledger::Instant{std::chrono::milliseconds{ms}};
}

// A temporary folder (temp_dir.hpp) and the store of one test (store_location.hpp).
class TempDir : public actiondrop::testing::TempDir {
public:
    TempDir() : actiondrop::testing::TempDir("actiondrop-store"), store_(path()) {}
    // The URL of this test's store, on the store this binary tests: SQLite or PostgreSQL.
    const std::string& url() const { return store_.url(); }
    // A SQLite file, for the tests of SQLite itself.
    std::string db() const { return (path() / "ledger.db").string(); }

private:
    StoreLocation store_;
};

inline std::unique_ptr<Store> migrated_store(const std::string& url) {
    auto store = open_store(url);
    store->migrate();
    return store;
}

// SQL that takes a SQLite ledger back from schema version 11 to 8 (its runs must have
// cleared nothing: their debits are no rows), and one with no lifecycle run on to 7, for the
// tests of the earlier migrations, which go back further from there.
#define SQLITE_BACK_TO_VERSION_8                                                                 \
    "DROP INDEX batches_open; ALTER TABLE batches DROP COLUMN claim; DROP TABLE invoice_files; " \
    "DROP VIEW funds_entries; DROP VIEW run_debits; "                                            \
    "ALTER TABLE funds_rows RENAME TO funds_entries; DROP INDEX lifecycle_runs_by_account; "     \
    "ALTER TABLE lifecycle_runs DROP COLUMN account_id; "                                        \
    "ALTER TABLE lifecycle_runs DROP COLUMN first_funds; "                                       \
    "ALTER TABLE lifecycle_runs DROP COLUMN debits; "                                            \
    "ALTER TABLE lifecycle_runs DROP COLUMN debited; "
inline constexpr const char* kSqliteBackToVersion8 = SQLITE_BACK_TO_VERSION_8;
inline constexpr const char* kSqliteBackToVersion7 = SQLITE_BACK_TO_VERSION_8
    "DROP VIEW history; DROP VIEW run_entries; ALTER TABLE history_rows RENAME TO history; "
    "DROP TABLE lifecycle_runs; ALTER TABLE actions DROP COLUMN lock_run; ALTER TABLE actions "
    "DROP COLUMN clear_run; ALTER TABLE actions DROP COLUMN overdue_run;";

// An action with every field set to something other than its default.
inline ledger::Action sample_action(std::string account_id, std::string action_id) {
    ledger::Action a;
    a.action_id = std::move(action_id);
    a.account_id = std::move(account_id);
    a.campaign_id = "CAMP-1";
    a.tracker_id = "19816";
    a.partner_id = "P-77";
    a.order_id = "O-" + a.action_id;
    a.customer_id = "C-" + a.action_id;
    a.customer_status = "NEW";
    a.promo_code = "FREESHIP0";
    a.event_date = at_ms(1'768'435'200'000);
    a.reported_event_date = at_ms(1'768'435'200'123);
    a.created_at = at_ms(1'768'500'000'000);
    a.currency = ledger::find_currency("EUR");
    a.amount = 12'345;
    a.items = {{"SKU-1", "electronics", 2, 10'000}, {"SKU-2", "", 1, 2'345}};
    a.payout = 987;
    a.locking_date = at_ms(1'772'236'800'000);
    a.clearing_date = at_ms(1'774'051'200'000);
    a.status = ledger::Status::Pending;
    a.finance_status = ledger::FinanceStatus::Estimated;
    a.parent_action_id = "";
    a.modification_count = 3;
    a.outside_terms = true;
    a.contract_id = "C-1";
    a.contract_version = at_ms(1'767'225'600'000);
    a.creation = {12'000,
                  {{"SKU-1", "electronics", 2, 10'000}, {"SKU-2", "toys", 1, 2'000}},
                  "EXISTING",
                  960,
                  true};
    return a;
}

inline ledger::HistoryEntry sample_entry(ledger::Operation op, std::int64_t line, std::int64_t at) {
    ledger::HistoryEntry e;
    e.at = at_ms(at);
    e.batch_id = "B-1";
    e.line = line;
    e.operation = op;
    e.reason = "ORDER_UPDATE";
    e.old_amount = 1;
    e.new_amount = 2;
    e.old_payout = 3;
    e.new_payout = 4;
    e.old_status = ledger::Status::Pending;
    e.new_status = ledger::Status::Approved;
    e.contract_id = "C-1";
    e.contract_version = at_ms(1'767'225'600'000);
    e.note = "reported event date 2026-01-15T00:00:00Z";
    return e;
}

inline BatchRecord sample_record(std::string batch_id, std::string account_id, std::string sha256) {
    BatchRecord r;
    r.batch_id = std::move(batch_id);
    r.account_id = std::move(account_id);
    r.inbox = "acme-drop";
    r.file_name = "mods.csv";
    r.sha256 = std::move(sha256);
    r.size = 1234;
    r.type = "modifications";
    r.state = store::BatchState::Claimed;
    r.received_at = at_ms(1'768'600'000'000);
    return r;
}

inline void check_same_action(const ledger::Action& got, const ledger::Action& want) {
    CHECK(got.key == want.key);
    CHECK(got.action_id == want.action_id);
    CHECK(got.account_id == want.account_id);
    CHECK(got.campaign_id == want.campaign_id);
    CHECK(got.tracker_id == want.tracker_id);
    CHECK(got.partner_id == want.partner_id);
    CHECK(got.order_id == want.order_id);
    CHECK(got.customer_id == want.customer_id);
    CHECK(got.customer_status == want.customer_status);
    CHECK(got.promo_code == want.promo_code);
    CHECK(got.event_date == want.event_date);
    CHECK(got.reported_event_date == want.reported_event_date);
    CHECK(got.created_at == want.created_at);
    CHECK(got.currency == want.currency);
    CHECK(got.amount == want.amount);
    CHECK(got.items == want.items);
    CHECK(got.payout == want.payout);
    CHECK(got.locking_date == want.locking_date);
    CHECK(got.clearing_date == want.clearing_date);
    CHECK(got.status == want.status);
    CHECK(got.finance_status == want.finance_status);
    CHECK(got.parent_action_id == want.parent_action_id);
    CHECK(got.modification_count == want.modification_count);
    CHECK(got.outside_terms == want.outside_terms);
    CHECK(got.contract_id == want.contract_id);
    CHECK(got.contract_version == want.contract_version);
    CHECK(got.creation == want.creation);
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace actiondrop::store::testing
