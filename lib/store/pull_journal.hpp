#pragma once
// The port of the pull journal: which remote files a pull inbox has taken (README.md, "SFTP
// pull inboxes", "Exactly once"). The record's key is the claim.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/time.hpp"
#include "store/store_error.hpp"

namespace actiondrop::store {

// A file pulled from a pull inbox, from its claim until the remote original is dealt with.
// Keyed by (inbox, remote_path, size, mtime).
struct PullRecord {
    std::string inbox;
    std::string remote_path;  // the original's path on the server while it is processed
    std::int64_t size = 0;
    std::int64_t mtime = 0;  // the server's clock
    std::string file_name;   // the name as the advertiser gave it
    std::string claim;       // the local copy's name in the inbox's spool `.processing/`
    std::string state;       // claimed | fetched | finished
    // Which service took it (docs/postgres.md, "Instances"): its host and state folder. Only
    // that service finishes it; "" for a claim made before services were told apart.
    std::string owner;
    ledger::Instant claimed_at{};
    std::optional<ledger::Instant> finished_at;
    // How long the claim holds without being renewed (docs/postgres.md, "Claims and leases"):
    // claim_pull() ends it at the store's clock plus this. 0: no lease, the claim waits for its
    // owner however long that takes (and so does a claim made before leases existed).
    std::chrono::milliseconds lease{0};
};

// A pull whose owner's lease ran out, now another service's.
struct TakenPull {
    PullRecord record;  // with its new owner
    std::string from;   // the owner whose lease ran out
};

class PullJournal {
public:
    virtual ~PullJournal() = default;

    // Inserts the record and returns true, or returns false when that (inbox, remote_path,
    // size, mtime) is already known: pulled before, or by another service.
    virtual bool claim_pull(const PullRecord& record) = 0;
    virtual std::optional<PullRecord> find_pull(std::string_view inbox,
                                                std::string_view remote_path, std::int64_t size,
                                                std::int64_t mtime) = 0;
    // The records of an inbox that are not finished and that `owner` took (or no one in
    // particular: owner ""), oldest claim first.
    virtual std::vector<PullRecord> open_pulls(std::string_view inbox, std::string_view owner) = 0;
    // Updates the state (and finished_at) of a record.
    virtual void put_pull(const PullRecord& record) = 0;
    // Forgets a claim whose download failed, so that the file is taken again later.
    virtual void forget_pull(const PullRecord& record) = 0;
    // Ends the lease of every unfinished pull of `inbox` that `owner` holds at the store's clock
    // plus `lease`; returns how many there are. The store's clock, never the services': theirs
    // may differ.
    virtual std::size_t renew_pulls(std::string_view inbox, std::string_view owner,
                                    std::chrono::milliseconds lease) = 0;
    // Makes `owner` the owner, for `lease`, of every unfinished pull of `inbox` whose lease has
    // ended on the store's clock, and returns them, oldest claim first. A pull with no lease,
    // or no owner, is never taken. Of two services that try at once, one takes each pull.
    virtual std::vector<TakenPull> take_over_pulls(std::string_view inbox, std::string_view owner,
                                                   std::chrono::milliseconds lease) = 0;
};

}  // namespace actiondrop::store
