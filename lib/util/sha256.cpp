#include "util/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "util/read_buffer.hpp"

namespace actiondrop::util {

struct Sha256::Ctx {
    EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
    ctx_->md = EVP_MD_CTX_new();
    if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256: cannot initialise OpenSSL digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx_->md); }

void Sha256::update(const void* data, std::size_t size) {
    if (EVP_DigestUpdate(ctx_->md, data, size) != 1)
        throw std::runtime_error("SHA-256: update failed");
}

std::string Sha256::hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_->md, out, &len) != 1)
        throw std::runtime_error("SHA-256: final failed");
    static constexpr char digits[] = "0123456789abcdef";
    std::string text;
    text.reserve(len * 2);
    for (unsigned i = 0; i < len; ++i) {
        text.push_back(digits[out[i] >> 4]);
        text.push_back(digits[out[i] & 15]);
    }
    return text;
}

FileDigest digest_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), path.string());
    Sha256 sha;
    FileDigest digest;
    ReadBuffer buffer = ReadBuffer::for_descriptor(fd);
    for (;;) {
        ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            throw std::system_error(err, std::generic_category(), path.string());
        }
        if (n == 0) break;
        sha.update(buffer.data(), static_cast<std::size_t>(n));
        digest.size += n;
    }
    ::close(fd);
    digest.sha256 = sha.hex();
    return digest;
}

}  // namespace actiondrop::util
