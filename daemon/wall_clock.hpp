#pragma once
// The wall clock that both binaries hand to lib/, which reads no clock of its own: now, to
// the millisecond that the ledger keeps.
#include <chrono>

#include "ledger/time.hpp"

namespace actiondrop {

inline ledger::Instant system_now() {
    return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

}  // namespace actiondrop
