#include "config/catalog_checks.hpp"

#include <algorithm>
#include <cstdio>

namespace actiondrop::config {

std::optional<std::string> shared_tracker(const ledger::Contract& x, const ledger::Contract& y) {
    if (x.partner_id != y.partner_id) return std::nullopt;
    if (x.trackers.empty() && y.trackers.empty()) return std::string("(every tracker)");
    if (x.trackers.empty()) return "'" + y.trackers.front() + "'";
    if (y.trackers.empty()) return "'" + x.trackers.front() + "'";
    for (const std::string& t : y.trackers)
        if (std::find(x.trackers.begin(), x.trackers.end(), t) != x.trackers.end())
            return "'" + t + "'";
    return std::nullopt;
}

std::string date_text(ledger::Days day) {
    std::chrono::year_month_day ymd{day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                  unsigned(ymd.day()));
    return buf;
}

std::string account_key(std::string_view account) {
    return "accounts[id=" + std::string(account) + "]";
}

std::string contract_key(std::string_view account, std::string_view contract) {
    return account_key(account) + ".contracts[id=" + std::string(contract) + "]";
}

}  // namespace actiondrop::config
