#pragma once
// Batch ids: unique, sortable by creation time, readable in a log line
// ("20261124T183651Z-9f2c4e1a7b3d"). The time is passed in; randomness is from the OS.
#include <chrono>
#include <string>

namespace actiondrop::util {

std::string new_batch_id(std::chrono::sys_time<std::chrono::milliseconds> now);

}  // namespace actiondrop::util
