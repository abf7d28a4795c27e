// Partitioning delegates to librdkafka's public partitioner functions rather
// than re-implementing the hashes: parity with rdkafka-ruby producers is the
// whole point, and librdkafka is the reference implementation.
#include "wire/partitioning.hpp"

#include <librdkafka/rdkafka.h>

#include <array>
#include <cstdlib>
#include <utility>

#include "util/cpp_only_file.hpp"

namespace dionysus::partitioning {
namespace {

using PartitionerFn = int32_t (*)(const rd_kafka_topic_t*, const void*, size_t, int32_t, void*, void*);

PartitionerFn keyed_function(Partitioner p) {
    switch (p) {
    case Partitioner::Random: return &rd_kafka_msg_partitioner_random;
    case Partitioner::Consistent: return &rd_kafka_msg_partitioner_consistent;
    case Partitioner::ConsistentRandom: return &rd_kafka_msg_partitioner_consistent_random;
    case Partitioner::Murmur2: return &rd_kafka_msg_partitioner_murmur2;
    case Partitioner::Murmur2Random: return &rd_kafka_msg_partitioner_murmur2_random;
    case Partitioner::Fnv1a: return &rd_kafka_msg_partitioner_fnv1a;
    case Partitioner::Fnv1aRandom: return &rd_kafka_msg_partitioner_fnv1a_random;
    }
    return &rd_kafka_msg_partitioner_consistent;
}

bool picks_randomly_without_key(Partitioner p) {
    return p == Partitioner::Random || p == Partitioner::ConsistentRandom || p == Partitioner::Murmur2Random ||
           p == Partitioner::Fnv1aRandom;
}

}  // namespace

std::optional<Partitioner> parse(std::string_view name) {
    static const std::pair<std::string_view, Partitioner> names[] = {
        {"random", Partitioner::Random},
        {"consistent", Partitioner::Consistent},
        {"consistent_random", Partitioner::ConsistentRandom},
        {"murmur2", Partitioner::Murmur2},
        {"murmur2_random", Partitioner::Murmur2Random},
        {"fnv1a", Partitioner::Fnv1a},
        {"fnv1a_random", Partitioner::Fnv1aRandom},
    };
    for (const auto& [n, p] : names)
        if (n == name) return p;
    return std::nullopt;
}

int32_t partition_for(Partitioner p, std::string_view key, int32_t partition_count, const void* rkt) {
    if (partition_count < 1) return RD_KAFKA_PARTITION_UA;
    auto* topic = static_cast<const rd_kafka_topic_t*>(rkt);
    if (p == Partitioner::Random || (key.empty() && picks_randomly_without_key(p))) {
        // librdkafka's random choice reads partition availability from the
        // topic handle, so it can only be used with one.
        if (topic) return rd_kafka_msg_partitioner_random(topic, nullptr, 0, partition_count, nullptr, nullptr);
        return std::rand() % partition_count;
    }
    // The keyed paths never touch the topic handle. librdkafka treats a NULL
    // key as "no key", so an empty key is passed as a valid pointer.
    const void* data = key.data() ? key.data() : "";
    return keyed_function(p)(topic, data, key.size(), partition_count, nullptr, nullptr);
}

uint32_t crc32(std::string_view data) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    uint32_t crc = 0xffffffffu;
    for (unsigned char b : data) crc = table[(crc ^ b) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

}  // namespace dionysus::partitioning
