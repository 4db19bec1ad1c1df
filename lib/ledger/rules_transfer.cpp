// Funds transfers (docs/rules.md, "Funds transfers"): a make-good, bonus or paid placement
// taken from the account's funds when its row is applied, and put on the partner's next
// invoice by a lifecycle run.
#include "ledger/rules.hpp"
#include "ledger/rules_form.hpp"

namespace actiondrop::ledger {

namespace {

RowResult reject(RowResult result, ErrorCode code, std::string message) {
    result.outcome = Outcome::Rejected;
    result.error = code;
    result.message = std::move(message);
    return result;
}

// Made from the batch and the row's line: unique in the account (a batch id is never used
// twice), the same when a batch that died before its commit runs again, and it tells where
// the transfer came from.
std::string transfer_id(const BatchContext& ctx, std::int64_t line) {
    return "TR-" + ctx.batch_id + "-" + std::to_string(line);
}

}  // namespace

std::pair<ErrorCode, std::string> check_transfer_form(const TransferRow& row, Instant now) {
    // Without an account, dates without an offset are read as UTC and the amount's digits
    // are not checked: only the form matters.
    if (auto values = parse_transfer_values(row, nullptr, nullptr, now); !values)
        return {values.error().code, values.error().message};
    if (auto missing = check_transfer_fields(row)) return {missing->code, missing->message};
    return {ErrorCode::None, {}};
}

RowResult apply_transfer(const Account& account, LedgerView& ledger, const TransferRow& row,
                         const BatchContext& ctx) {
    RowResult result;
    result.line = row.line;
    result.operation = Operation::Transfer;

    auto values = parse_transfer_values(row, account.timezone, account.currency, ctx.now);
    if (!values) return reject(result, values.error().code, values.error().message);
    if (auto missing = check_transfer_fields(row))
        return reject(result, missing->code, missing->message);
    if (!account.partner(*row.partner_id))
        return reject(result, ErrorCode::PartnerNotFound,
                      "PartnerId: unknown partner " + *row.partner_id);
    if (values->currency && values->currency != account.currency)
        return reject(result, ErrorCode::CurrencyMismatch,
                      "CurrencyCode: " + std::string(values->currency->code) +
                          " is not the account currency " + std::string(account.currency->code));

    const std::string_view code = account.currency->code;
    const std::int64_t amount = *to_minor(*values->amount, *account.currency);
    const std::int64_t balance = ledger.funds_balance(account.id);
    if (amount > balance)
        return reject(result, ErrorCode::InsufficientFunds,
                      "Amount: " + format_minor(amount, *account.currency) + " " +
                          std::string(code) + " is more than the funds left, " +
                          format_minor(balance, *account.currency) + " " + std::string(code));

    Transfer transfer;
    transfer.transfer_id = transfer_id(ctx, row.line);
    transfer.account_id = account.id;
    transfer.partner_id = *row.partner_id;
    transfer.campaign_id = row.campaign_id.value_or("");
    transfer.type = *values->type;
    transfer.amount = amount;
    transfer.applied_at = ctx.now;
    transfer.payment_date = values->payment_date.value_or(ctx.now);
    transfer.comments = row.comments.value_or("");
    result.action_id = transfer.transfer_id;
    ledger.transferred(std::move(transfer));

    result.outcome = Outcome::Applied;
    result.new_amount = amount;
    result.currency = account.currency;
    result.new_payout = amount;
    result.payout_currency = account.currency;
    result.message =
        std::string(transfer_type_name(*values->type)) + " to partner " + *row.partner_id;
    return result;
}

}  // namespace actiondrop::ledger
