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
#include <stdexcept>
#include <string>
#include <vector>

#include "apply/request.hpp"
#include "ledger/catalog.hpp"
#include "store/store.hpp"

namespace actiondrop::apply {

using Clock = std::function<ledger::Instant()>;

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

    // The CLI's exit code (README.md, "The CLI"): 0 all applied, 3 some rows rejected, 65 file
    // rejected.
    int exit_code() const;
};

// The file waits: a file of its account that came earlier (its journal record was written
// first) is not decided yet, whichever process took it (docs/ingest.md, "Arrival order").
// Nothing of this attempt was applied, and no attempt of the file is counted for it; the
// file is tried again later.
class EarlierFileFirst : public std::runtime_error {
public:
    explicit EarlierFileFirst(const store::BatchRecord& earlier);
    const std::string& earlier_batch_id() const { return earlier_batch_id_; }

private:
    std::string earlier_batch_id_;
};

// A bad request (unknown account, a type this build does not apply) is thrown as
// std::invalid_argument; a store or I/O failure as StoreError / std::system_error.
ApplyResult apply_file(store::Store& store, const ledger::Catalog& catalog,
                       const ApplyRequest& request, const Clock& clock);

}  // namespace actiondrop::apply
