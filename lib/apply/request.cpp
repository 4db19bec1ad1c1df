#include "apply/request.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "apply/file_limits.hpp"

namespace actiondrop::apply {
namespace fs = std::filesystem;

ApplyRequest request_for(const config::InboxConfig& inbox, const fs::path& spool) {
    ApplyRequest req;
    req.account_id = inbox.account;
    auto type = batch::parse_file_type(inbox.type);
    if (!type)
        throw std::invalid_argument(
            fmt::format("inbox {}: unknown type '{}'", inbox.name, inbox.type));
    req.type = *type;
    req.inbox = inbox.name;
    req.all_or_nothing = inbox.all_or_nothing;
    req.reprocess_duplicates = inbox.duplicates == "reprocess";
    req.limits = reader_limits(inbox.limits);
    req.outbox = inbox.outbox;
    req.outbox_kind = inbox.outbox_staged ? Outbox::Staging : Outbox::Folder;
    req.spool = spool;
    return req;
}

}  // namespace actiondrop::apply
