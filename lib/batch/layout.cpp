#include "batch/layout.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>

namespace actiondrop::batch {

using ledger::ErrorCode;

namespace {

// What a column holds. Item roles carry the group index i separately.
enum Role : int {
    Ignored,  // ErrorCode, ErrorMessage of an errors_ file uploaded again
    ActionId,
    OrderId,
    TrackerId,
    Amount,
    CurrencyCode,
    CustomerStatus,
    Reason,
    DispositionCode,
    CampaignId,
    PartnerId,
    CustomerId,
    PromoCode,
    EventDate,
    ParentActionId,
    TransferType,
    PaymentDate,
    Comments,
    ItemSku,
    ItemNewSku,
    ItemQuantity,
    ItemAmount,
    ItemCategory,
};

struct Name {
    std::string_view lower;
    Role role;
};

// Column names in lower case; several names may share a role (Oid is OrderId).
constexpr std::array kNames{
    Name{"actionid", ActionId},
    Name{"orderid", OrderId},
    Name{"oid", OrderId},
    Name{"actiontrackerid", TrackerId},
    Name{"amount", Amount},
    Name{"currencycode", CurrencyCode},
    Name{"customerstatus", CustomerStatus},
    Name{"reason", Reason},
    Name{"dispositioncode", DispositionCode},
    Name{"campaignid", CampaignId},
    Name{"partnerid", PartnerId},
    Name{"customerid", CustomerId},
    Name{"promocode", PromoCode},
    Name{"eventdate", EventDate},
    Name{"parentactionid", ParentActionId},
    Name{"transfertype", TransferType},
    Name{"paymentdate", PaymentDate},
    Name{"comments", Comments},
    Name{"errorcode", Ignored},
    Name{"errormessage", Ignored},
};

// Item group prefixes, followed by the group index i >= 1.
constexpr std::array kItemNames{
    Name{"sku", ItemSku},       Name{"newsku", ItemNewSku},     Name{"quantity", ItemQuantity},
    Name{"amount", ItemAmount}, Name{"category", ItemCategory},
};

// The spelling used in messages for a role (the first name docs/formats.md gives).
std::string_view role_label(Role role) {
    switch (role) {
        case ActionId:
            return "ActionId";
        case OrderId:
            return "OrderId";
        case TrackerId:
            return "ActionTrackerId";
        case Amount:
            return "Amount";
        case CurrencyCode:
            return "CurrencyCode";
        case CustomerStatus:
            return "CustomerStatus";
        case Reason:
            return "Reason";
        case DispositionCode:
            return "DispositionCode";
        case CampaignId:
            return "CampaignId";
        case PartnerId:
            return "PartnerId";
        case CustomerId:
            return "CustomerId";
        case PromoCode:
            return "PromoCode";
        case EventDate:
            return "EventDate";
        case ParentActionId:
            return "ParentActionId";
        case TransferType:
            return "TransferType";
        case PaymentDate:
            return "PaymentDate";
        case Comments:
            return "Comments";
        case ItemSku:
            return "Sku";
        case ItemNewSku:
            return "NewSku";
        case ItemQuantity:
            return "Quantity";
        case ItemAmount:
            return "Amount";
        case ItemCategory:
            return "Category";
        case Ignored:
            break;
    }
    return "";
}

bool allowed(FileType type, Role role) {
    switch (type) {
        case FileType::Modifications:
            switch (role) {
                case Ignored:
                case ActionId:
                case OrderId:
                case TrackerId:
                case Amount:
                case CurrencyCode:
                case CustomerStatus:
                case Reason:
                case DispositionCode:
                case ItemSku:
                case ItemNewSku:
                case ItemQuantity:
                case ItemAmount:
                case ItemCategory:
                    return true;
                default:
                    return false;
            }
        case FileType::Conversions:
            switch (role) {
                case Ignored:
                case ActionId:
                case CampaignId:
                case TrackerId:
                case PartnerId:
                case OrderId:
                case CustomerId:
                case CustomerStatus:
                case PromoCode:
                case EventDate:
                case Amount:
                case CurrencyCode:
                case ParentActionId:
                case ItemSku:
                case ItemQuantity:
                case ItemAmount:
                case ItemCategory:
                    return true;
                default:
                    return false;
            }
        case FileType::FundsTransfers:
            switch (role) {
                case Ignored:
                case TransferType:
                case PartnerId:
                case Amount:
                case CurrencyCode:
                case PaymentDate:
                case CampaignId:
                case Comments:
                    return true;
                default:
                    return false;
            }
    }
    return false;
}

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

// "12" -> 12; no leading zero, no sign, at least 1; nullopt otherwise.
std::optional<int> group_index(std::string_view digits) {
    if (digits.empty() || digits.size() > 6 || digits[0] == '0') return std::nullopt;
    int value = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

struct Recognized {
    Role role;
    int index = 0;  // item group index, 0 for other columns
};

std::optional<Recognized> recognize(std::string_view lower) {
    for (const auto& n : kNames) {
        if (lower == n.lower) return Recognized{n.role, 0};
    }
    for (const auto& n : kItemNames) {
        if (lower.starts_with(n.lower)) {
            if (auto i = group_index(lower.substr(n.lower.size()))) return Recognized{n.role, *i};
        }
    }
    return std::nullopt;
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// An empty cell is absent; a leading ' that protected a formula-like value is dropped.
ledger::Cell cell_value(const std::string& s) {
    if (s.empty()) return std::nullopt;
    if (s.size() >= 2 && s[0] == '\'' &&
        (s[1] == '=' || s[1] == '+' || s[1] == '-' || s[1] == '@')) {
        return s.substr(1);
    }
    return s;
}

bool any_cell(const ledger::ItemGroup& g) {
    return g.sku || g.new_sku || g.quantity || g.amount || g.category;
}

}  // namespace

std::optional<FileType> parse_file_type(std::string_view s) {
    if (s == "modifications") return FileType::Modifications;
    if (s == "conversions") return FileType::Conversions;
    if (s == "funds_transfers") return FileType::FundsTransfers;
    return std::nullopt;
}

std::string_view file_type_name(FileType t) {
    switch (t) {
        case FileType::Modifications:
            return "modifications";
        case FileType::Conversions:
            return "conversions";
        case FileType::FundsTransfers:
            return "funds_transfers";
    }
    return "";
}

std::expected<Layout, FileError> Layout::parse(FileType type, const Record& header) {
    Layout layout;
    layout.type_ = type;
    std::map<std::string, std::size_t> seen;  // canonical column -> position (0-based)
    std::vector<int> indices;
    for (std::size_t c = 0; c < header.fields.size(); ++c) {
        const std::string& name = header.fields[c];
        const std::string where = " (column " + std::to_string(c + 1) + ")";
        if (name.empty()) {
            return std::unexpected(FileError{
                ErrorCode::UnknownColumn,
                "column " + std::to_string(c + 1) + " of the header has no name", header.line});
        }
        const std::string lower = lower_ascii(name);
        const auto known = recognize(lower);
        if (!known || !allowed(type, known->role)) {
            return std::unexpected(FileError{ErrorCode::UnknownColumn,
                                             "unknown column " + quoted(name) + where + " in a " +
                                                 std::string(file_type_name(type)) + " file",
                                             header.line});
        }
        // Aliases and case variants name the same column.
        const std::string canonical =
            known->role == Ignored
                ? lower
                : std::string(role_label(known->role)) +
                      (known->index ? std::to_string(known->index) : std::string());
        if (auto [it, fresh] = seen.emplace(canonical, c); !fresh) {
            return std::unexpected(FileError{ErrorCode::DuplicateColumn,
                                             "duplicate column " + quoted(name) + where +
                                                 ": same as " + quoted(header.fields[it->second]) +
                                                 " (column " + std::to_string(it->second + 1) + ")",
                                             header.line});
        }
        layout.columns_.push_back(Column{name, known->role, known->index});  // index for now
        if (known->index) indices.push_back(known->index);
    }
    if (type == FileType::Modifications) {
        const auto has = [&](Role r) { return seen.contains(std::string(role_label(r))); };
        if (!has(ActionId) && !(has(OrderId) && has(TrackerId))) {
            return std::unexpected(
                FileError{ErrorCode::NoIdentifier,
                          "no identifier column: the header needs ActionId, or OrderId and "
                          "ActionTrackerId",
                          header.line});
        }
    }
    // Item groups get slots in ascending index order, so rows list them that way.
    std::sort(indices.begin(), indices.end());
    indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
    layout.group_indices_ = indices;
    for (auto& col : layout.columns_) {
        if (col.group == 0) {
            col.group = -1;
        } else {
            col.group = static_cast<int>(
                std::lower_bound(indices.begin(), indices.end(), col.group) - indices.begin());
        }
    }
    return layout;
}

template <typename Row>
std::expected<Row, RowError> Layout::map(const Record& r) const {
    if (r.fields.size() != columns_.size()) {
        return std::unexpected(RowError{
            ErrorCode::Malformed, "record has " + std::to_string(r.fields.size()) +
                                      " fields, header has " + std::to_string(columns_.size())});
    }
    Row row;
    row.line = r.line;
    std::vector<ledger::ItemGroup> groups(group_indices_.size());
    for (std::size_t g = 0; g < groups.size(); ++g) groups[g].index = group_indices_[g];

    for (std::size_t c = 0; c < columns_.size(); ++c) {
        const Column& col = columns_[c];
        ledger::Cell value = cell_value(r.fields[c]);
        if (col.group >= 0) {
            auto& g = groups[static_cast<std::size_t>(col.group)];
            switch (col.role) {
                case ItemSku:
                    g.sku = std::move(value);
                    break;
                case ItemNewSku:
                    g.new_sku = std::move(value);
                    break;
                case ItemQuantity:
                    g.quantity = std::move(value);
                    break;
                case ItemAmount:
                    g.amount = std::move(value);
                    break;
                case ItemCategory:
                    g.category = std::move(value);
                    break;
                default:
                    throw std::logic_error("layout: item column without item role");
            }
            continue;
        }
        ledger::Cell* target = nullptr;
        if constexpr (std::is_same_v<Row, ledger::TransferRow>) {
            switch (col.role) {
                case TransferType:
                    target = &row.transfer_type;
                    break;
                case PartnerId:
                    target = &row.partner_id;
                    break;
                case Amount:
                    target = &row.amount;
                    break;
                case CurrencyCode:
                    target = &row.currency_code;
                    break;
                case PaymentDate:
                    target = &row.payment_date;
                    break;
                case CampaignId:
                    target = &row.campaign_id;
                    break;
                case Comments:
                    target = &row.comments;
                    break;
                default:
                    break;
            }
            if (target) *target = std::move(value);
            continue;
        } else {
            switch (col.role) {
                case ActionId:
                    target = &row.action_id;
                    break;
                case OrderId:
                    target = &row.order_id;
                    break;
                case TrackerId:
                    target = &row.tracker_id;
                    break;
                case Amount:
                    target = &row.amount;
                    break;
                case CurrencyCode:
                    target = &row.currency_code;
                    break;
                case CustomerStatus:
                    target = &row.customer_status;
                    break;
                default:
                    break;
            }
        }
        if constexpr (std::is_same_v<Row, ledger::ModificationRow>) {
            switch (col.role) {
                case Reason:
                    target = &row.reason;
                    break;
                case DispositionCode:
                    target = &row.disposition_code;
                    break;
                default:
                    break;
            }
        } else if constexpr (std::is_same_v<Row, ledger::ConversionRow>) {
            switch (col.role) {
                case CampaignId:
                    target = &row.campaign_id;
                    break;
                case PartnerId:
                    target = &row.partner_id;
                    break;
                case CustomerId:
                    target = &row.customer_id;
                    break;
                case PromoCode:
                    target = &row.promo_code;
                    break;
                case EventDate:
                    target = &row.event_date;
                    break;
                case ParentActionId:
                    target = &row.parent_action_id;
                    break;
                default:
                    break;
            }
        }
        if (target) *target = std::move(value);
    }
    // A group whose cells are all empty is not in the row: the header may offer more
    // groups than a given order has items.
    if constexpr (!std::is_same_v<Row, ledger::TransferRow>) {
        for (auto& g : groups) {
            if (any_cell(g)) row.items.push_back(std::move(g));
        }
    }
    return row;
}

std::expected<ledger::ModificationRow, RowError> Layout::modification(const Record& r) const {
    if (type_ != FileType::Modifications) {
        throw std::logic_error("layout: modification() on a " + std::string(file_type_name(type_)) +
                               " layout");
    }
    return map<ledger::ModificationRow>(r);
}

std::expected<ledger::ConversionRow, RowError> Layout::conversion(const Record& r) const {
    if (type_ != FileType::Conversions) {
        throw std::logic_error("layout: conversion() on a " + std::string(file_type_name(type_)) +
                               " layout");
    }
    return map<ledger::ConversionRow>(r);
}

std::expected<ledger::TransferRow, RowError> Layout::transfer(const Record& r) const {
    if (type_ != FileType::FundsTransfers) {
        throw std::logic_error("layout: transfer() on a " + std::string(file_type_name(type_)) +
                               " layout");
    }
    return map<ledger::TransferRow>(r);
}

std::vector<std::string> Layout::errors_header() const {
    std::vector<std::string> out;
    out.reserve(columns_.size() + 2);
    for (const auto& col : columns_) {
        if (col.role != Ignored) out.push_back(col.name);
    }
    out.emplace_back("ErrorCode");
    out.emplace_back("ErrorMessage");
    return out;
}

std::vector<std::string> Layout::original_cells(const Record& r) const {
    // A record of the wrong width keeps all its cells: they are not under the columns the
    // header names, so none is known to be an old ErrorCode or ErrorMessage, and nothing may
    // be lost (uploaded again unchanged, it is still MALFORMED). Otherwise only the cells
    // under ignored columns go.
    if (r.fields.size() != columns_.size()) return r.fields;
    std::vector<std::string> out;
    out.reserve(r.fields.size());
    for (std::size_t c = 0; c < r.fields.size(); ++c)
        if (columns_[c].role != Ignored) out.push_back(r.fields[c]);
    return out;
}

std::expected<FileCheck, FileError> check_file(std::istream& in, FileType type,
                                               const Limits& limits) {
    CsvReader reader(in, limits);
    Record record;
    auto got = reader.next(record);
    if (!got) return std::unexpected(got.error());
    if (!*got) {
        return std::unexpected(FileError{
            ErrorCode::EmptyFile,
            reader.bytes_read() == 0 ? "the file is empty" : "the file has only blank lines",
            std::nullopt});
    }
    auto layout = Layout::parse(type, record);
    if (!layout) return std::unexpected(layout.error());
    FileCheck check;
    for (;;) {
        got = reader.next(record);
        if (!got) return std::unexpected(got.error());
        if (!*got) break;
        ++check.records;
    }
    if (check.records == 0) {
        return std::unexpected(FileError{ErrorCode::EmptyFile,
                                         "the file has a header but no data record", std::nullopt});
    }
    return check;
}

}  // namespace actiondrop::batch
