#pragma once
// Shared by the unit tests of every layer: a temporary folder and small file helpers.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace actiondrop::testing {

// A fresh folder under the system's temp folder, removed with everything in it. The prefix
// says which tests left a folder behind when a run is killed.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "actiondrop-test") {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
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

}  // namespace actiondrop::testing
