#pragma once
// Shared by the ingest tests: a temporary folder and small file helpers.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/service_config.hpp"

namespace actiondrop::ingest::testing {

// A fresh folder under the system's temp folder, removed with everything in it.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ =
            std::filesystem::temp_directory_path() /
            ("actiondrop-ingest-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

inline void write(const std::filesystem::path& p, const std::string& bytes,
                  std::ios::openmode mode = std::ios::trunc) {
    std::ofstream out(p, std::ios::binary | mode);
    out << bytes;
}

inline std::string read(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

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
