#pragma once
// Bytes in blocks of 1 MiB or more, handed out one after the other and freed all at once.
//
// Nothing moves and nothing is copied to grow, so what was handed out stays where it is until
// clear(). The blocks are mapped and unmapped directly rather than taken from malloc: filled on
// one thread and dropped on another, malloc's blocks would stay in the heap of the thread that
// made them and add to the peak RSS (README.md, "Limits", on the memory of key order).
#include <cstddef>
#include <utility>
#include <vector>

namespace actiondrop::util {

class Arena {
public:
    static constexpr std::size_t block_bytes = 1 << 20;

    Arena() = default;
    Arena(const Arena&) = delete;
    Arena& operator=(const Arena&) = delete;
    ~Arena() { clear(); }

    // n bytes, not aligned, valid until clear() or the destructor. A request larger than a
    // block gets a block of its own size. Throws std::bad_alloc when no block can be mapped.
    char* allocate(std::size_t n) {
        if (n > left_) grow(n);
        char* p = next_;
        next_ += n;
        left_ -= n;
        return p;
    }
    // Unmaps every block.
    void clear();
    // Bytes mapped now.
    std::size_t mapped() const;

private:
    void grow(std::size_t n);

    std::vector<std::pair<char*, std::size_t>> blocks_;
    char* next_ = nullptr;
    std::size_t left_ = 0;
};

}  // namespace actiondrop::util
