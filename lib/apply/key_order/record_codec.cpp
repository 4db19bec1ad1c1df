#include "apply/key_order/record_codec.hpp"

namespace actiondrop::apply::key_order {

void encode_record(const batch::Record& record, std::string& out) {
    out.clear();
    put_varint(out, static_cast<std::uint64_t>(record.line));
    put_varint(out, record.fields.size());
    for (const std::string& field : record.fields) {
        put_varint(out, field.size());
        out.append(field);
    }
}

void decode_record(const char* p, batch::Record& record) {
    record.line = static_cast<std::int64_t>(get_varint(p));
    record.fields.resize(get_varint(p));
    for (std::string& field : record.fields) {
        const std::size_t size = get_varint(p);
        field.assign(p, size);
        p += size;
    }
}

}  // namespace actiondrop::apply::key_order
