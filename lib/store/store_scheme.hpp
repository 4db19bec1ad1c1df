#pragma once
// One kind of store as open_store() knows it: the URL prefix it answers to and how to open
// it. Each store folder defines its own (store/sqlite/scheme.hpp); store/open_store.cpp
// lists those this build has.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace actiondrop::store {

class Store;

struct StoreScheme {
    std::string_view prefix;  // "sqlite:": the URLs of this scheme start with it
    // Opens the store of a URL of this scheme (or a plain path, for the embedded default).
    std::unique_ptr<Store> (*open)(const std::string& url);
    // The file the store keeps on this machine (open_store.hpp, local_path()).
    std::optional<std::filesystem::path> (*local_path)(const std::string& url);
};

}  // namespace actiondrop::store
