// The SQLite runs of the store tests: each store a file in its test's folder.
#include "store_location.hpp"

namespace actiondrop::store::testing {

StoreLocation::StoreLocation(const std::filesystem::path& folder)
    : url_("sqlite:" + (folder / "ledger.db").string()) {}

StoreLocation::~StoreLocation() = default;

}  // namespace actiondrop::store::testing
