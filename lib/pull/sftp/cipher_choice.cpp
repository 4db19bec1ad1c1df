#include "pull/sftp/cipher_choice.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

namespace actiondrop::pull {

namespace {

// MB/s of sealing 4 MiB in 32 KiB packets (an SSH packet's size) with `cipher`, once;
// 0 when this libcrypto lacks it.
double seal_rate(const EVP_CIPHER* cipher) {
    if (cipher == nullptr) return 0;
    std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                        &EVP_CIPHER_CTX_free);
    if (!ctx) return 0;
    constexpr std::size_t packet = 32 * 1024, total = 4 * 1024 * 1024;
    std::vector<unsigned char> in(packet, 0x5a), out(packet + 32);
    unsigned char key[32] = {1}, iv[12] = {2}, tag[16];
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t done = 0; done < total; done += packet) {
        int n = 0;
        iv[11] = static_cast<unsigned char>(done / packet);
        if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key, iv) != 1 ||
            EVP_EncryptUpdate(ctx.get(), out.data(), &n, in.data(), int(packet)) != 1 ||
            EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &n) != 1 ||
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, sizeof tag, tag) != 1)
            return 0;
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return s > 0 ? double(total) / s / 1e6 : 0;
}

}  // namespace

const CipherTiming& cipher_timing() {
    // Taken in turns, the best of each kept: a busy moment then weighs on both alike.
    static const CipherTiming timing = [] {
        CipherTiming t;
        for (int turn = 0; turn < 5; ++turn) {
            t.aes128_gcm_mb_s = std::max(t.aes128_gcm_mb_s, seal_rate(EVP_aes_128_gcm()));
            t.chacha20_poly1305_mb_s =
                std::max(t.chacha20_poly1305_mb_s, seal_rate(EVP_chacha20_poly1305()));
        }
        return t;
    }();
    return timing;
}

const std::string& sftp_cipher_preference() {
    static const std::string list = [] {
        const CipherTiming& t = cipher_timing();
        const bool chacha_first = t.chacha20_poly1305_mb_s > t.aes128_gcm_mb_s;
        const std::string aes = "aes128-gcm@openssh.com", chacha = "chacha20-poly1305@openssh.com";
        return (chacha_first ? chacha + "," + aes : aes + "," + chacha) +
               ",aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr";
    }();
    return list;
}

}  // namespace actiondrop::pull
