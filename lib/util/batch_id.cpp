#include "util/batch_id.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace actiondrop::util {

namespace {

std::uint64_t random_bits(int bits) {
    unsigned char random[8];
    if (RAND_bytes(random, sizeof random) != 1)
        throw std::runtime_error("no randomness for a batch id");
    std::uint64_t value = 0;
    for (unsigned char byte : random) value = (value << 8) | byte;
    return value >> (64 - bits);
}

std::string format_id(std::chrono::sys_seconds second, std::uint64_t random48) {
    return fmt::format("{:%Y%m%dT%H%M%SZ}-{:012x}", second, random48);
}

}  // namespace

std::string new_batch_id(BatchTime now) {
    return format_id(std::chrono::floor<std::chrono::seconds>(now), random_bits(48));
}

std::string BatchIds::next(BatchTime now) {
    const auto second = std::chrono::floor<std::chrono::seconds>(now);
    // A new second starts in the lower half of the 48 bits, and each step is at most 2^20: the
    // half left holds 2^27 more ids of that second, far more than a service makes.
    // Were that half ever used up, the ids go on in the next second, still in order.
    constexpr std::uint64_t most = (std::uint64_t{1} << 48) - 1;
    const auto step = 1 + random_bits(20);
    if (second > second_ || last_ == 0) {
        second_ = second;
        last_ = random_bits(47) | 1;
    } else if (last_ > most - step) {
        second_ += std::chrono::seconds{1};
        last_ = random_bits(47) | 1;
    } else {
        last_ += step;
    }
    return format_id(second_, last_);
}

}  // namespace actiondrop::util
