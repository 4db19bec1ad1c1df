// The pipeline-mode reference of bench_apply_pg.py: the same changes as its COPY + UPDATE … FROM
// reference (a modification file's ActionId and Amount), written as one prepared UPDATE per
// row through libpq's pipeline mode, 1,000 statements per sync, in one transaction.
// Usage: reference_pg_pipeline URL MODIFICATIONS.csv; prints "ROWS SECONDS".
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(PGconn* c, const std::string& what) {
    std::cerr << what << ": " << PQerrorMessage(c);
    std::exit(1);
}

void exec(PGconn* c, const char* sql) {
    PGresult* r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) die(c, sql);
    PQclear(r);
}

// The amount in cents of "12.25", "1e3" or "" (empty: NULL, the amount is kept).
std::string cents(const std::string& text) {
    if (text.empty()) return {};
    return std::to_string(
        static_cast<long long>(std::llround(std::strtod(text.c_str(), nullptr) * 100)));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: reference_pg_pipeline URL MODIFICATIONS.csv\n";
        return 64;
    }
    std::vector<std::pair<std::string, std::string>> rows;
    {
        std::ifstream in(argv[2]);
        std::string line;
        std::getline(in, line);  // the header
        while (std::getline(in, line)) {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            std::istringstream fields(line);
            std::string id, amount;
            std::getline(fields, id, ',');
            std::getline(fields, amount, ',');
            rows.emplace_back(id, cents(amount));
        }
    }
    PGconn* c = PQconnectdb(argv[1]);
    if (PQstatus(c) != CONNECTION_OK) die(c, "connect");
    const auto start = std::chrono::steady_clock::now();
    exec(c, "BEGIN");
    PGresult* prepared = PQprepare(c, "u",
                                   "UPDATE actions SET amount = coalesce($2::bigint, amount), "
                                   "modification_count = modification_count + 1 "
                                   "WHERE account_id = '1000' AND action_id = $1",
                                   0, nullptr);
    if (PQresultStatus(prepared) != PGRES_COMMAND_OK) die(c, "prepare");
    PQclear(prepared);
    if (PQenterPipelineMode(c) != 1) die(c, "pipeline mode");
    constexpr std::size_t kPerSync = 1000;
    for (std::size_t first = 0; first < rows.size(); first += kPerSync) {
        const std::size_t last = std::min(rows.size(), first + kPerSync);
        for (std::size_t i = first; i < last; ++i) {
            const char* values[2] = {rows[i].first.c_str(),
                                     rows[i].second.empty() ? nullptr : rows[i].second.c_str()};
            if (PQsendQueryPrepared(c, "u", 2, values, nullptr, nullptr, 0) != 1) die(c, "send");
        }
        if (PQpipelineSync(c) != 1) die(c, "sync");
        // Each statement's result, then its end (nullptr), then the sync's.
        for (std::size_t i = first; i < last; ++i) {
            PGresult* r = PQgetResult(c);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) die(c, "update");
            PQclear(r);
            if (PQgetResult(c) != nullptr) die(c, "result end");
        }
        PGresult* sync = PQgetResult(c);
        if (PQresultStatus(sync) != PGRES_PIPELINE_SYNC) die(c, "sync result");
        PQclear(sync);
    }
    if (PQexitPipelineMode(c) != 1) die(c, "leave pipeline mode");
    exec(c, "COMMIT");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%zu %.3f\n", rows.size(), seconds);
    PQfinish(c);
    return 0;
}
