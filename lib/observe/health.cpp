#include "observe/health.hpp"

#include <utility>

namespace actiondrop::observe {

bool HealthBoard::set(const std::string& condition, std::string problem) {
    std::lock_guard lock(mutex_);
    auto it = problems_.find(condition);
    if (problem.empty()) {
        if (it == problems_.end()) return false;
        problems_.erase(it);
        return true;
    }
    if (it != problems_.end() && it->second == problem) return false;
    problems_[condition] = std::move(problem);
    return true;
}

std::expected<void, std::string> HealthBoard::verdict() const {
    std::lock_guard lock(mutex_);
    if (problems_.empty()) return {};
    std::string all;
    for (const auto& [condition, problem] : problems_) {
        if (!all.empty()) all += '\n';
        all += condition + ": " + problem;
    }
    return std::unexpected(std::move(all));
}

}  // namespace actiondrop::observe
