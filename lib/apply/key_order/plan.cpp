#include "apply/key_order/plan.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "ledger/footprint.hpp"
#include "util/arena.hpp"

namespace actiondrop::apply::key_order {
namespace {

// Bytes of the ids a span copies to ask for them in id order: a span closes early when they
// reach it (a million ids of 32 bytes do not).
constexpr std::size_t span_id_bytes = 32 << 20;
// Ids asked for at once: as many as a chunk of file order holds.
constexpr std::size_t ids_per_ask = 8'000;
// Bytes of gathered rows per range, whatever the row count: two ranges are in memory at once
// (one applied, the next one gathered).
constexpr std::size_t range_bytes = 12 << 20;

}  // namespace

SpanKeys find_keys(store::BatchTransaction& tx, std::string_view account_id,
                   batch::CsvReader& reader, const batch::Layout& layout, std::size_t most) {
    SpanKeys span;
    std::vector<Keyed>& keyed = span.keyed;
    keyed.reserve(most);
    auto in_file_order = [&span] {
        span.order = SpanKeys::Order::File;
        std::vector<Keyed>().swap(span.keyed);  // `= {}` would keep the reserved rows
        return std::move(span);
    };
    // The span's ids, asked for in id order: a store can walk its id index once.
    struct Named {
        std::uint64_t prefix;  // the id's first 8 bytes, big-endian: most comparisons end here
        const char* id;
        std::uint32_t size;
        std::uint32_t row;
        std::string_view view() const { return {id, size}; }
    };
    auto prefix_of = [](std::string_view id) {
        std::uint64_t prefix = 0;
        for (std::size_t i = 0; i < 8; ++i)
            prefix = (prefix << 8) | (i < id.size() ? static_cast<unsigned char>(id[i]) : 0u);
        return prefix;
    };
    util::Arena bytes;
    std::vector<Named> named;
    named.reserve(most);  // grown by doubling, it would hold two copies at once
    // Whether a row may reach its action's descendants (ledger::RowFootprint), by row.
    std::vector<bool> descendants;
    descendants.reserve(most);
    batch::Record record;
    std::size_t id_bytes = 0;
    while (keyed.size() < most && id_bytes < span_id_bytes) {
        auto more = reader.next(record);
        if (!more) {
            span.file_error = more.error();
            return in_file_order();
        }
        if (!*more) {
            span.at_end = true;
            break;
        }
        std::size_t size = 16;
        for (const std::string& field : record.fields) size += field.size() + 1;
        keyed.push_back({no_action, static_cast<std::uint32_t>(keyed.size()),
                         static_cast<std::uint32_t>(std::min<std::size_t>(size, UINT32_MAX))});
        auto parsed = layout.modification(record);
        if (!parsed) {
            descendants.push_back(false);
            continue;  // refused before any ledger lookup
        }
        const ledger::RowFootprint footprint = ledger::row_footprint(*parsed);
        descendants.push_back(footprint.descendants);
        switch (footprint.finds) {
            case ledger::RowFootprint::Finds::Nothing:
                continue;
            case ledger::RowFootprint::Finds::ByOrder:
                return in_file_order();  // no key by order
            case ledger::RowFootprint::Finds::ById:
                break;
        }
        const std::string& id = *parsed->action_id;
        char* copy = bytes.allocate(id.size());
        std::memcpy(copy, id.data(), id.size());
        id_bytes += id.size();
        named.push_back(
            {prefix_of(id), copy, static_cast<std::uint32_t>(id.size()), keyed.back().row});
    }
    std::sort(named.begin(), named.end(), [](const Named& a, const Named& b) {
        return a.prefix != b.prefix ? a.prefix < b.prefix : a.view() < b.view();
    });
    std::vector<std::string_view> ids;
    store::KeyOrder* const key_order = tx.key_order();
    for (std::size_t first = 0; first < named.size(); first += ids_per_ask) {
        const std::size_t n = std::min(ids_per_ask, named.size() - first);
        ids.clear();
        for (std::size_t i = first; i < first + n; ++i) ids.push_back(named[i].view());
        std::vector<std::optional<store::KeyOrder::ActionKey>> keys;
        if (key_order) keys = key_order->action_keys(account_id, ids);
        if (keys.size() != n) return in_file_order();  // the store has no key order
        for (std::size_t i = 0; i < n; ++i) {
            if (!keys[i]) continue;  // no such action: the row touches nothing
            const std::uint32_t row = named[first + i].row;
            // Another row may reach one of the children: only file order keeps their order.
            if (descendants[row] && keys[i]->has_children) return in_file_order();
            keyed[row].key = keys[i]->key;
        }
    }
    return span;
}

SpanOrder order_span(std::vector<Keyed> keyed, std::size_t range_rows) {
    const std::size_t count = keyed.size();
    std::sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
        return a.key != b.key ? a.key < b.key : a.row < b.row;
    });
    SpanOrder order;
    order.rank.resize(count);
    order.keys.resize(count);
    order.ranges.push_back(0);
    const std::size_t most_rows = std::max<std::size_t>(range_rows, 1);
    std::size_t rows = 0, bytes = 0;
    for (std::size_t at = 0; at < count; ++at) {
        if (rows == most_rows || (rows > 0 && bytes + keyed[at].bytes > range_bytes)) {
            order.ranges.push_back(at);
            rows = bytes = 0;
        }
        ++rows;
        bytes += keyed[at].bytes;
        order.rank[keyed[at].row] = static_cast<std::uint32_t>(at);
        order.keys[at] = keyed[at].key;
    }
    order.ranges.push_back(count);
    return order;
}

}  // namespace actiondrop::apply::key_order
