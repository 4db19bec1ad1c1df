#include "apply/pending_rows.hpp"

#include <malloc.h>

#include <string>

namespace actiondrop::apply {

std::size_t held_bytes(const batch::Record& record) {
    std::size_t text = 0;
    for (const std::string& field : record.fields)
        if (field.capacity() > std::string().capacity()) text += field.capacity() + 1;
    return 2 * record.fields.capacity() * sizeof(std::string) + 4 * text;
}

void return_large_blocks() { ::mallopt(M_MMAP_THRESHOLD, 128 << 10); }

}  // namespace actiondrop::apply
