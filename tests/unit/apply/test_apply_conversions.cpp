// A conversions file on every store: the chunk's ActionIds are asked for ahead of its rows
// (apply_file.cpp, apply_in_file_order), and an id the ledger holds, or that an earlier row
// of the file created, in the same chunk or an earlier one, is still refused as a duplicate.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "apply/apply_file.hpp"
#include "apply_test_support.hpp"
#include "config/catalog_file.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
namespace fs = std::filesystem;
using apply::testing::catalog;
using apply::testing::kNow;
using store::testing::TempDir;

namespace {

apply::ApplyResult apply_conversions(store::Store& store, const fs::path& folder,
                                     const std::string& name, const std::string& body) {
    const auto req = apply::testing::file_request(
        folder, name, batch::FileType::Conversions,
        "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n" + body);
    return apply::apply_file(store, catalog(), req, [] { return kNow; });
}

std::string row(const std::string& id, int order) {
    return id + ",19816,P-77,O-" + std::to_string(order) + ",2026-03-09T10:00:00Z,10.00\r\n";
}

}  // namespace

TEST_CASE(
    "conversions: ids of the ledger and ids repeated in the file are duplicates, across chunks "
    "too") {
    TempDir dir;
    auto store = store::testing::migrated_store(dir.url());
    store->save_catalog(catalog());
    REQUIRE(apply_conversions(*store, dir.path(), "first.csv", row("OLD-1", 1)).applied == 1);

    std::string body = row("OLD-1", 2);  // in the ledger
    body += row("N-0", 3);
    body += row("N-0", 4);  // repeated in the same chunk
    for (int i = 1; i < 9000; ++i) body += row("N-" + std::to_string(i), 10 + i);
    body += row("N-5", 20000);     // created in the first chunk of 8,000 rows, asked in the second
    body += row("N-8500", 20001);  // created earlier in the same, second chunk
    const apply::ApplyResult result = apply_conversions(*store, dir.path(), "second.csv", body);
    CHECK(result.total == 9004);
    CHECK(result.applied == 9000);
    CHECK(result.rejected == 4);
    CHECK(result.error_counts.at("DUPLICATE_ACTION") == 4);
    std::int64_t actions = 0;
    store->for_each_action("1000", [&](const ledger::Action&) { ++actions; });
    CHECK(actions == 9001);
}
