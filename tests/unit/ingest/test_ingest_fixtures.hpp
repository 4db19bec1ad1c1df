#pragma once
// Shared by the ingest tests: a temporary folder and small file helpers.
#include <filesystem>
#include <string>

#include "config/service_config.hpp"
#include "temp_dir.hpp"

namespace actiondrop::ingest::testing {

class TempDir : public actiondrop::testing::TempDir {
public:
    TempDir() : actiondrop::testing::TempDir("actiondrop-ingest") {}
};

using actiondrop::testing::read;
using actiondrop::testing::write;

inline config::InboxConfig local_inbox(const std::filesystem::path& root) {
    config::InboxConfig c;
    c.name = "drop";
    c.account = "1000";
    c.type = "conversions";
    c.source = config::LocalSource{root / "in"};
    c.outbox = root / "out";
    c.pattern = "*.csv";
    c.settle = std::chrono::milliseconds(300);
    return c;
}

// The claims folder the service gives local_inbox(root): STATE_DIR/claims/<inbox>.
inline std::filesystem::path claims(const std::filesystem::path& root) {
    return root / "state" / "claims" / "drop";
}

}  // namespace actiondrop::ingest::testing
