// Modifications, reversals, approvals and resets (docs/rules.md,
// "Modifications, reversals, approvals and resets").
#include "ledger/rules.hpp"

#include <algorithm>
#include <set>

#include "ledger/dates.hpp"
#include "ledger/payout.hpp"
#include "ledger/reasons.hpp"
#include "ledger/rules_form.hpp"

namespace actiondrop::ledger {

std::string_view outcome_name(Outcome o) {
    switch (o) {
        case Outcome::Applied:
            return "APPLIED";
        case Outcome::Rejected:
            return "REJECTED";
        case Outcome::NotApplied:
            return "NOT_APPLIED";
    }
    return "";
}

std::pair<ErrorCode, std::string> check_modification_form(const ModificationRow& row) {
    if (auto values = parse_modification_values(row); !values)
        return {values.error().code, values.error().message};
    if (auto fields = check_modification_fields(row); !fields)
        return {fields.error().code, fields.error().message};
    return {ErrorCode::None, {}};
}

namespace {

RowResult reject(RowResult result, ErrorCode code, std::string message) {
    result.outcome = Outcome::Rejected;
    result.error = code;
    result.message = std::move(message);
    return result;
}

RowResult reject(RowResult result, const RowError& error) {
    return reject(std::move(result), error.code, error.message);
}


HistoryEntry history_entry(const Action& before, const Action& after, const BatchContext& ctx,
                           std::int64_t line, Operation operation, std::string reason) {
    HistoryEntry entry;
    entry.action_id = after.action_id;
    entry.at = ctx.now;
    entry.batch_id = ctx.batch_id;
    entry.line = line;
    entry.operation = operation;
    entry.reason = std::move(reason);
    entry.old_amount = before.amount;
    entry.new_amount = after.amount;
    entry.old_payout = before.payout;
    entry.new_payout = after.payout;
    entry.old_status = before.status;
    entry.new_status = after.status;
    entry.contract_id = after.contract_id;
    if (!after.contract_id.empty()) entry.contract_version = after.contract_version;
    return entry;
}

// docs/rules.md, "What each operation does": a reversal zeroes the amount, every line and
// the payout.
void reverse(Action& action) {
    action.amount = 0;
    for (auto& item : action.items) {
        item.quantity = 0;
        item.amount = 0;
    }
    action.payout = 0;
    action.status = Status::Reversed;
    action.finance_status = FinanceStatus::Voided;
}

// The version of the action's contract in force at `t`: the contract covering its partner
// and tracker today, else the one that priced it.
const ContractVersion* version_in_force(const Account& account, const Action& action, Instant t) {
    if (const Contract* c = account.contract_for(action.partner_id, action.tracker_id))
        if (const ContractVersion* v = c->version_at(t)) return v;
    if (const Contract* c = account.contract(action.contract_id))
        if (const ContractVersion* v = c->version_at(t)) return v;
    return nullptr;
}

// The version that priced the action, for its clearing rule when nothing is in force now.
const ContractVersion* version_used(const Account& account, const Action& action) {
    if (const Contract* c = account.contract(action.contract_id))
        for (const auto& v : c->versions)
            if (v.effective_from == action.contract_version) return &v;
    return nullptr;
}

// Pending, unlocked children (and theirs) follow a reversed parent (docs/rules.md,
// "Reversal of chained children"); `seen` guards against a cycle of parent links.
void reverse_children(const Account& account, LedgerView& ledger, const Action& parent,
                      const BatchContext& ctx, std::int64_t line, std::set<std::string>& seen,
                      std::vector<std::string>& reversed) {
    for (Action* child : ledger.children(account.id, parent.action_id)) {
        if (!child || child->account_id != account.id) continue;
        if (!seen.insert(child->action_id).second) continue;
        if (child->status != Status::Pending || child->locked_at(ctx.now)) continue;
        Action before = *child;
        reverse(*child);
        ledger.changed(*child, history_entry(before, *child, ctx, line, Operation::Reverse,
                                             std::string(reason_parent_reversed)));
        reversed.push_back(child->action_id);
        reverse_children(account, ledger, *child, ctx, line, seen, reversed);
    }
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

// The row's item groups resolved against the action: the line each names, its new values.
struct LineChange {
    const ItemChange* change;
    std::size_t position;
    std::optional<std::int64_t> amount;  // Amount<i> in minor units
};

// Applies the row's changes to `action` (a copy of the stored one). The error when a scaled
// line or the order's sum would be beyond int64; `action` is then only partly changed.
std::optional<RowError> apply_changes(Action& action, const ModificationValues& values,
                                      std::optional<std::int64_t> amount,
                                      const std::vector<LineChange>& lines) {
    if (values.customer_status) action.customer_status = *values.customer_status;
    if (action.items.empty()) {
        if (amount) action.amount = *amount;
        return std::nullopt;
    }
    for (const auto& lc : lines) {
        Item& item = action.items[lc.position];
        const ItemChange& change = *lc.change;
        if (change.quantity) {
            std::int64_t qty = *change.quantity;
            std::optional<std::int64_t> scaled;
            if (lc.amount) {
                item.amount = *lc.amount;
            } else if (lc.position < action.creation.items.size() &&
                       action.creation.items[lc.position].quantity > 0) {
                const Item& created = action.creation.items[lc.position];
                scaled = scale_line(created.amount, qty, created.quantity);
                if (!scaled)
                    return beyond_largest_amount(item_field("Quantity", change.index),
                                                 "the line amount");
                item.amount = *scaled;
            } else if (item.quantity > 0) {
                // No creation line to scale (not possible for a line created by a
                // conversion, whose quantities are >= 1): scale the current line instead.
                scaled = scale_line(item.amount, qty, item.quantity);
                if (!scaled)
                    return beyond_largest_amount(item_field("Quantity", change.index),
                                                 "the line amount");
                item.amount = *scaled;
            }
            // A line at quantity 0 with no creation price keeps its amount: there is
            // nothing to scale from, and the file can say Amount<i>.
            item.quantity = qty;
        } else if (lc.amount) {
            item.amount = *lc.amount;
        }
        if (change.category) item.category = *change.category;
        if (change.new_sku) item.sku = *change.new_sku;
    }
    // On an action with items only Amount=0 gets here (ITEM_LEVEL_ACTION otherwise): the
    // order is worth nothing, so neither is any line.
    if (amount)
        for (auto& item : action.items) item.amount = 0;
    std::optional<std::int64_t> sum = 0;
    for (const auto& item : action.items)
        if (sum) sum = add_minor(*sum, item.amount);
    if (!sum) return beyond_largest_amount("Amount", "the order amount, the sum of its lines,");
    action.amount = *sum;
    return std::nullopt;
}

// The message of a payout that could not be computed.
std::string payout_problem(ErrorCode error, const Account& account, const Action& action) {
    switch (error) {
        case ErrorCode::ContractNotFound:
            return "no contract version in force for partner " + action.partner_id +
                   " and tracker " + action.tracker_id;
        case ErrorCode::Malformed:
            return beyond_largest_amount("Amount", "the payout").message;
        default:
            return "no FX rate from " + std::string(action.currency->code) + " to " +
                   std::string(account.currency->code);
    }
}

}  // namespace

RowResult apply_modification(const Catalog& catalog, const Account& account, LedgerView& ledger,
                             const ModificationRow& row, const BatchContext& ctx) {
    RowResult result;
    result.line = row.line;
    result.action_id = row.action_id.value_or("");
    result.order_id = row.order_id.value_or("");

    // The action the row names, if its identifiers find one of this account: another
    // account's action is reported exactly like a missing one, never revealed.
    auto named = [&]() -> Action* {
        Action* found = nullptr;
        if (row.action_id)
            found = ledger.find(account.id, *row.action_id);
        else if (row.order_id && row.tracker_id)
            found = ledger.find_by_order(account.id, *row.order_id, *row.tracker_id);
        return found && found->account_id == account.id ? found : nullptr;
    };
    // A row refused before its action is looked up still shows the action's current values
    // when its identifiers find it (docs/rules.md, "Row checks of a modification").
    auto refuse_early = [&](const RowError& error) {
        if (const Action* found = named()) show(result, account, *found, *found);
        return reject(result, error);
    };

    auto values = parse_modification_values(row);
    if (!values) return refuse_early(values.error());
    auto reason = check_modification_fields(row);
    if (!reason) return refuse_early(reason.error());

    const Disposition* disposition = nullptr;
    if (row.disposition_code) {
        disposition = account.disposition(*row.disposition_code);
        if (!disposition)
            return refuse_early({ErrorCode::UnknownDisposition,
                                 "DispositionCode: unknown disposition " + *row.disposition_code});
    }

    Action* action = named();
    if (!action) {
        if (row.action_id)
            return reject(result, ErrorCode::ActionRefNotFound,
                          "ActionId: no action " + *row.action_id);
        return reject(
            result, ErrorCode::ActionRefNotFound,
            "OrderId: no action for order " + *row.order_id + " and tracker " + *row.tracker_id);
    }
    show(result, account, *action, *action);

    if (row.action_id) {
        if (row.order_id && *row.order_id != action->order_id)
            return reject(
                result, ErrorCode::IdentifierMismatch,
                "OrderId: " + *row.order_id + " is not the order of action " + action->action_id);
        if (row.tracker_id && *row.tracker_id != action->tracker_id)
            return reject(result, ErrorCode::IdentifierMismatch,
                          "ActionTrackerId: " + *row.tracker_id + " is not the tracker of action " +
                              action->action_id);
    }

    // The operation as far as the row alone says it; a reason-driven row is settled below,
    // once its changes are known.
    Operation operation = Operation::None;
    if (disposition) {
        switch (disposition->effect) {
            case Disposition::Effect::Approve:
                operation = Operation::Approve;
                break;
            case Disposition::Effect::Reject:
                operation = Operation::Reverse;
                break;
            case Disposition::Effect::Modify:
                operation = Operation::Modify;
                break;
        }
    } else if (*reason == ReasonKind::Reset) {
        operation = Operation::Reset;
    } else if (!values->specifies_changes()) {
        // A reason alone, no change asked: a reversal reason reverses; any other reason is a
        // modification of nothing, refused as NOTHING_TO_CHANGE below.
        operation = *reason == ReasonKind::Reversal ? Operation::Reverse : Operation::Modify;
    }
    result.operation = operation;
    std::string reason_code = disposition ? disposition->code : *row.reason;

    bool locked = action->locked_at(ctx.now);
    if (action->status == Status::Reversed) {
        // Only RESET revives a reversed action, and only while it is not locked.
        if (operation != Operation::Reset)
            return reject(result, ErrorCode::ActionReversed,
                          "action " + action->action_id + " is reversed; only RESET revives it");
        if (locked)
            return reject(result, ErrorCode::ActionLocked,
                          "action " + action->action_id + " is locked");
    } else if (locked) {
        return reject(
            result, ErrorCode::ActionLocked,
            "action " + action->action_id + " is locked" +
                (action->status == Status::Approved ? " (approved)" : " (locking date passed)") +
                "; corrections need a make-good");
    }
    if (action->modification_count >= account.max_modifications_per_action)
        return reject(result, ErrorCode::ModificationLimitReached,
                      "action " + action->action_id + " has reached " +
                          std::to_string(account.max_modifications_per_action) + " changes");
    if (values->currency && values->currency->code != action->currency->code)
        return reject(result, ErrorCode::CurrencyMismatch,
                      "CurrencyCode: " + std::string(values->currency->code) +
                          " is not the action's currency " + std::string(action->currency->code));

    std::optional<std::int64_t> amount;
    if (values->amount) {
        auto minor = to_minor(*values->amount, *action->currency);
        if (!minor) return reject(result, ErrorCode::Malformed, "Amount: " + minor.error());
        amount = *minor;
    }
    std::vector<LineChange> lines;
    for (const auto& change : values->items) {
        LineChange lc{&change, 0, std::nullopt};
        if (change.amount) {
            auto minor = to_minor(*change.amount, *action->currency);
            if (!minor)
                return reject(result, ErrorCode::Malformed,
                              item_field("Amount", change.index) + ": " + minor.error());
            lc.amount = *minor;
        }
        lines.push_back(lc);
    }

    if (!action->items.empty() && amount && *amount != 0)
        return reject(result, ErrorCode::ItemLevelAction,
                      "Amount: action " + action->action_id +
                          " has items; send item groups (Sku<i>, Quantity<i>, Amount<i>)");

    for (auto& lc : lines) {
        const auto& items = action->items;
        auto it = std::find_if(items.begin(), items.end(),
                               [&](const Item& i) { return i.sku == lc.change->sku; });
        if (it == items.end())
            return reject(result, ErrorCode::SkuNotFound,
                          item_field("Sku", lc.change->index) + ": no item " + lc.change->sku +
                              " in action " + action->action_id);
        lc.position = static_cast<std::size_t>(it - items.begin());
    }

    bool specifies = values->specifies_changes();
    Action after = *action;
    const std::optional<RowError> beyond = apply_changes(after, *values, amount, lines);
    if (specifies && operation != Operation::Reset && operation != Operation::Reverse) {
        // A reset or a reversal ignores the row's other changes, so only here do they count.
        if (beyond) return reject(result, *beyond);
        std::set<std::string> skus;
        for (const auto& item : after.items)
            if (!skus.insert(item.sku).second)
                return reject(result, ErrorCode::Malformed,
                              "NewSku: SKU " + item.sku + " would name two items");
    }

    if (operation == Operation::None) {
        if (specifies)
            operation =
                (after.amount == 0 && action->amount != 0) ? Operation::Reverse : Operation::Modify;
        else if (*reason == ReasonKind::Reversal)
            operation = Operation::Reverse;
        else
            operation = Operation::Modify;  // ORDER_UPDATE without a change: refused below
        result.operation = operation;
    }
    if (operation == Operation::Modify && !specifies)
        return reject(result, ErrorCode::NothingToChange, "the row specifies no change");

    Action before = *action;
    std::vector<std::string> children_reversed;
    switch (operation) {
        case Operation::Modify:
        case Operation::Approve: {
            if (operation == Operation::Modify && after.outside_terms) {
                // docs/rules.md, "Caps and outside terms": an outside-terms action stays outside
                // terms with payout 0.
                after.payout = 0;
            } else if (operation == Operation::Modify || specifies || after.outside_terms) {
                auto quote = compute_payout(catalog, account, after, ctx.now);
                if (!quote)
                    return reject(result, quote.error(),
                                  payout_problem(quote.error(), account, after));
                after.payout = quote->payout;
                after.contract_id = quote->contract->id;
                after.contract_version = quote->version->effective_from;
            }
            if (operation == Operation::Approve) {
                const ContractVersion* version = version_in_force(account, after, ctx.now);
                if (!version) version = version_used(account, after);
                if (!version)
                    return reject(result, ErrorCode::ContractNotFound,
                                  "no contract version to set the clearing date of action " +
                                      after.action_id);
                after.outside_terms = false;
                after.status = Status::Approved;
                after.finance_status = FinanceStatus::Due;
                after.locking_date = ctx.now;
                after.clearing_date = clearing_date(version->clearing, ctx.now, account.timezone);
            }
            break;
        }
        case Operation::Reverse:
            after = *action;  // a reversal ignores the row's other changes
            reverse(after);
            break;
        case Operation::Reset:
            after = *action;
            after.amount = after.creation.amount;
            after.items = after.creation.items;
            after.customer_status = after.creation.customer_status;
            after.payout = after.creation.payout;
            after.outside_terms = after.creation.outside_terms;
            after.status = Status::Pending;
            after.finance_status =
                after.outside_terms ? FinanceStatus::OutsideTerms : FinanceStatus::Estimated;
            break;
        default:
            break;
    }
    after.modification_count = action->modification_count + 1;

    *action = after;
    HistoryEntry entry = history_entry(before, *action, ctx, row.line, operation, reason_code);
    if (disposition && row.reason) entry.note = "reason " + *row.reason;
    ledger.changed(*action, std::move(entry));

    if (operation == Operation::Reverse) {
        const ContractVersion* version = version_in_force(account, *action, ctx.now);
        if (version && version->reverse_children) {
            std::set<std::string> seen{action->action_id};
            reverse_children(account, ledger, *action, ctx, row.line, seen, children_reversed);
        }
    }

    result.outcome = Outcome::Applied;
    result.error = ErrorCode::None;
    show(result, account, before, *action);
    if (!children_reversed.empty())
        result.message = "children reversed: " + join(children_reversed);
    return result;
}

void show(RowResult& result, const Account& account, const Action& before, const Action& after) {
    result.action_id = after.action_id;
    result.order_id = after.order_id;
    result.old_amount = before.amount;
    result.new_amount = after.amount;
    result.currency = after.currency;
    result.old_payout = before.payout;
    result.new_payout = after.payout;
    result.payout_currency = account.currency;
    result.status = after.status;
    result.modification_count = after.modification_count;
}

}  // namespace actiondrop::ledger
