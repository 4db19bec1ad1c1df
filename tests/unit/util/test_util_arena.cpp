#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "util/arena.hpp"

using actiondrop::util::Arena;

TEST_CASE("arena: what it hands out stays in place and intact while it grows") {
    Arena arena;
    CHECK(arena.mapped() == 0);
    std::vector<std::pair<char*, std::string>> given;
    // 3,000 pieces of up to 1 KiB span several blocks.
    for (int i = 0; i < 3000; ++i) {
        std::string text(static_cast<std::size_t>(1 + i % 1000), static_cast<char>('a' + i % 26));
        char* p = arena.allocate(text.size());
        std::memcpy(p, text.data(), text.size());
        given.emplace_back(p, std::move(text));
    }
    CHECK(arena.mapped() > Arena::block_bytes);
    for (const auto& [p, text] : given) REQUIRE(std::string(p, text.size()) == text);
    // Pieces follow each other within a block.
    char* a = arena.allocate(10);
    char* b = arena.allocate(10);
    CHECK(b == a + 10);
}

TEST_CASE("arena: a piece larger than a block gets a block of its size, clear unmaps all") {
    Arena arena;
    const std::size_t big = 3 * Arena::block_bytes + 5;
    char* p = arena.allocate(big);
    p[0] = 'x';
    p[big - 1] = 'y';
    CHECK(arena.mapped() == big);
    char* q = arena.allocate(1);  // the big block is full: a new one
    *q = 'z';
    CHECK(arena.mapped() == big + Arena::block_bytes);
    CHECK(p[0] == 'x');
    CHECK(p[big - 1] == 'y');
    arena.clear();
    CHECK(arena.mapped() == 0);
    arena.allocate(0);  // nothing asked for, nothing mapped
    CHECK(arena.mapped() == 0);
    CHECK(arena.allocate(1) != nullptr);
    CHECK(arena.mapped() == Arena::block_bytes);
}
