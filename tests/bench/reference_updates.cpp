// The references the apply benchmark is measured against (see bench_apply.py): the same
// ledger's actions updated by 1,000,000 plain prepared UPDATEs by primary key in one
// transaction — in file order, and sorted by key — with the store's own settings.
// usage: reference_updates DB FILE (file-order|sorted)
// FILE is a modification CSV whose first two columns are ActionId,Amount.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {
void check(int rc, sqlite3* db, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        std::exit(1);
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s DB FILE ACCOUNT file-order|sorted\n", argv[0]);
        return 64;
    }
    struct Row {
        std::string id;
        long long minor;
    };
    std::vector<Row> rows;
    std::ifstream in(argv[2]);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        auto comma = line.find(',');
        auto next = line.find(',', comma + 1);
        std::string amount = line.substr(comma + 1, next - comma - 1);
        auto dot = amount.find('.');
        long long minor = 0;
        if (dot == std::string::npos)
            minor = std::atoll(amount.c_str()) * 100;
        else
            minor = std::atoll(amount.substr(0, dot).c_str()) * 100 +
                    std::atoll(amount.substr(dot + 1).c_str());
        rows.push_back({line.substr(0, comma), minor});
    }
    auto start = std::chrono::steady_clock::now();
    if (std::string(argv[4]) == "sorted")
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.id < b.id; });

    sqlite3* db = nullptr;
    // The store's settings (lib/store): no memory statistics, a connection without a mutex,
    // WAL, synchronous FULL, 64 MiB page cache.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    check(sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), db,
          "open");
    check(sqlite3_exec(
              db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536;",
              nullptr, nullptr, nullptr),
          db, "pragmas");
    sqlite3_stmt* update = nullptr;
    check(
        sqlite3_prepare_v2(db,
                           "UPDATE actions SET amount = ?1, payout = ?1 / 10, modification_count = "
                           "modification_count + 1 WHERE account_id = ?2 AND action_id = ?3",
                           -1, &update, nullptr),
        db, "prepare");
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    for (const auto& r : rows) {
        sqlite3_bind_int64(update, 1, r.minor);
        sqlite3_bind_text(update, 2, argv[3], -1, SQLITE_STATIC);
        sqlite3_bind_text(update, 3, r.id.data(), static_cast<int>(r.id.size()), SQLITE_STATIC);
        check(sqlite3_step(update), db, "update");
        sqlite3_reset(update);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    sqlite3_finalize(update);
    sqlite3_close(db);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu %.3f\n", rows.size(), seconds);
    return 0;
}
