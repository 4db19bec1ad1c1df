#pragma once
// The rules of docs/rules.md (modifications, reversals, approvals, resets, conversions and
// funds transfers): one row in, one result out, checks in the order of its "Row checks"
// tables, the first failure being the row's error. Pure: the time is `now` in the
// context, the ledger is the view, and nothing here does I/O.
#include <optional>
#include <string>
#include <vector>

#include "ledger/action.hpp"
#include "ledger/catalog.hpp"
#include "ledger/errors.hpp"
#include "ledger/view.hpp"

namespace actiondrop::ledger {

// A cell given in the file; an empty cell is absent (std::nullopt). Values are as in the
// file (not trimmed), with a leading ' before = + - @ already removed by the reader.
using Cell = std::optional<std::string>;

struct ItemGroup {
    int index = 0;  // the i of Sku<i>
    Cell sku, new_sku, quantity, amount, category;
};

struct ModificationRow {
    std::int64_t line = 0;  // physical line where the record starts
    Cell action_id, order_id, tracker_id, amount, currency_code, customer_status, reason,
        disposition_code;
    std::vector<ItemGroup> items;  // by index
};

struct ConversionRow {
    std::int64_t line = 0;
    Cell action_id, campaign_id, tracker_id, partner_id, order_id, customer_id, customer_status,
        promo_code, event_date, amount, currency_code, parent_action_id;
    std::vector<ItemGroup> items;  // sku, quantity, amount, category
};

// A row of a funds_transfers file (docs/formats.md, "Funds-transfer files").
struct TransferRow {
    std::int64_t line = 0;
    Cell transfer_type, partner_id, amount, currency_code, payment_date, campaign_id, comments;
};

struct BatchContext {
    std::string batch_id;
    Instant now;  // the batch's processing time (or --as-of)
};

enum class Outcome { Applied, Rejected, NotApplied };
std::string_view outcome_name(Outcome o);  // "APPLIED"

// One line of result_NAME (docs/formats.md, "result_NAME"). Values are those of the
// action after the row (before and after for amounts and payouts); for a rejected row the
// action's current values when it was found, else empty.
struct RowResult {
    std::int64_t line = 0;
    std::string action_id;
    std::string order_id;
    Operation operation = Operation::None;
    Outcome outcome = Outcome::Rejected;
    ErrorCode error = ErrorCode::None;
    std::string message;  // human text; on success e.g. the children reversed
    std::optional<std::int64_t> old_amount, new_amount;
    const Currency* currency = nullptr;
    std::optional<std::int64_t> old_payout, new_payout;
    const Currency* payout_currency = nullptr;
    std::optional<Status> status;
    std::optional<int> modification_count;
};

RowResult apply_modification(const Catalog& catalog, const Account& account, LedgerView& ledger,
                             const ModificationRow& row, const BatchContext& ctx);

RowResult apply_conversion(const Catalog& catalog, const Account& account, LedgerView& ledger,
                           const ConversionRow& row, const BatchContext& ctx);

// A make-good, bonus or paid placement (docs/rules.md, "Funds transfers"): taken from the
// account's funds when the row is applied. The result names the transfer it made in its
// action_id.
RowResult apply_transfer(const Account& account, LedgerView& ledger, const TransferRow& row,
                         const BatchContext& ctx);

// The form checks of a row that need no ledger (the first MALFORMED step); used by
// `actiondrop validate` without an account. None when the row's form is fine.
std::pair<ErrorCode, std::string> check_modification_form(const ModificationRow& row);
std::pair<ErrorCode, std::string> check_conversion_form(const ConversionRow& row);
// A PaymentDate after `now` is MALFORMED too.
std::pair<ErrorCode, std::string> check_transfer_form(const TransferRow& row, Instant now);

}  // namespace actiondrop::ledger
