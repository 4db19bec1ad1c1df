#pragma once
// Batch ids: unique, sortable by creation time, readable in a log line
// ("20261124T183651Z-9f2c4e1a7b3d"). The time is passed in; randomness is from the OS.
#include <chrono>
#include <cstdint>
#include <string>

namespace actiondrop::util {

using BatchTime = std::chrono::sys_time<std::chrono::milliseconds>;

// One id on its own: its random part orders it by nothing within its second.
std::string new_batch_id(BatchTime now);

// Ids made one after another by one sequence, which sort in the order they were made even
// within one second: what an inbox claims is applied in the order of its claims' names
// (docs/ingest.md, "Claims"). Within a second each id's random part is the last one's plus a
// random step of at most 2^20, so ids stay about as unlikely to meet another service's as
// new_batch_id()'s (nothing relies on an id being hard to guess). A clock set back keeps the
// last second: an id of a sequence never sorts before the one made before it. Two sequences
// are not ordered with each other.
class BatchIds {
public:
    std::string next(BatchTime now);

private:
    std::chrono::sys_seconds second_{};
    std::uint64_t last_ = 0;
};

}  // namespace actiondrop::util
