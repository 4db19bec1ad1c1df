#include "store/postgres/scheme.hpp"

#include "store/postgres/postgres_store.hpp"

namespace actiondrop::store::postgres {

namespace {

std::unique_ptr<Store> open(const std::string& url) { return std::make_unique<PostgresStore>(url); }

// The server keeps the ledger: nothing of it lives in a file here.
std::optional<std::filesystem::path> local_path(const std::string&) { return std::nullopt; }

}  // namespace

const StoreScheme kScheme{"postgresql://", open, local_path};
const StoreScheme kShortScheme{"postgres://", open, local_path};

}  // namespace actiondrop::store::postgres
