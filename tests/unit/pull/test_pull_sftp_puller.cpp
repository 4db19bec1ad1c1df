// The puller's SFTP side against a real OpenSSH sshd on 127.0.0.1 (sshd_fixture.hpp); what
// the puller does on every protocol is tested once for all in test_pull_puller_servers.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "pull/puller.hpp"
#include "pull/server_for.hpp"
#include "pull/sftp/sftp_session.hpp"
#include "sshd_fixture.hpp"
#include "test_pull_fixtures.hpp"

namespace fs = std::filesystem;
using namespace actiondrop;
using namespace actiondrop::pull;
using actiondrop::pull::testing::read;
using actiondrop::pull::testing::SshServer;
using actiondrop::pull::testing::TempDir;
using actiondrop::pull::testing::write;
using namespace std::chrono_literals;

// The puller reconnects only when an error says the session is gone (or a ping after a
// plain refusal fails): a dead server must never look like a missing folder.
TEST_CASE("a listing on a connection whose server died says the connection is lost") {
    for (int round = 0; round < 5; ++round) {
        SshServer server;
        SftpSession session(server.endpoint());
        REQUIRE(session.connect());
        server.kill_all();
        if (round % 2) std::this_thread::sleep_for(50ms);
        auto listing = session.list(server.files().string(), "*");
        REQUIRE_FALSE(listing);
        INFO("round ", round, ": ", to_string(listing.error().kind), ": ", listing.error().message);
        CHECK(listing.error().kind != SftpErrorKind::NotFound);
        CHECK(listing.error().kind != SftpErrorKind::PermissionDenied);
    }
}
