// A later upload of a name replaces the answers of the earlier one (docs/formats.md, "What
// goes back"): a file rejected as a whole has a receipt and a summary only, so the result and
// errors files of an earlier upload of its name must not stay beside them.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "apply/apply_file.hpp"
#include "apply/delivery.hpp"
#include "apply_test_support.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using apply::testing::catalog;
using apply::testing::file_request;
using apply::testing::kNow;
using store::testing::TempDir;
namespace fs = std::filesystem;

namespace {

const std::string kHeader = "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n";

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// A migrated store with the test catalog, and files applied as account 1000's conversions,
// answered into `out`.
struct Ledger {
    TempDir dir;
    std::unique_ptr<store::Store> store = store::testing::migrated_store(dir.url());
    const fs::path out = dir.path() / "out";

    Ledger() { store->save_catalog(catalog()); }
    apply::ApplyResult apply(const std::string& name, const std::string& text,
                             bool write_outputs = true) {
        auto req = file_request(dir.path(), name, batch::FileType::Conversions, text);
        req.write_outputs = write_outputs;
        return apply::apply_file(*store, catalog(), req, [] { return kNow; });
    }
};

const std::string kBadHeader = "ActionId,Bogus\r\nA-3,1\r\n";

}  // namespace

TEST_CASE("answers: a file rejected as a whole removes the result and errors of its name") {
    Ledger l;
    const fs::path& out = l.out;
    REQUIRE(l.apply("x.csv", kHeader + "A-1,19816,P-77,O-1,2026-03-09T10:00:00Z,10.00\r\n" +
                                 "A-2,19816,P-77,O-2,2026-03-09T10:00:00Z,oops\r\n")
                .applied == 1);
    REQUIRE(fs::exists(out / "result_x.csv"));
    REQUIRE(fs::exists(out / "errors_x.csv"));

    SUBCASE("a bad header") {
        REQUIRE(l.apply("x.csv", kBadHeader).status == "REJECTED");
        CHECK(slurp(out / "x.csv_summary.json").find("UNKNOWN_COLUMN") != std::string::npos);
    }
    SUBCASE("the same content again (a duplicate)") {
        REQUIRE(l.apply("x.csv", slurp(l.dir.path() / "x.csv")).status == "REJECTED");
        CHECK(slurp(out / "x.csv_summary.json").find("DUPLICATE_FILE") != std::string::npos);
    }
    CHECK(fs::exists(out / "receipt_x.csv.txt"));
    CHECK_FALSE(fs::exists(out / "result_x.csv"));
    CHECK_FALSE(fs::exists(out / "errors_x.csv"));
}

TEST_CASE("answers: the answers of other names stay") {
    Ledger l;
    REQUIRE(
        l.apply("y.csv", kHeader + "A-1,19816,P-77,O-1,2026-03-09T10:00:00Z,10.00\r\n").applied ==
        1);
    REQUIRE(l.apply("x.csv", kBadHeader).status == "REJECTED");
    CHECK(fs::exists(l.out / "result_y.csv"));
    CHECK(fs::exists(l.out / "errors_y.csv"));
}

TEST_CASE("answers: staged for a remote outbox, the stale names are marked for removal") {
    Ledger l;
    auto& store = l.store;
    auto r = l.apply("x.csv", kBadHeader, false);
    REQUIRE(r.status == "REJECTED");
    auto batch = store->find_batch(r.batch_id);
    REQUIRE(batch);
    const fs::path staging = l.dir.path() / "staging";
    fs::create_directories(staging);
    // A result of the same name staged by an earlier batch and not yet sent.
    std::ofstream(staging / "result_x.csv") << "stale";
    apply::deliver(*store, *batch, staging, apply::Outbox::Staging);
    CHECK(fs::exists(staging / "x.csv_summary.json"));
    CHECK_FALSE(fs::exists(staging / "result_x.csv"));
    CHECK(fs::exists(staging / apply::stale_mark("result_x.csv")));
    CHECK(fs::exists(staging / apply::stale_mark("errors_x.csv")));
    CHECK(apply::stale_answers(staging) ==
          std::vector<std::string>{"errors_x.csv", "result_x.csv"});

    // A later batch that has a result of that name takes the mark back: the remote file is
    // then replaced by the upload, not removed after it.
    auto g = l.apply("x.csv", kHeader + "A-1,19816,P-77,O-1,2026-03-09T10:00:00Z,10.00\r\n", false);
    REQUIRE(g.applied == 1);
    apply::deliver(*store, *store->find_batch(g.batch_id), staging, apply::Outbox::Staging);
    CHECK(fs::exists(staging / "result_x.csv"));
    CHECK(apply::stale_answers(staging).empty());
}
