// Changesets at rest in the outbox hold personal data (dionysus-rb encrypts
// them with crypt_keeper): AES-256-GCM with a key given as
// "<key id>:<64 hex digits>" (dionysus.changeset_key), through OpenSSL's
// libcrypto, which PostgreSQL links already. A sealed value is
// base64(nonce ‖ ciphertext ‖ tag), with a fresh random 96-bit nonce each
// time. Pure C++ with a C-style interface (caller buffers, no exceptions,
// no allocation): capture calls it inside a region where a Postgres error
// may longjmp. Unit-tested in test/unit/changeset_cipher_test.cpp.
#pragma once

#include <cstddef>

namespace dionysus::crypto {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kMaxKeyIdBytes = 63;
constexpr int kMaxPreviousKeys = 8;  // dionysus.changeset_previous_keys

struct Key {
    char id[kMaxKeyIdBytes + 1];
    unsigned char bytes[kKeyBytes];
};

// "<id>:<64 hex digits>", the id 1..63 characters of [A-Za-z0-9_.-].
bool parse_key(const char* text, Key* key);

// Keys separated by ';' or ','; false (and *count unchanged) if one is
// malformed. At most `capacity` are kept.
bool parse_keys(const char* text, Key* keys, int capacity, int* count);

// Characters of a sealed value for `plain_len` bytes of input (base64).
size_t sealed_length(size_t plain_len);

// Encrypts `plain` into `out`: sealed_length(plain_len) characters and a
// terminating NUL (so sealed_length + 1 bytes); false when libcrypto fails
// (no random bytes).
bool seal(const Key& key, const unsigned char* plain, size_t plain_len, const unsigned char* aad, size_t aad_len,
          char* out);

// Decrypts a sealed value into `out` (at least sealed_len bytes); returns
// the plain length, or -1 when it is not exactly what seal() writes
// (canonical base64), or the key or the additional data do not match (the
// tag does not authenticate).
long open(const Key& key, const char* sealed, size_t sealed_len, const unsigned char* aad, size_t aad_len,
          unsigned char* out);

}  // namespace dionysus::crypto
