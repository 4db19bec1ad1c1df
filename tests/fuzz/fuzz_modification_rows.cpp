// Modification rows as lib/apply reads them (lib/batch/layout.* maps each CSV record to a
// ledger::ModificationRow; lib/ledger/rules_form.* and rules.cpp parse and apply it). The
// input is a modifications file; its rows are applied in order to the demo ledger of
// fuzz_ledger.hpp. When the input holds a form feed, what comes before it is first applied
// as a conversions file, so that the rows can also meet actions the fuzzer made. Besides crashes,
// UB and exceptions (a user's file must never cause one) it checks that `actiondrop validate` and a
// real run agree: a row whose form is wrong (check_modification_form) is rejected with that very
// error, and a row whose form is right never gets a missing-identifier or -reason error; that a
// rejected row changes nothing; and that every action touched keeps the ledger's invariants
// (check_action).
#include <cstdint>

#include "fuzz_ledger.hpp"
#include "ledger/rules_form.hpp"

using namespace actiondrop;
using ledger::ErrorCode;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fuzz::Demo& demo = fuzz::demo();
    std::string_view text = fuzz::text_of(data, size);
    ledger::testing::MemoryLedger ledger = demo.ledger;
    if (const auto feed = text.find('\f'); feed != std::string_view::npos) {
        fuzz::apply_conversions(text.substr(0, feed), ledger);
        text.remove_prefix(feed + 1);
    }
    const fuzz::ReadFile file = fuzz::read_records(text, batch::Limits{});
    if (file.records.empty()) return 0;
    const auto layout = batch::Layout::parse(batch::FileType::Modifications, file.records[0]);
    if (!layout) return 0;

    for (std::size_t i = 1; i < file.records.size(); ++i) {
        const auto row = layout->modification(file.records[i]);
        if (!row) {
            fuzz::check(row.error().code == ErrorCode::Malformed,
                        "a record of the wrong width is MALFORMED");
            continue;
        }
        const auto [form_code, form_message] = ledger::check_modification_form(*row);
        const std::size_t history = ledger.history.size();
        const ledger::RowResult result =
            ledger::apply_modification(demo.catalog, *demo.account, ledger, *row, demo.ctx);

        fuzz::check(
            (result.outcome == ledger::Outcome::Applied) == (result.error == ErrorCode::None),
            "a row is applied exactly when it has no error");
        if (form_code != ErrorCode::None) {
            fuzz::check(result.error == form_code && result.message == form_message,
                        "a run rejects a row of wrong form as validate does");
        } else {
            fuzz::check(result.error != ErrorCode::MissingIdentifier &&
                            result.error != ErrorCode::MissingReason &&
                            result.error != ErrorCode::UnknownReason,
                        "a run finds no form error that validate missed");
        }
        if (result.outcome != ledger::Outcome::Applied) {
            fuzz::check(!result.message.empty(), "a rejected row says why");
            fuzz::check(ledger.history.size() == history, "a rejected row changes nothing");
            continue;
        }
        fuzz::check(ledger.history.size() > history, "an applied row leaves history");
        const ledger::Action* action = ledger.find("1000", result.action_id);
        fuzz::check(action != nullptr, "an applied row names its action");
        fuzz::check(result.new_amount == action->amount && result.new_payout == action->payout,
                    "the result shows the action as it is");
        for (const auto& [key, a] : ledger.actions) fuzz::check_action(a, *demo.account);
    }
    return 0;
}
