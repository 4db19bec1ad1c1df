#pragma once
// Opening a store by its URL (README.md, "The CLI": `--store URL`): each kind of store is a
// scheme (`sqlite:`), listed in store/open_store.cpp and implemented in a folder of its own
// (store/sqlite/). A URL of a scheme this build has not is a StoreError.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace actiondrop::store {

class Store;

// "sqlite:/path/to/ledger.db" (or a plain path). Creates the file if needed.
std::unique_ptr<Store> open_store(const std::string& url);

// The file that the store of this URL keeps on this machine (a SQLite database), whose folder
// must exist before it is opened; nullopt for a store that keeps none here, and for a URL that
// open_store() refuses (it says why).
std::optional<std::filesystem::path> local_path(const std::string& url);

}  // namespace actiondrop::store
