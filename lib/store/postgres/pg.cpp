#include "store/postgres/pg.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <unordered_map>

namespace actiondrop::store::postgres {

namespace {

// The libpq message without its trailing newline.
std::string trimmed(const char* message) {
    std::string text = message != nullptr ? message : "";
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    // One line, for a log: libpq puts hints on lines of their own.
    for (std::size_t at; (at = text.find('\n')) != std::string::npos;) {
        std::size_t end = at + 1;
        while (end < text.size() && (text[end] == '\t' || text[end] == ' ')) ++end;
        text.replace(at, end - at, " ");
    }
    return text;
}

std::function<void(std::string_view)>& notice_sink() {
    static std::function<void(std::string_view)> sink;
    return sink;
}

// libpq's notice processor: `where` is the Connection's where(). Nothing may be thrown
// through libpq's C frames.
void on_notice(void* where, const char* message) noexcept {
    try {
        const std::string line = *static_cast<const std::string*>(where) + ": " + trimmed(message);
        if (notice_sink()) {
            notice_sink()(line);
            return;
        }
        std::fprintf(stderr, "%s\n", line.c_str());
    } catch (...) {
        std::fprintf(stderr, "%s\n", message != nullptr ? message : "");
    }
}

// The connection options of a URL, by keyword; throws on a URL libpq cannot read.
std::unordered_map<std::string, std::string> parse_url(const std::string& url) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
    if (options == nullptr) {
        std::string message = trimmed(error);
        PQfreemem(error);
        throw StoreError("store URL is not a PostgreSQL connection string: " + message);
    }
    std::unordered_map<std::string, std::string> found;
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o)
        if (o->val != nullptr) found.emplace(o->keyword, o->val);
    PQconninfoFree(options);
    return found;
}

constexpr char kHex[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// An element of an array literal: quoted, with " and \ escaped.
void append_array_element(std::string& out, std::string_view value) {
    out += '"';
    for (char c : value) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

}  // namespace

// ---- Params --------------------------------------------------------------------------

Params& Params::text(std::string_view value) {
    values_.emplace_back(value);
    nulls_.push_back(false);
    binary_.push_back(false);
    return *this;
}

Params& Params::int64(std::int64_t value) { return text(std::to_string(value)); }

Params& Params::int64(std::optional<std::int64_t> value) { return value ? int64(*value) : null(); }

Params& Params::bytes(std::string_view value) {
    values_.emplace_back(value);
    nulls_.push_back(false);
    binary_.push_back(true);
    return *this;
}

Params& Params::null() {
    values_.emplace_back();
    nulls_.push_back(true);
    binary_.push_back(false);
    return *this;
}

Params& Params::text_array(const std::vector<std::string_view>& values) {
    std::string literal = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) literal += ',';
        append_array_element(literal, values[i]);
    }
    literal += '}';
    return text(literal);
}

Params& Params::int64_array(const std::vector<std::int64_t>& values) {
    std::string literal = "{";
    for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) literal += ',';
        literal += std::to_string(values[i]);
    }
    literal += '}';
    return text(literal);
}

// ---- Result --------------------------------------------------------------------------

Result& Result::operator=(Result&& other) noexcept {
    if (this != &other) {
        PQclear(result_);
        result_ = other.result_;
        where_ = other.where_;
        other.result_ = nullptr;
    }
    return *this;
}

Result::~Result() { PQclear(result_); }

int Result::rows() const { return result_ != nullptr ? PQntuples(result_) : 0; }

std::int64_t Result::affected() const {
    const char* text = result_ != nullptr ? PQcmdTuples(result_) : "";
    std::int64_t n = 0;
    std::from_chars(text, text + std::char_traits<char>::length(text), n);
    return n;
}

bool Result::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view Result::text(int row, int column) const {
    return {PQgetvalue(result_, row, column),
            static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t Result::int64(int row, int column) const {
    const std::string_view value = text(row, column);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size())
        throw StoreError((where_ ? *where_ : std::string("PostgreSQL")) + ": column " +
                         PQfname(result_, column) + " holds \"" + std::string(value) +
                         "\", not an integer");
    return n;
}

std::optional<std::int64_t> Result::optional_int64(int row, int column) const {
    if (is_null(row, column)) return std::nullopt;
    return int64(row, column);
}

int Result::columns() const { return result_ != nullptr ? PQnfields(result_) : 0; }

unsigned Result::type(int column) const { return PQftype(result_, column); }

bool Result::boolean(int row, int column) const { return text(row, column) == "t"; }

std::string Result::bytes(int row, int column) const {
    const std::string_view value = text(row, column);
    if (!value.starts_with("\\x") || value.size() % 2 != 0)
        throw StoreError((where_ ? *where_ : std::string("PostgreSQL")) + ": column " +
                         PQfname(result_, column) + " is not bytea in hex");
    std::string out;
    out.reserve(value.size() / 2 - 1);
    for (std::size_t i = 2; i < value.size(); i += 2) {
        const int high = hex_value(value[i]), low = hex_value(value[i + 1]);
        if (high < 0 || low < 0)
            throw StoreError((where_ ? *where_ : std::string("PostgreSQL")) + ": column " +
                             PQfname(result_, column) + " is not bytea in hex");
        out += static_cast<char>(high * 16 + low);
    }
    return out;
}

// ---- Connection ----------------------------------------------------------------------

Connection::Connection(std::string url) : url_(std::move(url)) {
    const auto options = parse_url(url_);
    if (options.contains("password"))
        throw StoreError(
            "the store URL holds a password: give it in a passfile instead (PGPASSFILE, "
            "passfile=, or ~/.pgpass), so that it never shows in a config, a command line or a "
            "log");
    auto option = [&](const char* key, const char* otherwise) {
        auto it = options.find(key);
        return it != options.end() && !it->second.empty() ? it->second : std::string(otherwise);
    };
    where_ = "PostgreSQL " + option("host", option("hostaddr", "local").c_str()) + ":" +
             option("port", "5432") + "/" + option("dbname", option("user", "").c_str());
    connect();
}

Connection::~Connection() { PQfinish(conn_); }

void set_notice_sink(std::function<void(std::string_view)> sink) {
    notice_sink() = std::move(sink);
}

void Connection::connect() {
    PQfinish(conn_);
    // Defaults first: whatever the URL says wins over them (expand_dbname).
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "actiondrop", url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr) throw StoreError(where_ + ": out of memory while connecting");
    if (PQstatus(conn_) != CONNECTION_OK)
        throw StoreError(where_ + ": cannot connect: " + trimmed(PQerrorMessage(conn_)));
    // Not libpq's default, which prints the bare text on stderr, outside any log's format.
    PQsetNoticeProcessor(conn_, &on_notice, &where_);
    // Instants are integers and text is compared bytewise by the schema; these keep the
    // rest of a session's behaviour the same whatever the server's defaults.
    exec(
        "SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; "
        "SET client_min_messages = warning");
}

void Connection::reconnect_if_broken() {
    if (PQstatus(conn_) == CONNECTION_OK) return;
    connect();
}

void Connection::begin(const char* statement) {
    if (transaction_) throw StoreError(where_ + ": BEGIN inside a transaction");
    reconnect_if_broken();
    try {
        exec(statement);
    } catch (const StoreError&) {
        if (PQstatus(conn_) == CONNECTION_OK) throw;
        connect();
        exec(statement);
    }
    transaction_ = true;
}

void Connection::require_connected(std::string_view what) {
    if (!transaction_) {
        reconnect_if_broken();
        return;
    }
    // libpq's own status says "unknown" on a connection that was lost, and "idle" once it is
    // opened again: only this flag knows that a transaction was begun, and lost with it.
    if (PQstatus(conn_) != CONNECTION_OK)
        throw StoreError(where_ + ": " + std::string(what) +
                         ": the connection was lost, and its transaction with it");
}

void Connection::rollback() {
    if (!transaction_) return;
    transaction_ = false;
    if (PQstatus(conn_) != CONNECTION_OK) return;
    try {
        exec("ROLLBACK");
    } catch (const StoreError&) {
        // Lost while rolling back: the server ends the transaction itself.
        if (PQstatus(conn_) != CONNECTION_OK) return;
        // A live connection whose transaction would not end: closed, so that the server ends
        // it, and the next statement runs on a new connection, never inside it.
        PQfinish(conn_);
        conn_ = nullptr;
        throw;
    }
}

void Connection::commit() {
    if (!transaction_) throw StoreError(where_ + ": COMMIT outside a transaction");
    if (PQstatus(conn_) != CONNECTION_OK) {
        transaction_ = false;  // ended by the server
        throw StoreError(where_ + ": COMMIT: the connection was lost, and its transaction with it");
    }
    // A failed transaction answers COMMIT with a ROLLBACK that reports success. It stays
    // begun: rollback() ends it.
    const auto status = PQtransactionStatus(conn_);
    if (status == PQTRANS_INERROR)
        throw StoreError(where_ +
                         ": COMMIT: a statement of the transaction failed; the "
                         "transaction is rolled back");
    // A server with no transaction open (one ended by a statement of its own) would answer
    // COMMIT with success and nothing in it.
    if (status != PQTRANS_INTRANS) {
        transaction_ = false;
        throw StoreError(where_ + ": COMMIT: the server has no transaction open");
    }
    // Whatever COMMIT answers, the transaction is over: committed, or ended by the server.
    transaction_ = false;
    exec("COMMIT");
}

void Connection::fail(std::string_view what, pg_result* result) const {
    std::string message = result != nullptr ? trimmed(PQresultErrorMessage(result)) : "";
    if (message.empty()) message = trimmed(PQerrorMessage(conn_));
    PQclear(result);
    throw StoreError(where_ + ": " + std::string(what) + ": " + message);
}

Result Connection::check(pg_result* result, std::string_view what) const {
    const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(what, result);
    return Result(result, &where_);
}

void Connection::exec(std::string_view sql) {
    const std::string text(sql);
    const std::string label = "\"" + text.substr(0, 80) + "\"";
    require_connected(label);
    check(PQexec(conn_, text.c_str()), label);
}

Result Connection::run(std::string_view sql, const Params& params) {
    require_connected("\"" + std::string(sql.substr(0, 80)) + "\"");
    // The unnamed statement: parsed, bound and run in one round trip, and nothing left on the
    // server connection. A pooler in transaction mode may hand each transaction another server
    // connection, where a named statement prepared before would not exist (docs/postgres.md,
    // "Poolers"); the statements that matter for speed work on sets, so planning them each
    // time costs little.
    const std::string text(sql);
    const int n = params.size();
    std::vector<const char*> values(static_cast<std::size_t>(n));
    std::vector<int> lengths(static_cast<std::size_t>(n)), formats(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        values[i] = params.nulls_[i] ? nullptr : params.values_[i].data();
        lengths[i] = static_cast<int>(params.values_[i].size());
        formats[i] = params.binary_[i] ? 1 : 0;
    }
    return check(PQexecParams(conn_, text.c_str(), n, nullptr, values.data(), lengths.data(),
                              formats.data(), 0),
                 "\"" + text.substr(0, 80) + "\"");
}

void Connection::copy_begin(std::string_view sql) {
    const std::string text(sql);
    pg_result* result = PQexec(conn_, text.c_str());
    if (result == nullptr || PQresultStatus(result) != PGRES_COPY_IN)
        fail("\"" + text.substr(0, 80) + "\"", result);
    PQclear(result);
    copying_ = true;
}

void Connection::copy_put(std::string_view data) {
    if (data.empty()) return;
    if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) != 1) fail("COPY data");
}

void Connection::copy_end() {
    copying_ = false;
    if (PQputCopyEnd(conn_, nullptr) != 1) fail("COPY end");
    // The COPY's own result, then the end of the command.
    pg_result* result = nullptr;
    while ((result = PQgetResult(conn_)) != nullptr) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK) {
            std::string message = trimmed(PQresultErrorMessage(result));
            PQclear(result);
            while ((result = PQgetResult(conn_)) != nullptr) PQclear(result);
            throw StoreError(where_ + ": COPY: " + message);
        }
        PQclear(result);
    }
}

void Connection::copy_abort() noexcept {
    if (conn_ == nullptr || !copying_) return;
    copying_ = false;
    PQputCopyEnd(conn_, "abandoned");
    while (pg_result* result = PQgetResult(conn_)) PQclear(result);
}

// ---- Transaction ---------------------------------------------------------------------

Transaction::Transaction(Connection& db) : db_(db) { db_.begin(); }

Transaction::~Transaction() {
    if (!open_) return;
    try {
        db_.rollback();
    } catch (const StoreError&) {
        // A broken connection has rolled back already: the server ends its transaction.
    }
}

Snapshot::Snapshot(Connection& db) : db_(db) {
    if (db_.in_transaction()) return;
    db_.begin("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    own_ = true;
}

Snapshot::~Snapshot() {
    if (!own_) return;
    try {
        db_.rollback();  // it wrote nothing: ending it is all there is to do
    } catch (const StoreError&) {
        // A broken connection has ended its transaction already.
    }
}

void Transaction::commit() {
    db_.commit();
    open_ = false;
}

// ---- COPY text format ----------------------------------------------------------------

void append_copy_text(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                out += c;
        }
    }
}

void append_hex(std::string& out, std::string_view bytes) {
    for (unsigned char c : bytes) {
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
}

void append_copy_bytes(std::string& out, std::string_view value) {
    out += "\\\\x";
    append_hex(out, value);
}

}  // namespace actiondrop::store::postgres
