#include "apply/delivery.hpp"

#include "apply/journal.hpp"
#include "util/atomic_file.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;

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

std::vector<fs::path> deliver(store::Store& store, const store::BatchRecord& batch,
                              const fs::path& outbox) {
    std::vector<fs::path> written;
    for (const auto& [name, bytes] : store.batch_outputs(batch.batch_id)) {
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
