#include "apply/delivery.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>
#include <system_error>

#include "apply/journal.hpp"
#include "batch/outputs.hpp"
#include "util/atomic_file.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStalePrefix = ".stale.";

void remove_file(const fs::path& path) {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        throw std::system_error(errno, std::generic_category(), "cannot remove " + path.string());
}

}  // namespace

batch::Summary file_level_summary(const store::BatchRecord& record) {
    batch::Summary s;
    s.batch_id = record.batch_id;
    s.file = record.file_name;
    s.sha256 = record.sha256;
    s.type = record.type;
    s.status = record.status;
    s.received_at = record.received_at;
    s.completed_at = record.completed_at.value_or(record.received_at);
    s.error_code = record.error_code;
    s.error_message = record.error_message;
    s.line = record.error_line;
    return s;
}

std::string stale_mark(std::string_view name) {
    return std::string(kStalePrefix) + std::string(name);
}

void replace_answers(const fs::path& outbox, std::string_view file_name,
                     const std::vector<std::string>& answers, Outbox kind) {
    for (const std::string& name : {batch::result_name(file_name), batch::errors_name(file_name)}) {
        const bool answered = std::find(answers.begin(), answers.end(), name) != answers.end();
        if (kind == Outbox::Staging) {
            if (answered) {
                remove_file(outbox / stale_mark(name));
                continue;
            }
            util::write_file_atomically(outbox / stale_mark(name), "");
        }
        if (!answered) remove_file(outbox / name);
    }
}

std::vector<std::string> stale_answers(const fs::path& staging) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(staging, ec), end; !ec && it != end; it.increment(ec)) {
        const auto name = it->path().filename().string();
        if (name.starts_with(kStalePrefix) && name.size() > kStalePrefix.size())
            names.push_back(name.substr(kStalePrefix.size()));
    }
    std::sort(names.begin(), names.end());
    return names;
}

void forget_stale(const fs::path& staging, std::string_view name) {
    remove_file(staging / stale_mark(name));
}

std::vector<fs::path> deliver(store::Store& store, const store::BatchRecord& batch,
                              const fs::path& outbox, Outbox kind) {
    const auto outputs = store.batch_outputs(batch.batch_id);
    std::vector<std::string> names;
    for (const auto& output : outputs) names.push_back(output.first);
    // First, so that an advertiser who finds the new summary finds no older answer beside it.
    replace_answers(outbox, batch.file_name, names, kind);
    std::vector<fs::path> written;
    // The receipt first, as at the claim: its lines are all in the journal record, and an
    // outbox made again since has none. A batch with no stored answers (set aside at its
    // claim, before it had a receipt) gets none, and one that stored its receipt with its
    // answers (a pulled file too large) gets that one.
    const std::string receipt = batch::receipt_name(batch.file_name);
    if (!outputs.empty() && std::ranges::find(names, receipt) == names.end()) {
        std::ostringstream text;
        batch::write_receipt(
            text, {batch.batch_id, batch.file_name, batch.sha256, batch.size, batch.received_at});
        util::write_file_atomically(outbox / receipt, text.str());
        written.push_back(outbox / receipt);
    }
    for (const auto& [name, bytes] : outputs) {
        util::write_file_atomically(outbox / name, bytes);
        written.push_back(outbox / name);
    }
    // A first delivery moves the journal on; a later one (`batches redeliver`) leaves it.
    if (batch.state == BatchState::Applied) {
        auto delivered = batch;
        move_to(delivered, BatchState::Delivered);
        store.put_batch(delivered);
    }
    return written;
}

}  // namespace actiondrop::apply
