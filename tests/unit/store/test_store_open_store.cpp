#include <doctest/doctest.h>

#include "store/open_store.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;

TEST_CASE("open_store opens a SQLite store by its URL, its URL form, or a plain path") {
    TempDir dir;
    for (const std::string& url :
         {"sqlite:" + dir.db(), "sqlite://" + dir.db(), dir.db()}) {
        CAPTURE(url);
        auto store = open_store(url);
        REQUIRE(store != nullptr);
        CHECK(store->migrate() >= 1);
        CHECK(std::filesystem::exists(dir.db()));
    }
}

TEST_CASE("a store this build has not is a StoreError that names its scheme") {
    CHECK_THROWS_WITH_AS(open_store("postgresql://actiondrop@db.example/ledger"),
                         "unsupported store \"postgresql\": this build has only SQLite", StoreError);
    CHECK_THROWS_WITH_AS(open_store("sqlite:"), "store \"sqlite:\" names no database file",
                         StoreError);
}

TEST_CASE("local_path is the file a store keeps on this machine") {
    CHECK(local_path("sqlite:/var/lib/actiondrop/ledger.db") ==
          std::filesystem::path("/var/lib/actiondrop/ledger.db"));
    CHECK(local_path("sqlite:///var/lib/actiondrop/ledger.db") ==
          std::filesystem::path("/var/lib/actiondrop/ledger.db"));
    CHECK(local_path("sqlite:db/ledger.db") == std::filesystem::path("db/ledger.db"));
    CHECK(local_path("/srv/ledger.db") == std::filesystem::path("/srv/ledger.db"));
    CHECK_FALSE(local_path("sqlite:").has_value());
    CHECK_FALSE(local_path("postgresql://actiondrop@db.example/ledger").has_value());
}
