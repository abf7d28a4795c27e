// librdkafka consumer used by the consumer worker. Pure C++ (no Postgres).
// The worker keeps its offsets in Postgres, so partitions are assigned
// explicitly at the offsets it read there (no group rebalancing, no
// automatic commits); the group id only names the offsets committed to
// Kafka for monitoring tools (commit_async), and the offsets used for a
// partition Postgres has none of yet (a consumer migrated from dionysus-rb
// keeps its place).
#pragma once

#include "kafka/log_buffer.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct rd_kafka_s;

namespace dionysus::kafka {

struct ConsumerConfig {
    std::string brokers;  // comma- or semicolon-separated
    std::string client_id;
    std::string group_id;
    std::string properties;  // extra librdkafka properties ("k=v;k=v"), applied last
};

struct ReceivedMessage {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    std::optional<std::string> key;
    std::optional<std::string> value;  // nullopt: a Kafka null value (tombstone)
    int64_t timestamp_ms = -1;         // -1: none
};

struct PartitionOffset {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;  // the next message to read; kOffsetFromGroup: the group's committed offset, else the earliest
};
constexpr int64_t kOffsetFromGroup = -1000;  // RD_KAFKA_OFFSET_STORED

class Consumer {
public:
    // Throws std::runtime_error with librdkafka's message on bad configuration.
    explicit Consumer(const ConsumerConfig& config);
    ~Consumer();
    Consumer(const Consumer&) = delete;
    Consumer& operator=(const Consumer&) = delete;

    // Partition counts of `topics` from the brokers (topics that do not
    // exist are left out). Throws std::runtime_error when the brokers do not
    // answer within timeout_ms.
    std::map<std::string, int> partition_counts(const std::vector<std::string>& topics, int timeout_ms);
    // Reads exactly these partitions from these offsets from now on
    // (messages fetched for an earlier assignment are dropped).
    void assign(const std::vector<PartitionOffset>& partitions);
    // Up to `max` messages: waits up to timeout_ms for the first, then takes
    // what has arrived. Consumer errors (an unknown topic…) go to take_logs.
    std::vector<ReceivedMessage> poll_batch(size_t max, int timeout_ms);
    // Offsets (next to read) committed to the group, for monitoring only.
    void commit_async(const std::vector<PartitionOffset>& offsets);
    // The partition's end as last reported by a fetch (no network call);
    // nullopt when unknown yet.
    std::optional<int64_t> high_watermark(const std::string& topic, int32_t partition);
    // The partition's end as the broker says it now (a network call of up
    // to timeout_ms); nullopt when it cannot be asked.
    std::optional<int64_t> query_high_watermark(const std::string& topic, int32_t partition, int timeout_ms);
    // false once every broker is down (until a message arrives again).
    bool brokers_reachable() const;
    // Warnings and errors from librdkafka's threads since the last call.
    std::vector<std::string> take_logs();

private:
    static void on_log(const rd_kafka_s*, int level, const char* fac, const char* buf) noexcept;
    static void on_error(rd_kafka_s*, int err, const char* reason, void* opaque) noexcept;

    rd_kafka_s* rk_ = nullptr;
    LogBuffer logs_;
    std::atomic<bool> brokers_down_{false};  // set by the error callback's thread
};

}  // namespace dionysus::kafka
