// The catalog loader (lib/config/catalog_file.*, catalog_merge.cpp) on any YAML text.
// Besides crashes, UB and exceptions it checks that every error names the file and says
// why; that a catalog it accepts is whole (ids match their keys, currencies and zones
// resolved, contract versions in order); that loading the same file again over it changes
// nothing (merge_catalog with itself succeeds, as does loading it into an empty store);
// and that each account survives the store's encoding (lib/store/catalog_codec.*): the
// decoded account encodes to the very same document.
#include <cstdint>

#include "config/catalog_file.hpp"
#include "fuzz_support.hpp"
#include "store/catalog_codec.hpp"
#include "store/store.hpp"

using namespace actiondrop;

namespace {

constexpr std::string_view kName = "catalog.yaml";

// Accounts as the store keeps them, to compare two catalogs.
std::vector<std::string> documents(const ledger::Catalog& c) {
    std::vector<std::string> out;
    for (const auto& [id, account] : c.accounts) out.push_back(store::encode_account(account));
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto catalog = config::read_catalog_text(fuzz::text_of(data, size), kName);
    if (!catalog) {
        fuzz::check(!catalog.error().empty(), "a refused catalog has an error");
        for (const auto& e : catalog.error()) {
            fuzz::check(e.file == kName && !e.message.empty(),
                        "an error names the file and says why");
            fuzz::check(e.line >= 0 && e.column >= 0, "an error's position is not negative");
        }
        return 0;
    }
    for (const auto& [id, a] : catalog->accounts) {
        fuzz::check(a.id == id && a.currency && a.timezone, "an account is whole");
        for (const auto& [tid, t] : a.trackers)
            fuzz::check(t.id == tid, "a tracker is filed under its id");
        for (const auto& c : a.contracts) {
            fuzz::check(!c.versions.empty(), "a contract has a version");
            for (std::size_t i = 1; i < c.versions.size(); ++i)
                fuzz::check(c.versions[i - 1].effective_from < c.versions[i].effective_from,
                            "contract versions are in order");
        }
        const std::string document = store::encode_account(a);
        try {
            fuzz::check(store::encode_account(store::decode_account(document)) == document,
                        "an account reads back from the store as it was written");
        } catch (const store::StoreError& e) {
            fuzz::check(false,
                        std::string("the store cannot read an account it wrote: ") + e.what());
        }
    }
    const auto now = *ledger::parse_instant("2026-11-24T15:00:00Z", nullptr);
    const auto into_empty = config::merge_catalog(ledger::Catalog{}, *catalog, now, kName);
    fuzz::check(into_empty && documents(*into_empty) == documents(*catalog),
                "a first load keeps the catalog");
    const auto again = config::merge_catalog(*catalog, *catalog, now, kName);
    fuzz::check(again.has_value(), "loading the same catalog again is accepted");
    fuzz::check(documents(*again) == documents(*catalog),
                "loading the same catalog again changes nothing");
    return 0;
}
