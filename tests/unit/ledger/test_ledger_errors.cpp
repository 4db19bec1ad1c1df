#include <doctest/doctest.h>

#include "ledger/errors.hpp"

using namespace actiondrop::ledger;

TEST_CASE("error_name spells row-level codes as docs/rules.md does") {
    CHECK(error_name(ErrorCode::Malformed) == "MALFORMED");
    CHECK(error_name(ErrorCode::MissingIdentifier) == "MISSING_IDENTIFIER");
    CHECK(error_name(ErrorCode::MissingReason) == "MISSING_REASON");
    CHECK(error_name(ErrorCode::UnknownReason) == "UNKNOWN_REASON");
    CHECK(error_name(ErrorCode::UnknownDisposition) == "UNKNOWN_DISPOSITION");
    CHECK(error_name(ErrorCode::ActionRefNotFound) == "ACTION_REF_NOT_FOUND");
    CHECK(error_name(ErrorCode::IdentifierMismatch) == "IDENTIFIER_MISMATCH");
    CHECK(error_name(ErrorCode::ActionLocked) == "ACTION_LOCKED");
    CHECK(error_name(ErrorCode::ActionReversed) == "ACTION_REVERSED");
    CHECK(error_name(ErrorCode::ModificationLimitReached) == "MODIFICATION_LIMIT_REACHED");
    CHECK(error_name(ErrorCode::CurrencyMismatch) == "CURRENCY_MISMATCH");
    CHECK(error_name(ErrorCode::ItemLevelAction) == "ITEM_LEVEL_ACTION");
    CHECK(error_name(ErrorCode::SkuNotFound) == "SKU_NOT_FOUND");
    CHECK(error_name(ErrorCode::NothingToChange) == "NOTHING_TO_CHANGE");
    CHECK(error_name(ErrorCode::ContractNotFound) == "CONTRACT_NOT_FOUND");
    CHECK(error_name(ErrorCode::FxRateNotFound) == "FX_RATE_NOT_FOUND");
    CHECK(error_name(ErrorCode::MissingField) == "MISSING_FIELD");
    CHECK(error_name(ErrorCode::ActionTrackerNotFound) == "ACTIONTRACKER_NOT_FOUND");
    CHECK(error_name(ErrorCode::PartnerNotFound) == "PARTNER_NOT_FOUND");
    CHECK(error_name(ErrorCode::DuplicateAction) == "DUPLICATE_ACTION");
    CHECK(error_name(ErrorCode::EventInFuture) == "EVENT_IN_FUTURE");
    CHECK(error_name(ErrorCode::EventTooOld) == "EVENT_TOO_OLD");
    CHECK(error_name(ErrorCode::ParentNotFound) == "PARENT_NOT_FOUND");
    CHECK(error_name(ErrorCode::InsufficientFunds) == "INSUFFICIENT_FUNDS");
    CHECK(error_type(ErrorCode::InsufficientFunds) == "Validation");
}

TEST_CASE("error_name spells file-level codes as docs/formats.md does") {
    CHECK(error_name(ErrorCode::EmptyFile) == "EMPTY_FILE");
    CHECK(error_name(ErrorCode::NotUtf8) == "NOT_UTF8");
    CHECK(error_name(ErrorCode::MalformedCsv) == "MALFORMED_CSV");
    CHECK(error_name(ErrorCode::UnknownColumn) == "UNKNOWN_COLUMN");
    CHECK(error_name(ErrorCode::DuplicateColumn) == "DUPLICATE_COLUMN");
    CHECK(error_name(ErrorCode::NoIdentifier) == "NO_IDENTIFIER");
    CHECK(error_name(ErrorCode::TooLarge) == "TOO_LARGE");
    CHECK(error_name(ErrorCode::TooManyRows) == "TOO_MANY_ROWS");
    CHECK(error_name(ErrorCode::LineTooLong) == "LINE_TOO_LONG");
    CHECK(error_name(ErrorCode::RecordTooLong) == "RECORD_TOO_LONG");
    CHECK(error_name(ErrorCode::TooManyFields) == "TOO_MANY_FIELDS");
    CHECK(error_name(ErrorCode::Quarantined) == "QUARANTINED");
    CHECK(error_name(ErrorCode::DuplicateFile) == "DUPLICATE_FILE");
    CHECK(error_name(ErrorCode::RowsRejected) == "ROWS_REJECTED");
}

TEST_CASE("error_name of None is empty") { CHECK(error_name(ErrorCode::None).empty()); }

TEST_CASE("error_type is Contract Error only for a missing contract or FX rate") {
    CHECK(error_type(ErrorCode::ContractNotFound) == "Contract Error");
    CHECK(error_type(ErrorCode::FxRateNotFound) == "Contract Error");
    CHECK(error_type(ErrorCode::Malformed) == "Validation");
    CHECK(error_type(ErrorCode::ActionLocked) == "Validation");
    CHECK(error_type(ErrorCode::PartnerNotFound) == "Validation");
    CHECK(error_type(ErrorCode::ActionTrackerNotFound) == "Validation");
}
