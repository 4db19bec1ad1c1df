#pragma once
// What the C++ benchmark clients share: a wall-clock span and the median of measurements.
#include <algorithm>
#include <chrono>
#include <vector>

namespace actiondrop::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

inline double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace actiondrop::bench
