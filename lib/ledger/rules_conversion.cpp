// New conversions (docs/rules.md, "Conversions"), with late conversions ("Late conversions")
// and caps ("Caps and outside terms").
#include <chrono>

#include "ledger/dates.hpp"
#include "ledger/payout.hpp"
#include "ledger/rules.hpp"
#include "ledger/rules_form.hpp"

namespace actiondrop::ledger {

namespace {

// A conversion may be stamped a little ahead of our clock: 5 minutes (docs/rules.md,
// "How old, how far ahead").
constexpr auto future_tolerance = std::chrono::minutes{5};

RowResult reject(RowResult result, ErrorCode code, std::string message) {
    result.outcome = Outcome::Rejected;
    result.error = code;
    result.message = std::move(message);
    return result;
}

Instant lock_for(const Tracker& tracker, const ContractVersion& version, Instant event,
                 TimeZone tz) {
    if (tracker.open_ended) return event + open_ended_lock;
    return locking_date(version.locking, event, tz);
}

std::string_view period_name(Limit::Period p) {
    switch (p) {
        case Limit::Period::Day:
            return "day";
        case Limit::Period::Week:
            return "week";
        case Limit::Period::Month:
            return "month";
        case Limit::Period::Quarter:
            return "quarter";
        case Limit::Period::Contract:
            return "contract";
    }
    return "";
}

// The first limit this action would take past its maximum, if any.
const Limit* exceeded_limit(const Account& account, LedgerView& ledger,
                            const ContractVersion& version, const Action& action) {
    for (const auto& limit : version.limits) {
        auto [from, to] = cap_period(limit.period, action.event_date, account.timezone);
        CapTotals totals =
            ledger.cap_totals(account.id, action.partner_id, action.contract_id, from, to);
        // A total beyond int64 is past any maximum.
        const auto payout = add_minor(totals.payout, action.payout);
        bool over = limit.kind == Limit::Kind::Payout ? !payout || *payout > limit.max
                                                      : totals.count + 1 > limit.max;
        if (over) return &limit;
    }
    return nullptr;
}

}  // namespace

std::pair<ErrorCode, std::string> check_conversion_form(const ConversionRow& row) {
    // Without an account, dates without an offset are read as UTC (a null zone): only
    // their form matters, and the core looks no zone up itself.
    if (auto values = parse_conversion_values(row, nullptr, nullptr); !values)
        return {values.error().code, values.error().message};
    if (auto missing = check_conversion_fields(row)) return {missing->code, missing->message};
    return {ErrorCode::None, {}};
}

RowResult apply_conversion(const Catalog& catalog, const Account& account, LedgerView& ledger,
                           const ConversionRow& row, const BatchContext& ctx) {
    RowResult result;
    result.line = row.line;
    result.action_id = row.action_id.value_or("");
    result.order_id = row.order_id.value_or("");
    result.operation = Operation::Create;

    auto values = parse_conversion_values(row, account.timezone, account.currency);
    if (!values) return reject(result, values.error().code, values.error().message);
    if (auto missing = check_conversion_fields(row))
        return reject(result, missing->code, missing->message);

    const Tracker* tracker = account.tracker(*row.tracker_id);
    if (!tracker)
        return reject(result, ErrorCode::ActionTrackerNotFound,
                      "ActionTrackerId: unknown tracker " + *row.tracker_id);
    if (!account.partner(*row.partner_id))
        return reject(result, ErrorCode::PartnerNotFound,
                      "PartnerId: unknown partner " + *row.partner_id);

    // Generated ids are opaque but deterministic, so a replayed batch generates the same.
    std::string action_id =
        row.action_id ? *row.action_id : "A" + ctx.batch_id + "-" + std::to_string(row.line);
    if (const Action* existing = ledger.find(account.id, action_id);
        existing && existing->account_id == account.id) {
        show(result, account, *existing, *existing);  // the action found under that id
        return reject(result, ErrorCode::DuplicateAction,
                      "ActionId: action " + action_id + " already exists");
    }

    const Instant reported = *values->event_date;
    if (reported > ctx.now + future_tolerance)
        return reject(result, ErrorCode::EventInFuture,
                      "EventDate: " + format_instant(reported) + " is more than 5 minutes ahead");
    if (reported < ctx.now - std::chrono::days{account.max_conversion_age_days})
        return reject(result, ErrorCode::EventTooOld,
                      "EventDate: " + format_instant(reported) + " is older than " +
                          std::to_string(account.max_conversion_age_days) + " days");

    std::string parent_id;
    if (row.parent_action_id) {
        const Action* parent = ledger.find(account.id, *row.parent_action_id);
        if (!parent || parent->account_id != account.id)
            return reject(result, ErrorCode::ParentNotFound,
                          "ParentActionId: no action " + *row.parent_action_id);
        parent_id = parent->action_id;
    } else if (tracker->parent_tracker && row.customer_id) {
        const Action* parent =
            ledger.latest_for_customer(account.id, *tracker->parent_tracker, *row.customer_id);
        if (parent && parent->account_id == account.id) parent_id = parent->action_id;
    }

    auto no_contract = [&] {
        return reject(result, ErrorCode::ContractNotFound,
                      "no contract version in force for partner " + *row.partner_id +
                          " and tracker " + *row.tracker_id);
    };
    const Contract* contract = account.contract_for(*row.partner_id, *row.tracker_id);
    if (!contract) return no_contract();
    const ContractVersion* version = contract->version_at(reported);
    if (!version) return no_contract();

    // docs/rules.md, "Late conversions": a conversion reported after its locking date takes
    // the processing time as its event date, and everything follows from that date.
    Instant event = reported;
    bool late = lock_for(*tracker, *version, reported, account.timezone) <= ctx.now;
    if (late) {
        event = ctx.now;
        version = contract->version_at(event);
        if (!version) return no_contract();
    }

    Action action;
    action.action_id = action_id;
    action.account_id = account.id;
    action.campaign_id = row.campaign_id.value_or("");
    action.tracker_id = tracker->id;
    action.partner_id = *row.partner_id;
    action.order_id = *row.order_id;
    action.customer_id = row.customer_id.value_or("");
    action.customer_status = values->customer_status.value_or("");
    action.promo_code = row.promo_code.value_or("");
    action.event_date = event;
    action.reported_event_date = reported;
    action.created_at = ctx.now;
    action.currency = values->currency;
    if (values->items.empty()) {
        action.amount =
            *to_minor(*values->amount, *action.currency);  // digits checked by the parser
    } else {
        for (const auto& line : values->items) {
            Item item{line.sku, line.category, line.quantity,
                      *to_minor(line.amount, *action.currency)};
            const auto sum = add_minor(action.amount, item.amount);
            if (!sum) {
                const RowError e =
                    beyond_largest_amount("Amount", "the order amount, the sum of its lines,");
                return reject(result, e.code, e.message);
            }
            action.amount = *sum;
            action.items.push_back(std::move(item));
        }
    }
    action.parent_action_id = parent_id;

    auto quote = compute_payout(catalog, account, action, event);
    if (!quote) {
        if (quote.error() == ErrorCode::ContractNotFound) return no_contract();
        if (quote.error() == ErrorCode::Malformed) {
            const RowError e = beyond_largest_amount("Amount", "the payout");
            return reject(result, e.code, e.message);
        }
        return reject(result, quote.error(),
                      "no FX rate from " + std::string(action.currency->code) + " to " +
                          std::string(account.currency->code));
    }
    action.payout = quote->payout;
    action.contract_id = quote->contract->id;
    action.contract_version = quote->version->effective_from;
    action.locking_date = lock_for(*tracker, *quote->version, event, account.timezone);
    action.clearing_date =
        clearing_date(quote->version->clearing, action.locking_date, account.timezone);
    action.status = Status::Pending;
    action.finance_status = FinanceStatus::Estimated;

    std::string message;
    if (const Limit* limit = exceeded_limit(account, ledger, *quote->version, action)) {
        action.outside_terms = true;
        action.payout = 0;
        action.finance_status = FinanceStatus::OutsideTerms;
        message = std::string("outside terms: ") +
                  (limit->kind == Limit::Kind::Payout ? "payout" : "count") + " limit per " +
                  std::string(period_name(limit->period)) + " reached";
    }
    if (late) {
        message += std::string(message.empty() ? "" : "; ") +
                   "late conversion: reported event date " + format_instant(reported) +
                   ", event date set to " + format_instant(event);
    }
    action.creation = CreationState{action.amount, action.items, action.customer_status,
                                    action.payout, action.outside_terms};

    HistoryEntry entry;
    entry.action_id = action.action_id;
    entry.at = ctx.now;
    entry.batch_id = ctx.batch_id;
    entry.line = row.line;
    entry.operation = Operation::Create;
    entry.new_amount = action.amount;
    entry.new_payout = action.payout;
    entry.old_status = entry.new_status = Status::Pending;
    entry.contract_id = action.contract_id;
    entry.contract_version = action.contract_version;
    if (late) entry.note = "reported event date " + format_instant(reported);

    const Action& stored = ledger.created(std::move(action), std::move(entry));
    result.outcome = Outcome::Applied;
    result.action_id = stored.action_id;
    result.order_id = stored.order_id;
    result.new_amount = stored.amount;
    result.currency = stored.currency;
    result.new_payout = stored.payout;
    result.payout_currency = account.currency;
    result.status = stored.status;
    result.modification_count = stored.modification_count;
    result.message = std::move(message);
    return result;
}

}  // namespace actiondrop::ledger
