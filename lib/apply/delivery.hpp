#pragma once
// The answers of a batch decided before: a committed batch's stored outputs written into an
// outbox, and the summary of a batch decided as a whole (docs/ingest.md, "The journal of a
// batch"). A batch's answers replace those of an earlier upload of its name, also the ones it
// does not have (docs/formats.md, "What goes back").
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "apply/request.hpp"
#include "batch/outputs.hpp"
#include "store/store.hpp"

namespace actiondrop::apply {

// The summary of a batch decided as a whole, without reading rows (a quarantine, a file too
// large to download): status, code and message from its journal record.
batch::Summary file_level_summary(const store::BatchRecord& record);

// Writes the receipt and the stored outputs of a committed batch into `outbox` (atomically),
// takes away the result and errors files of its name that it does not have (replace_answers()),
// and marks it delivered. Returns the paths written.
std::vector<std::filesystem::path> deliver(store::Store& store, const store::BatchRecord& batch,
                                           const std::filesystem::path& outbox,
                                           Outbox kind = Outbox::Folder);

// Takes away from `outbox` the result and errors files of `file_name` that are not among
// `answers` (the names of the batch's own answers): in a Folder, removed; in a Staging
// outbox, a staged one is removed and the name is marked for the puller, and a name that is
// among `answers` loses any such mark.
void replace_answers(const std::filesystem::path& outbox, std::string_view file_name,
                     const std::vector<std::string>& answers, Outbox kind);

// The hidden name that marks `name` for removal from a pulled inbox's result folder.
std::string stale_mark(std::string_view name);
// The names marked in a staging outbox, sorted.
std::vector<std::string> stale_answers(const std::filesystem::path& staging);
// The mark of `name` removed, once the remote file is gone.
void forget_stale(const std::filesystem::path& staging, std::string_view name);

}  // namespace actiondrop::apply
