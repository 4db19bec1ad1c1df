// The SSH ciphers an SFTP connection offers (pull/sftp/cipher_choice.hpp): both AEAD ciphers,
// the one this machine seals faster first, then the fallbacks.
#include <doctest/doctest.h>

#include <string>

#include "pull/sftp/cipher_choice.hpp"

using namespace actiondrop::pull;

TEST_CASE("sftp ciphers: the faster AEAD cipher here is offered first, the other second") {
    const CipherTiming& t = cipher_timing();
    // libcrypto has both: a rate of 0 would mean the measurement failed and decided nothing.
    CHECK(t.aes128_gcm_mb_s > 0);
    CHECK(t.chacha20_poly1305_mb_s > 0);
    const std::string aes = "aes128-gcm@openssh.com", chacha = "chacha20-poly1305@openssh.com";
    const std::string first_two =
        t.chacha20_poly1305_mb_s > t.aes128_gcm_mb_s ? chacha + "," + aes : aes + "," + chacha;
    const std::string& list = sftp_cipher_preference();
    CHECK(list.starts_with(first_two + ","));
    CHECK(list.ends_with(",aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr"));
    CHECK(&sftp_cipher_preference() == &list);  // decided once per process
    CHECK(&cipher_timing() == &t);
}
