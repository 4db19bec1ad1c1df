// Conversion rows as lib/apply reads them (lib/batch/layout.* maps each CSV record to a
// ledger::ConversionRow; lib/ledger/rules_form.* and rules_conversion.cpp parse and apply
// it). The input is a conversions file; its rows are applied in order to the demo ledger
// of fuzz_ledger.hpp. Besides crashes, UB and exceptions it checks that `actiondrop
// validate` (which knows no account: dates read as UTC, no default currency) and a real
// run agree: a MALFORMED form is MALFORMED in the run, a missing field is missing too
// (or MALFORMED, only when the account's currency is what the amount breaks), and a good
// form never misses a field; that a rejected row creates nothing; and that a created
// action keeps the ledger's invariants, is dated in order (event, locking, clearing) and
// remembers its creation state.
#include <cstdint>

#include "fuzz_ledger.hpp"
#include "ledger/rules_form.hpp"

using namespace actiondrop;
using ledger::ErrorCode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Demo& demo = fuzz::demo();
    const fuzz::ReadFile file = fuzz::read_records(fuzz::text_of(data, size), batch::Limits{});
    if (file.records.empty()) return 0;
    const auto layout = batch::Layout::parse(batch::FileType::Conversions, file.records[0]);
    if (!layout) return 0;

    ledger::testing::MemoryLedger ledger = demo.ledger;
    for (std::size_t i = 1; i < file.records.size(); ++i) {
        const auto row = layout->conversion(file.records[i]);
        if (!row) {
            fuzz::check(row.error().code == ErrorCode::Malformed,
                        "a record of the wrong width is MALFORMED");
            continue;
        }
        const auto form_code = ledger::check_conversion_form(*row).first;
        const std::size_t history = ledger.history.size(), actions = ledger.actions.size();
        const ledger::RowResult result =
            ledger::apply_conversion(demo.catalog, *demo.account, ledger, *row, demo.ctx);

        fuzz::check(
            (result.outcome == ledger::Outcome::Applied) == (result.error == ErrorCode::None),
            "a row is applied exactly when it has no error");
        // Only the account's currency and catalog, unknown to validate, can make a run find
        // MALFORMED more: the amount's digits, or a payout beyond the largest amount.
        const bool account_currency_decides =
            !row->currency_code || result.message.starts_with("Amount: the payout would be beyond");
        if (form_code == ErrorCode::Malformed) {
            fuzz::check(result.error == ErrorCode::Malformed,
                        "a run rejects a MALFORMED form as validate does");
        } else if (form_code == ErrorCode::MissingField) {
            fuzz::check(result.error == ErrorCode::MissingField ||
                            (result.error == ErrorCode::Malformed && account_currency_decides),
                        "a run rejects a missing field as validate does");
        } else {
            fuzz::check(form_code == ErrorCode::None,
                        "validate gives only MALFORMED or MISSING_FIELD");
            fuzz::check(result.error != ErrorCode::MissingField &&
                            (result.error != ErrorCode::Malformed || account_currency_decides),
                        "a run finds no form error that validate missed");
        }
        if (result.outcome != ledger::Outcome::Applied) {
            fuzz::check(!result.message.empty(), "a rejected row says why");
            fuzz::check(ledger.history.size() == history && ledger.actions.size() == actions,
                        "a rejected row creates nothing");
            continue;
        }
        fuzz::check(ledger.actions.size() == actions + 1, "an applied row creates one action");
        const ledger::Action* a = ledger.find("1000", result.action_id);
        fuzz::check(a != nullptr, "an applied row names its action");
        fuzz::check_action(*a, *demo.account);
        fuzz::check(a->event_date >= a->reported_event_date,
                    "a late conversion only moves its event date later");
        fuzz::check(a->event_date <= demo.ctx.now + std::chrono::minutes{5},
                    "no event in the future");
        fuzz::check(a->locking_date > a->event_date, "an action locks after its event");
        fuzz::check(a->clearing_date > a->locking_date, "an action clears after it locks");
        fuzz::check(a->creation == ledger::CreationState{a->amount, a->items, a->customer_status,
                                                         a->payout, a->outside_terms},
                    "an action remembers how it was created");
        fuzz::check(result.new_amount == a->amount && result.new_payout == a->payout,
                    "the result shows the action as it is");
    }
    return 0;
}
