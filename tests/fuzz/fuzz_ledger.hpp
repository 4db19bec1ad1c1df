#pragma once
// The demo world of etc/samples/README.md for the row targets: the catalog etc/catalog.yaml,
// account 1000, and a ledger holding conversions_seed.csv and budget_cap.csv, on
// 24 November 2026 (when the sample modification files are meant to run).
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "batch/layout.hpp"
#include "config/catalog_file.hpp"
#include "fuzz_records.hpp"
#include "fuzz_support.hpp"
#include "ledger/rules.hpp"
#include "memory_ledger.hpp"

namespace actiondrop::fuzz {

struct Demo {
    ledger::Catalog catalog;
    const ledger::Account* account = nullptr;
    ledger::testing::MemoryLedger ledger;
    ledger::BatchContext ctx;
};

inline std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

inline const Demo& demo() {
    static const Demo d = [] {
        const std::filesystem::path etc = std::filesystem::path(ACTIONDROP_SOURCE_DIR) / "etc";
        Demo d;
        auto catalog = config::read_catalog_file(etc / "catalog.yaml");
        if (!catalog)
            throw std::runtime_error("etc/catalog.yaml: " + catalog.error().front().str());
        d.catalog = std::move(*catalog);
        d.account = d.catalog.account("1000");
        d.ctx.batch_id = "FUZZ";
        d.ctx.now = *ledger::parse_instant("2026-11-24T15:00:00Z", nullptr);
        for (const char* name : {"conversions_seed.csv", "budget_cap.csv"}) {
            const ReadFile file = read_records(file_text(etc / "samples" / name), batch::Limits{});
            auto layout = batch::Layout::parse(batch::FileType::Conversions, file.records.at(0));
            for (std::size_t i = 1; i < file.records.size(); ++i) {
                auto row = layout->conversion(file.records[i]);
                auto result =
                    ledger::apply_conversion(d.catalog, *d.account, d.ledger, *row, d.ctx);
                if (result.outcome != ledger::Outcome::Applied)
                    throw std::runtime_error(std::string(name) + ": " + result.message);
            }
        }
        return d;
    }();
    return d;
}

// Applies the rows of a conversions file as apply_file does, whatever their outcome.
inline void apply_conversions(std::string_view file, ledger::LedgerView& ledger) {
    const ReadFile read = read_records(file, batch::Limits{});
    if (read.records.empty()) return;
    const auto layout = batch::Layout::parse(batch::FileType::Conversions, read.records[0]);
    if (!layout) return;
    const Demo& d = demo();
    for (std::size_t i = 1; i < read.records.size(); ++i)
        if (auto row = layout->conversion(read.records[i]))
            ledger::apply_conversion(d.catalog, *d.account, ledger, *row, d.ctx);
}

// What the rules must keep true of every action, whatever rows it went through.
inline void check_action(const ledger::Action& a, const ledger::Account& account) {
    check(a.amount >= 0 && a.payout >= 0, "amounts and payouts are never negative");
    if (!a.items.empty()) {
        __int128 sum = 0;  // wide, so that an overflowing sum is a finding, not UB here
        for (const auto& item : a.items) {
            check(item.quantity >= 0 && item.amount >= 0,
                  "item quantities and amounts are never negative");
            sum += item.amount;
        }
        check(sum == a.amount, "an action with items is worth the sum of its lines");
        for (std::size_t i = 0; i < a.items.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                check(a.items[i].sku != a.items[j].sku, "an action names each SKU once");
    }
    if (a.status == ledger::Status::Reversed)
        check(a.amount == 0 && a.payout == 0, "a reversed action is worth 0");
    if (a.outside_terms) check(a.payout == 0, "an action outside terms pays nothing");
    check(a.modification_count <= account.max_modifications_per_action,
          "the modification limit holds");
    check(a.currency != nullptr, "an action has a currency");
}

}  // namespace actiondrop::fuzz
