// Kafka partition choice, identical to librdkafka's built-in partitioners so
// that dionysus and rdkafka-ruby (dionysus-rb) place a key on the same
// partition. Pure C++ (no Postgres), unit-tested in
// test/unit/partitioning_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace dionysus::partitioning {

// The text of a NULL partition key: dionysus-rb renders nil as "0", so a
// row without a key value lands where dionysus-rb would put it.
inline constexpr const char* kNullPartitionKey = "0";

// A partition key value as dionysus-rb renders it (nullopt: SQL NULL).
inline std::string_view partition_key_text(std::optional<std::string_view> value) {
    return value ? *value : std::string_view(kNullPartitionKey);
}

enum class Partitioner { Random, Consistent, ConsistentRandom, Murmur2, Murmur2Random, Fnv1a, Fnv1aRandom };

// librdkafka's `partitioner` names: random, consistent, consistent_random,
// murmur2, murmur2_random, fnv1a, fnv1a_random.
std::optional<Partitioner> parse(std::string_view name);

// The partition for `key` among `partition_count` (returns -1, librdkafka's
// "unassigned", when partition_count < 1). An empty key means "no key": the
// *_random partitioners and Random then pick a random partition (through
// librdkafka, which skips unavailable partitions, when `rkt` is the
// rd_kafka_topic_t* of a partitioner callback; else rand()). Consistent,
// Murmur2 and Fnv1a hash the empty key, as librdkafka does.
int32_t partition_for(Partitioner p, std::string_view key, int32_t partition_count, const void* rkt = nullptr);

// CRC-32 (zlib/ISO-HDLC polynomial), the hash of the consistent partitioners;
// an independent implementation to cross-check librdkafka in tests.
uint32_t crc32(std::string_view data);

}  // namespace dionysus::partitioning
