#include "util/batch_id.hpp"

#include <openssl/rand.h>

#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace actiondrop::util {

std::string new_batch_id(std::chrono::sys_time<std::chrono::milliseconds> now) {
    unsigned char random[6];
    if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no randomness for a batch id");
    auto seconds = std::chrono::floor<std::chrono::seconds>(now);
    return fmt::format("{:%Y%m%dT%H%M%SZ}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}", seconds, random[0],
                       random[1], random[2], random[3], random[4], random[5]);
}

}  // namespace actiondrop::util
