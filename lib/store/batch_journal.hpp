#pragma once
// The port of the batch journal: one durable record per file (docs/ingest.md, "The journal of
// a batch") and the output files committed with it. Which moves between states are allowed is
// apply/journal.hpp's business; the store reads and writes records.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/time.hpp"
#include "store/batch_state.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

// One file's durable journal record (docs/ingest.md, "The journal of a batch"). Keyed by
// batch_id; indexed by (account_id, sha256).
struct BatchRecord {
    std::string batch_id;
    std::string account_id;
    std::string inbox;      // "" for `actiondrop apply` without --inbox
    std::string file_name;  // the name as uploaded
    std::string sha256;     // hex
    std::int64_t size = 0;
    std::string type;                        // modifications | conversions | funds_transfers
    BatchState state = BatchState::Claimed;  // moved only through apply/journal.hpp
    std::string status;                      // "" until decided, then COMPLETE | REJECTED
    ledger::Instant received_at{};
    std::optional<ledger::Instant> completed_at;
    int attempts = 0;           // processing attempts (quarantine after 3 crashes)
    int delivery_failures = 0;  // failed deliveries after the commit (quarantine after 3)
    std::int64_t total = 0, applied = 0, rejected = 0;
    std::string error_code;  // file-level code when REJECTED
    std::string error_message;
    std::optional<std::int64_t> error_line;
    std::string error_counts_json = "{}";  // code -> count
    // A service's claim, which a service applies again until it is decided; false for a
    // command-line run, which nobody runs again (docs/ingest.md, "Arrival order").
    bool claim = false;
};

// An output file of a batch (result_, errors_, _summary.json), kept in the store with
// the batch so that it can be (re)delivered until delivered.
struct BatchOutput {
    std::string name;               // e.g. "result_foo.csv"
    std::filesystem::path content;  // a local file holding the bytes (streamed in)
};

class BatchJournal {
public:
    virtual ~BatchJournal() = default;

    virtual std::optional<BatchRecord> find_batch(std::string_view batch_id) = 0;
    // The COMPLETE batch of this account with this content, if any (DUPLICATE_FILE).
    virtual std::optional<BatchRecord> find_complete_batch(std::string_view account_id,
                                                           std::string_view sha256) = 0;
    // An unfinished (claimed, no status) batch of this account and content, to resume.
    virtual std::optional<BatchRecord> find_open_batch(std::string_view account_id,
                                                       std::string_view sha256) = 0;
    // The first undecided claim (claimed, no status) of this account whose record was written
    // before `batch_id`'s (before now, when it has none), other than it: a file of the account
    // that came earlier and is not applied yet (docs/ingest.md, "Arrival order").
    virtual std::optional<BatchRecord> find_earlier_open_batch(std::string_view account_id,
                                                               std::string_view batch_id) = 0;
    virtual std::vector<BatchRecord> list_batches(std::optional<std::string_view> account_id) = 0;
    // Marks the batch as one this process works on, until release_batch() or the process's
    // end. True when this process holds the mark and no other did: an open batch whose mark
    // nobody held is one whose attempt died, and may be resumed (README.md, "How a file is
    // applied exactly once"). A store that cannot tell answers false. Distinct ids may share
    // a mark, rarely: that only makes a dead batch look alive.
    virtual bool hold_batch(std::string_view batch_id) = 0;
    virtual void release_batch(std::string_view batch_id) = 0;
    // Inserts or updates the record in its own transaction.
    virtual void put_batch(const BatchRecord& record) = 0;
    // The stored outputs of a batch: (name, bytes) in the order they were committed.
    virtual std::vector<std::pair<std::string, std::string>> batch_outputs(
        std::string_view batch_id) = 0;
};

}  // namespace actiondrop::store
