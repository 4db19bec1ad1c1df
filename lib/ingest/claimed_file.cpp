#include "ingest/claimed_file.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <optional>
#include <sstream>
#include <system_error>

#include "apply/delivery.hpp"
#include "apply/journal.hpp"
#include "batch/layout.hpp"
#include "batch/outputs.hpp"
#include "ingest/leftovers.hpp"
#include "util/atomic_file.hpp"
#include "util/batch_id.hpp"
#include "util/folder.hpp"
#include "util/opened_file.hpp"

namespace actiondrop::ingest {
namespace fs = std::filesystem;

namespace {

apply::Outbox outbox_kind(const config::InboxConfig& inbox) {
    return inbox.outbox_staged ? apply::Outbox::Staging : apply::Outbox::Folder;
}

// A rename when both sides share a file system, else a durable copy and then the unlink:
// the state folder and the drop folders may be different mounts.
void move_original(const fs::path& state_dir, const fs::path& from, const fs::path& to) {
    util::create_folders_in_state(state_dir, to.parent_path());
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
    out.quarantined = record.state == apply::BatchState::Quarantined;
    out.kept_at = kept_path(folders, inbox, record, claim.file_name);
    if (!out.quarantined) apply::move_to(record, apply::kept_state(record));
    store.put_batch(record);
    if (claim.in_inbox) {
        out.kept_at = claim.path;  // unreadable, or never read: not copied across mounts
        return out;
    }
    move_original(folders.state_dir, claim.path, out.kept_at);
    return out;
}

// The answer to a file set aside: a REJECTED summary with QUARANTINED and the reason.
void answer_set_aside(const config::InboxConfig& inbox, const Claim& claim,
                      const store::BatchRecord& record) {
    std::ostringstream summary;
    batch::write_summary(summary, apply::file_level_summary(record));
    const std::string summary_name = batch::summary_name(claim.file_name);
    apply::replace_answers(inbox.outbox, claim.file_name, {summary_name}, outbox_kind(inbox));
    util::write_file_atomically(inbox.outbox / summary_name, summary.str());
}

// Sets aside a file that cannot be processed: the journal says so first, then the
// advertiser gets a REJECTED summary with QUARANTINED and the reason.
Outcome quarantine(store::Store& store, const Folders& folders, const config::InboxConfig& inbox,
                   const Claim& claim, store::BatchRecord record, ledger::Instant now,
                   std::string reason) {
    apply::set_aside(record, std::move(reason), now);
    store.put_batch(record);
    answer_set_aside(inbox, claim, record);
    return keep_original(store, folders, inbox, claim, std::move(record));
}

// A failure of the machine (disk, store) is not the file's fault: the attempt it cost is
// given back, so that only failures the content causes count towards a quarantine.
void give_back_attempt(store::Store& store, const std::string& batch_id) noexcept {
    try {
        if (auto open = store.find_batch(batch_id);
            open && open->status.empty() && open->attempts > 0) {
            --open->attempts;
            store.put_batch(*open);
        }
    } catch (...) {
        // The store is failing too: the attempt stays counted, which errs towards quarantine.
    }
}

// A claim's first journal record, before anything of its file is read: an attempt not yet
// begun, or a file refused unread.
store::BatchRecord first_record(const config::InboxConfig& inbox, const Claim& claim,
                                const apply::Clock& clock, std::int64_t size) {
    store::BatchRecord record;
    record.received_at = clock();
    record.batch_id = claim.batch_id;
    record.account_id = inbox.account;
    record.inbox = inbox.name;
    record.file_name = claim.file_name;
    record.size = size;
    record.type = inbox.type;
    record.claim = true;
    return record;
}

// Counts a failed delivery of the committed `record`, from inside a catch handler: rethrows
// (the claim is tried again later) until max_delivery_attempts failures, then quarantines
// the batch.
Outcome failed_delivery(store::Store& store, const Folders& folders,
                        const config::InboxConfig& inbox, const Claim& claim,
                        store::BatchRecord record) {
    if (++record.delivery_failures < max_delivery_attempts) {
        store.put_batch(record);
        throw;
    }
    apply::move_to(record, apply::BatchState::Quarantined);
    auto out = keep_original(store, folders, inbox, claim, std::move(record));
    out.undelivered = true;
    return out;
}

// A committed batch whose answers are not delivered yet (its delivery failed, or a crash
// came between the commit and the delivery): answers it, never applies it again. A delivery
// that fails max_delivery_attempts times ends in the journal state `quarantined` (the rows stay
// applied; `actiondrop batches redeliver` answers it once the outbox is mended).
Outcome answer_committed(store::Store& store, const Folders& folders,
                         const config::InboxConfig& inbox, const Claim& claim,
                         store::BatchRecord record) {
    if (record.state == apply::BatchState::Applied) {
        try {
            apply::deliver(store, record, inbox.outbox, outbox_kind(inbox));
        } catch (const std::exception&) {
            return failed_delivery(store, folders, inbox, claim, std::move(record));
        }
        record = store.find_batch(record.batch_id).value_or(record);
    } else if (record.state == apply::BatchState::Quarantined) {
        // Set aside before this attempt: by an earlier one that ended before the original was
        // moved, or by an operator (`actiondrop batches abandon`, docs/ingest.md, "Arrival
        // order"). The advertiser gets its answer either way.
        answer_set_aside(inbox, claim, record);
    }
    auto out = keep_original(store, folders, inbox, claim, std::move(record));
    out.redelivered = true;
    return out;
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

namespace {

// A claim made by a rename on one file system is still the uploader's inode: whoever kept a
// descriptor of it open (an SFTP handle will do) could change it after the commit, and the
// archived original with it. Such a file is replaced by the service's own copy, made through
// the claim's descriptor and put under the claim's name only if the file did not change
// meanwhile; `file` is then the copy. A file that changed keeps its descriptor, and the
// attempt fails before the commit as any changed file does (docs/ingest.md, "Claims"). Not
// for a file over max_file_bytes, which is never read, nor one the service already owns
// (a copy across mounts).
void take_ownership(const Claim& claim, const config::InboxConfig& inbox,
                    std::optional<util::OpenedFile>& file) {
    if (claim.in_inbox || file->status().st_uid == ::geteuid() ||
        file->size() > inbox.limits.max_file_bytes)
        return;
    const fs::path own =
        claim.path.parent_path() / (std::string(own_copy_prefix) + claim.path.filename().string());
    util::copy_descriptor_atomically(file->fd(), claim.path, own);
    if (file->changed_since_open()) {
        ::unlink(own.c_str());
        return;
    }
    if (::rename(own.c_str(), claim.path.c_str()) != 0) {
        const int err = errno;
        ::unlink(own.c_str());  // the claim stays the uploader's file, copied again next time
        throw std::system_error(err, std::generic_category(),
                                "cannot put the service's copy of " + claim.path.string());
    }
    util::fsync_directory(claim.path.parent_path());
    file.emplace(util::OpenedFile::open(claim.path, /*follow_links=*/false));
}

}  // namespace

namespace {

Outcome take_claim_into(store::Store& store, const ledger::Catalog& catalog,
                        const config::InboxConfig& inbox, const Claim& claim,
                        const Folders& folders, const apply::Clock& clock, const ClaimHooks& hooks);

}  // namespace

Outcome take_claim(store::Store& store, const ledger::Catalog& catalog,
                   const config::InboxConfig& inbox, const Claim& claim, const Folders& folders,
                   const apply::Clock& clock, const ClaimHooks& hooks) {
    // The outbox, opened once: every answer of the claim is written through its descriptor,
    // so a symbolic link put in its place, before or meanwhile, has nothing written through
    // it (docs/ingest.md, "The outbox"). One that cannot be opened (a link, a file, gone with
    // the state folder) fails every write, as a full disk would, and the failure is the
    // open's, naming the outbox.
    std::optional<util::OpenedFolder> outbox;
    std::exception_ptr unusable;
    try {
        util::create_folders_in_state(folders.state_dir, inbox.outbox);
        outbox = util::OpenedFolder::open(inbox.outbox, "the outbox");
    } catch (const std::exception&) {
        unusable = std::current_exception();
    }
    // Without an outbox only the delivery of a committed batch goes on, to count its failure
    // (a quarantine after max_delivery_attempts; `batches redeliver` answers it later). Any
    // other claim waits for the outbox, recording nothing: a file refused now would be
    // journalled QUARANTINED with its summary nowhere.
    if (unusable) {
        const auto mine = store.find_batch(claim.batch_id);
        if (!mine || mine->state != apply::BatchState::Applied) std::rethrow_exception(unusable);
    }
    config::InboxConfig through = inbox;
    through.outbox = outbox ? outbox->path() : fs::path("/dev/null/the-outbox-cannot-be-opened");
    try {
        return take_claim_into(store, catalog, through, claim, folders, clock, hooks);
    } catch (const std::system_error& e) {
        if (unusable) std::rethrow_exception(unusable);
        outbox->rethrow_shown(e);
    }
}

namespace {

Outcome take_claim_into(store::Store& store, const ledger::Catalog& catalog,
                        const config::InboxConfig& inbox, const Claim& claim,
                        const Folders& folders, const apply::Clock& clock,
                        const ClaimHooks& hooks) {
    // The claim's one descriptor: opened without following a link and without waiting on a
    // FIFO, checked, and the only way the file is read from now on.
    std::optional<util::OpenedFile> file;
    try {
        file.emplace(util::OpenedFile::open(claim.path, /*follow_links=*/false));
    } catch (const std::system_error& e) {
        const int err = e.code().value();
        if (err == ENOENT) {
            // The folder gone with it (the state folder moved, a disk not mounted) is a failure
            // of the machine: the claim stays, to be tried again (docs/ingest.md, "Claims").
            if (struct stat st{}; ::stat(claim.path.parent_path().c_str(), &st) != 0) {
                const int gone = errno;
                throw std::system_error(
                    gone, std::generic_category(),
                    "the claims folder " + claim.path.parent_path().string() + " is gone");
            }
            // Only the service writes the claims folder: an operator took the file away.
            Outcome out;
            out.batch_id = claim.batch_id;
            out.vanished = true;
            return out;
        }
        if (err == ELOOP)
            return quarantine(store, folders, inbox, claim, first_record(inbox, claim, clock, 0),
                              clock(),
                              "not a regular file (a symbolic link): links are never followed");
        if (err == EACCES)
            // An upload that kept a private mode (the stock sftp client sends the local
            // file's mode, and the umask only removes bits): it can never succeed, so it is
            // answered now instead of being retried for ever.
            return quarantine(store, folders, inbox, claim, first_record(inbox, claim, clock, 0),
                              clock(),
                              "the service may not read this file (permission denied): upload it "
                              "readable by the group, e.g. with mode 0640 (chmod 640 before put)");
        if (err == EWOULDBLOCK) {
            // A lease on the file (fcntl F_SETLEASE, which its owner may take): the open asked
            // its holder to let go, and the claim is tried again later. The uploader's doing,
            // not the machine's: it counts, and max_attempts of it quarantine the file.
            store::BatchRecord record =
                store.find_batch(claim.batch_id).value_or(first_record(inbox, claim, clock, 0));
            if (++record.attempts >= max_attempts)
                return quarantine(store, folders, inbox, claim, std::move(record), clock(),
                                  fmt::format("the file could not be opened {} times: another "
                                              "program holds a lease on it; upload it and close "
                                              "it",
                                              record.attempts));
            store.put_batch(record);
        }
        throw;
    }
    if (auto why = file->refusal(); !why.empty())
        return quarantine(
            store, folders, inbox, claim, first_record(inbox, claim, clock, file->size()), clock(),
            fmt::format("not a file that can be applied ({}): upload each batch file once, "
                        "as a regular file under one name",
                        why));

    // The file's place in its account's order (docs/ingest.md, "Arrival order"), written
    // before a byte of it is read: a service that dies while it copies or hashes a large file
    // leaves the place behind, and the account's later files wait for it.
    if (!store.find_batch(claim.batch_id))
        store.put_batch(first_record(inbox, claim, clock, file->size()));
    if (hooks.opened) hooks.opened();
    take_ownership(claim, inbox, file);

    auto mine = store.find_batch(claim.batch_id);
    if (mine && apply::committed(*mine))
        return answer_committed(store, folders, inbox, claim, std::move(*mine));
    if (mine && mine->attempts >= max_attempts) {
        auto reason = fmt::format(
            "processing this file failed {} times; it was set aside and an operator will look at "
            "it",
            mine->attempts);
        return quarantine(store, folders, inbox, claim, std::move(*mine), clock(),
                          std::move(reason));
    }

    auto req = apply::request_for(inbox, folders.state_dir / "spool");
    req.file = claim.path;
    req.opened = &*file;
    req.batch_id = claim.batch_id;
    req.file_name = claim.file_name;
    req.committed = hooks.committed;
    if (hooks.progress) req.progress = [&](std::int64_t, std::int64_t) { hooks.progress(); };
    util::create_folders_in_state(folders.state_dir, req.spool);

    apply::ApplyResult result;
    try {
        result = apply::apply_file(store, catalog, req, clock);
    } catch (const StopRequested&) {
        // Stopping is nobody's fault: the file must not drift towards a quarantine.
        give_back_attempt(store, claim.batch_id);
        throw;
    } catch (const apply::EarlierFileFirst&) {
        // Nor is waiting for an earlier file of the account (docs/ingest.md, "Arrival order").
        give_back_attempt(store, claim.batch_id);
        throw;
    } catch (const store::BatchCommittedElsewhere&) {
        // Another service that took this claim over (or was slow to lose it) committed the
        // batch first: nothing of this attempt was written, and the committed answer stands.
        if (auto now = store.find_batch(claim.batch_id); now && apply::committed(*now))
            return answer_committed(store, folders, inbox, claim, std::move(*now));
        throw;
    } catch (const std::exception& e) {
        // Committed, then the delivery failed: from now on only the answer is missing.
        if (auto now = store.find_batch(claim.batch_id);
            now && now->state == apply::BatchState::Applied)
            return failed_delivery(store, folders, inbox, claim, std::move(*now));
        // A failure of the machine (disk, store) gives its attempt back; any other failure
        // (or a crash) counts towards max_attempts.
        if (dynamic_cast<const std::system_error*>(&e) ||
            dynamic_cast<const store::StoreError*>(&e))
            give_back_attempt(store, claim.batch_id);
        throw;
    }
    auto record = store.find_batch(result.batch_id);
    if (!record) throw store::StoreError("batch " + result.batch_id + " vanished from the journal");
    auto out = keep_original(store, folders, inbox, claim, std::move(*record));
    out.redelivered = result.redelivered;
    out.error_counts = result.error_counts;
    out.bytes = file->size();
    return out;
}

}  // namespace

}  // namespace actiondrop::ingest
