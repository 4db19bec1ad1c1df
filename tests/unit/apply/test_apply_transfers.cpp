// Funds-transfer files through the apply path (docs/rules.md, "Funds transfers"): a batch
// that dies before its commit moves no money, its retry makes the same transfers under the
// same ids, once, and a committed batch is never applied again.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "apply/apply_file.hpp"
#include "apply_test_support.hpp"
#include "config/catalog_file.hpp"
#include "store/lifecycle_ledger.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
namespace fs = std::filesystem;
using apply::testing::catalog;
using apply::testing::kNow;
using ledger::FundsEntry;
using store::testing::TempDir;

namespace {

struct Fixture {
    TempDir dir;
    std::unique_ptr<store::Store> store = store::testing::migrated_store(dir.url());
    store::LifecycleLedger& funds = *store->lifecycle_ledger();
    apply::ApplyRequest req;

    Fixture() {
        store->save_catalog(catalog());
        REQUIRE(funds.deposit("1000", 10000, kNow - std::chrono::hours(24), "opening"));
        req.file = dir.path() / "transfers.csv";
        req.account_id = "1000";
        req.type = batch::FileType::FundsTransfers;
        req.outbox = dir.path() / "out";
        req.spool = dir.path() / "spool";
        fs::create_directories(req.outbox);
        std::ofstream(req.file, std::ios::binary) << "TransferType,PartnerId,Amount\r\n"
                                                     "MAKE_GOOD,P-77,30.00\r\n"
                                                     "BONUS,P-88,80.00\r\n"
                                                     "BONUS,P-88,70.00\r\n";
    }
    apply::ApplyResult apply() {
        return apply::apply_file(*store, catalog(), req, [] { return kNow; });
    }
};

}  // namespace

TEST_CASE(
    "transfers: a batch that dies before its commit moves nothing, and its retry makes the same "
    "transfers once") {
    Fixture f;
    f.req.progress = [](std::int64_t, std::int64_t) {
        throw std::runtime_error("the process dies here");
    };
    CHECK_THROWS_WITH(f.apply(), "the process dies here");
    CHECK(f.funds.balance("1000") == 10000);
    CHECK(f.funds.funds_entries("1000").size() == 1);
    const auto died = f.store->list_batches("1000");
    REQUIRE(died.size() == 1);

    f.req.progress = {};
    const apply::ApplyResult first = f.apply();
    CHECK(first.status == "COMPLETE");
    CHECK(first.applied == 2);
    CHECK(first.rejected == 1);
    CHECK(first.error_counts.at("INSUFFICIENT_FUNDS") == 1);
    // SQLite sees that nobody holds the dead attempt's mark, and resumes it under its batch
    // id; PostgreSQL cannot tell a dead attempt from a live one, and starts a batch of its own
    // (store::BatchJournal::hold_batch). The one that died stays claimed, with nothing applied.
    if (f.dir.url().starts_with("sqlite:")) {
        CHECK(first.batch_id == died[0].batch_id);
    } else {
        CHECK(first.batch_id != died[0].batch_id);
        CHECK(f.store->find_batch(died[0].batch_id)->state == store::BatchState::Claimed);
    }
    const auto entries = f.funds.funds_entries("1000");
    REQUIRE(entries.size() == 3);
    // The transfer ids are those of the batch applied.
    CHECK(entries[1].kind == FundsEntry::Kind::Transfer);
    CHECK(entries[1].reference == "TR-" + first.batch_id + "-2");
    CHECK(entries[1].amount == 3000);
    CHECK(entries[1].at == kNow);
    CHECK(entries[2].reference == "TR-" + first.batch_id + "-4");
    CHECK(entries[2].amount == 7000);
    CHECK(f.funds.balance("1000") == 0);
    CHECK(*ledger::balance_of(entries) == f.funds.balance("1000"));

    // The same content again is a duplicate of the committed batch, and moves nothing.
    const apply::ApplyResult again = f.apply();
    CHECK(again.status == "REJECTED");
    CHECK(again.error_code == "DUPLICATE_FILE");
    CHECK(f.funds.funds_entries("1000").size() == 3);
    CHECK(f.funds.balance("1000") == 0);
}

TEST_CASE(
    "transfers: all_or_nothing with a rejected row moves nothing, and a dry run nothing either") {
    Fixture f;
    f.req.all_or_nothing = true;
    const apply::ApplyResult r = f.apply();
    CHECK(r.status == "REJECTED");
    CHECK(r.error_code == "ROWS_REJECTED");
    CHECK(f.funds.balance("1000") == 10000);
    CHECK(f.funds.funds_entries("1000").size() == 1);

    Fixture g;
    g.req.dry_run = true;
    CHECK(g.apply().applied == 2);
    CHECK(g.funds.balance("1000") == 10000);
    CHECK(g.funds.funds_entries("1000").size() == 1);
}

TEST_CASE("transfers: the transfers wait for an invoice, in the book a lifecycle run reads") {
    Fixture f;
    REQUIRE(f.apply().applied == 2);
    const auto book = f.funds.load_book("1000", kNow);
    REQUIRE(book.transfers.size() == 2);
    CHECK(book.transfers[0].partner_id == "P-77");
    CHECK(book.transfers[0].type == ledger::TransferType::MakeGood);
    CHECK(book.transfers[0].payment_date == kNow);
    CHECK(book.transfers[0].applied_at == kNow);
    CHECK(book.transfers[1].amount == 7000);
    CHECK(book.transfers[1].invoice_id.empty());
    CHECK(book.balance == 0);
}
