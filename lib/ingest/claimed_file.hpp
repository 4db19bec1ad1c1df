#pragma once
// A claimed file taken to its end (docs/ingest.md): applied exactly once through apply_file,
// then the original kept for good — archived under its UTC date when its batch is
// COMPLETE, set aside in `failed/` when REJECTED or quarantined; never deleted.
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "apply/apply_file.hpp"
#include "config/service_config.hpp"
#include "ingest/local_inbox.hpp"
#include "ledger/catalog.hpp"
#include "store/store.hpp"

namespace actiondrop::ingest {

// A file whose processing died this many times (the journal's attempts) is quarantined.
constexpr int max_attempts = 3;
// A committed batch whose answers failed to be delivered this many times is quarantined: with
// the service's growing delay between tries (1 s, 2 s, 4 s …), about 8 minutes in which an
// outbox mended gets its answers without anyone's help (docs/ingest.md, "The journal of a
// batch").
constexpr int max_delivery_attempts = 10;

struct Outcome {
    std::string batch_id;
    std::string status;      // COMPLETE | REJECTED
    std::string error_code;  // file-level code when REJECTED
    std::int64_t total = 0, applied = 0, rejected = 0;
    std::map<std::string, std::int64_t> error_counts;  // rejected rows by code
    std::int64_t bytes = 0;                            // size of the original
    bool redelivered = false;  // answered again from the store (a crash after the commit)
    bool quarantined = false;
    // Committed, but its answers could not be delivered max_delivery_attempts times: state
    // `quarantined`, rows applied; `actiondrop batches redeliver` answers it later.
    bool undelivered = false;
    // The claim's file was gone (an operator removed it from the claims folder): nothing
    // was done, and the claim is dropped.
    bool vanished = false;
    std::filesystem::path kept_at;  // where the original went
};

// Thrown by a progress callback to abandon the file being applied because the service is
// stopping: its transaction rolls back and its claim stays for the next start, uncounted.
struct StopRequested : std::exception {
    const char* what() const noexcept override { return "a stop was requested"; }
};

struct Folders {
    std::filesystem::path state_dir;  // holds spool/, archive/, failed/
};

struct ClaimHooks {
    // Called every 20,000 rows; may throw StopRequested, which rolls the file back and gives
    // its attempt back.
    std::function<void()> progress;
    // Called right after the commit, before the answers are delivered (see ApplyRequest).
    std::function<void()> committed;
    // Called once the claim's file is opened and checked, before the service's own copy of
    // an uploader's file is made (take_claim).
    std::function<void()> opened;
};

// Takes `claim` to its end (docs/ingest.md, "Claims"): opens its file once without following
// links, refuses (quarantines) what is not a regular file with one name, finds the claim's
// own batch by its id, and then either applies the file through that descriptor or, if the
// batch committed before, only answers it again. Answers go into the inbox's outbox and the
// original is moved where its batch's status says.
//
// Throws when processing fails; the claim then stays in the claims folder to be tried
// again. Before the commit, a failure of the machine (std::system_error, StoreError) gives
// its journal attempt back and any other failure (or a crash) counts towards max_attempts;
// after it, each failed delivery counts, and max_delivery_attempts of them quarantine the
// batch.
Outcome take_claim(store::Store& store, const ledger::Catalog& catalog,
                   const config::InboxConfig& inbox, const Claim& claim, const Folders& folders,
                   const apply::Clock& clock, const ClaimHooks& hooks = {});

// STATE_DIR/archive/<inbox>/<yyyy>/<mm>/<dd>/<batch>_NAME, the date in UTC.
std::filesystem::path archive_path(const Folders& folders, std::string_view inbox,
                                   ledger::Instant when, std::string_view batch_id,
                                   std::string_view file_name);
// STATE_DIR/failed/<inbox>/<batch>_NAME.
std::filesystem::path failed_path(const Folders& folders, std::string_view inbox,
                                  std::string_view batch_id, std::string_view file_name);

}  // namespace actiondrop::ingest
