#pragma once
// The error codes of SPEC §4 that a user's file can cause, row- and file-level.
#include <string_view>

namespace actiondrop::ledger {

enum class ErrorCode {
    None,
    // row level (SPEC §4.1 - §4.3)
    Malformed,
    MissingIdentifier,
    MissingReason,
    UnknownReason,
    UnknownDisposition,
    ActionRefNotFound,
    IdentifierMismatch,
    ActionLocked,
    ActionReversed,
    ModificationLimitReached,
    CurrencyMismatch,
    ItemLevelAction,
    SkuNotFound,
    NothingToChange,
    ContractNotFound,
    FxRateNotFound,
    MissingField,
    ActionTrackerNotFound,
    PartnerNotFound,
    DuplicateAction,
    EventInFuture,
    EventTooOld,
    ParentNotFound,
    // file level (SPEC §4.4; RECORD_TOO_LONG and TOO_MANY_FIELDS are the record limits of
    // README.md, "Limits")
    EmptyFile,
    NotUtf8,
    MalformedCsv,
    UnknownColumn,
    DuplicateColumn,
    NoIdentifier,
    TooLarge,
    TooManyRows,
    LineTooLong,
    RecordTooLong,
    TooManyFields,
    Quarantined,
    DuplicateFile,
    RowsRejected,
};

// "ACTION_LOCKED" etc.; "" for None.
std::string_view error_name(ErrorCode code);
// "Contract Error" for CONTRACT_NOT_FOUND and FX_RATE_NOT_FOUND, else "Validation".
std::string_view error_type(ErrorCode code);

}  // namespace actiondrop::ledger
