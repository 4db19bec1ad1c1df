#pragma once
// One batch file end to end — hash, journal, read, rules, commit, results — the single
// path that the CLI and the daemon share (docs/formats.md, docs/ingest.md).
//
// Exactly once: the file's row effects, its journal record and its output files commit
// in one store transaction, so a crash before the commit leaves the ledger as it was
// and a crash after it leaves a complete batch whose outputs are delivered again.
// A later upload of the same content is DUPLICATE_FILE (unless the inbox reprocesses).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "batch/outputs.hpp"
#include "config/service_config.hpp"
#include "ledger/catalog.hpp"
#include "store/store.hpp"
#include "util/opened_file.hpp"

namespace actiondrop::apply {

using Clock = std::function<ledger::Instant()>;

struct ApplyRequest {
    std::filesystem::path file;    // where the bytes are (opened here unless `opened` is set)
    // The file already opened and checked by the caller (a claim): every read goes through
    // this descriptor, never through a path (docs/ingest.md, "Claims").
    const util::OpenedFile* opened = nullptr;
    // The batch id the caller's claim was journalled under: its journal record is found by
    // this id, never by the content's digest, so a retry of a committed claim only answers
    // again. Empty from the CLI: the record is then found by content.
    std::string batch_id;
    std::string file_name;         // the name the advertiser gave it; default file.filename()
    std::string account_id;
    batch::FileType type = batch::FileType::Modifications;
    std::string inbox;             // the journal's inbox name ("" from the CLI)
    bool all_or_nothing = false;
    bool reprocess_duplicates = false;
    batch::Limits limits;
    bool dry_run = false;                  // evaluate, write outputs, change nothing
    std::optional<ledger::Instant> as_of;  // dry runs only: the rules' "now"
    bool write_outputs = true;             // false for `validate`
    std::filesystem::path outbox;          // where the answers go
    std::filesystem::path spool;           // private folder for outputs being built
    std::function<void(std::int64_t bytes_done, std::int64_t bytes_total)> progress;
    // Called right after the batch's commit and before its answers are delivered: the one
    // moment where a crash must lead to an answer, never to a second apply (tests put one here).
    std::function<void()> committed;
    // Modification rows may be applied in the store's key order when no result can depend
    // on it (apply/key_order/plan.hpp); false keeps file order. Results are the same either way.
    bool key_order = true;
    std::size_t key_order_rows = 1 << 18;  // rows gathered per reading of the file in key order
    // Rows applied between two writes in key order; the next chunk's actions are read ahead
    // while one is applied. Three chunks are in memory at once.
    std::size_t key_chunk_rows = 2'500;
};

struct RowProblem {
    std::int64_t line = 0;
    std::string code;
    std::string message;
};

struct ApplyResult {
    std::string batch_id;
    std::string status;  // COMPLETE | REJECTED
    std::string error_code, error_message;
    std::optional<std::int64_t> error_line;
    std::int64_t total = 0, applied = 0, rejected = 0;
    std::map<std::string, std::int64_t> error_counts;
    std::vector<RowProblem> first_problems;  // the first rejected rows, for a terminal
    std::vector<std::filesystem::path> delivered;
    bool redelivered = false;  // an earlier, undelivered batch of this content was answered

    // The CLI's exit code (README.md, "The CLI"): 0 all applied, 3 some rows rejected, 65 file rejected.
    int exit_code() const;
};

// How the files of `inbox` are applied: account, type, options, limits, outbox, and `spool`
// for the outputs being built. The one place an inbox becomes a request (the daemon's
// claims, and the CLI's `apply --inbox`). Throws std::invalid_argument for a type the config
// would not have let through.
ApplyRequest request_for(const config::InboxConfig& inbox, const std::filesystem::path& spool);

// A bad request (unknown account, a type this build does not apply) is thrown as
// std::invalid_argument; a store or I/O failure as StoreError / std::system_error.
ApplyResult apply_file(store::Store& store, const ledger::Catalog& catalog, const ApplyRequest& request,
                       const Clock& clock);

// The summary of a batch decided as a whole, without reading rows (a quarantine, a file too
// large to download): status, code and message from its journal record.
batch::Summary file_level_summary(const store::BatchRecord& record);

// Writes the stored outputs of a committed batch into `outbox` (atomically) and marks it
// delivered. Returns the paths written.
std::vector<std::filesystem::path> deliver(store::Store& store, const store::BatchRecord& batch,
                                           const std::filesystem::path& outbox);

}  // namespace actiondrop::apply
