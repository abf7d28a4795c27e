// librdkafka producer used by the publisher worker. Pure C++ (no Postgres):
// delivery reports are served by poll() on the caller's thread and recorded
// in the Message structs, which the caller turns into outbox updates after
// poll() returns.
#pragma once

#include "kafka/log_buffer.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace dionysus::kafka {

struct Message {
    std::string topic;
    std::string key;
    std::optional<std::string> value;          // nullopt: tombstone (Kafka null value)
    std::optional<std::string> partition_key;  // nullopt: partition over the key
    std::vector<std::pair<std::string, std::string>> headers;
    int64_t outbox_id = 0;

    enum class Status { Pending, Delivered, Failed };
    Status status = Status::Pending;
    std::string error_class, error_message;
};

struct Config {
    std::string brokers;      // comma- or semicolon-separated
    std::string client_id;
    std::string partitioner;  // librdkafka partitioner name
    // Extra librdkafka properties, applied after the defaults ("k=v;k=v").
    std::string properties;
};

class Producer {
public:
    // Throws std::runtime_error with librdkafka's message on bad configuration.
    explicit Producer(const Config& config);
    ~Producer();
    Producer(const Producer&) = delete;
    Producer& operator=(const Producer&) = delete;

    // Enqueues one message; `m` must stay at its address until delivered or
    // failed. Waits (serving reports) while librdkafka's queue is full, until
    // `give_up` at most (one deadline for a whole batch). On an immediate
    // error, or a queue still full then (Kafka::_QUEUE_FULL), marks `m`
    // failed and returns false.
    bool produce(Message& m, std::chrono::steady_clock::time_point give_up);
    // Serves delivery reports for up to timeout_ms.
    void poll(int timeout_ms);
    // Effective message.timeout.ms; kNoMessageTimeoutMs for 0 ("never").
    int message_timeout_ms() const { return message_timeout_ms_; }
    // About 12 days: "never", with room to add to it without overflow.
    static constexpr int kNoMessageTimeoutMs = 1 << 30;
    // Gives up on every message not yet acknowledged: each gets a failed
    // report (served before this returns). librdkafka does not time out
    // messages while their broker is unreachable, so the worker enforces
    // message.timeout.ms itself. Recreate the producer afterwards.
    void abandon_in_flight();
    // Log lines from librdkafka's threads since the last call.
    std::vector<std::string> take_logs();

private:
    static void on_delivery(rd_kafka_s*, const void* rkmessage, void* opaque) noexcept;
    static void on_log(const rd_kafka_s*, int level, const char* fac, const char* buf) noexcept;
    static void on_error(rd_kafka_s*, int err, const char* reason, void* opaque) noexcept;
    rd_kafka_topic_s* topic_handle(const std::string& name);

    rd_kafka_s* rk_ = nullptr;
    int partitioner_ = 0;
    std::unordered_map<std::string, rd_kafka_topic_s*> topics_;
    size_t in_flight_ = 0;
    int message_timeout_ms_ = 30000;
    bool abandoning_ = false;
    LogBuffer logs_;
};

}  // namespace dionysus::kafka
