#pragma once
// The answers of a batch decided before: a committed batch's stored outputs written into an
// outbox, and the summary of a batch decided as a whole (docs/ingest.md, "The journal of a
// batch").
#include <filesystem>
#include <vector>

#include "batch/outputs.hpp"
#include "store/store.hpp"

namespace actiondrop::apply {

// The summary of a batch decided as a whole, without reading rows (a quarantine, a file too
// large to download): status, code and message from its journal record.
batch::Summary file_level_summary(const store::BatchRecord& record);

// Writes the stored outputs of a committed batch into `outbox` (atomically) and marks it
// delivered. Returns the paths written.
std::vector<std::filesystem::path> deliver(store::Store& store, const store::BatchRecord& batch,
                                           const std::filesystem::path& outbox);

}  // namespace actiondrop::apply
