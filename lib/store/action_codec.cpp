#include "store/action_codec.hpp"

#include <cstdint>

#include "store/store.hpp"

namespace actiondrop::store {

namespace {

constexpr char kFormat = 1;

void put_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

void put_signed(std::string& out, std::int64_t value) {
    auto u = static_cast<std::uint64_t>(value);
    put_varint(out, (u << 1) ^ (value < 0 ? ~std::uint64_t{0} : 0));
}

void put_string(std::string& out, std::string_view text) {
    put_varint(out, text.size());
    out.append(text);
}

void put_items(std::string& out, const std::vector<ledger::Item>& items) {
    put_varint(out, items.size());
    for (const ledger::Item& item : items) {
        put_string(out, item.sku);
        put_string(out, item.category);
        put_signed(out, item.quantity);
        put_signed(out, item.amount);
    }
}

class Reader {
public:
    explicit Reader(std::string_view bytes, const char* what) : bytes_(bytes), what_(what) {
        if (bytes_.empty() || bytes_[0] != kFormat) damaged();
        pos_ = 1;
    }

    std::uint64_t varint() {
        std::uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ >= bytes_.size()) damaged();
            auto byte = static_cast<unsigned char>(bytes_[pos_++]);
            value |= std::uint64_t{byte & 0x7fu} << shift;
            if ((byte & 0x80) == 0) return value;
        }
        damaged();
    }

    std::int64_t signed_value() {
        std::uint64_t u = varint();
        return static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1));
    }

    std::string string() {
        std::uint64_t size = varint();
        if (size > bytes_.size() - pos_) damaged();
        std::string text(bytes_.substr(pos_, size));
        pos_ += size;
        return text;
    }

    std::vector<ledger::Item> items() {
        std::uint64_t count = varint();
        // Each item takes at least four bytes; a larger count is damage, not a huge list.
        if (count > (bytes_.size() - pos_) / 4) damaged();
        std::vector<ledger::Item> items(count);
        for (ledger::Item& item : items) {
            item.sku = string();
            item.category = string();
            item.quantity = signed_value();
            item.amount = signed_value();
        }
        return items;
    }

    void finish() {
        if (pos_ != bytes_.size()) damaged();
    }

private:
    [[noreturn]] void damaged() const {
        throw StoreError(std::string("damaged ") + what_ + " column");
    }

    std::string_view bytes_;
    const char* what_;
    std::size_t pos_ = 0;
};

}  // namespace

void encode_items(const std::vector<ledger::Item>& items, std::string& out) {
    out.clear();
    out.push_back(kFormat);
    put_items(out, items);
}

std::vector<ledger::Item> decode_items(std::string_view bytes) {
    Reader in(bytes, "items");
    std::vector<ledger::Item> items = in.items();
    in.finish();
    return items;
}

void encode_creation(const ledger::CreationState& creation, std::string& out) {
    out.clear();
    out.push_back(kFormat);
    put_signed(out, creation.amount);
    put_signed(out, creation.payout);
    out.push_back(creation.outside_terms ? 1 : 0);
    put_string(out, creation.customer_status);
    put_items(out, creation.items);
}

ledger::CreationState decode_creation(std::string_view bytes) {
    Reader in(bytes, "creation");
    ledger::CreationState creation;
    creation.amount = in.signed_value();
    creation.payout = in.signed_value();
    std::uint64_t outside_terms = in.varint();
    if (outside_terms > 1) throw StoreError("damaged creation column");
    creation.outside_terms = outside_terms == 1;
    creation.customer_status = in.string();
    creation.items = in.items();
    in.finish();
    return creation;
}

}  // namespace actiondrop::store
