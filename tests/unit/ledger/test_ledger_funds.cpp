#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "ledger/funds.hpp"

using namespace actiondrop::ledger;

TEST_CASE("transfer types are the TransferType column's words, exactly") {
    CHECK(transfer_type_name(TransferType::MakeGood) == "MAKE_GOOD");
    CHECK(transfer_type_name(TransferType::Bonus) == "BONUS");
    CHECK(transfer_type_name(TransferType::PaidPlacement) == "PAID_PLACEMENT");
    for (auto t : {TransferType::MakeGood, TransferType::Bonus, TransferType::PaidPlacement})
        CHECK(parse_transfer_type(transfer_type_name(t)) == t);
    CHECK_FALSE(parse_transfer_type("make_good").has_value());
    CHECK_FALSE(parse_transfer_type("").has_value());
}

TEST_CASE("the balance is the sum of the funds entries: deposits in, clearings and transfers out") {
    const std::vector<FundsEntry> entries{{FundsEntry::Kind::Deposit, 15000, {}, "first"},
                                          {FundsEntry::Kind::Clearing, 10000, {}, "A1"},
                                          {FundsEntry::Kind::Transfer, 2500, {}, "T1"},
                                          {FundsEntry::Kind::Deposit, 100, {}, ""}};
    CHECK(balance_of(entries) == 2600);
    CHECK(balance_of({}) == 0);
    CHECK(funds_entry_kind_name(FundsEntry::Kind::Clearing) == "CLEARING");
    for (auto k :
         {FundsEntry::Kind::Deposit, FundsEntry::Kind::Clearing, FundsEntry::Kind::Transfer})
        CHECK(parse_funds_entry_kind(funds_entry_kind_name(k)) == k);
    CHECK_FALSE(parse_funds_entry_kind("deposit").has_value());
    CHECK_FALSE(parse_funds_entry_kind("").has_value());
}

TEST_CASE("a sum of entries beyond int64 is no balance rather than a wrapped one") {
    const std::vector<FundsEntry> entries{{FundsEntry::Kind::Deposit, INT64_MAX, {}, ""},
                                          {FundsEntry::Kind::Deposit, 1, {}, ""}};
    CHECK_FALSE(balance_of(entries).has_value());
}
