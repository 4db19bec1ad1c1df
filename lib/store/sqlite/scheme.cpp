#include "store/sqlite/scheme.hpp"

#include "store/sqlite/sqlite_store.hpp"

namespace actiondrop::store::sqlite {

namespace {

// The database file of a URL: "sqlite:/var/x.db", "sqlite:///var/x.db" (its URL form), or
// "/var/x.db". Empty when the URL names none.
std::string database_file(const std::string& url) {
    std::string path = url;
    if (path.starts_with("sqlite:")) {
        path.erase(0, 7);
        if (path.starts_with("///")) path.erase(0, 2);
    }
    return path;
}

std::unique_ptr<Store> open(const std::string& url) {
    const std::string path = database_file(url);
    if (path.empty()) throw StoreError("store \"" + url + "\" names no database file");
    return std::make_unique<SqliteStore>(path);
}

std::optional<std::filesystem::path> local_path(const std::string& url) {
    std::string path = database_file(url);
    if (path.empty()) return std::nullopt;
    return std::filesystem::path(std::move(path));
}

}  // namespace

const StoreScheme kScheme{"sqlite:", open, local_path};

}  // namespace actiondrop::store::sqlite
