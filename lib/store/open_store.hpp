#pragma once
// Opening a store by its URL (README.md, "The CLI": `--store URL`): each kind of store is a
// scheme (`sqlite:`), listed in store/open_store.cpp and implemented in a folder of its own
// (store/sqlite/). A URL of a scheme this build has not is a StoreError.
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace actiondrop::store {

class Store;

// "sqlite:/path/to/ledger.db" (or a plain path). Creates the file if needed.
std::unique_ptr<Store> open_store(const std::string& url);

// The file that the store of this URL keeps on this machine (a SQLite database), whose folder
// must exist before it is opened; nullopt for a store that keeps none here, and for a URL that
// open_store() refuses (it says why).
std::optional<std::filesystem::path> local_path(const std::string& url);

// The local_path() of this URL when neither it nor its write-ahead log is there (a log left
// behind is open_store()'s to explain): a ledger gone, which only `actiondrop init`, `catalog
// load` and a first start are to make, empty (docs/ingest.md, "The ledger gone").
std::optional<std::filesystem::path> missing_ledger(const std::string& url);

// Where the messages a store's server sends outside any statement's answer go, each one line
// naming the server ("PostgreSQL host:port/db: WARNING:  …"): by default to stderr, and
// actiondropd sends them to its log. Set before any store is opened; not thread-safe.
void set_server_messages(std::function<void(std::string_view)> sink);

}  // namespace actiondrop::store
