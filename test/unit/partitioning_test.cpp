// Partition choice: librdkafka's partitioners, cross-checked against
// independent implementations of their hashes.
#include "wire/partitioning.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace dionysus::partitioning;

namespace {

const int32_t kCounts[] = {1, 3, 6, 12};
const char* const kKeys[] = {"1", "2", "42", "0", "1234567890", "Booking:1", "BookingsFee:17",
                             "account-123", "\xc3\xbcn\xc3\xaf" "code", "a much longer partition key, with spaces"};

// Kafka's Java client murmur2 (org.apache.kafka.common.utils.Utils.murmur2).
uint32_t java_murmur2(std::string_view data) {
    const uint32_t m = 0x5bd1e995;
    const size_t length = data.size();
    uint32_t h = 0x9747b28c ^ uint32_t(length);
    auto byte = [&](size_t i) { return uint32_t(static_cast<unsigned char>(data[i])); };
    for (size_t i = 0; i + 4 <= length; i += 4) {
        uint32_t k = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const size_t tail = length & ~size_t(3);
    switch (length % 4) {
    case 3: h ^= byte(tail + 2) << 16; [[fallthrough]];
    case 2: h ^= byte(tail + 1) << 8; [[fallthrough]];
    case 1: h ^= byte(tail); h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

uint32_t fnv1a_32(std::string_view data) {
    uint32_t h = 0x811c9dc5;
    for (unsigned char c : data) {
        h ^= c;
        h *= 0x01000193;
    }
    return h;
}

// librdkafka's fnv1a partitioner is Sarama's hash partitioner: the hash as
// a signed 32-bit value, modulo, then made positive.
int32_t sarama_fnv1a_partition(std::string_view key, int32_t n) {
    int32_t p = int32_t(fnv1a_32(key)) % n;
    return p < 0 ? -p : p;
}

}  // namespace

TEST(Parse, LibrdkafkaNames) {
    EXPECT_EQ(parse("random"), Partitioner::Random);
    EXPECT_EQ(parse("consistent"), Partitioner::Consistent);
    EXPECT_EQ(parse("consistent_random"), Partitioner::ConsistentRandom);
    EXPECT_EQ(parse("murmur2"), Partitioner::Murmur2);
    EXPECT_EQ(parse("murmur2_random"), Partitioner::Murmur2Random);
    EXPECT_EQ(parse("fnv1a"), Partitioner::Fnv1a);
    EXPECT_EQ(parse("fnv1a_random"), Partitioner::Fnv1aRandom);
    for (const char* bad : {"", "Random", "murmur", "consistent_random ", "crc32"}) EXPECT_EQ(parse(bad), std::nullopt) << bad;
}

TEST(Crc32, KnownVectors) {
    EXPECT_EQ(crc32(""), 0u);
    EXPECT_EQ(crc32("123456789"), 0xcbf43926u);
    EXPECT_EQ(crc32("a"), 0xe8b7be43u);
    EXPECT_EQ(crc32("The quick brown fox jumps over the lazy dog"), 0x414fa339u);
}

TEST(PartitionFor, ConsistentRandomIsCrc32ModCount) {
    // README "Wire format": dionysus-rb (rdkafka-ruby) places partition keys with
    // consistent_random.
    for (int32_t n : kCounts)
        for (const char* key : kKeys) {
            EXPECT_EQ(partition_for(Partitioner::ConsistentRandom, key, n), int32_t(crc32(key) % uint32_t(n)))
                << key << " / " << n;
            EXPECT_EQ(partition_for(Partitioner::Consistent, key, n), int32_t(crc32(key) % uint32_t(n)))
                << key << " / " << n;
        }
}

TEST(PartitionFor, KnownConsistentRandomPartitions) {
    // Literal expectations, computed with Python's zlib.crc32.
    struct Expected {
        const char* key;
        int32_t partitions[4];  // for kCounts 1, 3, 6, 12
    };
    const Expected table[] = {
        {"1", {0, 2, 5, 11}},  {"2", {0, 1, 1, 1}},         {"42", {0, 2, 2, 8}},
        {"Booking:1", {0, 2, 5, 11}}, {"account-123", {0, 1, 1, 7}},
    };
    for (const Expected& e : table)
        for (int i = 0; i < 4; ++i)
            EXPECT_EQ(partition_for(Partitioner::ConsistentRandom, e.key, kCounts[i]), e.partitions[i])
                << e.key << " / " << kCounts[i];
}

TEST(PartitionFor, Murmur2MatchesTheJavaClient) {
    EXPECT_EQ(java_murmur2("kafka"), 0xd067cf64u);  // librdkafka's own test vector
    for (int32_t n : kCounts)
        for (const char* key : kKeys) {
            int32_t expected = int32_t((java_murmur2(key) & 0x7fffffff) % uint32_t(n));
            EXPECT_EQ(partition_for(Partitioner::Murmur2, key, n), expected) << key << " / " << n;
            EXPECT_EQ(partition_for(Partitioner::Murmur2Random, key, n), expected) << key << " / " << n;
        }
}

TEST(PartitionFor, Fnv1aMatchesSarama) {
    for (int32_t n : kCounts)
        for (const char* key : kKeys) {
            int32_t expected = sarama_fnv1a_partition(key, n);
            EXPECT_EQ(partition_for(Partitioner::Fnv1a, key, n), expected) << key << " / " << n;
            EXPECT_EQ(partition_for(Partitioner::Fnv1aRandom, key, n), expected) << key << " / " << n;
        }
}

TEST(PartitionFor, EmptyKeyWithRandomVariantsIsRandomInRange) {
    for (Partitioner p : {Partitioner::Random, Partitioner::ConsistentRandom, Partitioner::Murmur2Random,
                          Partitioner::Fnv1aRandom}) {
        std::set<int32_t> seen;
        for (int i = 0; i < 500; ++i) {
            int32_t part = partition_for(p, "", 12);
            ASSERT_GE(part, 0);
            ASSERT_LT(part, 12);
            seen.insert(part);
        }
        EXPECT_GT(seen.size(), 1u) << "random partitioner always chose the same partition";
    }
}

TEST(PartitionFor, RandomIgnoresTheKey) {
    std::set<int32_t> seen;
    for (int i = 0; i < 500; ++i) seen.insert(partition_for(Partitioner::Random, "Booking:1", 12));
    EXPECT_GT(seen.size(), 1u);
    for (int32_t p : seen) EXPECT_TRUE(p >= 0 && p < 12);
}

TEST(PartitionFor, EmptyKeyWithDeterministicPartitionersHashesIt) {
    for (int32_t n : kCounts) {
        EXPECT_EQ(partition_for(Partitioner::Consistent, "", n), 0);  // crc32("") == 0
        EXPECT_EQ(partition_for(Partitioner::Murmur2, "", n), int32_t((java_murmur2("") & 0x7fffffff) % uint32_t(n)));
        EXPECT_EQ(partition_for(Partitioner::Fnv1a, "", n), sarama_fnv1a_partition("", n));
        EXPECT_EQ(partition_for(Partitioner::Consistent, std::string_view(), n), 0);  // null data pointer
    }
}

TEST(PartitionFor, NoPartitionsIsUnassigned) {
    EXPECT_EQ(partition_for(Partitioner::ConsistentRandom, "1", 0), -1);
    EXPECT_EQ(partition_for(Partitioner::Random, "", -3), -1);
}

TEST(PartitionKeyText, NullRendersAsDionysusRbZero) {
    EXPECT_EQ(dionysus::partitioning::partition_key_text(std::nullopt), "0");
    EXPECT_EQ(dionysus::partitioning::partition_key_text(std::string_view("42")), "42");
    EXPECT_EQ(dionysus::partitioning::partition_key_text(std::string_view("")), "");
    EXPECT_STREQ(dionysus::partitioning::kNullPartitionKey, "0");
}
