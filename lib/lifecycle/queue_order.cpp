// The clear's queue put in its order in memory (queue_order.hpp).
#include "lifecycle/queue_order.hpp"

#include <algorithm>
#include <limits>

namespace actiondrop::lifecycle {

namespace {

// The first 8 bytes of an id as one number that orders as the bytes do (unsigned, bytewise),
// a shorter id padded with zero bytes: ids whose numbers differ are in that order, and ids
// with the same number are compared whole.
std::uint64_t prefix_of(std::string_view id) {
    std::uint64_t p = 0;
    for (std::size_t i = 0; i < 8; ++i)
        p = (p << 8) | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
    return p;
}

}  // namespace

bool QueueOrder::before(const Piece& pa, const Row& a, const Piece& pb, const Row& b) {
    if (a.clearing != b.clearing) return a.clearing < b.clearing;
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    return pa.id(a) < pb.id(b);  // std::string_view compares bytes as unsigned char
}

bool QueueOrder::add(const QueueItem& a) {
    if (over_) return false;
    if (pieces_.empty() || pieces_.back().rows.size() == kPieceRows) {
        sort_last();
        // A piece takes its rows' memory at once, so that a queue never holds a half-grown copy.
        bytes_ += kPieceRows * sizeof(Row);
        if (bytes_ > max_bytes_) return give_up();
        pieces_.emplace_back().rows.reserve(kPieceRows);
    }
    Piece& p = pieces_.back();
    const std::size_t ids_before = p.ids.capacity();
    if (p.ids.size() > std::numeric_limits<std::uint32_t>::max() - a.action_id.size() ||
        a.action_id.size() >= (std::size_t{1} << 31))
        return give_up();
    Row r;
    r.clearing = a.clearing_date.time_since_epoch().count();
    r.prefix = prefix_of(a.action_id);
    r.key = a.key;
    r.payout = a.payout;
    r.id_at = static_cast<std::uint32_t>(p.ids.size());
    r.id_size = static_cast<std::uint32_t>(a.action_id.size());
    r.overdue = a.overdue ? 1 : 0;
    p.ids.append(a.action_id);
    p.rows.push_back(r);
    bytes_ += p.ids.capacity() - ids_before;
    ++size_;
    return bytes_ <= max_bytes_ || give_up();
}

void QueueOrder::sort_last() {
    if (pieces_.empty()) return;
    Piece& p = pieces_.back();
    std::sort(p.rows.begin(), p.rows.end(),
              [&p](const Row& a, const Row& b) { return before(p, a, p, b); });
}

bool QueueOrder::give_up() {
    clear();
    over_ = true;
    return false;
}

void QueueOrder::clear() {
    std::vector<Piece>().swap(pieces_);
    bytes_ = 0;
    size_ = 0;
}

QueueOrder::Merge::Merge(const std::vector<Piece>& pieces)
    : pieces_(pieces), at_(pieces.size(), 0) {
    for (std::size_t i = 0; i < pieces_.size(); ++i)
        if (!pieces_[i].rows.empty()) heap_.push_back(i);
    std::make_heap(heap_.begin(), heap_.end(),
                   [this](std::size_t a, std::size_t b) { return after(a, b); });
}

bool QueueOrder::Merge::after(std::size_t a, std::size_t b) const {
    const Piece& pa = pieces_[a];
    const Piece& pb = pieces_[b];
    return before(pb, pb.rows[at_[b]], pa, pa.rows[at_[a]]);
}

bool QueueOrder::Merge::next(QueueItem& out) {
    if (heap_.empty()) return false;
    auto later = [this](std::size_t a, std::size_t b) { return after(a, b); };
    std::pop_heap(heap_.begin(), heap_.end(), later);
    const std::size_t i = heap_.back();
    const Piece& p = pieces_[i];
    const Row& r = p.rows[at_[i]];
    out.key = r.key;
    out.action_id = p.id(r);
    out.payout = r.payout;
    out.clearing_date = Instant{std::chrono::milliseconds{r.clearing}};
    out.overdue = r.overdue != 0;
    if (++at_[i] < p.rows.size())
        std::push_heap(heap_.begin(), heap_.end(), later);
    else
        heap_.pop_back();
    return true;
}

}  // namespace actiondrop::lifecycle
