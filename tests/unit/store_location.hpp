#pragma once
// Where one test's store lives. The binary a test is linked into decides which store it is
// (tests/CMakeLists.txt, docs/testing.md): store_location_sqlite.cpp gives a SQLite file in
// the test's folder; store_location_postgres.cpp gives a schema of its own in the test
// cluster, dropped with the StoreLocation.
#include <filesystem>
#include <string>

namespace actiondrop::store::testing {

class StoreLocation {
public:
    explicit StoreLocation(const std::filesystem::path& folder);
    ~StoreLocation();
    StoreLocation(const StoreLocation&) = delete;
    StoreLocation& operator=(const StoreLocation&) = delete;
    // What open_store() opens.
    const std::string& url() const { return url_; }

private:
    std::string url_;
    std::string database_;  // PostgreSQL: the URL of the database the schema is in
    std::string schema_;
};

}  // namespace actiondrop::store::testing
