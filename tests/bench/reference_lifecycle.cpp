// The reference the lifecycle benchmark is measured against (see bench_lifecycle.py): one raw
// bulk UPDATE of the rows a lifecycle run locks (every PENDING action of the account whose
// locking date has come), setting status and finance status, in one transaction, with the
// store's own settings. No history, no funds entries, no decisions: the floor of any run.
// usage: reference_lifecycle DB ACCOUNT NOW_MILLIS
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {
void check(int rc, sqlite3* db, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        std::exit(1);
    }
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s DB ACCOUNT NOW_MILLIS\n", argv[0]);
        return 64;
    }
    const auto start = std::chrono::steady_clock::now();
    sqlite3* db = nullptr;
    // The store's settings (lib/store): no memory statistics, a connection without a mutex,
    // WAL, synchronous FULL, 64 MiB page cache, temporary files on disk.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    check(sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr), db,
          "open");
    check(sqlite3_exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA "
                       "cache_size=-65536; PRAGMA temp_store=FILE;",
                       nullptr, nullptr, nullptr),
          db, "pragmas");
    sqlite3_stmt* update = nullptr;
    check(sqlite3_prepare_v2(db,
                             "UPDATE actions SET status = 'APPROVED', finance_status = 'CLEARED' "
                             "WHERE account_id = ?1 AND status = 'PENDING' AND locking_date <= ?2",
                             -1, &update, nullptr),
          db, "prepare");
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    sqlite3_bind_text(update, 1, argv[2], -1, SQLITE_STATIC);
    sqlite3_bind_int64(update, 2, std::atoll(argv[3]));
    check(sqlite3_step(update), db, "update");
    const long long rows = sqlite3_changes64(db);
    sqlite3_finalize(update);
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    sqlite3_close(db);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%lld %.3f\n", rows, seconds);
    return 0;
}
