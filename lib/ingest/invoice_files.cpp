#include "ingest/invoice_files.hpp"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

#include "batch/outputs.hpp"
#include "ingest/leftovers.hpp"
#include "ledger/money.hpp"
#include "ledger/time.hpp"
#include "pull/puller.hpp"
#include "util/atomic_file.hpp"
#include "util/folder.hpp"

namespace actiondrop::ingest {
namespace fs = std::filesystem;

namespace {

std::string money_text(std::int64_t minor, const ledger::Currency* currency) {
    return currency ? ledger::format_minor(minor, *currency) : std::to_string(minor);
}

bool control_byte(unsigned char c) { return c < 0x20 || c == 0x7F; }

// Account and partner ids are catalog text, and name a folder and the files: one that would
// leave its folder is refused rather than written somewhere else. The catalog refuses such ids
// (docs/formats.md, "The catalog file"); a store loaded before it did may still hold one.
std::string_view file_part(std::string_view what, std::string_view text) {
    if (text.empty() || text == "." || text == ".." || text.find('/') != std::string_view::npos ||
        std::any_of(text.begin(), text.end(), [](char c) { return control_byte(c); }))
        throw std::invalid_argument(fmt::format(
            "{} '{}' cannot name a file (an id of the catalog is '.' or '..', or holds a '/' "
            "or a control character); its files are not written (docs/lifecycle.md, "
            "\"Invoices in the outboxes\")",
            what, text));
    return text;
}

// The names of an invoice's files; file_part() says whether the id can name one.
std::string csv_name(const lifecycle::Invoice& inv) { return "invoice_" + inv.invoice_id + ".csv"; }
std::string json_name(const lifecycle::Invoice& inv) {
    return "invoice_" + inv.invoice_id + ".json";
}

// The service's state folder gone (deleted, moved, a disk not mounted): nothing is written,
// to the outboxes neither. An invoice written to them while its record cannot be would be
// written to them again at every run (docs/ingest.md, "The state folder gone").
void require_state_folder(const InvoiceDestinations& to) {
    if (to.state_dir.empty()) return;
    if (auto problem = util::folder_problem(to.state_dir); !problem.empty())
        throw std::runtime_error(
            fmt::format("the state folder {} {}; the invoice files wait for it",
                        to.state_dir.string(), problem));
}

// Whether the record's JSON at `path` (the state folder's own file) is of this very
// invoice: the same total and the same lines, by kind and id. Keys a later version adds to
// the file do not count.
bool same_invoice(const fs::path& path, const nlohmann::ordered_json& want) {
    std::ifstream in(path, std::ios::binary);
    const auto got = nlohmann::ordered_json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (got.is_discarded() || !got.is_object() || !got.contains("lines") ||
        !got["lines"].is_array() || got.value("total", nlohmann::ordered_json()) != want["total"] ||
        got["lines"].size() != want["lines"].size())
        return false;
    for (std::size_t i = 0; i < want["lines"].size(); ++i) {
        const auto& a = got["lines"][i];
        const auto& b = want["lines"][i];
        if (!a.is_object() || a.value("kind", nlohmann::ordered_json()) != b["kind"] ||
            a.value("id", nlohmann::ordered_json()) != b["id"])
            return false;
    }
    return true;
}

bool present(const fs::path& path) {
    std::error_code ec;
    const bool there = fs::exists(path, ec);
    if (ec) throw std::system_error(ec, "cannot look for " + path.string());
    return there;
}

// Both files into `folder`, the JSON last: its presence says both are there. The folder is
// opened without following a link in its place and written only through that descriptor, so
// an outbox an uploader replaced by a link has nothing written through it (docs/ingest.md,
// "The outbox"). With `unless_there`, a folder that holds the JSON already is left alone.
void write_both(const InvoiceDestinations& to, const fs::path& folder,
                const lifecycle::Invoice& inv, const std::string& csv, const std::string& json,
                bool unless_there) {
    if (to.state_dir.empty())
        util::create_folders(folder);
    else
        util::create_folders_in_state(to.state_dir, folder);
    util::OpenedFolder::open(folder, "the folder").within([&](const fs::path& here) {
        if (unless_there && present(here / json_name(inv))) return;
        util::write_file_atomically(here / csv_name(inv), csv);
        util::write_file_atomically(here / json_name(inv), json);
    });
}

}  // namespace

nlohmann::ordered_json invoice_json(const lifecycle::Invoice& inv) {
    nlohmann::ordered_json j;
    j["invoice_id"] = inv.invoice_id;
    j["account_id"] = inv.account_id;
    j["partner_id"] = inv.partner_id;
    j["invoice_date"] = ledger::format_instant(inv.invoice_date);
    j["currency"] = inv.currency ? std::string(inv.currency->code) : "";
    j["lines"] = nlohmann::ordered_json::array();
    for (const lifecycle::InvoiceLine& line : inv.lines) {
        nlohmann::ordered_json l;
        l["kind"] = std::string(line.kind());
        l["id"] = line.id;
        l["event_date"] = ledger::format_instant(line.event_date);
        l["cleared_at"] = ledger::format_instant(line.cleared_at);
        l["payout"] = money_text(line.payout, inv.currency);
        l["comments"] = line.comments;
        j["lines"].push_back(l);
    }
    j["actions"] = inv.action_count();
    j["transfers"] = inv.transfer_count();
    j["total"] = money_text(inv.total, inv.currency);
    return j;
}

std::string invoice_csv(const lifecycle::Invoice& inv) {
    auto cell = [](std::string s) {
        if (!s.empty() && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                           s[0] == '\t' || s[0] == '\r'))
            s.insert(0, "'");
        if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
    };
    std::string out =
        "InvoiceId,InvoiceDate,PartnerId,Kind,Id,EventDate,ClearedAt,Payout,Currency,Comments\r\n";
    const std::string currency = inv.currency ? std::string(inv.currency->code) : "";
    for (const lifecycle::InvoiceLine& line : inv.lines) {
        out += cell(inv.invoice_id) + ',' + cell(ledger::format_instant(inv.invoice_date)) + ',' +
               cell(inv.partner_id) + ',' + cell(std::string(line.kind())) + ',' + cell(line.id) +
               ',' + cell(ledger::format_instant(line.event_date)) + ',' +
               cell(ledger::format_instant(line.cleared_at)) + ',' +
               cell(money_text(line.payout, inv.currency)) + ',' + cell(currency) + ',' +
               cell(line.comments) + "\r\n";
    }
    return out;
}

fs::path invoice_folder(const fs::path& state_dir, std::string_view account_id) {
    return state_dir / "invoices" / std::string(file_part("account", account_id));
}

InvoiceDestinations invoice_destinations(const config::ServiceConfig& cfg,
                                         std::string_view account_id, StateFolder state) {
    InvoiceDestinations to;
    to.record = invoice_folder(cfg.state_dir, account_id);
    if (state == StateFolder::wait_for) to.state_dir = cfg.state_dir;
    for (const config::InboxConfig& inbox : cfg.inboxes) {
        if (!inbox.send_invoices || inbox.account != account_id) continue;
        if (inbox.remote())
            to.outboxes.push_back(pull::pull_spool(cfg.state_dir, inbox.name) / ".outbox");
        else
            to.outboxes.push_back(inbox.outbox);
    }
    return to;
}

namespace {

// Removes the temporaries of invoice files (util/atomic_file: ".NAME.PID.RANDOM.tmp") that a
// process killed while it wrote them left in `folder`; those of a live writer stay.
void remove_stale_temporaries(const fs::path& named) {
    // Through the folder itself, never a link in its place (see write_both); one that cannot
    // be opened so has nothing removed, and its write says why.
    std::optional<util::OpenedFolder> opened;
    try {
        opened = util::OpenedFolder::open(named, "the folder");
    } catch (const std::system_error&) {
        return;
    }
    const fs::path& folder = opened->path();
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with(".invoice_")) continue;
        const long pid = temporary_writer(name);
        if (pid == 0) continue;
        // This process counts as a writer at work, unlike at an outbox's first serving.
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        fs::remove(it->path(), ec);
        ec.clear();
    }
}

}  // namespace

std::string InvoiceFilesWritten::describe() const {
    if (problems.empty()) return {};
    // One line, however many invoices: the first few name what is wrong.
    constexpr std::size_t kNamed = 3;
    std::string out = fmt::format("the files of {} invoice{} were not written: ", problems.size(),
                                  problems.size() == 1 ? "" : "s");
    for (std::size_t i = 0; i < problems.size() && i < kNamed; ++i)
        out += (i ? "; " : "") + problems[i];
    if (problems.size() > kNamed) out += fmt::format("; and {} more", problems.size() - kNamed);
    return out;
}

InvoiceFilesWritten write_invoice_files(const InvoiceDestinations& to,
                                        std::span<const lifecycle::Invoice> invoices) {
    require_state_folder(to);
    for (const fs::path& outbox : to.outboxes) remove_stale_temporaries(outbox);
    remove_stale_temporaries(to.record);
    InvoiceFilesWritten result;
    for (const lifecycle::Invoice& inv : invoices) {
        try {
            file_part("invoice", inv.invoice_id);
            const nlohmann::ordered_json j = invoice_json(inv);
            if (!present(to.record / json_name(inv))) {
                const std::string csv = invoice_csv(inv);
                const std::string json = batch::crlf_lines(j.dump(2) + "\n");
                for (const fs::path& outbox : to.outboxes)
                    write_both(to, outbox, inv, csv, json, /*unless_there=*/true);
                write_both(to, to.record, inv, csv, json, /*unless_there=*/false);
                ++result.written;
            } else if (!same_invoice(to.record / json_name(inv), j)) {
                // Another invoice of that id was sent: the ledger was restored from a backup
                // older than it, and issued the id again. Said, never sent silently or
                // overwritten (docs/lifecycle.md, "Invoices in the outboxes").
                throw std::runtime_error(fmt::format(
                    "invoice {}: {} holds another invoice of that id, sent before (a ledger "
                    "restored from an older backup?); its files are not written until that one "
                    "is moved out of the folder",
                    inv.invoice_id, to.record.string()));
            }
            result.recorded.push_back(inv.invoice_id);
        } catch (const std::exception& e) {
            result.problems.push_back(e.what());  // names the invoice or its file
        }
    }
    return result;
}

void record_invoice_files(store::LifecycleLedger& ledger, InvoiceFilesWritten& written,
                          ledger::Instant now) {
    try {
        ledger.record_invoice_files(written.recorded, now);
    } catch (const std::exception& e) {
        written.problems.push_back(fmt::format(
            "the store could not record that the files of {} invoice{} were "
            "written: {}",
            written.recorded.size(), written.recorded.size() == 1 ? "" : "s", e.what()));
    }
}

InvoiceFilesWritten write_missing_invoice_files(store::LifecycleLedger& ledger,
                                                const InvoiceDestinations& to,
                                                std::string_view account_id, ledger::Instant now) {
    require_state_folder(to);  // before the account's invoices are read
    // Those written by another service sharing the store, or by this one before its state
    // folder was made again, are not written again.
    return write_stored_invoice_files(ledger, to, ledger.invoices_without_files(account_id), now);
}

InvoiceFilesWritten write_stored_invoice_files(store::LifecycleLedger& ledger,
                                               const InvoiceDestinations& to,
                                               std::span<const std::string> invoice_ids,
                                               ledger::Instant now) {
    std::vector<lifecycle::Invoice> invoices;
    for (const std::string& id : invoice_ids)
        if (auto stored = ledger.invoice(id)) invoices.push_back(std::move(*stored));
    // Those in this service's record are carried into the store's (write_invoice_files checks
    // that each is of the store's invoice); the others are written.
    InvoiceFilesWritten result = write_invoice_files(to, invoices);
    record_invoice_files(ledger, result, now);
    return result;
}

}  // namespace actiondrop::ingest
