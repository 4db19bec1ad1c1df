#pragma once
// The SSH ciphers an SFTP connection offers, fastest first on the machine it runs on
// (docs/ingest.md, "Pull inboxes: SFTP and FTP"). The two AEAD ciphers OpenSSH offers by
// default, AES-GCM and chacha20-poly1305, cost very different amounts per byte depending on
// the CPU (AES-NI and carry-less multiply, or wide vector units): the order is decided by
// timing both once per process, a few milliseconds, rather than by a fixed guess.
#include <string>

namespace actiondrop::pull {

struct CipherTiming {
    double aes128_gcm_mb_s = 0;  // encryption rate through libcrypto, 32 KiB packets
    double chacha20_poly1305_mb_s = 0;
};

// Measured at the first call, then remembered.
const CipherTiming& cipher_timing();

// The list for SSH_OPTIONS_CIPHERS_C_S and _S_C: the faster AEAD first, then the other, then
// AES-256-GCM and the CTR modes for servers that have neither.
const std::string& sftp_cipher_preference();

}  // namespace actiondrop::pull
