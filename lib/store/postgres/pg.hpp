#pragma once
// A small RAII layer over libpq (docs/postgres.md): one connection, statements run with their
// parameters kept apart from the text, COPY streams, and every failure turned into a
// StoreError naming the server (never the password, which only a passfile holds).
// A Connection is used by one thread at a time.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_error.hpp"

struct pg_conn;
struct pg_result;

namespace actiondrop::store::postgres {

// The parameters of one statement, as text (bytes as binary): kept here until it has run.
class Params {
public:
    Params& text(std::string_view value);
    Params& int64(std::int64_t value);
    Params& int64(std::optional<std::int64_t> value);  // NULL when empty
    Params& bytes(std::string_view value);
    Params& null();
    // A text[] (or bigint[]) array literal of the values, for `= ANY($n)`.
    Params& text_array(const std::vector<std::string_view>& values);
    Params& int64_array(const std::vector<std::int64_t>& values);

    int size() const { return static_cast<int>(values_.size()); }
    void clear() {
        values_.clear();
        nulls_.clear();
        binary_.clear();
    }

private:
    friend class Connection;
    std::vector<std::string> values_;
    std::vector<bool> nulls_;
    std::vector<bool> binary_;
};

// The rows of a statement that ran. Values are read as text (integers parsed, bytea decoded).
class Result {
public:
    Result() = default;
    Result(pg_result* result, const std::string* where) : result_(result), where_(where) {}
    Result(Result&& other) noexcept : result_(other.result_), where_(other.where_) {
        other.result_ = nullptr;
    }
    Result& operator=(Result&& other) noexcept;
    Result(const Result&) = delete;
    ~Result();

    int rows() const;
    // The rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const;
    bool is_null(int row, int column) const;
    std::string_view text(int row, int column) const;
    std::int64_t int64(int row, int column) const;
    std::optional<std::int64_t> optional_int64(int row, int column) const;
    bool boolean(int row, int column) const;
    // A bytea column (hex text) decoded.
    std::string bytes(int row, int column) const;
    int columns() const;
    // The column's type: kInt8, kText, kBytea, kBool or another PostgreSQL type oid.
    unsigned type(int column) const;
    static constexpr unsigned kBool = 16, kBytea = 17, kInt8 = 20, kText = 25;

private:
    pg_result* result_ = nullptr;
    const std::string* where_ = nullptr;
};

// Where the server's notices and warnings go (store::set_server_messages): one line each,
// "<where>: WARNING:  …". Without a sink, stderr.
void set_notice_sink(std::function<void(std::string_view)> sink);

class Connection {
public:
    // Connects with a libpq URL (postgresql://user@host:port/db?sslmode=...). A URL that holds
    // a password is refused: the password belongs in a passfile (docs/postgres.md, "Secrets").
    explicit Connection(std::string url);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Runs SQL without parameters (schema, transaction control); several statements may be
    // given at once.
    void exec(std::string_view sql);
    // Runs a statement with its parameters apart from its text (never spliced into it), as the
    // unnamed statement of the extended protocol.
    Result run(std::string_view sql, const Params& params);
    Result run(std::string_view sql) { return run(sql, Params{}); }

    // COPY ... FROM STDIN: begin, send the data in pieces (text format), end.
    void copy_begin(std::string_view sql);
    void copy_put(std::string_view data);
    void copy_end();
    // Ends a COPY in flight as failed (its transaction is then aborted); nothing when none is.
    void copy_abort() noexcept;

    // BEGIN, on a connection opened again if the server dropped it since its last use (after
    // a server restart the first statement finds out; nothing has run yet, so it is safe to
    // try once more). `statement` is BEGIN with its options.
    //
    // From BEGIN until commit() or rollback() the connection is never opened again: a lost
    // connection lost its transaction, and every statement, COMMIT included, is then an error
    // (on a new connection it would take effect outside the transaction, or "commit" nothing).
    void begin(const char* statement = "BEGIN");
    // Whether begin() was called and the transaction not yet ended by commit() or rollback(),
    // even when the connection was lost meanwhile.
    bool in_transaction() const { return transaction_; }
    // Ends the transaction begun, if there is one, with ROLLBACK. On a lost connection there is
    // nothing to send: the server ended it, and a ROLLBACK on a new connection would only draw
    // the server's warning "there is no transaction in progress"; the next statement opens
    // it. A ROLLBACK that fails on a live connection closes it (and is an error).
    void rollback();
    // COMMIT of the transaction begun. An error when the connection was lost, when the server
    // has no transaction open, and when a statement of the transaction failed (PostgreSQL
    // answers COMMIT with a rollback then); in the first two cases the transaction is over,
    // in the third it stays begun, for rollback() to end.
    void commit();
    // "PostgreSQL 127.0.0.1:5432/actiondrop": how errors name the server.
    const std::string& where() const { return where_; }

private:
    void connect();
    // Outside a transaction, a connection found broken is opened again: a server restart costs
    // the statement in flight, not the store. Private: inside one it would carry the
    // transaction's next statements outside it.
    void reconnect_if_broken();
    // Before a statement: outside a transaction, reconnect_if_broken(); inside one, an error
    // naming `what` when the connection was lost.
    void require_connected(std::string_view what);
    [[noreturn]] void fail(std::string_view what, pg_result* result = nullptr) const;
    Result check(pg_result* result, std::string_view what) const;

    std::string url_;
    std::string where_;
    pg_conn* conn_ = nullptr;
    bool copying_ = false;
    bool transaction_ = false;  // see in_transaction()
};

// BEGIN ... COMMIT, rolled back if the scope ends without commit().
class Transaction {
public:
    explicit Transaction(Connection& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Connection& db_;
    bool open_ = true;
};

// One moment of the store for a reader of many statements (a report that pages through an
// account): a READ ONLY, REPEATABLE READ transaction, so every statement sees the same
// committed state, whatever commits meanwhile. Inside a transaction already open, that one
// is used as it is. Ends with the scope.
class Snapshot {
public:
    explicit Snapshot(Connection& db);
    ~Snapshot();
    Snapshot(const Snapshot&) = delete;
    Snapshot& operator=(const Snapshot&) = delete;

private:
    Connection& db_;
    bool own_ = false;
};

// A COPY text-format field: backslash, tab, newline and carriage return escaped.
void append_copy_text(std::string& out, std::string_view value);
// A bytea as a COPY text-format field (\\x followed by hex).
void append_copy_bytes(std::string& out, std::string_view value);
// The bytes in lowercase hex, two digits each: the body of such a field, for one written in
// pieces.
void append_hex(std::string& out, std::string_view bytes);

}  // namespace actiondrop::store::postgres
