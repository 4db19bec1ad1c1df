#pragma once
// The error codes that a user's file can cause, row- and file-level (docs/rules.md,
// "Row checks of a modification", "Row checks of a conversion" and "Row checks of a funds
// transfer"; docs/formats.md, "File-level errors").
#include <string_view>

namespace actiondrop::ledger {

enum class ErrorCode {
    None,
    // row level (docs/rules.md, the "Row checks" tables)
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
    InsufficientFunds,
    // file level (docs/formats.md, "File-level errors")
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
