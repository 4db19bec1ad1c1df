#pragma once
// Rows read ahead of their turn, and what they hold in memory.
//
// Quoted line breaks let a record be as long as max_record_bytes, so a number of rows alone
// does not bound the memory of rows read ahead: every batch of them also closes at a number
// of bytes (README.md, "Limits"). A record holds more than its bytes in the file: each field
// is a std::string (32 bytes, its text inline up to 15 bytes), the row mapped from it copies
// the fields, and its result may repeat a value twice (the ActionId, and a message quoting
// it); held_bytes() counts all of it, that is four times its text.
//
// The slots of a batch are reused by the next one, so that a steady file allocates nothing
// per row, and a slot keeps the capacity of what it held: so a batch closes once all its
// slots hold the bound, those it has not reached yet included; the slots it did not reach are
// then emptied, and once it is done, those that held a large record.
#include <cstddef>
#include <expected>
#include <optional>
#include <vector>

#include "batch/csv_reader.hpp"
#include "batch/layout.hpp"
#include "ledger/rules.hpp"

namespace actiondrop::apply {

// A row read ahead: the record and, for a modification file, its mapped row.
struct Pending {
    batch::Record record;
    std::optional<std::expected<ledger::ModificationRow, batch::RowError>> modification;
    // A conversion read ahead (its ActionId prefetched with the chunk's).
    std::optional<std::expected<ledger::ConversionRow, batch::RowError>> conversion;
};

// A slot that held more than this is emptied once its batch is done.
constexpr std::size_t large_record = 64 << 10;

std::size_t held_bytes(const batch::Record& record);

// What the slots of rows read ahead hold (held_bytes()), by slot and in all.
class SlotBytes {
public:
    std::size_t total() const { return total_; }
    // Slot `i` holds `record` now (a slot not counted before is added).
    void refilled(std::size_t i, const batch::Record& record) {
        if (i >= held_.size()) held_.resize(i + 1);
        total_ -= held_[i];
        held_[i] = held_bytes(record);
        total_ += held_[i];
    }
    // Empties, through empty(i), the slots from `first` on that hold anything.
    template <typename Empty>
    void release_from(std::size_t first, Empty&& empty) {
        for (std::size_t i = first; i < held_.size(); ++i) release(i, empty);
    }
    // Empties the slots that hold a large record.
    template <typename Empty>
    void release_large(Empty&& empty) {
        for (std::size_t i = 0; i < held_.size(); ++i)
            if (held_[i] > large_record) release(i, empty);
    }

private:
    template <typename Empty>
    void release(std::size_t i, Empty& empty) {
        if (held_[i] == 0) return;
        empty(i);
        total_ -= held_[i];
        held_[i] = 0;
    }
    std::vector<std::size_t> held_;
    std::size_t total_ = 0;
};

// glibc raises its mmap threshold to the size of the largest block freed, so after one long
// record the buffers of every later one come from malloc's heaps, one per thread that made
// them, and stay there once freed: the process would keep several times what it holds. A
// fixed threshold (glibc's first one) sends each buffer of 128 KiB or more back when freed.
void return_large_blocks();

}  // namespace actiondrop::apply
