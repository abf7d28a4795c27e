#include "crypto/changeset_cipher.hpp"
#include "util/cpp_only_file.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

namespace dionysus::crypto {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

// The key in [begin, end).
bool parse_one(const char* begin, const char* end, Key* key) {
    const char* colon = static_cast<const char*>(std::memchr(begin, ':', end - begin));
    if (!colon || colon == begin || static_cast<size_t>(colon - begin) > kMaxKeyIdBytes) return false;
    if (end - colon - 1 != static_cast<long>(2 * kKeyBytes)) return false;
    Key parsed;
    for (const char* p = begin; p < colon; p++)
        if (!id_char(*p)) return false;
    std::memcpy(parsed.id, begin, colon - begin);
    parsed.id[colon - begin] = '\0';
    for (size_t i = 0; i < kKeyBytes; i++) {
        const int hi = hex_digit(colon[1 + 2 * i]), lo = hex_digit(colon[2 + 2 * i]);
        if (hi < 0 || lo < 0) return false;
        parsed.bytes[i] = static_cast<unsigned char>(hi * 16 + lo);
    }
    *key = parsed;
    return true;
}

}  // namespace

bool parse_key(const char* text, Key* key) {
    return text && parse_one(text, text + std::strlen(text), key);
}

bool parse_keys(const char* text, Key* keys, int capacity, int* count) {
    int n = 0;
    const char* p = text ? text : "";
    while (*p) {
        while (*p == ' ' || *p == ';' || *p == ',') p++;
        if (!*p) break;
        const char* end = p;
        while (*end && *end != ';' && *end != ',' && *end != ' ') end++;
        Key key;
        if (!parse_one(p, end, &key)) return false;
        if (n < capacity) keys[n++] = key;
        p = end;
    }
    *count = n;
    return true;
}

size_t sealed_length(size_t plain_len) { return 4 * ((kNonceBytes + plain_len + kTagBytes + 2) / 3); }

bool seal(const Key& key, const unsigned char* plain, size_t plain_len, const unsigned char* aad, size_t aad_len,
          char* out) {
    // nonce ‖ ciphertext ‖ tag in a buffer of its own, then base64 into `out`
    const size_t raw_len = kNonceBytes + plain_len + kTagBytes;
    unsigned char* raw = static_cast<unsigned char*>(OPENSSL_malloc(raw_len));
    if (!raw) return false;
    bool ok = RAND_bytes(raw, kNonceBytes) == 1;
    EVP_CIPHER_CTX* ctx = ok ? EVP_CIPHER_CTX_new() : nullptr;
    int len = 0;
    ok = ctx && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes, raw) == 1 &&
         (aad_len == 0 || EVP_EncryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_len)) == 1) &&
         EVP_EncryptUpdate(ctx, raw + kNonceBytes, &len, plain, static_cast<int>(plain_len)) == 1 &&
         EVP_EncryptFinal_ex(ctx, raw + kNonceBytes + len, &len) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagBytes, raw + kNonceBytes + plain_len) == 1;
    if (ctx) EVP_CIPHER_CTX_free(ctx);
    if (ok) EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out), raw, static_cast<int>(raw_len));
    OPENSSL_clear_free(raw, raw_len);
    return ok;
}

long open(const Key& key, const char* sealed, size_t sealed_len, const unsigned char* aad, size_t aad_len,
          unsigned char* out) {
    if (sealed_len % 4 != 0 || sealed_len < sealed_length(0)) return -1;
    unsigned char* raw = static_cast<unsigned char*>(OPENSSL_malloc(sealed_len));
    if (!raw) return -1;
    int raw_len = EVP_DecodeBlock(raw, reinterpret_cast<const unsigned char*>(sealed), static_cast<int>(sealed_len));
    // EVP_DecodeBlock counts the padding's zero bytes
    if (raw_len >= 0 && sealed_len >= 1 && sealed[sealed_len - 1] == '=') raw_len--;
    if (raw_len >= 0 && sealed_len >= 2 && sealed[sealed_len - 2] == '=') raw_len--;
    long plain_len = raw_len - static_cast<long>(kNonceBytes + kTagBytes);
    bool ok = plain_len >= 0 && sealed_length(static_cast<size_t>(plain_len)) == sealed_len;
    if (ok) {  // canonical: exactly what seal() writes for these bytes
        unsigned char* again = static_cast<unsigned char*>(OPENSSL_malloc(sealed_len + 1));
        ok = again && EVP_EncodeBlock(again, raw, raw_len) == static_cast<int>(sealed_len) &&
             std::memcmp(again, sealed, sealed_len) == 0;
        OPENSSL_free(again);
    }
    EVP_CIPHER_CTX* ctx = ok ? EVP_CIPHER_CTX_new() : nullptr;
    int len = 0;
    ok = ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.bytes, raw) == 1 &&
         (aad_len == 0 || EVP_DecryptUpdate(ctx, nullptr, &len, aad, static_cast<int>(aad_len)) == 1) &&
         EVP_DecryptUpdate(ctx, out, &len, raw + kNonceBytes, static_cast<int>(plain_len)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagBytes, raw + kNonceBytes + plain_len) == 1 &&
         EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
    if (ctx) EVP_CIPHER_CTX_free(ctx);
    OPENSSL_clear_free(raw, sealed_len);
    return ok ? plain_len : -1;
}

}  // namespace dionysus::crypto
