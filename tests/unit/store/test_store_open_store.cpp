#include <doctest/doctest.h>

#include "store/open_store.hpp"
#include "store/store.hpp"
#include "test_store_fixtures.hpp"

using namespace actiondrop;
using namespace actiondrop::store;
using namespace actiondrop::store::testing;

TEST_CASE("open_store opens a SQLite store by its URL, its URL form, or a plain path") {
    TempDir dir;
    for (const std::string& url : {"sqlite:" + dir.db(), "sqlite://" + dir.db(), dir.db()}) {
        CAPTURE(url);
        auto store = open_store(url);
        REQUIRE(store != nullptr);
        CHECK(store->migrate() >= 1);
        CHECK(std::filesystem::exists(dir.db()));
    }
}

TEST_CASE("a store this build has not is a StoreError that names its scheme") {
    CHECK_THROWS_WITH_AS(open_store("mysql://actiondrop@db.example/ledger"),
                         "unsupported store \"mysql\": this build has SQLite (sqlite:) and "
                         "PostgreSQL (postgresql://)",
                         StoreError);
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

TEST_CASE("a PostgreSQL URL that holds a password is refused before any connection") {
    for (const std::string url : {"postgresql://actiondrop:s3cret-pw@127.0.0.1:1/ledger",
                                  "postgres://actiondrop@127.0.0.1:1/ledger?password=s3cret-pw"}) {
        CAPTURE(url);
        try {
            open_store(url);
            FAIL("opened a store whose URL holds a password");
        } catch (const StoreError& e) {
            const std::string message = e.what();
            CHECK(message.find("passfile") != std::string::npos);
            CHECK(message.find("s3cret-pw") == std::string::npos);
        }
    }
}

TEST_CASE("a PostgreSQL server that does not answer is a StoreError that names it") {
    // Port 1 on loopback: nothing listens there.
    try {
        open_store("postgresql://actiondrop@127.0.0.1:1/ledger?connect_timeout=2");
        FAIL("connected to a server that does not exist");
    } catch (const StoreError& e) {
        CHECK(std::string(e.what()).starts_with("PostgreSQL 127.0.0.1:1/ledger: cannot connect: "));
    }
}
