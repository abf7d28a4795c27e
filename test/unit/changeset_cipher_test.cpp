#include "crypto/changeset_cipher.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace dionysus::crypto;

const char* kKeyText = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string sealed(const Key& key, const std::string& plain, const std::string& aad = "") {
    std::vector<char> out(sealed_length(plain.size()) + 1);  // and its NUL
    EXPECT_TRUE(seal(key, reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                     reinterpret_cast<const unsigned char*>(aad.data()), aad.size(), out.data()));
    EXPECT_EQ(out.back(), '\0');
    return std::string(out.data(), sealed_length(plain.size()));
}

long opened(const Key& key, const std::string& value, std::string& plain, const std::string& aad = "") {
    std::vector<unsigned char> out(value.size() + 1);
    long n = open(key, value.data(), value.size(), reinterpret_cast<const unsigned char*>(aad.data()), aad.size(),
                  out.data());
    if (n >= 0) plain.assign(reinterpret_cast<const char*>(out.data()), n);
    return n;
}

TEST(ChangesetCipher, ParsesKeys) {
    Key key;
    ASSERT_TRUE(parse_key(kKeyText, &key));
    EXPECT_STREQ(key.id, "k1");
    EXPECT_EQ(key.bytes[0], 0x00);
    EXPECT_EQ(key.bytes[31], 0x1f);
    EXPECT_FALSE(parse_key("k1:0001", &key));                                              // too short
    EXPECT_FALSE(parse_key(":000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key));  // no id
    EXPECT_FALSE(parse_key("k 1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key));
    EXPECT_FALSE(parse_key("k1:zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", &key));
    EXPECT_FALSE(parse_key(nullptr, &key));
    Key keys[4];
    int n = -1;
    EXPECT_TRUE(parse_keys("", keys, 4, &n));
    EXPECT_EQ(n, 0);
    EXPECT_TRUE(parse_keys((std::string(kKeyText) + "; old:" + std::string(64, 'a')).c_str(), keys, 4, &n));
    EXPECT_EQ(n, 2);
    EXPECT_STREQ(keys[1].id, "old");
    EXPECT_FALSE(parse_keys("k1:00;", keys, 4, &n));
}

TEST(ChangesetCipher, RoundTripsWithAFreshNonceEachTime) {
    Key key;
    ASSERT_TRUE(parse_key(kKeyText, &key));
    const std::string plain = R"({"email": ["a@example.com", "b@example.com"]})";
    const std::string a = sealed(key, plain, "aad"), b = sealed(key, plain, "aad");
    EXPECT_NE(a, b);
    EXPECT_EQ(a.find("example"), std::string::npos);
    std::string back;
    ASSERT_EQ(opened(key, a, back, "aad"), static_cast<long>(plain.size()));
    EXPECT_EQ(back, plain);
    ASSERT_EQ(opened(key, sealed(key, ""), back), 0);
}

TEST(ChangesetCipher, RefusesAnotherKeyTamperingOrOtherData) {
    Key key, other;
    ASSERT_TRUE(parse_key(kKeyText, &key));
    ASSERT_TRUE(parse_key(("k2:" + std::string(64, 'f')).c_str(), &other));
    std::string value = sealed(key, "secret", "aad"), back;
    EXPECT_EQ(opened(other, value, back, "aad"), -1);
    EXPECT_EQ(opened(key, value, back, "other aad"), -1);
    value[10] = value[10] == 'A' ? 'B' : 'A';
    EXPECT_EQ(opened(key, value, back, "aad"), -1);
    EXPECT_EQ(opened(key, "not base64!", back), -1);
    // only the exact text seal() writes: no trailing space, no padding moved
    const std::string good = sealed(key, "secret");
    ASSERT_EQ(opened(key, good, back), 6);
    EXPECT_EQ(opened(key, good + " ", back), -1);
    EXPECT_EQ(opened(key, good.substr(0, good.size() - 4) + "====", back), -1);
    EXPECT_EQ(opened(key, "", back), -1);
}

}  // namespace
