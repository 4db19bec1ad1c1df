#include "store/batch_state.hpp"

#include <array>
#include <utility>

namespace actiondrop::store {
namespace {

constexpr std::array<std::pair<BatchState, std::string_view>, 6> kNames = {{
    {BatchState::Claimed, "claimed"},
    {BatchState::Applied, "applied"},
    {BatchState::Delivered, "delivered"},
    {BatchState::Archived, "archived"},
    {BatchState::Failed, "failed"},
    {BatchState::Quarantined, "quarantined"},
}};

}  // namespace

std::string_view state_name(BatchState state) {
    for (const auto& [s, name] : kNames)
        if (s == state) return name;
    return "?";
}

std::optional<BatchState> parse_state(std::string_view name) {
    for (const auto& [s, n] : kNames)
        if (n == name) return s;
    return std::nullopt;
}

}  // namespace actiondrop::store
