#pragma once
// What a killed process leaves behind besides its claims, removed when a folder is first
// served: outbox temporary files of atomic writes whose writer is gone (docs/ingest.md: an
// advertiser must never see a half-written answer, not even under a hidden name for long),
// the service's copies of claims not yet renamed over them, and spool folders of batches
// that were decided.
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace actiondrop::ingest {

// The pid in a temporary name of util::write_file_atomically (".NAME.PID.RANDOM.tmp"),
// or 0 when `name` is not one.
long temporary_writer(std::string_view name);

// Removes the temporary files in `folder` whose writing process is no longer running (or
// has this process's pid, which is not writing now). Returns the names removed. Throws
// std::system_error when the folder cannot be listed or a name cannot be removed.
std::vector<std::string> remove_abandoned_temporaries(const std::filesystem::path& folder);

// The service's own copy of a claim that is still the uploader's file is made in the claims
// folder as OWN_COPY_PREFIX + the claim's name, then renamed over the claim (docs/ingest.md,
// "Claims"). Claims are named "<batch id>_NAME", so no claim starts with the prefix.
inline constexpr std::string_view own_copy_prefix = ".own.";

// Removes every copy in the claims folder `claims` that a killed run left before its rename:
// first the temporaries of copies whose writer is gone, then the finished copies. Only safe
// while no other process works in the folder (docs/ingest.md, "One service per state
// folder"). Returns the names removed; throws std::system_error like the function above.
std::vector<std::string> remove_own_copies(const std::filesystem::path& claims);

// Removes each folder of `spool` (named after a batch id) for which `decided(batch_id)` is
// true. Returns the names removed.
std::vector<std::string> remove_decided_spools(
    const std::filesystem::path& spool, const std::function<bool(const std::string&)>& decided);

}  // namespace actiondrop::ingest
