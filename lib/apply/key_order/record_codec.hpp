#pragma once
// A record packed as bytes: its line, its field count, then each field's size and bytes,
// every number a varint (7 bits a byte, low bits first, the high bit set on all bytes but
// the last). Rows gathered for key order are kept this way between their reading and their
// turn (apply/key_order/pipeline.hpp): a few bytes over their text, in one arena, rather than
// a std::string per field.
#include <cstdint>
#include <string>

#include "batch/csv_reader.hpp"

namespace actiondrop::apply::key_order {

inline void put_varint(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

// Reads the varint at p and moves p past it. The bytes are our own, from put_varint().
inline std::uint64_t get_varint(const char*& p) {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
        const auto byte = static_cast<unsigned char>(*p++);
        value |= std::uint64_t{byte & 0x7fu} << shift;
        if ((byte & 0x80) == 0) return value;
    }
}

// `record` into `out` (cleared first).
void encode_record(const batch::Record& record, std::string& out);

// The record that encode_record() wrote at p, into `record`, reusing its strings.
void decode_record(const char* p, batch::Record& record);

}  // namespace actiondrop::apply::key_order
