#include "ledger/errors.hpp"

namespace actiondrop::ledger {

std::string_view error_name(ErrorCode code) {
    switch (code) {
        case ErrorCode::None:
            return "";
        case ErrorCode::Malformed:
            return "MALFORMED";
        case ErrorCode::MissingIdentifier:
            return "MISSING_IDENTIFIER";
        case ErrorCode::MissingReason:
            return "MISSING_REASON";
        case ErrorCode::UnknownReason:
            return "UNKNOWN_REASON";
        case ErrorCode::UnknownDisposition:
            return "UNKNOWN_DISPOSITION";
        case ErrorCode::ActionRefNotFound:
            return "ACTION_REF_NOT_FOUND";
        case ErrorCode::IdentifierMismatch:
            return "IDENTIFIER_MISMATCH";
        case ErrorCode::ActionLocked:
            return "ACTION_LOCKED";
        case ErrorCode::ActionReversed:
            return "ACTION_REVERSED";
        case ErrorCode::ModificationLimitReached:
            return "MODIFICATION_LIMIT_REACHED";
        case ErrorCode::CurrencyMismatch:
            return "CURRENCY_MISMATCH";
        case ErrorCode::ItemLevelAction:
            return "ITEM_LEVEL_ACTION";
        case ErrorCode::SkuNotFound:
            return "SKU_NOT_FOUND";
        case ErrorCode::NothingToChange:
            return "NOTHING_TO_CHANGE";
        case ErrorCode::ContractNotFound:
            return "CONTRACT_NOT_FOUND";
        case ErrorCode::FxRateNotFound:
            return "FX_RATE_NOT_FOUND";
        case ErrorCode::MissingField:
            return "MISSING_FIELD";
        case ErrorCode::ActionTrackerNotFound:
            return "ACTIONTRACKER_NOT_FOUND";
        case ErrorCode::PartnerNotFound:
            return "PARTNER_NOT_FOUND";
        case ErrorCode::DuplicateAction:
            return "DUPLICATE_ACTION";
        case ErrorCode::EventInFuture:
            return "EVENT_IN_FUTURE";
        case ErrorCode::EventTooOld:
            return "EVENT_TOO_OLD";
        case ErrorCode::ParentNotFound:
            return "PARENT_NOT_FOUND";
        case ErrorCode::InsufficientFunds:
            return "INSUFFICIENT_FUNDS";
        case ErrorCode::EmptyFile:
            return "EMPTY_FILE";
        case ErrorCode::NotUtf8:
            return "NOT_UTF8";
        case ErrorCode::MalformedCsv:
            return "MALFORMED_CSV";
        case ErrorCode::UnknownColumn:
            return "UNKNOWN_COLUMN";
        case ErrorCode::DuplicateColumn:
            return "DUPLICATE_COLUMN";
        case ErrorCode::NoIdentifier:
            return "NO_IDENTIFIER";
        case ErrorCode::TooLarge:
            return "TOO_LARGE";
        case ErrorCode::TooManyRows:
            return "TOO_MANY_ROWS";
        case ErrorCode::LineTooLong:
            return "LINE_TOO_LONG";
        case ErrorCode::RecordTooLong:
            return "RECORD_TOO_LONG";
        case ErrorCode::TooManyFields:
            return "TOO_MANY_FIELDS";
        case ErrorCode::Quarantined:
            return "QUARANTINED";
        case ErrorCode::DuplicateFile:
            return "DUPLICATE_FILE";
        case ErrorCode::RowsRejected:
            return "ROWS_REJECTED";
    }
    return "";
}

std::string_view error_type(ErrorCode code) {
    // docs/formats.md, "result_NAME" (ErrorType): only a missing contract or FX rate is the
    // network's side of the deal.
    if (code == ErrorCode::ContractNotFound || code == ErrorCode::FxRateNotFound)
        return "Contract Error";
    return "Validation";
}

}  // namespace actiondrop::ledger
