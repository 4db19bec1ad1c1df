#pragma once
// A small RAII layer over the SQLite C API: one connection, prepared statements kept for
// the connection's life, and every failure turned into a StoreError naming the database.
// A Database is used by one thread at a time (the connection is opened without a mutex).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace actiondrop::store::sqlite {

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql, const std::string& db_path);
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    ~Statement();

    void bind(int index, std::int64_t value);
    void bind(int index, std::optional<std::int64_t> value);  // NULL when empty
    // Text and blobs are bound without a copy: the bytes must stay alive until the
    // statement is stepped to completion or reset.
    void bind_text(int index, std::string_view text);
    void bind_blob(int index, std::string_view bytes);
    void bind_zeroblob(int index, std::int64_t size);
    void bind_null(int index);

    // Advances to the next row: true when a row is available, false when done.
    bool step();
    // Runs a statement that returns no rows (INSERT/UPDATE/DELETE).
    void run();
    void reset() noexcept;

    std::int64_t int64_at(int column) const;
    std::optional<std::int64_t> optional_int64_at(int column) const;
    std::string_view text_at(int column) const;
    std::string_view blob_at(int column) const;
    bool is_null(int column) const;

private:
    [[noreturn]] void fail(int rc, const char* what) const;

    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
    const std::string* db_path_;
};

// Resets a statement when the scope ends, so that a read cursor never keeps a read
// transaction (and its snapshot) open after use.
class Use {
public:
    explicit Use(Statement& statement) : statement_(statement) { statement_.reset(); }
    ~Use() { statement_.reset(); }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    Statement* operator->() { return &statement_; }
    Statement& operator*() { return statement_; }

private:
    Statement& statement_;
};

// The page cache of a connection, in KiB: it keeps the upper B-tree levels of a large
// ledger in memory.
inline constexpr int kCacheKiB = 64 * 1024;

class Database {
public:
    // Opens (creating if needed) the database file; throws StoreError when it cannot, and
    // when the file is gone but its write-ahead log is there (moved or deleted while in use).
    explicit Database(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs SQL without parameters (schema, pragmas, transaction control).
    void exec(const char* sql);
    // COMMIT, after checking that the file at the path is still the one opened: SQLite keeps
    // writing the inode it opened, so a commit into a ledger moved, deleted or replaced under
    // this process would be lost with that inode (docs/architecture.md, "The ledger file").
    // Throws StoreError then, the transaction still open for its owner to roll back.
    void commit();
    // Why commit() would refuse now, or empty.
    std::string file_problem() const;
    // A statement prepared once per connection and reused; the reference stays valid for
    // the connection's life.
    Statement& cached(std::string_view sql);
    // A fresh statement, for cursors that may be open while other cached ones run.
    Statement prepare(std::string_view sql);

    // Streams a file's bytes into a zeroblob already inserted at (table, column, rowid).
    void write_blob_from_file(const char* table, const char* column, std::int64_t rowid,
                              const std::string& file);

    // PRAGMA cache_size in KiB.
    void set_cache_kib(int kib);

    std::int64_t last_insert_rowid() const;
    // Rows changed by the last INSERT, UPDATE or DELETE.
    std::int64_t changes() const;
    const std::string& path() const { return path_; }
    sqlite3* handle() const { return db_; }
    [[noreturn]] void fail(int rc, std::string_view what) const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    std::string path_;
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, Statement, Hash, std::equal_to<>> statements_;
};

// BEGIN IMMEDIATE ... COMMIT, rolled back if the scope ends without commit().
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Database& db_;
    bool open_ = true;
};

}  // namespace actiondrop::store::sqlite
