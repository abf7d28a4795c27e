#include "kafka/producer.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using dionysus::kafka::Config;
using dionysus::kafka::Producer;

// No broker is needed: librdkafka connects lazily.
Config config(const std::string& properties) {
    return Config{"127.0.0.1:1", "dionysus-unit", "consistent_random", properties};
}

TEST(KafkaProducer, MessageTimeoutDefaultsTo30Seconds) {
    EXPECT_EQ(Producer(config("")).message_timeout_ms(), 30000);
}

TEST(KafkaProducer, MessageTimeoutFromProperties) {
    EXPECT_EQ(Producer(config("message.timeout.ms=5000")).message_timeout_ms(), 5000);
}

TEST(KafkaProducer, MessageTimeoutZeroMeansNever) {
    // librdkafka's 0 is "no timeout": the worker must not read it as 0 ms
    // (it would abandon every message at once)
    const int ms = Producer(config("message.timeout.ms=0")).message_timeout_ms();
    EXPECT_EQ(ms, Producer::kNoMessageTimeoutMs);
    EXPECT_GT(ms, 7 * 24 * 3600 * 1000);
}

TEST(KafkaProducer, ABadPropertyIsAnError) {
    EXPECT_THROW(Producer(config("no.such.property=1")), std::runtime_error);
}

}  // namespace
