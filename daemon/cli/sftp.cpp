// sftp enrol: a pull inbox server's host key, shown, and trusted on request.
#include <fmt/format.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "pull/sftp/sftp_session.hpp"
#include "util/name_rules.hpp"

namespace actiondrop::cli {

namespace {

struct EnrolOptions {
    std::string inbox_name;
    bool accept = false;
};

int enrol(const config::ServiceConfig& cfg, const EnrolOptions& o) {
    const auto* found = cfg.inbox(o.inbox_name);
    const auto* inbox = found ? std::get_if<config::SftpSource>(&found->source) : nullptr;
    if (!inbox)
        throw UsageError(fmt::format("no sftp inbox named '{}' in the config", o.inbox_name));
    pull::SftpSession session({.host = inbox->host,
                               .port = inbox->port,
                               .user = inbox->user,
                               .identity_file = inbox->identity_file,
                               .password_file = inbox->password_file,
                               .known_hosts = inbox->known_hosts});
    const auto where = fmt::format("{}:{}", inbox->host, inbox->port);
    auto connected = session.connect();
    if (connected) {
        std::cout << fmt::format("{}: the host key is already enrolled in {}, and we can log in\n",
                                 where, inbox->known_hosts.string());
        return exit_code::ok;
    }
    const auto& e = connected.error();
    switch (e.kind) {
        case pull::SftpErrorKind::HostKeyUnknown:
            std::cout << fmt::format("{} offers the host key {}\n", where, e.fingerprint);
            if (!o.accept) {
                std::cout << "compare it with the fingerprint the server's owner gives you, then "
                             "run again with --accept\n";
                return exit_code::ok;
            }
            {
                std::ofstream out(inbox->known_hosts, std::ios::app);
                out << e.known_hosts_line << "\n";
                out.flush();
                if (!out)
                    throw std::system_error(errno, std::generic_category(),
                                            "cannot write " + inbox->known_hosts.string());
            }
            std::cout << fmt::format("enrolled: added to {}\n", inbox->known_hosts.string());
            return exit_code::ok;
        case pull::SftpErrorKind::HostKeyChanged:
        case pull::SftpErrorKind::HostKeyOther:
            // Never replaced automatically: a changed key may be an attack.
            std::cerr << fmt::format(
                "{}: the host key CHANGED: it now offers {} ({}). If the change is expected, "
                "remove the old line from {} by hand, then enrol again.\n",
                where, e.fingerprint, util::printable_text(e.message), inbox->known_hosts.string());
            return exit_code::data;
        default:
            std::cerr << fmt::format("{}: {}: {}\n", where, pull::to_string(e.kind),
                                     util::printable_text(e.message));
            return exit_code::io;
    }
}

}  // namespace

void add_sftp_commands(CLI::App& app, Commands& commands) {
    auto* sftp = app.add_subcommand("sftp", "SFTP pull inboxes");
    sftp->require_subcommand(1);
    auto o = std::make_shared<EnrolOptions>();
    auto* enrol_cmd = sftp->add_subcommand(
        "enrol", "show an inbox server's host key; add it to known_hosts with --accept");
    enrol_cmd->add_option("INBOX", o->inbox_name)->required();
    enrol_cmd->add_flag("--accept", o->accept,
                        "trust the key shown: add it to the inbox's known_hosts file");
    commands.push_back(
        {enrol_cmd, [o](const config::ServiceConfig& cfg) { return enrol(cfg, *o); }});
}

}  // namespace actiondrop::cli
