#pragma once
// What to apply and how: the request that `apply_file` runs, and the one place an inbox
// becomes a request (docs/ingest.md).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "config/service_config.hpp"
#include "ledger/time.hpp"
#include "util/opened_file.hpp"

namespace actiondrop::apply {

// A local inbox's outbox is the advertiser's folder. A pulled inbox's is a staging folder in
// its spool, from which the puller uploads to the server's result folder: an answer to take
// away from there is marked in it for the puller (delivery.hpp, stale_mark()).
enum class Outbox { Folder, Staging };

struct ApplyRequest {
    std::filesystem::path file;  // where the bytes are (opened here unless `opened` is set)
    // The file already opened and checked by the caller (a claim): every read goes through
    // this descriptor, never through a path (docs/ingest.md, "Claims").
    const util::OpenedFile* opened = nullptr;
    // The batch id the caller's claim was journalled under: its journal record is found by
    // this id, never by the content's digest, so a retry of a committed claim only answers
    // again. Empty from the CLI: the record is then found by content.
    std::string batch_id;
    std::string file_name;  // the name the advertiser gave it; default file.filename()
    std::string account_id;
    batch::FileType type = batch::FileType::Modifications;
    std::string inbox;  // the journal's inbox name ("" from the CLI)
    bool all_or_nothing = false;
    bool reprocess_duplicates = false;
    batch::Limits limits;
    bool dry_run = false;                  // evaluate, write outputs, change nothing
    std::optional<ledger::Instant> as_of;  // dry runs only: the rules' "now"
    bool write_outputs = true;             // false for `validate`
    std::filesystem::path outbox;          // where the answers go
    Outbox outbox_kind = Outbox::Folder;
    std::filesystem::path spool;  // private folder for outputs being built
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

// How the files of `inbox` are applied: account, type, options, limits, outbox, and `spool`
// for the outputs being built. The one place an inbox becomes a request (the daemon's
// claims, and the CLI's `apply --inbox`). Throws std::invalid_argument for a type the config
// would not have let through.
ApplyRequest request_for(const config::InboxConfig& inbox, const std::filesystem::path& spool);

}  // namespace actiondrop::apply
