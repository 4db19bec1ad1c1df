// ftp enrol: a pull inbox server's TLS certificate, shown, and checked with it pinned on
// request (README.md, "FTP pull inboxes").
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "../exit_codes.hpp"
#include "command.hpp"
#include "pull/ftp/ftp_server.hpp"
#include "util/name_rules.hpp"

namespace actiondrop::cli {

namespace {

struct EnrolOptions {
    std::string inbox_name;
    bool accept = false;
};

// As `openssl x509 -fingerprint -sha256` prints it: upper case, colons.
std::string openssl_style(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (!out.empty()) out += ':';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(hex[i + 1])));
    }
    return out;
}

int enrol(const config::ServiceConfig& cfg, const EnrolOptions& o) {
    const auto* found = cfg.inbox(o.inbox_name);
    const auto* inbox = found ? std::get_if<config::FtpSource>(&found->source) : nullptr;
    if (!inbox)
        throw UsageError(fmt::format("no ftp inbox named '{}' in the config", o.inbox_name));
    if (inbox->tls == config::FtpTls::None)
        throw UsageError(fmt::format("inbox '{}' has tls: none: there is no certificate to enrol",
                                     o.inbox_name));
    const auto where = fmt::format("{}:{}", inbox->host, inbox->port);
    pull::FtpSession session(pull::endpoint_of(*inbox));
    auto connected = session.connect();
    if (connected) {
        std::cout << fmt::format("{}: the certificate ({}) is trusted{}, and we can log in\n",
                                 where, openssl_style(session.offered_sha256()),
                                 inbox->sha256.empty() ? "" : " (pinned)");
        return exit_code::ok;
    }
    const auto& e = connected.error();
    if (e.kind != pull::RemoteErrorKind::Untrusted || session.offered_sha256().empty()) {
        std::cerr << fmt::format("{}: {}: {}\n", where, pull::to_string(e.kind),
                                 util::printable_text(e.message));
        return exit_code::io;
    }
    const std::string offered = session.offered_sha256();
    std::cout << fmt::format("{} offers the certificate with SHA-256 fingerprint {}\n", where,
                             openssl_style(offered));
    if (!inbox->sha256.empty())
        // Never replaced on our own: a changed certificate may be an attack.
        std::cout << fmt::format(
            "the inbox pins another one ({}); if the change is expected, "
            "replace it in the config\n",
            openssl_style(inbox->sha256));
    if (!o.accept) {
        std::cout << "compare it with the fingerprint the server's owner gives you, then run "
                     "again with --accept\n";
        return exit_code::ok;
    }
    // The config is the operator's file (often under configuration management): it is not
    // rewritten. The certificate is pinned for one login, which proves the pin works.
    auto endpoint = pull::endpoint_of(*inbox);
    endpoint.sha256 = offered;
    endpoint.ca_file.clear();
    pull::FtpSession pinned(endpoint);
    if (auto ok = pinned.connect(); !ok) {
        std::cerr << fmt::format("{}: with the certificate pinned: {}: {}\n", where,
                                 pull::to_string(ok.error().kind),
                                 util::printable_text(ok.error().message));
        return exit_code::io;
    }
    std::cout << fmt::format(
        "logged in with this certificate pinned; to trust it, put this in inbox '{}' of the "
        "config and reload the service (SIGHUP):\n  sha256: \"{}\"\n",
        o.inbox_name, openssl_style(offered));
    return exit_code::ok;
}

}  // namespace

void add_ftp_commands(CLI::App& app, Commands& commands) {
    auto* ftp = app.add_subcommand("ftp", "FTP pull inboxes");
    ftp->require_subcommand(1);
    auto o = std::make_shared<EnrolOptions>();
    auto* enrol_cmd = ftp->add_subcommand(
        "enrol",
        "show an inbox server's TLS certificate; with --accept, log in with it pinned and "
        "print the sha256 line that trusts it");
    enrol_cmd->add_option("INBOX", o->inbox_name)->required();
    enrol_cmd->add_flag("--accept", o->accept,
                        "log in with the certificate shown pinned, and print its sha256 line");
    commands.push_back(
        {enrol_cmd, [o](const config::ServiceConfig& cfg) { return enrol(cfg, *o); }});
}

}  // namespace actiondrop::cli
