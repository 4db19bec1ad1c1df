#pragma once
// The clear's queue put in its order in the program's memory (docs/lifecycle.md, "Scale"): a
// store that reads the queue in the order its rows are stored hands each action here, and
// reads the queue back in queue order (clearing date, then action id, bytewise), as
// ClearQueue takes it. The memory is bounded: past `max_bytes` the queue refuses more, and
// the store sorts the queue some other way.
//
// The actions are kept in pieces of a fixed size, each sorted on its own once full, and the
// pieces are merged as the queue is read back: no allocation is as large as the queue, and
// the memory held is the actions' own (about 40 bytes each, and their ids).
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle/clear.hpp"

namespace actiondrop::lifecycle {

class QueueOrder {
public:
    static constexpr std::size_t kPieceRows = std::size_t{1} << 17;

    explicit QueueOrder(std::size_t max_bytes) : max_bytes_(max_bytes) {}

    // Keeps one action (its id is copied). Returns false, and from then on keeps nothing and
    // holds no memory, when the queue would pass `max_bytes`.
    bool add(const QueueItem& a);
    bool over() const { return over_; }
    std::size_t size() const { return size_; }

    // Gives every action kept to `take`, in queue order, once; the queue is then empty.
    template <class Take>
    void drain(Take&& take) {
        sort_last();
        Merge merge(pieces_);
        QueueItem item;
        while (merge.next(item)) take(std::as_const(item));
        clear();
    }

private:
    struct Row {
        std::int64_t clearing = 0;  // milliseconds
        std::uint64_t prefix = 0;   // the id's first 8 bytes, big-endian, zero-padded
        std::int64_t key = 0;
        std::int64_t payout = 0;
        std::uint32_t id_at = 0;
        std::uint32_t id_size : 31 = 0;
        std::uint32_t overdue : 1 = 0;
    };
    static_assert(sizeof(Row) == 40, "docs/lifecycle.md gives a queued action 40 bytes");
    struct Piece {
        std::vector<Row> rows;
        std::string ids;
        std::string_view id(const Row& r) const { return {ids.data() + r.id_at, r.id_size}; }
    };
    // Reads sorted pieces back as one sequence in queue order.
    class Merge {
    public:
        explicit Merge(const std::vector<Piece>& pieces);
        bool next(QueueItem& out);

    private:
        const std::vector<Piece>& pieces_;
        std::vector<std::size_t> at_;    // the next row of each piece
        std::vector<std::size_t> heap_;  // pieces with rows left, the smallest next row first
        bool after(std::size_t a, std::size_t b) const;  // piece a's next row after b's
    };
    static bool before(const Piece& pa, const Row& a, const Piece& pb, const Row& b);
    void sort_last();
    void clear();
    bool give_up();  // frees what it holds and refuses from then on; false

    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::size_t size_ = 0;
    bool over_ = false;
    std::vector<Piece> pieces_;
};

}  // namespace actiondrop::lifecycle
