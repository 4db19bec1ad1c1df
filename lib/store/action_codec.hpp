#pragma once
// Compact binary encodings of an action's items and creation snapshot for BLOB columns:
// a format byte, then varints (zigzag for signed numbers) and length-prefixed strings.
// Decoding checks every length, so a damaged row is a StoreError, never a crash.
#include <string>
#include <string_view>
#include <vector>

#include "ledger/action.hpp"

namespace actiondrop::store {

// Appends the encoding to `out` (cleared first), so one buffer can be reused per row.
void encode_items(const std::vector<ledger::Item>& items, std::string& out);
std::vector<ledger::Item> decode_items(std::string_view bytes);

void encode_creation(const ledger::CreationState& creation, std::string& out);
ledger::CreationState decode_creation(std::string_view bytes);

}  // namespace actiondrop::store
