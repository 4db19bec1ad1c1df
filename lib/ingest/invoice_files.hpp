#pragma once
// The files of an issued invoice (docs/lifecycle.md, "Invoices in the outboxes"):
// invoice_<id>.csv and invoice_<id>.json, written into STATE_DIR/invoices/<account>/ and into
// the outbox of every inbox of the account with `send_invoices: true`, each durably and
// atomically (util/atomic_file.hpp). The daemon's schedule and `actiondrop lifecycle run`
// both write them with these functions, so that a partner gets the same files either way.
//
// STATE_DIR/invoices/<account>/ is this service's record of what was sent: an invoice is
// written to the outboxes first and to that folder last, its JSON after its CSV, so an invoice
// whose JSON is there was written everywhere and is never written again, even when a partner
// has taken the outbox copy away. The store then records it too (record_invoice_files), so
// that the other services sharing the store do not write it again either. A process stopped
// between a run's commit and its files leaves invoices without a record; the next write of
// the account's missing invoices finds and writes them.
#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/service_config.hpp"
#include "lifecycle/invoice.hpp"
#include "store/lifecycle_ledger.hpp"

namespace actiondrop::ingest {

// The invoice's JSON (invoice_<id>.json): keys invoice_id, account_id, partner_id,
// invoice_date, currency, lines (kind, id, event_date, cleared_at, payout, comments; by kind,
// then id), actions and transfers (the count of lines of each), total.
nlohmann::ordered_json invoice_json(const lifecycle::Invoice& inv);

// The invoice as invoice_<id>.csv has it: a header, one line per action or transfer, CRLF line
// ends, and a cell that a spreadsheet would run as a formula behind a quote.
std::string invoice_csv(const lifecycle::Invoice& inv);

// STATE_DIR/invoices/<account>/.
std::filesystem::path invoice_folder(const std::filesystem::path& state_dir,
                                     std::string_view account_id);

// Where an account's invoices go.
struct InvoiceDestinations {
    std::filesystem::path record;                 // STATE_DIR/invoices/<account>/, written last
    std::vector<std::filesystem::path> outboxes;  // of its inboxes with send_invoices, in order
    // The state folder, when the writes wait for it: folders inside it are made only while
    // it is there (util::create_folders_in_state). Empty: what is needed is made.
    std::filesystem::path state_dir;
};

// Whether the invoice files wait for a state folder that is gone: the service's do, since it
// is not made again by the service (docs/ingest.md, "The state folder gone"); the CLI's make
// it, as an operator runs them and sees what they do.
enum class StateFolder { wait_for, make };

// A local inbox's outbox; a pulled inbox's spool `.outbox/`, from which its puller uploads
// every file into result_folder (lib/pull/puller.hpp).
InvoiceDestinations invoice_destinations(const config::ServiceConfig& cfg,
                                         std::string_view account_id, StateFolder state);

// What a write of invoice files did. Each invoice is written on its own: one that fails
// (an outbox that cannot be made, a full disk, an id that cannot name a file) does not keep
// the others of the account from being written.
struct InvoiceFilesWritten {
    std::size_t written = 0;            // invoices written everywhere
    std::vector<std::string> problems;  // one per invoice not written, naming it and why
    // The invoices this service's record holds, written now or before, for the store to
    // record (write_missing_invoice_files records them itself).
    std::vector<std::string> recorded;

    // The problems as one line for a log or an error; "" when there are none.
    std::string describe() const;
};

// Writes each invoice that has no record yet: its two files into every outbox (skipped where
// the outbox already holds its JSON: a process stopped before the record), then into the
// record. An invoice whose record holds another invoice of its id (another total or other
// lines: a ledger restored from an older backup issued the id again) is not written, and is a
// problem. An invoice that fails is named in `problems`; the invoices written before and
// after it stay written. `recorded` names the invoices the record holds, written or not.
InvoiceFilesWritten write_invoice_files(const InvoiceDestinations& to,
                                        std::span<const lifecycle::Invoice> invoices);

// Writes every invoice of the account that the store holds and that neither this service's
// record nor the store's lists, then records in the store the ones this service's record
// holds and the store's lacks (written now, or before the store kept a record), at `now`.
// Costs a read of the store, then one per invoice the store has not recorded and a look into
// this service's record; the daemon calls it once per account after it starts (and after a
// failed run or write). A store that cannot record is a problem of the result (the next
// call records them).
InvoiceFilesWritten write_missing_invoice_files(store::LifecycleLedger& ledger,
                                                const InvoiceDestinations& to,
                                                std::string_view account_id, ledger::Instant now);

// Writes the stored invoices of these ids (the store's, as `invoices show` prints them) like
// write_invoice_files, then records them in the store at `now`; an id the store does not hold
// is passed over.
InvoiceFilesWritten write_stored_invoice_files(store::LifecycleLedger& ledger,
                                               const InvoiceDestinations& to,
                                               std::span<const std::string> invoice_ids,
                                               ledger::Instant now);

// Records in the store the invoices of `written` (InvoiceFilesWritten::recorded), at `now`;
// a failure is added to its problems.
void record_invoice_files(store::LifecycleLedger& ledger, InvoiceFilesWritten& written,
                          ledger::Instant now);

}  // namespace actiondrop::ingest
