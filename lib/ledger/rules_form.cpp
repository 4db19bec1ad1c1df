#include "ledger/rules_form.hpp"

#include <boost/multiprecision/cpp_int.hpp>
#include <set>

namespace actiondrop::ledger {

namespace {

RowError malformed(std::string message) { return {ErrorCode::Malformed, std::move(message)}; }

// Quantities are plain non-negative integers; nine digits keep line arithmetic far from
// int64 overflow.
std::expected<std::int64_t, std::string> parse_quantity(std::string_view text,
                                                        std::int64_t minimum) {
    if (text.empty()) return std::unexpected("empty quantity");
    if (text.size() > 9) return std::unexpected("more than 9 digits");
    std::int64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::unexpected("not a whole number");
        value = value * 10 + (c - '0');
    }
    if (value < minimum) return std::unexpected("must be at least " + std::to_string(minimum));
    return value;
}

std::optional<RowError> check_amount(const Cell& cell, std::string_view field,
                                     std::optional<Decimal>& out) {
    if (!cell) return std::nullopt;
    auto parsed = parse_amount(*cell);
    if (!parsed) return malformed(std::string(field) + ": " + parsed.error());
    out = *parsed;
    return std::nullopt;
}

std::optional<RowError> check_currency(const Cell& cell, const Currency*& out) {
    if (!cell) return std::nullopt;
    out = find_currency(*cell);
    if (!out) return malformed("CurrencyCode: unknown currency " + *cell);
    return std::nullopt;
}

std::optional<RowError> check_customer_status(const Cell& cell, std::optional<std::string>& out) {
    if (!cell) return std::nullopt;
    if (*cell != "NEW" && *cell != "EXISTING")
        return malformed("CustomerStatus: must be NEW or EXISTING, not " + *cell);
    out = *cell;
    return std::nullopt;
}

bool is_empty(const ItemGroup& g) {
    return !g.sku && !g.new_sku && !g.quantity && !g.amount && !g.category;
}

// The first field of a group given without its Sku<i>.
std::optional<RowError> check_group_has_sku(const ItemGroup& g) {
    if (g.sku) return std::nullopt;
    std::string_view field = g.new_sku    ? "NewSku"
                             : g.quantity ? "Quantity"
                             : g.amount   ? "Amount"
                                          : "Category";
    return malformed(item_field(field, g.index) + ": given without " + item_field("Sku", g.index));
}

// Decimals compared by value: parse_amount allows at most 3 fraction digits.
boost::multiprecision::int128_t thousandths(const Decimal& d) {
    boost::multiprecision::int128_t v = d.mantissa;
    for (int s = d.scale; s < 3; ++s) v *= 10;
    return v;
}

}  // namespace

std::string item_field(std::string_view name, int index) {
    return std::string(name) + std::to_string(index);
}

RowError beyond_largest_amount(std::string_view field, std::string_view what) {
    return malformed(std::string(field) + ": " + std::string(what) +
                     " would be beyond the largest amount, 9223372036854775807 minor units");
}

bool ModificationValues::specifies_changes() const {
    if (amount || customer_status) return true;
    for (const auto& item : items)
        if (item.specifies_change()) return true;
    return false;
}

std::expected<ModificationValues, RowError> parse_modification_values(const ModificationRow& row) {
    ModificationValues values;
    if (auto e = check_amount(row.amount, "Amount", values.amount)) return std::unexpected(*e);
    if (auto e = check_currency(row.currency_code, values.currency)) return std::unexpected(*e);
    if (auto e = check_customer_status(row.customer_status, values.customer_status))
        return std::unexpected(*e);

    std::set<std::string> skus;
    for (const auto& g : row.items) {
        if (is_empty(g)) continue;
        if (auto e = check_group_has_sku(g)) return std::unexpected(*e);
        ItemChange change;
        change.index = g.index;
        change.sku = *g.sku;
        change.new_sku = g.new_sku;
        change.category = g.category;
        if (g.quantity) {
            auto q = parse_quantity(*g.quantity, 0);
            if (!q)
                return std::unexpected(
                    malformed(item_field("Quantity", g.index) + ": " + q.error()));
            change.quantity = *q;
        }
        if (auto e = check_amount(g.amount, item_field("Amount", g.index), change.amount))
            return std::unexpected(*e);
        values.items.push_back(std::move(change));
    }
    for (const auto& item : values.items) {
        if (!skus.insert(item.sku).second)
            return std::unexpected(malformed(item_field("Sku", item.index) + ": SKU " + item.sku +
                                             " named by two item groups"));
    }
    // A new SKU must not take the name of another line named in the same row.
    std::set<std::string> new_skus;
    for (const auto& item : values.items) {
        if (!item.new_sku || *item.new_sku == item.sku) continue;
        if (skus.count(*item.new_sku) || !new_skus.insert(*item.new_sku).second)
            return std::unexpected(malformed(item_field("NewSku", item.index) + ": SKU " +
                                             *item.new_sku + " would name two items"));
    }
    return values;
}

std::expected<std::optional<ReasonKind>, RowError> check_modification_fields(
    const ModificationRow& row) {
    if (!row.action_id && !(row.order_id && row.tracker_id))
        return std::unexpected(RowError{ErrorCode::MissingIdentifier,
                                        "ActionId, or OrderId with ActionTrackerId, is required"});
    if (!row.reason && !row.disposition_code)
        return std::unexpected(
            RowError{ErrorCode::MissingReason, "Reason or DispositionCode is required"});
    if (!row.reason) return std::optional<ReasonKind>{};
    auto kind = find_reason(*row.reason);
    if (!kind)
        return std::unexpected(
            RowError{ErrorCode::UnknownReason, "Reason: unknown reason " + *row.reason});
    return kind;
}

std::expected<ConversionValues, RowError> parse_conversion_values(
    const ConversionRow& row, TimeZone tz, const Currency* default_currency) {
    ConversionValues values;
    if (auto e = check_amount(row.amount, "Amount", values.amount)) return std::unexpected(*e);
    if (auto e = check_currency(row.currency_code, values.currency)) return std::unexpected(*e);
    if (!values.currency) values.currency = default_currency;
    if (auto e = check_customer_status(row.customer_status, values.customer_status))
        return std::unexpected(*e);
    if (row.event_date) {
        auto t = parse_instant(*row.event_date, tz);
        if (!t) return std::unexpected(malformed("EventDate: " + t.error()));
        values.event_date = *t;
    }

    std::set<std::string> skus;
    for (const auto& g : row.items) {
        if (is_empty(g)) continue;
        if (auto e = check_group_has_sku(g)) return std::unexpected(*e);
        if (g.new_sku)
            return std::unexpected(
                malformed(item_field("NewSku", g.index) + ": not a conversion field"));
        ConversionLine line;
        line.index = g.index;
        line.sku = *g.sku;
        line.category = g.category.value_or("");
        if (g.quantity) {
            auto q = parse_quantity(*g.quantity, 1);
            if (!q)
                return std::unexpected(
                    malformed(item_field("Quantity", g.index) + ": " + q.error()));
            line.quantity = *q;
        }
        // A line without its amount cannot be priced: the file must say what the line cost.
        if (!g.amount)
            return std::unexpected(malformed(item_field("Amount", g.index) + ": required with " +
                                             item_field("Sku", g.index)));
        std::optional<Decimal> amount;
        if (auto e = check_amount(g.amount, item_field("Amount", g.index), amount))
            return std::unexpected(*e);
        line.amount = *amount;
        if (!skus.insert(line.sku).second)
            return std::unexpected(malformed(item_field("Sku", g.index) + ": SKU " + line.sku +
                                             " appears twice in the order"));
        values.items.push_back(std::move(line));
    }

    if (values.currency) {
        auto fits = [&](const Decimal& d, const std::string& field) -> std::optional<RowError> {
            if (auto m = to_minor(d, *values.currency); !m)
                return malformed(field + ": " + m.error());
            return std::nullopt;
        };
        if (values.amount)
            if (auto e = fits(*values.amount, "Amount")) return std::unexpected(*e);
        std::optional<std::int64_t> sum = 0;
        for (const auto& line : values.items) {
            if (auto e = fits(line.amount, item_field("Amount", line.index)))
                return std::unexpected(*e);
            if (sum) sum = add_minor(*sum, *to_minor(line.amount, *values.currency));
        }
        if (!sum)
            return std::unexpected(
                beyond_largest_amount("Amount", "the order amount, the sum of its lines,"));
    }
    if (values.amount && !values.items.empty()) {
        boost::multiprecision::int128_t sum = 0;
        for (const auto& line : values.items) sum += thousandths(line.amount);
        if (sum != thousandths(*values.amount))
            return std::unexpected(malformed("Amount: " + format_decimal(*values.amount) +
                                             " is not the sum of the item amounts"));
    }
    return values;
}

std::optional<RowError> check_conversion_fields(const ConversionRow& row) {
    auto missing = [](std::string_view field) {
        return RowError{ErrorCode::MissingField, std::string(field) + ": required"};
    };
    if (!row.tracker_id) return missing("ActionTrackerId");
    if (!row.partner_id) return missing("PartnerId");
    if (!row.order_id) return missing("OrderId");
    if (!row.event_date) return missing("EventDate");
    bool has_items = false;
    for (const auto& g : row.items)
        if (g.sku) has_items = true;
    if (!row.amount && !has_items)
        return RowError{ErrorCode::MissingField, "Amount or item groups: required"};
    return std::nullopt;
}

namespace {

// Characters, not bytes: the reader has checked that the file is UTF-8, so every byte that
// is not a continuation byte (10xxxxxx) starts one.
std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

constexpr std::size_t max_comment_chars = 255;

}  // namespace

std::expected<TransferValues, RowError> parse_transfer_values(const TransferRow& row, TimeZone tz,
                                                              const Currency* account_currency,
                                                              Instant now) {
    TransferValues values;
    if (row.transfer_type) {
        values.type = parse_transfer_type(*row.transfer_type);
        if (!values.type)
            return std::unexpected(
                malformed("TransferType: must be MAKE_GOOD, BONUS or PAID_PLACEMENT, not " +
                          *row.transfer_type));
    }
    if (auto e = check_amount(row.amount, "Amount", values.amount)) return std::unexpected(*e);
    if (values.amount) {
        if (values.amount->mantissa == 0)
            return std::unexpected(malformed("Amount: must be more than 0"));
        // The only currency a transfer may have is the account's (a CurrencyCode naming another
        // is CURRENCY_MISMATCH, a later check), so the amount is written in its digits.
        if (account_currency)
            if (auto m = to_minor(*values.amount, *account_currency); !m)
                return std::unexpected(malformed("Amount: " + m.error()));
    }
    if (auto e = check_currency(row.currency_code, values.currency)) return std::unexpected(*e);
    if (row.payment_date) {
        auto t = parse_instant(*row.payment_date, tz);
        if (!t) return std::unexpected(malformed("PaymentDate: " + t.error()));
        // A payment is recorded when it was made, never ahead of the file that reports it.
        if (*t > now)
            return std::unexpected(malformed("PaymentDate: " + format_instant(*t) +
                                             " is after the time the file is processed, " +
                                             format_instant(now)));
        values.payment_date = *t;
    }
    if (row.comments && utf8_length(*row.comments) > max_comment_chars)
        return std::unexpected(malformed("Comments: " + std::to_string(utf8_length(*row.comments)) +
                                         " characters; at most 255 are allowed"));
    return values;
}

std::optional<RowError> check_transfer_fields(const TransferRow& row) {
    auto missing = [](std::string_view field) {
        return RowError{ErrorCode::MissingField, std::string(field) + ": required"};
    };
    if (!row.transfer_type) return missing("TransferType");
    if (!row.partner_id) return missing("PartnerId");
    if (!row.amount) return missing("Amount");
    return std::nullopt;
}

}  // namespace actiondrop::ledger
