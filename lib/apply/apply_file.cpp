#include "apply/apply_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "apply/answer_files.hpp"
#include "apply/delivery.hpp"
#include "apply/journal.hpp"
#include "apply/key_order/pipeline.hpp"
#include "apply/key_order/plan.hpp"
#include "apply/key_order/rereading.hpp"
#include "apply/pending_rows.hpp"
#include "apply/row_report.hpp"
#include "batch/outputs.hpp"
#include "ledger/errors.hpp"
#include "ledger/rules.hpp"
#include "util/atomic_file.hpp"
#include "util/batch_id.hpp"
#include "util/opened_file.hpp"
#include "util/sha256.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;
using ledger::ErrorCode;

namespace {

std::string waits_for(const store::BatchRecord& earlier) {
    return fmt::format(
        "waits for batch {} (file '{}', inbox {}, begun {}), an earlier file of account {} that "
        "is not applied yet: the service that took it applies it when it runs again; if none "
        "will, an operator settles it with `actiondrop batches abandon {}` (docs/ingest.md, "
        "\"Arrival order\")",
        earlier.batch_id, earlier.file_name, earlier.inbox,
        ledger::format_instant(earlier.received_at), earlier.account_id, earlier.batch_id);
}

}  // namespace

EarlierFileFirst::EarlierFileFirst(const store::BatchRecord& earlier)
    : std::runtime_error(waits_for(earlier)), earlier_batch_id_(earlier.batch_id) {}

int ApplyResult::exit_code() const {
    if (status == "REJECTED") return 65;
    return rejected > 0 ? 3 : 0;
}

namespace {

// Rows read ahead, fetched together and written together: bounds memory, keeps every
// write batch sorted by key, and is small enough that the pages one chunk touches stay in
// the store's page cache from its reads to its writes. A chunk also closes once its records
// hold chunk_bytes (held_bytes(), apply/pending_rows.hpp), which rows of ordinary size never reach.
constexpr std::size_t chunk_rows = 8'000;
constexpr std::size_t chunk_bytes = 16 << 20;

std::string to_string(const ledger::Instant t) { return ledger::format_instant(t); }

class BatchRun {
public:
    BatchRun(store::Store& store, const ledger::Catalog& catalog, const ApplyRequest& request,
             const Clock& clock)
        : store_(store), catalog_(catalog), req_(request), clock_(clock) {}

    ~BatchRun() {
        if (held_.empty()) return;
        try {
            store_.release_batch(held_);
        } catch (const std::exception&) {
            // The mark ends with the process anyway.
        }
    }
    BatchRun(const BatchRun&) = delete;
    BatchRun& operator=(const BatchRun&) = delete;

    ApplyResult run();

private:
    // Marks `batch_id` as this run's (store::BatchJournal::hold_batch); true when no other
    // process held it.
    bool hold(const std::string& batch_id) {
        const bool only_ours = store_.hold_batch(batch_id);
        if (held_.empty() && only_ours) held_ = batch_id;
        return only_ours;
    }
    std::string duplicate_message(const store::BatchRecord& done) const;
    void refuse_behind_earlier_file();
    ApplyResult reject(ErrorCode code, std::string message, std::optional<std::int64_t> line);
    ApplyResult finish(store::BatchTransaction* tx,
                       std::vector<std::pair<std::string, fs::path>> files);
    void process_rows(store::BatchTransaction& tx);
    ledger::RowResult apply_row(store::BatchTransaction& tx, const batch::Layout& layout,
                                Pending& pending);
    std::optional<RowProblem> count_result(ledger::RowResult& row, const batch::Record& record);
    std::optional<RowProblem> count_row(ledger::RowResult& row, const batch::Record& record,
                                        const batch::Layout& layout, std::ostream& results,
                                        std::ostream& errors);
    void apply_in_file_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                             const batch::Layout& layout, std::ostream& results,
                             std::ostream& errors);
    void apply_in_key_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                            const batch::Layout& layout, std::ostream& results,
                            std::ostream& errors);
    // A batch committed before (a crash or a failed delivery after its commit): it is never
    // applied again, only answered again if it was not delivered yet.
    ApplyResult answer_committed(const store::BatchRecord& done);
    batch::Summary summary() const;
    void write_summary(const fs::path& path) const;
    void deliver_files(const std::vector<std::pair<std::string, fs::path>>& files);

    store::Store& store_;
    const ledger::Catalog& catalog_;
    const ApplyRequest& req_;
    const Clock& clock_;

    const ledger::Account* account_ = nullptr;
    std::string file_name_;
    std::optional<util::OpenedFile> own_file_;  // opened here when the caller did not
    const util::OpenedFile* file_ = nullptr;    // every read of the batch file goes through it
    util::FileDigest digest_;
    store::BatchRecord record_;
    ledger::Instant now_{};
    std::optional<Spool> spool_;
    ApplyResult result_;
    std::optional<batch::FileError> file_error_;  // a file-level error found while reading rows
    ledger::BatchContext ctx_;
    std::string held_;  // the batch id this run marked, released at its end
};

std::string BatchRun::duplicate_message(const store::BatchRecord& done) const {
    return fmt::format("the same content was applied as batch {} (file '{}', completed {})",
                       done.batch_id, done.file_name,
                       done.completed_at ? to_string(*done.completed_at) : "?");
}

// finish() has copied the outcome into record_ by now; only the counts are result_'s.
batch::Summary BatchRun::summary() const {
    batch::Summary s = file_level_summary(record_);
    s.total = result_.total;
    s.applied = result_.applied;
    s.rejected = result_.rejected;
    s.error_counts = result_.error_counts;
    s.dry_run = req_.dry_run;
    s.as_of = req_.as_of;
    return s;
}

void BatchRun::write_summary(const fs::path& path) const {
    auto out = open_output(path);
    batch::write_summary(out, summary());
    close_output(out, path);
}

void BatchRun::deliver_files(const std::vector<std::pair<std::string, fs::path>>& files) {
    if (!req_.write_outputs) return;
    std::vector<std::string> names;
    for (const auto& file : files) names.push_back(file.first);
    // First, so that an advertiser who finds the new summary finds no older answer beside it.
    replace_answers(req_.outbox, file_name_, names, req_.outbox_kind);
    for (const auto& [name, path] : files) {
        util::copy_file_atomically(path, req_.outbox / name);
        result_.delivered.push_back(req_.outbox / name);
    }
}

// Commits the journal record and outputs (with the row effects of `tx`, if any), then
// delivers. A dry run rolls back and only delivers.
ApplyResult BatchRun::finish(store::BatchTransaction* tx,
                             std::vector<std::pair<std::string, fs::path>> files) {
    record_.completed_at = clock_();
    record_.status = result_.status;
    record_.total = result_.total;
    record_.applied = result_.applied;
    record_.rejected = result_.rejected;
    record_.error_code = result_.error_code;
    record_.error_message = result_.error_message;
    record_.error_line = result_.error_line;
    {
        std::string counts = "{";
        for (const auto& [code, n] : result_.error_counts)
            counts += fmt::format("{}\"{}\":{}", counts.size() > 1 ? "," : "", code, n);
        record_.error_counts_json = counts + "}";
    }
    auto summary_path = spool_->path(batch::summary_name(file_name_));
    write_summary(summary_path);
    files.emplace_back(batch::summary_name(file_name_), summary_path);

    if (req_.dry_run) {
        if (tx) tx->rollback();
        deliver_files(files);
        return result_;
    }
    std::unique_ptr<store::BatchTransaction> own;
    if (!tx) {
        own = store_.begin_batch(record_.batch_id);
        tx = own.get();
    }
    std::vector<store::BatchOutput> outputs;
    for (const auto& [name, path] : files) outputs.push_back({name, path});
    // What was hashed and read must still be the file: an uploader who kept a descriptor
    // open could have written to it meanwhile.
    if (file_ && file_->changed_since_open())
        throw std::runtime_error(
            "the batch file changed while it was applied; it will be read again");
    move_to(record_, BatchState::Applied);
    tx->commit(record_, outputs);
    if (req_.committed) req_.committed();
    deliver_files(files);
    move_to(record_, BatchState::Delivered);
    store_.put_batch(record_);
    return result_;
}

ApplyResult BatchRun::answer_committed(const store::BatchRecord& done) {
    result_.batch_id = done.batch_id;
    result_.status = done.status;
    result_.error_code = done.error_code;
    result_.error_message = done.error_message;
    result_.error_line = done.error_line;
    result_.total = done.total;
    result_.applied = done.applied;
    result_.rejected = done.rejected;
    if (done.state == BatchState::Applied) {
        result_.redelivered = true;
        if (req_.write_outputs)
            result_.delivered = deliver(store_, done, req_.outbox, req_.outbox_kind);
    }
    return result_;
}

ApplyResult BatchRun::reject(ErrorCode code, std::string message,
                             std::optional<std::int64_t> line) {
    result_.status = "REJECTED";
    result_.error_code = std::string(ledger::error_name(code));
    result_.error_message = std::move(message);
    result_.error_line = line;
    return finish(nullptr, {});
}

ledger::RowResult BatchRun::apply_row(store::BatchTransaction& tx, const batch::Layout& layout,
                                      Pending& pending) {
    ledger::RowResult row;
    if (req_.type == batch::FileType::Modifications) {
        auto& parsed = *pending.modification;
        if (parsed) {
            row = ledger::apply_modification(catalog_, *account_, tx, *parsed, ctx_);
        } else {
            row.error = parsed.error().code;
            row.message = parsed.error().message;
        }
    } else if (req_.type == batch::FileType::Conversions) {
        if (!pending.conversion) pending.conversion = layout.conversion(pending.record);
        auto& parsed = *pending.conversion;
        if (parsed) {
            row = ledger::apply_conversion(catalog_, *account_, tx, *parsed, ctx_);
        } else {
            row.error = parsed.error().code;
            row.message = parsed.error().message;
        }
    } else {
        auto parsed = layout.transfer(pending.record);
        if (parsed) {
            row = ledger::apply_transfer(*account_, tx, *parsed, ctx_);
        } else {
            row.operation = ledger::Operation::Transfer;  // every row of the file is one
            row.error = parsed.error().code;
            row.message = parsed.error().message;
        }
    }
    row.line = pending.record.line;
    pending.conversion.reset();  // the slot's next record is parsed afresh
    return row;
}

// Counts a row's result; returns the problem of a rejected row.
std::optional<RowProblem> BatchRun::count_result(ledger::RowResult& row,
                                                 const batch::Record& record) {
    ++result_.total;
    if (row.outcome == ledger::Outcome::Applied) {
        ++result_.applied;
        return std::nullopt;
    }
    row.outcome = ledger::Outcome::Rejected;
    ++result_.rejected;
    std::string code(ledger::error_name(row.error));
    ++result_.error_counts[code];
    if (row.message.empty()) row.message = code;
    return RowProblem{record.line, std::move(code), row.message};
}

std::optional<RowProblem> BatchRun::count_row(ledger::RowResult& row, const batch::Record& record,
                                              const batch::Layout& layout, std::ostream& results,
                                              std::ostream& errors) {
    auto problem = count_result(row, record);
    write_lines(row, record, layout, results, errors);
    return problem;
}

// Rows read a chunk ahead so that the store can fetch their actions in its key order before
// the rows are applied, still one by one in file order; to the end of the file.
void BatchRun::apply_in_file_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                                   const batch::Layout& layout, std::ostream& results,
                                   std::ostream& errors) {
    return_large_blocks();
    const bool modifications = req_.type == batch::FileType::Modifications;
    const bool conversions = req_.type == batch::FileType::Conversions;
    // The chunk's slots are made as rows come: a file of one row makes one (README.md,
    // "Limits": memory). A deque, so that a new slot moves none: action_ids views their ids.
    std::deque<Pending> chunk;
    SlotBytes held;
    auto empty = [&](std::size_t i) { chunk[i] = Pending{}; };
    std::vector<std::string_view> action_ids;
    bool at_end = false;
    while (!at_end) {
        std::size_t filled = 0;
        action_ids.clear();
        while (filled < chunk_rows && held.total() < chunk_bytes) {
            if (filled == chunk.size()) chunk.emplace_back();
            Pending& pending = chunk[filled];
            auto more = reader.next(pending.record);
            if (!more) {
                file_error_ = more.error();
                return;
            }
            if (!*more) {
                at_end = true;
                break;
            }
            if (modifications) {
                pending.modification = layout.modification(pending.record);
                if (*pending.modification && (*pending.modification)->action_id)
                    action_ids.push_back(*(*pending.modification)->action_id);
            } else if (conversions) {
                // A new action's id is looked up to refuse a duplicate: asked for the whole
                // chunk at once, the store answers most with "none" in one statement.
                pending.conversion = layout.conversion(pending.record);
                if (*pending.conversion && (*pending.conversion)->action_id)
                    action_ids.push_back(*(*pending.conversion)->action_id);
            }
            held.refilled(filled, pending.record);
            ++filled;
        }
        held.release_from(filled, empty);
        if (store::KeyOrder* key_order = tx.key_order(); key_order && !action_ids.empty())
            key_order->prefetch(account_->id, action_ids);
        for (std::size_t i = 0; i < filled; ++i) {
            ledger::RowResult row = apply_row(tx, layout, chunk[i]);
            auto problem = count_row(row, chunk[i].record, layout, results, errors);
            if (problem && result_.first_problems.size() < problems_kept)
                result_.first_problems.push_back(kept_problem(std::move(*problem)));
        }
        held.release_large(empty);
        if (filled > 0) {
            tx.flush();
            if (req_.progress) req_.progress(reader.bytes_read(), digest_.size);
        }
    }
}

// Span by span: the plan reads a span and finds its keys (apply/key_order/plan.hpp), the
// pipeline applies it (apply/key_order/pipeline.hpp); a span the plan refuses, and the rest of
// the file, go in file order.
void BatchRun::apply_in_key_order(store::BatchTransaction& tx, batch::CsvReader& reader,
                                  const batch::Layout& layout, std::ostream& results,
                                  std::ostream& errors) {
    return_large_blocks();
    const key_order::PipelineSizes sizes{
        .range_rows = std::max<std::size_t>(req_.key_order_rows, 1),
        .chunk_rows = req_.key_chunk_rows};
    const std::size_t span_rows = sizes.range_rows * key_order::span_ranges;
    std::size_t span_start = 0;  // data rows before the span
    for (;;) {
        const std::int64_t bytes_from = reader.bytes_read();
        // A record takes at least a byte: a file holds fewer rows than its bytes, so a small
        // file does not reserve a span's rows (find_keys reserves `most`).
        const auto file_bytes = static_cast<std::size_t>(std::max<std::int64_t>(digest_.size, 0));
        key_order::SpanKeys span = key_order::find_keys(tx, account_->id, reader, layout,
                                                        std::min(span_rows, file_bytes + 1));
        if (span.file_error) {
            file_error_ = std::move(span.file_error);
            return;
        }
        if (span.order == key_order::SpanKeys::Order::File) {
            // This span and the rest of the file in file order.
            key_order::Rereading again(*file_, req_.limits, span_start);
            apply_in_file_order(tx, again.reader(), layout, results, errors);
            return;
        }
        const std::size_t rows = span.keyed.size();
        if (rows == 0) return;
        const key_order::SpanOrder order =
            key_order::order_span(std::move(span.keyed), sizes.range_rows);
        const std::int64_t bytes_to = reader.bytes_read();
        key_order::RowSteps steps{
            .apply = [&](Pending& pending) { return apply_row(tx, layout, pending); },
            .count = [&](ledger::RowResult& row,
                         const batch::Record& record) { return count_result(row, record); },
            .progress = {},
        };
        if (req_.progress)
            steps.progress = [&](std::size_t done, std::size_t of) {
                req_.progress(bytes_from + (bytes_to - bytes_from) *
                                               static_cast<std::int64_t>(done) /
                                               static_cast<std::int64_t>(of),
                              digest_.size);
            };
        const std::size_t problems_wanted =
            problems_kept - std::min(problems_kept, result_.first_problems.size());
        auto problems = key_order::apply_span(
            tx, account_->id, layout, {*file_, req_.limits, span_start}, order, sizes, steps,
            spool_->path("lines.runs"), problems_wanted, results, errors);
        for (RowProblem& problem : problems) result_.first_problems.push_back(std::move(problem));
        if (span.at_end) return;
        span_start += rows;
    }
}

void BatchRun::process_rows(store::BatchTransaction& tx) {
    util::DescriptorStream in(file_->fd(), file_->path());
    batch::CsvReader reader(in, req_.limits);
    batch::Record record;

    auto first = reader.next(record);
    if (!first) {
        file_error_ = first.error();
        return;
    }
    if (!*first) {
        file_error_ = batch::FileError{
            ErrorCode::EmptyFile, "the file is empty: no header and no data record", std::nullopt};
        return;
    }
    auto layout = batch::Layout::parse(req_.type, record);
    if (!layout) {
        file_error_ = layout.error();
        return;
    }

    auto result_path = spool_->path(batch::result_name(file_name_));
    auto errors_path = spool_->path(batch::errors_name(file_name_));
    auto results = open_output(result_path);
    auto errors = open_output(errors_path);
    batch::write_result_header(results);
    batch::write_csv_record(errors, layout->errors_header());

    ctx_ = ledger::BatchContext{record_.batch_id, now_};
    if (req_.type == batch::FileType::Modifications && req_.key_order)
        apply_in_key_order(tx, reader, *layout, results, errors);
    else
        apply_in_file_order(tx, reader, *layout, results, errors);
    if (file_error_) return;
    if (req_.progress) req_.progress(digest_.size, digest_.size);
    close_output(results, result_path);
    close_output(errors, errors_path);
    if (result_.total == 0)
        file_error_ = batch::FileError{ErrorCode::EmptyFile,
                                       "the file has a header but no data record", std::nullopt};
}

// A command-line run writes no record while an earlier file of its account waits
// (docs/ingest.md, "Arrival order"): nobody would try it again, and its record would hold the
// account's later files back. One that another process applies now is decided by the end of
// that process's turn to write, so the run waits for that turn before it refuses.
void BatchRun::refuse_behind_earlier_file() {
    if (!store_.find_earlier_open_batch(req_.account_id, record_.batch_id)) return;
    store_.begin_batch(record_.batch_id)->rollback();
    if (auto first = store_.find_earlier_open_batch(req_.account_id, record_.batch_id))
        throw EarlierFileFirst(*first);
}

ApplyResult BatchRun::run() {
    account_ = catalog_.account(req_.account_id);
    if (!account_)
        throw std::invalid_argument(fmt::format("unknown account '{}'", req_.account_id));
    if (req_.as_of && !req_.dry_run)
        throw std::invalid_argument("--as-of is only allowed with --dry-run");

    file_name_ = req_.file_name.empty() ? req_.file.filename().string() : req_.file_name;
    record_.received_at = clock_();
    if (req_.opened) {
        file_ = req_.opened;
    } else {
        own_file_.emplace(util::OpenedFile::open(req_.file, /*follow_links=*/true));
        if (!S_ISREG(own_file_->status().st_mode))
            throw std::invalid_argument(
                fmt::format("{}: {}, not a batch file", req_.file.string(), own_file_->refusal()));
        file_ = &*own_file_;
    }
    // The size comes first: a file over the limit is answered without reading it.
    const bool too_large = file_->size() > req_.limits.max_file_bytes;
    if (too_large)
        digest_.size = file_->size();  // never hashed: its receipt and summary have no sha256
    else
        digest_ = file_->digest();
    now_ = req_.as_of.value_or(record_.received_at);

    record_.account_id = req_.account_id;
    record_.inbox = req_.inbox;
    record_.file_name = file_name_;
    record_.sha256 = digest_.sha256;
    record_.size = digest_.size;
    record_.type = std::string(batch::file_type_name(req_.type));
    record_.state = BatchState::Claimed;
    record_.claim = !req_.batch_id.empty();

    std::optional<store::BatchRecord> duplicate_of;
    if (!req_.dry_run && !req_.batch_id.empty()) {
        // A claim: its own journal record, whatever else has the same content.
        record_.batch_id = req_.batch_id;
        if (auto mine = store_.find_batch(req_.batch_id)) {
            if (committed(*mine)) return answer_committed(*mine);
            record_.attempts = mine->attempts;
        }
        if (!too_large && !req_.reprocess_duplicates)
            if (auto done = store_.find_complete_batch(req_.account_id, digest_.sha256);
                done && done->batch_id != record_.batch_id)
                duplicate_of = done;
    } else if (req_.dry_run) {
        // A dry run that answers (apply --dry-run) answers what an upload would get now:
        // content applied before is a duplicate. `validate` only checks the rows.
        if (req_.write_outputs && !too_large && !req_.reprocess_duplicates)
            duplicate_of = store_.find_complete_batch(req_.account_id, digest_.sha256);
    } else if (!too_large) {
        // What another process works on now is its own: only a batch of this name whose
        // attempt ended (nobody holds its mark) is answered again or resumed here.
        if (auto done = store_.find_complete_batch(req_.account_id, digest_.sha256)) {
            if (done->state == BatchState::Applied && done->file_name == file_name_ &&
                hold(done->batch_id))
                return answer_committed(*done);
            if (!req_.reprocess_duplicates) duplicate_of = done;
        }
        if (auto open = store_.find_open_batch(req_.account_id, digest_.sha256);
            open && !duplicate_of && hold(open->batch_id)) {
            // An attempt that died before its commit: resume it under the same batch id.
            record_.batch_id = open->batch_id;
            record_.attempts = open->attempts;
        }
    }
    if (record_.batch_id.empty()) record_.batch_id = util::new_batch_id(record_.received_at);
    if (!req_.dry_run && req_.batch_id.empty()) refuse_behind_earlier_file();
    if (!req_.dry_run && held_.empty()) (void)hold(record_.batch_id);
    ++record_.attempts;
    result_.batch_id = record_.batch_id;
    if (!req_.dry_run) store_.put_batch(record_);

    spool_.emplace(req_.spool / record_.batch_id);
    if (req_.write_outputs) {
        std::ostringstream receipt;
        batch::write_receipt(receipt, {record_.batch_id, file_name_, digest_.sha256, digest_.size,
                                       record_.received_at});
        util::write_file_atomically(req_.outbox / batch::receipt_name(file_name_), receipt.str());
        result_.delivered.push_back(req_.outbox / batch::receipt_name(file_name_));
    }

    if (duplicate_of)
        return reject(ErrorCode::DuplicateFile, duplicate_message(*duplicate_of), std::nullopt);
    if (too_large)
        return reject(ErrorCode::TooLarge,
                      fmt::format("the file has {} bytes; the limit is {}", digest_.size,
                                  req_.limits.max_file_bytes),
                      std::nullopt);

    auto tx = store_.begin_batch(record_.batch_id);
    // Files of an account are applied in the order their records were written: an earlier
    // one that is not decided yet goes first, whichever process took it (docs/ingest.md,
    // "Arrival order"). Checked in this process's turn to write, so that one decided meanwhile
    // lets this one go at once.
    if (!req_.dry_run && !req_.batch_id.empty())
        if (auto first = store_.find_earlier_open_batch(req_.account_id, record_.batch_id)) {
            tx->rollback();
            tx.reset();
            throw EarlierFileFirst(*first);
        }
    // The check above came before this process's turn to write: another one may have
    // committed the same content since (two uploads of one file, or two services sharing an
    // inbox). Writers take turns from begin_batch to their commit, so this check is final.
    if (!req_.dry_run && !req_.reprocess_duplicates)
        if (auto done = store_.find_complete_batch(req_.account_id, digest_.sha256);
            done && done->batch_id != record_.batch_id) {
            tx->rollback();
            tx.reset();
            return reject(ErrorCode::DuplicateFile, duplicate_message(*done), std::nullopt);
        }
    process_rows(*tx);
    if (file_error_) {
        tx->rollback();
        tx.reset();
        result_.total = result_.applied = result_.rejected = 0;
        result_.error_counts.clear();
        result_.first_problems.clear();
        return reject(file_error_->code, file_error_->message, file_error_->line);
    }

    auto result_file = batch::result_name(file_name_);
    auto errors_file = batch::errors_name(file_name_);
    if (req_.all_or_nothing && result_.rejected > 0) {
        tx->rollback();
        tx.reset();
        auto rewritten = spool_->path(result_file + ".not_applied");
        mark_not_applied(spool_->path(result_file), rewritten);
        fs::rename(rewritten, spool_->path(result_file));
        result_.status = "REJECTED";
        result_.error_code = std::string(ledger::error_name(ErrorCode::RowsRejected));
        result_.error_message =
            fmt::format("{} of {} rows were rejected; with all_or_nothing nothing was applied",
                        result_.rejected, result_.total);
        result_.applied = 0;
        return finish(nullptr, {{result_file, spool_->path(result_file)},
                                {errors_file, spool_->path(errors_file)}});
    }
    result_.status = "COMPLETE";
    return finish(tx.get(), {{result_file, spool_->path(result_file)},
                             {errors_file, spool_->path(errors_file)}});
}

}  // namespace

ApplyResult apply_file(store::Store& store, const ledger::Catalog& catalog,
                       const ApplyRequest& request, const Clock& clock) {
    return BatchRun(store, catalog, request, clock).run();
}

}  // namespace actiondrop::apply
