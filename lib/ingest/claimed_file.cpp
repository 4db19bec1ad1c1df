#include "ingest/claimed_file.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <sstream>
#include <system_error>

#include "batch/layout.hpp"
#include "batch/outputs.hpp"
#include "ledger/errors.hpp"
#include "util/atomic_file.hpp"
#include "util/batch_id.hpp"
#include "util/sha256.hpp"

namespace actiondrop::ingest {
namespace fs = std::filesystem;

namespace {

// A rename when both sides share a file system, else a durable copy and then the unlink:
// the state folder and the drop folders may be different mounts.
void move_original(const fs::path& from, const fs::path& to) {
    util::create_folders(to.parent_path());
    if (::rename(from.c_str(), to.c_str()) == 0) {
        util::fsync_directory(to.parent_path());
        util::fsync_directory(from.parent_path());
        return;
    }
    if (errno != EXDEV)
        throw std::system_error(errno, std::generic_category(),
                                fmt::format("cannot move {} to {}", from.string(), to.string()));
    util::copy_file_atomically(from, to);
    if (::unlink(from.c_str()) != 0 && errno != ENOENT)
        throw std::system_error(errno, std::generic_category(), "cannot remove " + from.string());
    util::fsync_directory(from.parent_path());
}

// Where the original of `record` is kept once its batch is decided.
fs::path kept_path(const Folders& folders, const config::InboxConfig& inbox,
                   const store::BatchRecord& record, const std::string& file_name) {
    if (record.status == "COMPLETE")
        return archive_path(folders, inbox.name, record.completed_at.value_or(record.received_at),
                            record.batch_id, file_name);
    return failed_path(folders, inbox.name, record.batch_id, file_name);
}

// The batch that a crashed run already took to its end for this claim: only the move of
// the original is missing. The journal records where the original goes before it moves,
// so a batch that says archived or failed is this claim's only while that place is empty;
// otherwise the claim is a new upload of the same content.
std::optional<store::BatchRecord> finished_batch(store::Store& store, const Folders& folders,
                                                 const config::InboxConfig& inbox,
                                                 const Claim& claim, const std::string& sha256) {
    std::optional<store::BatchRecord> found;
    for (auto& b : store.list_batches(inbox.account)) {
        if (b.sha256 != sha256 || b.inbox != inbox.name || b.file_name != claim.file_name ||
            b.status.empty())
            continue;
        const bool kept = b.state == "archived" || b.state == "failed";
        if (b.state != "delivered" && b.state != "quarantined" && !kept) continue;
        if (kept && fs::exists(kept_path(folders, inbox, b, claim.file_name))) continue;
        if (!found || b.batch_id > found->batch_id) found = std::move(b);
    }
    return found;
}

// Records the journal's last state, then moves the original where its batch's status says.
Outcome keep_original(store::Store& store, const Folders& folders, const config::InboxConfig& inbox,
                      const Claim& claim, store::BatchRecord record) {
    Outcome out;
    out.batch_id = record.batch_id;
    out.status = record.status;
    out.error_code = record.error_code;
    out.total = record.total;
    out.applied = record.applied;
    out.rejected = record.rejected;
    out.quarantined = record.state == "quarantined";
    out.kept_at = kept_path(folders, inbox, record, claim.file_name);
    if (record.status == "COMPLETE")
        record.state = "archived";
    else if (!out.quarantined)
        record.state = "failed";
    store.put_batch(record);
    move_original(claim.path, out.kept_at);
    return out;
}

// Sets aside a file that cannot be processed: the journal says so first, then the
// advertiser gets a REJECTED summary with QUARANTINED and the reason.
Outcome quarantine(store::Store& store, const Folders& folders, const config::InboxConfig& inbox,
                   const Claim& claim, store::BatchRecord record, ledger::Instant now,
                   std::string reason) {
    record.status = "REJECTED";
    record.state = "quarantined";
    record.error_code = std::string(ledger::error_name(ledger::ErrorCode::Quarantined));
    record.error_message = std::move(reason);
    record.error_line.reset();
    record.completed_at = now;
    record.total = record.applied = record.rejected = 0;
    record.error_counts_json = "{}";
    store.put_batch(record);

    batch::Summary s;
    s.batch_id = record.batch_id;
    s.file = claim.file_name;
    s.sha256 = record.sha256;
    s.type = record.type;
    s.status = record.status;
    s.received_at = record.received_at;
    s.completed_at = now;
    s.error_code = record.error_code;
    s.error_message = record.error_message;
    std::ostringstream summary;
    batch::write_summary(summary, s);
    util::create_folders(inbox.outbox);
    util::write_file_atomically(inbox.outbox / batch::summary_name(claim.file_name), summary.str());
    return keep_original(store, folders, inbox, claim, std::move(record));
}

// A failure of the machine (disk, store) is not the file's fault: the attempt it cost is
// given back, so that only failures the content causes count towards a quarantine.
void give_back_attempt(store::Store& store, const std::string& account,
                       const std::string& sha256) noexcept {
    try {
        if (auto open = store.find_open_batch(account, sha256); open && open->attempts > 0) {
            --open->attempts;
            store.put_batch(*open);
        }
    } catch (...) {
        // The store is failing too: the attempt stays counted, which errs towards quarantine.
    }
}

}  // namespace

fs::path archive_path(const Folders& folders, std::string_view inbox, ledger::Instant when,
                      std::string_view batch_id, std::string_view file_name) {
    const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(when)};
    return folders.state_dir / "archive" / inbox /
           fmt::format("{:04d}", static_cast<int>(day.year())) /
           fmt::format("{:02d}", static_cast<unsigned>(day.month())) /
           fmt::format("{:02d}", static_cast<unsigned>(day.day())) /
           fmt::format("{}_{}", batch_id, file_name);
}

fs::path failed_path(const Folders& folders, std::string_view inbox, std::string_view batch_id,
                     std::string_view file_name) {
    return folders.state_dir / "failed" / inbox / fmt::format("{}_{}", batch_id, file_name);
}

Outcome take_claim(store::Store& store, const ledger::Catalog& catalog,
                   const config::InboxConfig& inbox, const Claim& claim, const Folders& folders,
                   const apply::Clock& clock, const std::function<void()>& progress) {
    if (::access(claim.path.c_str(), R_OK) != 0 && errno == EACCES) {
        // An upload that kept a private mode (the stock sftp client sends the local file's
        // mode, and the umask only removes bits): it can never succeed, so it is answered
        // now instead of being retried for ever.
        store::BatchRecord record;
        record.received_at = clock();
        record.batch_id = util::new_batch_id(record.received_at);
        record.account_id = inbox.account;
        record.inbox = inbox.name;
        record.file_name = claim.file_name;
        std::error_code ec;
        record.size = static_cast<std::int64_t>(fs::file_size(claim.path, ec));
        record.type = inbox.type;
        record.state = "claimed";
        const auto now = record.received_at;
        return quarantine(store, folders, inbox, claim, std::move(record), now,
                          "the service may not read this file (permission denied): upload it "
                          "readable by the group, e.g. with mode 0640 (chmod 640 before put)");
    }
    const auto digest = util::digest_file(claim.path);
    if (claim.recovered) {
        if (auto done = finished_batch(store, folders, inbox, claim, digest.sha256))
            return keep_original(store, folders, inbox, claim, std::move(*done));
    }
    if (auto open = store.find_open_batch(inbox.account, digest.sha256);
        open && open->attempts >= max_attempts)
    {
        auto reason = fmt::format(
            "processing this file failed {} times; it was set aside and an operator will look at it",
            open->attempts);
        return quarantine(store, folders, inbox, claim, std::move(*open), clock(), std::move(reason));
    }

    apply::ApplyRequest req;
    req.file = claim.path;
    req.file_name = claim.file_name;
    req.account_id = inbox.account;
    auto type = batch::parse_file_type(inbox.type);
    if (!type)
        throw std::invalid_argument(
            fmt::format("inbox {}: unknown type '{}'", inbox.name, inbox.type));
    req.type = *type;
    req.inbox = inbox.name;
    req.all_or_nothing = inbox.all_or_nothing;
    req.reprocess_duplicates = inbox.duplicates == "reprocess";
    req.limits = {inbox.limits.max_file_bytes, inbox.limits.max_rows, inbox.limits.max_line_bytes};
    req.outbox = inbox.outbox;
    req.spool = folders.state_dir / "spool";
    if (progress) req.progress = [&](std::int64_t, std::int64_t) { progress(); };
    util::create_folders(req.outbox);
    util::create_folders(req.spool);

    const auto result = [&] {
        try {
            return apply::apply_file(store, catalog, req, clock);
        } catch (const std::system_error&) {
            give_back_attempt(store, inbox.account, digest.sha256);
            throw;
        } catch (const store::StoreError&) {
            give_back_attempt(store, inbox.account, digest.sha256);
            throw;
        } catch (const StopRequested&) {
            // Stopping is nobody's fault: the file must not drift towards a quarantine.
            give_back_attempt(store, inbox.account, digest.sha256);
            throw;
        }
    }();
    auto record = store.find_batch(result.batch_id);
    if (!record) throw store::StoreError("batch " + result.batch_id + " vanished from the journal");
    auto out = keep_original(store, folders, inbox, claim, std::move(*record));
    out.redelivered = result.redelivered;
    out.error_counts = result.error_counts;
    out.bytes = digest.size;
    return out;
}

}  // namespace actiondrop::ingest
