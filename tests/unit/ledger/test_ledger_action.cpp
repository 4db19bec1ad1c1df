#include <doctest/doctest.h>

#include "ledger/action.hpp"

using namespace actiondrop::ledger;

TEST_CASE("status names and their parsing round-trip") {
    CHECK(status_name(Status::Pending) == "PENDING");
    CHECK(status_name(Status::Approved) == "APPROVED");
    CHECK(status_name(Status::Reversed) == "REVERSED");
    for (auto s : {Status::Pending, Status::Approved, Status::Reversed})
        CHECK(parse_status(status_name(s)) == s);
}

TEST_CASE("finance status names and their parsing round-trip") {
    CHECK(finance_status_name(FinanceStatus::Estimated) == "ESTIMATED");
    CHECK(finance_status_name(FinanceStatus::Due) == "DUE");
    CHECK(finance_status_name(FinanceStatus::Cleared) == "CLEARED");
    CHECK(finance_status_name(FinanceStatus::Overdue) == "OVERDUE");
    CHECK(finance_status_name(FinanceStatus::Invoiced) == "INVOICED");
    CHECK(finance_status_name(FinanceStatus::Voided) == "VOIDED");
    CHECK(finance_status_name(FinanceStatus::OutsideTerms) == "OUTSIDE_TERMS");
    for (auto s : {FinanceStatus::Estimated, FinanceStatus::Due, FinanceStatus::Cleared,
                   FinanceStatus::Overdue, FinanceStatus::Invoiced, FinanceStatus::Voided,
                   FinanceStatus::OutsideTerms})
        CHECK(parse_finance_status(finance_status_name(s)) == s);
}

TEST_CASE("operation names and their parsing round-trip") {
    CHECK(operation_name(Operation::None).empty());
    CHECK(operation_name(Operation::Modify) == "MODIFY");
    CHECK(operation_name(Operation::Reverse) == "REVERSE");
    CHECK(operation_name(Operation::Approve) == "APPROVE");
    CHECK(operation_name(Operation::Reset) == "RESET");
    CHECK(operation_name(Operation::Create) == "CREATE");
    CHECK(operation_name(Operation::Transfer) == "TRANSFER");
    CHECK(operation_name(Operation::Lock) == "LOCK");
    CHECK(operation_name(Operation::Clear) == "CLEAR");
    CHECK(operation_name(Operation::Overdue) == "OVERDUE");
    CHECK(operation_name(Operation::Invoice) == "INVOICE");
    for (auto op : {Operation::Modify, Operation::Reverse, Operation::Approve, Operation::Reset,
                    Operation::Create, Operation::Transfer, Operation::Lock, Operation::Clear,
                    Operation::Overdue, Operation::Invoice})
        CHECK(parse_operation(operation_name(op)) == op);
}

TEST_CASE("parsers reject unknown and differently cased names") {
    CHECK_FALSE(parse_status("pending").has_value());
    CHECK_FALSE(parse_status("LOCKED").has_value());
    CHECK_FALSE(parse_status("").has_value());
    CHECK_FALSE(parse_finance_status("Due").has_value());
    CHECK_FALSE(parse_finance_status("").has_value());
    CHECK_FALSE(parse_operation("modify").has_value());
    CHECK_FALSE(parse_operation("").has_value());
}

TEST_CASE("an action is locked when approved or when its locking date has passed") {
    Action a;
    a.locking_date = parse_instant("2026-02-28T05:00:00Z", nullptr).value();
    const Instant before = parse_instant("2026-02-28T04:59:59.999Z", nullptr).value();
    CHECK_FALSE(a.locked_at(before));
    CHECK(a.locked_at(a.locking_date));
    a.status = Status::Approved;
    CHECK(a.locked_at(before));
}
