#pragma once
// Streaming SHA-256 (OpenSSL EVP), for the journal's content key and receipts.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace actiondrop::util {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(const void* data, std::size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    std::string hex();  // finishes; lower-case hex

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

struct FileDigest {
    std::string sha256;
    std::int64_t size = 0;
};
// Reads the whole file once. Throws std::system_error naming the path on I/O failure.
FileDigest digest_file(const std::filesystem::path& path);

}  // namespace actiondrop::util
