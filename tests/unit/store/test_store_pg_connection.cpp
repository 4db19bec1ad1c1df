// The PostgreSQL connection layer (lib/store/postgres/pg.hpp) when its server connection is
// lost (docs/postgres.md, "When the server is down"): outside a transaction the next
// statement opens a new connection; inside one, no statement, COMMIT included, may run on a
// new connection, where it would take effect outside the transaction that was lost.
// Built into the PostgreSQL binary only (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store/open_store.hpp"
#include "store/postgres/pg.hpp"
#include "store_location.hpp"
#include "temp_dir.hpp"

namespace actiondrop::store::postgres {
namespace {

// A connection to a schema of the test's own, with a table `t (n int8 ...)`.
struct TestTable {
    actiondrop::testing::TempDir dir;
    store::testing::StoreLocation location{dir.path()};
    Connection db{location.url()};
    explicit TestTable(const char* column = "n int8") {
        db.exec(std::string("CREATE TABLE t (") + column + ")");
    }
    std::int64_t rows() { return db.run("SELECT count(*) FROM t").int64(0, 0); }
    // A transaction begun with one row written, whose server process is then ended from
    // another connection, as an administrator or a server restart would: `db` finds out at
    // its next statement.
    void lose_a_transaction() {
        db.begin();
        db.exec("INSERT INTO t VALUES (1)");
        const std::int64_t pid = db.run("SELECT pg_backend_pid()::int8").int64(0, 0);
        Connection admin(location.url());
        Params p;
        p.int64(pid);
        REQUIRE(admin.run("SELECT pg_terminate_backend($1::int4)", p).boolean(0, 0));
    }
};

// Sends the server's messages to `lines` while it lives; stderr again after.
struct CapturedMessages {
    std::vector<std::string> lines;
    CapturedMessages() {
        store::set_server_messages([this](std::string_view line) { lines.emplace_back(line); });
    }
    ~CapturedMessages() { store::set_server_messages(nullptr); }
};

}  // namespace

TEST_CASE("pg connection: a lost transaction is never carried on by a new connection") {
    TestTable table;
    Connection& db = table.db;
    table.lose_a_transaction();

    // The first statement finds the connection lost; so does every one after it, until the
    // transaction is ended: none of them may run outside it, on a connection opened again.
    CHECK_THROWS_AS(db.exec("INSERT INTO t VALUES (2)"), StoreError);
    CHECK(db.in_transaction());
    CHECK_THROWS_AS(db.exec("INSERT INTO t VALUES (3)"), StoreError);
    CHECK_THROWS_AS(db.run("SELECT 1"), StoreError);
    CHECK_THROWS_WITH_AS(db.commit(), doctest::Contains("the connection was lost"), StoreError);
    CHECK_FALSE(db.in_transaction());

    // Ended, the transaction is gone with its rows, and the connection is opened again.
    db.rollback();
    CHECK(table.rows() == 0);
    db.begin();
    db.exec("INSERT INTO t VALUES (4)");
    db.commit();
    CHECK(table.rows() == 1);
}

TEST_CASE("pg connection: a lost transaction rolled back opens the next one anew") {
    TestTable table;
    Connection& db = table.db;
    table.lose_a_transaction();
    db.rollback();  // nothing to send: the server ended the transaction
    CHECK_FALSE(db.in_transaction());
    {
        Transaction tx(db);
        db.exec("INSERT INTO t VALUES (2)");
        tx.commit();
    }
    CHECK(table.rows() == 1);
}

TEST_CASE("pg connection: a transaction in which a statement failed is not committed") {
    TestTable table("n int8 UNIQUE");
    Connection& db = table.db;

    {
        Transaction tx(db);
        db.exec("INSERT INTO t VALUES (1)");
        CHECK_THROWS_AS(db.exec("INSERT INTO t VALUES (1)"), StoreError);
        CHECK_THROWS_WITH_AS(
            tx.commit(), doctest::Contains("a statement of the transaction failed"), StoreError);
    }
    CHECK_FALSE(db.in_transaction());
    CHECK(table.rows() == 0);
}

TEST_CASE("pg connection: the server's warnings go where the program says, one line each") {
    TestTable table;
    Connection& db = table.db;
    CapturedMessages captured;
    db.exec("DO $$ BEGIN RAISE WARNING 'first line' USING HINT = 'second line'; END $$");
    const auto& lines = captured.lines;
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with(db.where() + ": WARNING:"));
    CHECK(lines[0].find("first line") != std::string::npos);
    CHECK(lines[0].find("second line") != std::string::npos);
    CHECK(lines[0].find('\n') == std::string::npos);
}

TEST_CASE("pg connection: COMMIT when the server has no transaction open is an error") {
    TestTable table;
    Connection& db = table.db;
    db.begin();
    // The transaction ended by a statement of its own: what follows runs in autocommit.
    db.exec("COMMIT; INSERT INTO t VALUES (1)");
    CHECK_THROWS_WITH_AS(db.commit(), doctest::Contains("the server has no transaction open"),
                         StoreError);
    CHECK_FALSE(db.in_transaction());
    db.begin();  // the connection serves the next transaction
    db.rollback();
}

}  // namespace actiondrop::store::postgres
