#include "util/arena.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace actiondrop::util {

void Arena::grow(std::size_t n) {
    const std::size_t size = std::max(n, block_bytes);
    void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) throw std::bad_alloc();
    blocks_.emplace_back(static_cast<char*>(block), size);
    next_ = blocks_.back().first;
    left_ = size;
}

void Arena::clear() {
    for (const auto& [block, size] : blocks_) ::munmap(block, size);
    blocks_.clear();
    next_ = nullptr;
    left_ = 0;
}

std::size_t Arena::mapped() const {
    std::size_t total = 0;
    for (const auto& [block, size] : blocks_) total += size;
    return total;
}

}  // namespace actiondrop::util
