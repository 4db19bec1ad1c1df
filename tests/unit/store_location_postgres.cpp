// The PostgreSQL runs of the store tests: each store a schema of its own in the cluster of
// tests/pg/pg_cluster.sh, whose URL is in the file ACTIONDROP_TEST_PG_URL_FILE names, so that
// tests running in parallel never meet. Without that file every test fails: a PostgreSQL run
// must never pass on another store.
#include <doctest/doctest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "store_location.hpp"

namespace actiondrop::store::testing {

namespace {

std::string cluster_url() {
    const char* file = std::getenv("ACTIONDROP_TEST_PG_URL_FILE");
    if (file == nullptr || *file == '\0')
        throw std::runtime_error(
            "ACTIONDROP_TEST_PG_URL_FILE is not set: the PostgreSQL runs need the test cluster "
            "(docs/testing.md); ctest starts it");
    std::ifstream in(file);
    std::string url;
    std::getline(in, url);
    if (url.empty())
        throw std::runtime_error(std::string("no cluster URL in ") + file +
                                 ": is the test cluster running (ctest -R 'pg: start cluster')?");
    return url;
}

// Runs `sql` on a connection of its own; a statement waiting on a lock gives up after 10 s
// rather than hang the test, and IF EXISTS says nothing when there is nothing.
void execute(const std::string& url, const std::string& sql) {
    std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
    if (PQstatus(conn.get()) != CONNECTION_OK)
        throw std::runtime_error("cannot connect to " + url + ": " + PQerrorMessage(conn.get()));
    const std::string statements =
        "SET lock_timeout = '10s'; SET client_min_messages = warning; " + sql;
    std::unique_ptr<PGresult, decltype(&PQclear)> result(PQexec(conn.get(), statements.c_str()),
                                                         &PQclear);
    if (PQresultStatus(result.get()) != PGRES_COMMAND_OK)
        throw std::runtime_error(sql + ": " + PQresultErrorMessage(result.get()));
}

}  // namespace

StoreLocation::StoreLocation(const std::filesystem::path&) : database_(cluster_url()) {
    static std::atomic<int> counter{0};
    // Unique among the running tests; one left by a killed test with the same pid goes first.
    schema_ = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    execute(database_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE; CREATE SCHEMA " + schema_);
    // The store's SQL names no schema: search_path puts its tables in this one.
    url_ = database_ + (database_.find('?') == std::string::npos ? "?" : "&") +
           "options=-csearch_path%3D" + schema_;
}

StoreLocation::~StoreLocation() {
    try {
        execute(database_, "DROP SCHEMA " + schema_ + " CASCADE");
    } catch (const std::exception& e) {
        FAIL_CHECK("the test's schema was not dropped: " << e.what());
    }
}

}  // namespace actiondrop::store::testing
