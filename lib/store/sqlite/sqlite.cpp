#include "store/sqlite/sqlite.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

namespace actiondrop::store::sqlite {

namespace {

std::string describe(sqlite3* db, int rc) {
    std::string message = sqlite3_errstr(rc);
    if (db != nullptr) {
        const char* detail = sqlite3_errmsg(db);
        if (detail != nullptr && message != detail) message = message + ": " + detail;
    }
    return message;
}

}  // namespace

// ---- Statement -----------------------------------------------------------------------

Statement::Statement(sqlite3* db, std::string_view sql, const std::string& db_path)
    : db_(db), db_path_(&db_path) {
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
    if (rc != SQLITE_OK) {
        throw StoreError(db_path + ": cannot prepare \"" + std::string(sql.substr(0, 80)) +
                         "\": " + describe(db_, rc));
    }
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), db_path_(other.db_path_) {
    other.stmt_ = nullptr;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::fail(int rc, const char* what) const {
    const char* sql = sqlite3_sql(stmt_);
    std::string text = sql != nullptr ? std::string(sql).substr(0, 80) : std::string();
    throw StoreError(*db_path_ + ": " + what + " \"" + text + "\": " + describe(db_, rc));
}

void Statement::bind(int index, std::int64_t value) {
    if (int rc = sqlite3_bind_int64(stmt_, index, value); rc != SQLITE_OK) fail(rc, "bind");
}

void Statement::bind(int index, std::optional<std::int64_t> value) {
    if (value)
        bind(index, *value);
    else
        bind_null(index);
}

void Statement::bind_text(int index, std::string_view text) {
    // A non-null pointer even for "" so that the column holds '' and not NULL.
    const char* data = text.data() != nullptr ? text.data() : "";
    if (int rc =
            sqlite3_bind_text(stmt_, index, data, static_cast<int>(text.size()), SQLITE_STATIC);
        rc != SQLITE_OK)
        fail(rc, "bind");
}

void Statement::bind_blob(int index, std::string_view bytes) {
    const char* data = bytes.data() != nullptr ? bytes.data() : "";
    if (int rc =
            sqlite3_bind_blob(stmt_, index, data, static_cast<int>(bytes.size()), SQLITE_STATIC);
        rc != SQLITE_OK)
        fail(rc, "bind");
}

void Statement::bind_zeroblob(int index, std::int64_t size) {
    if (int rc = sqlite3_bind_zeroblob64(stmt_, index, static_cast<sqlite3_uint64>(size));
        rc != SQLITE_OK)
        fail(rc, "bind");
}

void Statement::bind_null(int index) {
    if (int rc = sqlite3_bind_null(stmt_, index); rc != SQLITE_OK) fail(rc, "bind");
}

bool Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // Read the message before the reset clears it.
    std::string message = describe(db_, rc);
    const char* sql = sqlite3_sql(stmt_);
    std::string text = sql != nullptr ? std::string(sql).substr(0, 80) : std::string();
    sqlite3_reset(stmt_);
    throw StoreError(*db_path_ + ": \"" + text + "\": " + message);
}

void Statement::run() {
    while (step()) {
    }
}

void Statement::reset() noexcept { sqlite3_reset(stmt_); }

std::int64_t Statement::int64_at(int column) const { return sqlite3_column_int64(stmt_, column); }

std::optional<std::int64_t> Statement::optional_int64_at(int column) const {
    if (is_null(column)) return std::nullopt;
    return int64_at(column);
}

std::string_view Statement::text_at(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (text == nullptr) return {};
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::string_view Statement::blob_at(int column) const {
    const void* data = sqlite3_column_blob(stmt_, column);
    int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr) return {};
    return {static_cast<const char*>(data), static_cast<std::size_t>(size)};
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Database ------------------------------------------------------------------------

Database::Database(const std::string& path) : path_(path) {
    // No memory statistics: they take a global mutex on every allocation of every statement.
    // Only possible before SQLite's first use; later calls are refused, harmlessly.
    static const int no_memstatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    (void)no_memstatus;
    // A ledger moved or deleted under a process that still writes it leaves its write-ahead
    // log at the path. A file made there now would be empty, and SQLite removes the log of an
    // empty database, with the commits not yet copied into the ledger: refused instead.
    if (struct stat st{}; !path_.empty() && path_ != ":memory:" &&
                          ::stat(path_.c_str(), &st) != 0 && errno == ENOENT &&
                          ::stat((path_ + "-wal").c_str(), &st) == 0)
        throw StoreError(path_ + ": the ledger file is gone but its write-ahead log " + path_ +
                         "-wal is still there: it was moved or deleted while in use; put it "
                         "back (docs/architecture.md, \"The ledger file\")");
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string message = describe(db_, rc);
        int system_error = db_ != nullptr ? sqlite3_system_errno(db_) : 0;
        if (system_error != 0) message += std::string(" (") + std::strerror(system_error) + ")";
        sqlite3_close(db_);
        db_ = nullptr;
        throw StoreError(path_ + ": cannot open database: " + message);
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, 10'000);
    try {
        // WAL lets readers (CLI, reports) run beside the one writer; FULL makes each
        // commit durable, which is cheap because a batch commits once.
        Statement journal(db_, "PRAGMA journal_mode=WAL", path_);
        std::string mode = journal.step() ? std::string(journal.text_at(0)) : std::string();
        if (mode != "wal")
            throw StoreError(path_ + ": cannot switch to WAL journal mode (got \"" + mode + "\")");
        exec("PRAGMA synchronous=FULL");
        exec("PRAGMA foreign_keys=ON");
        set_cache_kib(kCacheKiB);
        exec("PRAGMA temp_store=FILE");
    } catch (...) {
        statements_.clear();
        sqlite3_close_v2(db_);
        throw;
    }
}

Database::~Database() {
    statements_.clear();
    sqlite3_close_v2(db_);
}

void Database::fail(int rc, std::string_view what) const {
    throw StoreError(path_ + ": " + std::string(what) + ": " + describe(db_, rc));
}

void Database::exec(const char* sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &error);
    if (rc != SQLITE_OK) {
        std::string message = error != nullptr ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        std::string text = std::string(sql).substr(0, 80);
        throw StoreError(path_ + ": \"" + text + "\": " + message);
    }
}

Statement& Database::cached(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) return it->second;
    return statements_.emplace(std::string(sql), Statement(db_, sql, path_)).first->second;
}

Statement Database::prepare(std::string_view sql) { return Statement(db_, sql, path_); }

void Database::set_cache_kib(int kib) {
    const std::string sql = "PRAGMA cache_size=-" + std::to_string(kib);
    exec(sql.c_str());
}

std::int64_t Database::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
std::int64_t Database::changes() const { return sqlite3_changes64(db_); }

void Database::write_blob_from_file(const char* table, const char* column, std::int64_t rowid,
                                    const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw StoreError(file + ": cannot read output file: " + std::strerror(errno));
    sqlite3_blob* blob = nullptr;
    int rc = sqlite3_blob_open(db_, "main", table, column, rowid, 1, &blob);
    if (rc != SQLITE_OK) fail(rc, "cannot open blob");
    struct Closer {
        sqlite3_blob* b;
        ~Closer() { sqlite3_blob_close(b); }
    } closer{blob};
    const int size = sqlite3_blob_bytes(blob);
    // Pieces of 1 MiB, so that a large result file never sits in memory whole; a small one
    // (most are) gets its own size.
    std::vector<char> piece(static_cast<std::size_t>(std::clamp(size, 1, 1 << 20)));
    int offset = 0;
    while (offset < size) {
        int want = std::min<int>(static_cast<int>(piece.size()), size - offset);
        in.read(piece.data(), want);
        if (in.gcount() != want) throw StoreError(file + ": output file shrank while being stored");
        rc = sqlite3_blob_write(blob, piece.data(), want, offset);
        if (rc != SQLITE_OK) fail(rc, "cannot write blob");
        offset += want;
    }
    if (in.peek() != std::ifstream::traits_type::eof())
        throw StoreError(file + ": output file grew while being stored");
}

// ---- Transaction ---------------------------------------------------------------------

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction() {
    if (!open_) return;
    try {
        db_.exec("ROLLBACK");
    } catch (const StoreError&) {
        // The connection already rolled back (e.g. after an I/O error); nothing is left to undo.
    }
}

std::string Database::file_problem() const {
    // SQLite compares the path's inode with the one it opened (none for a database in memory).
    int moved = 0;
    if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK || !moved)
        return {};
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0)
        return path_ + ": another file was put at the ledger's path since this process opened it";
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR)
        return path_ + ": the ledger file was moved or deleted since this process opened it";
    return path_ + ": the ledger file cannot be checked (" + std::strerror(err) + ")";
}

void Database::commit() {
    if (auto problem = file_problem(); !problem.empty())
        throw StoreError(problem +
                         "; nothing was committed: put the ledger back at its path "
                         "(docs/architecture.md, \"The ledger file\")");
    exec("COMMIT");
}

void Transaction::commit() {
    db_.commit();
    open_ = false;
}

}  // namespace actiondrop::store::sqlite
