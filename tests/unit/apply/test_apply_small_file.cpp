// What a small file costs in memory: an inbox of many one-row files is applied file by
// file, so what apply_file() allocates whatever the file's size is paid by every one of them
// (README.md, "Limits": memory). The allocator is counted by replacing operator new for this
// binary; only a thread that asks for it is counted.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>
#include <string>

#include "apply/apply_file.hpp"
#include "apply_test_support.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

namespace {

thread_local std::size_t* counted = nullptr;

}  // namespace

// operator delete, new[] and the nothrow forms of libstdc++ go through these two.
void* operator new(std::size_t size) {
    if (counted != nullptr) *counted += size;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace actiondrop;
using apply::testing::catalog;
using apply::testing::file_request;
using apply::testing::kNow;
using store::testing::TempDir;

namespace {

// Bytes asked of operator new by this thread while `f` runs.
template <typename F>
std::size_t allocated_by(F&& f) {
    std::size_t bytes = 0;
    counted = &bytes;
    try {
        f();
    } catch (...) {
        counted = nullptr;
        throw;
    }
    counted = nullptr;
    return bytes;
}

}  // namespace

TEST_CASE("a one-row file asks the allocator for kilobytes, not for a chunk of rows") {
    TempDir dir;
    auto store = store::testing::migrated_store(dir.url());
    store->save_catalog(catalog());
    const std::string header = "ActionId,ActionTrackerId,PartnerId,OrderId,EventDate,Amount\r\n";
    // A first file, so that what is made once (statements, the catalog's lookups) is made.
    auto first = file_request(dir.path(), "first.csv", batch::FileType::Conversions,
                              header + "A-1,19816,P-77,O-1,2026-03-09T10:00:00Z,10.00\r\n");
    REQUIRE(apply::apply_file(*store, catalog(), first, [] { return kNow; }).applied == 1);

    auto conversion = file_request(dir.path(), "second.csv", batch::FileType::Conversions,
                                   header + "A-2,19816,P-77,O-2,2026-03-09T10:00:00Z,12.00\r\n");
    apply::ApplyResult result;
    const std::size_t bytes = allocated_by(
        [&] { result = apply::apply_file(*store, catalog(), conversion, [] { return kNow; }); });
    REQUIRE(result.applied == 1);
    MESSAGE("a one-row conversions file: ", bytes, " bytes asked of operator new");
    CHECK(bytes < 512 * 1024);

    auto modification = file_request(dir.path(), "third.csv", batch::FileType::Modifications,
                                     "ActionId,Amount,Reason\r\nA-1,8.00,ORDER_UPDATE\r\n");
    const std::size_t modification_bytes = allocated_by(
        [&] { result = apply::apply_file(*store, catalog(), modification, [] { return kNow; }); });
    REQUIRE(result.total == 1);
    MESSAGE("a one-row modifications file: ", modification_bytes, " bytes asked of operator new");
    CHECK(modification_bytes < 512 * 1024);
}
