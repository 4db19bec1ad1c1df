#include "store/open_store.hpp"

#include <algorithm>
#include <cctype>

#include "store/postgres/pg.hpp"
#include "store/postgres/scheme.hpp"
#include "store/sqlite/scheme.hpp"
#include "store/store.hpp"
#include "store/store_scheme.hpp"

namespace actiondrop::store {

namespace {

// The stores this build has; the first one is the embedded default, which a plain path names.
// A new kind of store is a folder of its own and one line here.
const StoreScheme* const kSchemes[] = {&sqlite::kScheme, &postgres::kScheme,
                                       &postgres::kShortScheme};

// The scheme of a URL, or nullptr (with the scheme's name in `unknown`) when it names one
// this build has not.
const StoreScheme* scheme_of(const std::string& url, std::string& unknown) {
    for (const StoreScheme* scheme : kSchemes)
        if (url.starts_with(scheme->prefix)) return scheme;
    if (auto colon = url.find("://");
        colon != std::string::npos &&
        std::all_of(
            url.begin(), url.begin() + static_cast<std::ptrdiff_t>(colon),
            [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; })) {
        unknown = url.substr(0, colon);
        return nullptr;
    }
    return kSchemes[0];
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url) {
    std::string unknown;
    const StoreScheme* scheme = scheme_of(url, unknown);
    if (scheme == nullptr)
        throw StoreError("unsupported store \"" + unknown +
                         "\": this build has SQLite (sqlite:) and PostgreSQL (postgresql://)");
    return scheme->open(url);
}

std::optional<std::filesystem::path> local_path(const std::string& url) {
    std::string unknown;
    const StoreScheme* scheme = scheme_of(url, unknown);
    return scheme == nullptr ? std::nullopt : scheme->local_path(url);
}

std::optional<std::filesystem::path> missing_ledger(const std::string& url) {
    auto db = local_path(url);
    std::error_code ec;
    if (!db || std::filesystem::exists(*db, ec) || ec) return std::nullopt;
    if (std::filesystem::exists(db->string() + "-wal", ec) || ec) return std::nullopt;
    return db;
}

void set_server_messages(std::function<void(std::string_view)> sink) {
    postgres::set_notice_sink(std::move(sink));
}

}  // namespace actiondrop::store
