#include "store/copy_store.hpp"

#include <array>

#include "store/open_store.hpp"
#include "store/postgres/migrations.hpp"
#include "store/postgres/pg.hpp"
#include "store/postgres/rows.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite.hpp"
#include "store/store.hpp"

namespace actiondrop::store {

namespace {

// A table of the ledger: its name on each side, and the columns in the order both SELECTs
// give them. The two schemas have the same columns (docs/postgres.md, "Schema"); SQLite's
// rowid of a batch is PostgreSQL's `ord`, and its pull table has an older name.
struct Table {
    const char* sqlite;
    const char* postgres;
    const char* columns;        // the PostgreSQL columns
    const char* sqlite_select;  // the same columns from SQLite, in key order
};

#define ALL_ACTION_COLUMNS PG_ACTION_COLUMNS ", cleared_at, invoice_id"
#define TRANSFER_COLUMNS                                                                  \
    "seq, transfer_id, account_id, partner_id, campaign_id, type, amount, payment_date, " \
    "applied_at, comments, batch_id, invoice_id"
#define INVOICE_COLUMNS \
    "invoice_id, account_id, partner_id, invoice_date, local_date, currency, total, issued_at"
#define LINE_COLUMNS "invoice_id, ord, kind, item, id, event_date, cleared_at, payout, comments"
#define PULL_COLUMNS                                                                             \
    "inbox, remote_path, size, mtime, file_name, claim, state, claimed_at, finished_at, owner, " \
    "lease_until"
#define FUNDS_COLUMNS "id, account_id, kind, amount, at, reference, item"

constexpr std::array kTables = {
    Table{"catalog_accounts", "catalog_accounts", "account_id, document",
          "SELECT account_id, document FROM catalog_accounts ORDER BY account_id"},
    Table{
        "fx_rates", "fx_rates", "ord, currency, account_currency, rate, effective_from",
        "SELECT ord, currency, account_currency, rate, effective_from FROM fx_rates ORDER BY ord"},
    Table{"counters", "counters", "name, value", "SELECT name, value FROM counters ORDER BY name"},
    Table{"actions", "actions", ALL_ACTION_COLUMNS,
          "SELECT " ALL_ACTION_COLUMNS " FROM actions ORDER BY seq"},
    Table{"history_batches", "history_batches", "id, batch_id",
          "SELECT id, batch_id FROM history_batches ORDER BY id"},
    Table{"history", "history", PG_HISTORY_COLUMNS,
          "SELECT " PG_HISTORY_COLUMNS " FROM history ORDER BY entry_id"},
    Table{"batches", "batches", "ord, " PG_BATCH_COLUMNS,
          "SELECT rowid, " PG_BATCH_COLUMNS " FROM batches ORDER BY rowid"},
    Table{"batch_outputs", "batch_outputs", "batch_id, ord, name, content",
          "SELECT batch_id, ord, name, content FROM batch_outputs ORDER BY id"},
    Table{"sftp_pulls", "pulls", PULL_COLUMNS,
          "SELECT " PULL_COLUMNS " FROM sftp_pulls ORDER BY inbox, remote_path, size, mtime"},
    Table{"funds_entries", "funds_entries", FUNDS_COLUMNS,
          "SELECT " FUNDS_COLUMNS " FROM funds_entries ORDER BY id"},
    Table{"transfers", "transfers", TRANSFER_COLUMNS,
          "SELECT " TRANSFER_COLUMNS " FROM transfers ORDER BY seq"},
    Table{"invoices", "invoices", INVOICE_COLUMNS,
          "SELECT " INVOICE_COLUMNS " FROM invoices ORDER BY invoice_id"},
    Table{"invoice_lines", "invoice_lines", LINE_COLUMNS,
          "SELECT " LINE_COLUMNS " FROM invoice_lines ORDER BY invoice_id, ord"},
    Table{"invoice_files", "invoice_files", "invoice_id, written_at",
          "SELECT invoice_id, written_at FROM invoice_files ORDER BY invoice_id"},
};

// The sums of money compared after the copy, the same SQL on both sides (the funds entries
// by kind, so that a deposit lost and a debit lost cannot cancel out).
struct Sum {
    const char* what;
    const char* sql;
};
constexpr std::array kSums = {
    Sum{"actions: sum of payout, sum of amount",
        "SELECT coalesce(sum(payout), 0) || ' ' || coalesce(sum(amount), 0) FROM actions"},
    Sum{"funds entries: DEPOSIT sum",
        "SELECT coalesce(sum(amount), 0) FROM funds_entries WHERE kind = 'DEPOSIT'"},
    Sum{"funds entries: CLEARING sum",
        "SELECT coalesce(sum(amount), 0) FROM funds_entries WHERE kind = 'CLEARING'"},
    Sum{"funds entries: TRANSFER sum",
        "SELECT coalesce(sum(amount), 0) FROM funds_entries WHERE kind = 'TRANSFER'"},
    Sum{"transfers: sum of amount", "SELECT coalesce(sum(amount), 0) FROM transfers"},
    Sum{"invoices: sum of total", "SELECT coalesce(sum(total), 0) FROM invoices"},
    Sum{"invoice lines: sum of payout", "SELECT coalesce(sum(payout), 0) FROM invoice_lines"},
    Sum{"history: sum of new payout", "SELECT coalesce(sum(new_payout), 0) FROM history"},
    Sum{"batch outputs: bytes", "SELECT coalesce(sum(length(content)), 0) FROM batch_outputs"},
};

// The serial columns whose sequences go on after the copied rows.
constexpr std::array<std::array<const char*, 2>, 4> kSerials = {
    {{"history_batches", "id"}, {"batches", "ord"}, {"funds_entries", "id"}, {"transfers", "seq"}}};

std::string sqlite_value(sqlite::Database& db, const char* sql) {
    sqlite::Use q(db.cached(sql));
    if (!q->step()) return "";
    return std::string(q->text_at(0));
}

std::string postgres_value(postgres::Connection& db, const std::string& sql) {
    postgres::Result r = db.run(sql);
    return r.rows() > 0 ? std::string(r.text(0, 0)) : std::string();
}

// Streams one table's rows from SQLite into PostgreSQL by COPY; returns how many.
std::int64_t copy_table(sqlite::Database& from, postgres::Connection& to, const Table& table) {
    // The target's column types say how to read and write each value.
    const postgres::Result shape =
        to.run(std::string("SELECT ") + table.columns + " FROM " + table.postgres + " LIMIT 0");
    std::vector<unsigned> types;
    for (int c = 0; c < shape.columns(); ++c) types.push_back(shape.type(c));

    to.copy_begin(std::string("COPY ") + table.postgres + " (" + table.columns + ") FROM STDIN");
    std::int64_t rows = 0;
    std::string buffer;
    constexpr std::size_t kSend = 1u << 20;  // COPY data sent in pieces of about this size
    // A bytea value in COPY's text form: \\x, then its bytes in hex. A large one (a batch's
    // result file: 75 MB for a million rows) is sent in pieces, which COPY takes anywhere in
    // a line, so that no escaped copy of it is held whole (docs/postgres.md, "Moving a SQLite
    // ledger over").
    const auto put_bytes = [&](std::string_view bytes) {
        postgres::append_copy_bytes(buffer, {});  // the prefix
        for (std::size_t at = 0; at < bytes.size(); at += kSend / 2) {
            postgres::append_hex(buffer, bytes.substr(at, kSend / 2));
            if (buffer.size() >= kSend) {
                to.copy_put(buffer);
                buffer.clear();
            }
        }
    };
    try {
        sqlite::Statement st = from.prepare(table.sqlite_select);
        sqlite::Use q(st);
        while (q->step()) {
            for (std::size_t c = 0; c < types.size(); ++c) {
                const int column = static_cast<int>(c);
                if (c) buffer += '\t';
                if (q->is_null(column))
                    buffer += "\\N";
                else if (types[c] == postgres::Result::kBytea)
                    put_bytes(q->blob_at(column));
                else if (types[c] == postgres::Result::kInt8)
                    buffer += std::to_string(q->int64_at(column));
                else
                    postgres::append_copy_text(buffer, q->text_at(column));
            }
            buffer += '\n';
            ++rows;
            if (buffer.size() >= kSend) {
                to.copy_put(buffer);
                buffer.clear();
            }
        }
        to.copy_put(buffer);
        to.copy_end();
    } catch (...) {
        to.copy_abort();
        throw;
    }
    return rows;
}

}  // namespace

CopyReport copy_store(const std::string& from, const std::string& to,
                      const std::function<void(const std::string&, std::int64_t)>& progress) {
    const auto file = local_path(from);
    if (!file)
        throw StoreError("store copy: the source must be a SQLite store (sqlite:PATH), not " +
                         from);
    if (!to.starts_with("postgresql://") && !to.starts_with("postgres://"))
        throw StoreError("store copy: the target must be a PostgreSQL store (postgresql://…)");
    // Both at the latest schema, so that their tables have the same columns.
    open_store(from)->migrate();
    open_store(to)->migrate();

    sqlite::Database source(file->string());
    postgres::Connection target(to);
    // One snapshot of the source for the copy and its checks (WAL lets writers go on, but
    // the daemon should be stopped: what it commits after the snapshot is not copied).
    source.exec("BEGIN");
    postgres::Transaction tx(target);
    for (const char* table : {"catalog_accounts", "actions", "history", "batches", "pulls",
                              "funds_entries", "transfers", "invoices"}) {
        if (postgres_value(target, std::string("SELECT count(*) FROM ") + table) != "0")
            throw StoreError(target.where() + ": store copy needs an empty store, and its table " +
                             table + " has rows");
    }
    target.run("DELETE FROM counters");  // the new store's own, replaced by the source's

    CopyReport report;
    for (const Table& table : kTables) {
        const std::int64_t rows = copy_table(source, target, table);
        if (progress) progress(table.postgres, rows);
    }
    for (const auto& [table, column] : kSerials)
        target.run(std::string("SELECT setval(pg_get_serial_sequence('") + table + "', '" + column +
                   "'), coalesce((SELECT max(" + column + ") FROM " + table + "), 0) + 1, false)");

    for (const Table& table : kTables)
        report.checks.push_back(CopyCheck{
            std::string(table.postgres) + ": rows",
            sqlite_value(source, (std::string("SELECT count(*) FROM ") + table.sqlite).c_str()),
            postgres_value(target, std::string("SELECT count(*) FROM ") + table.postgres)});
    for (const Sum& sum : kSums)
        report.checks.push_back(
            CopyCheck{sum.what, sqlite_value(source, sum.sql), postgres_value(target, sum.sql)});
    source.exec("COMMIT");
    if (report.agrees()) tx.commit();
    return report;
}

}  // namespace actiondrop::store
