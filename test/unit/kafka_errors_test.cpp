#include "kafka/errors.hpp"

#include <gtest/gtest.h>

using dionysus::kafka::is_cluster_wide;

TEST(KafkaErrors, OutagesAreClusterWide) {
    EXPECT_TRUE(is_cluster_wide("Kafka::MSG_TIMED_OUT"));
    EXPECT_TRUE(is_cluster_wide("Kafka::_TRANSPORT"));
    EXPECT_TRUE(is_cluster_wide("Kafka::_ALL_BROKERS_DOWN"));
    EXPECT_TRUE(is_cluster_wide("Kafka::NOT_LEADER_FOR_PARTITION"));
    EXPECT_TRUE(is_cluster_wide("Kafka::_QUEUE_FULL"));
}

TEST(KafkaErrors, ATopicRefusedIsClusterWide) {
    // librdkafka fails every partition's messages then: not the rows' fault
    EXPECT_TRUE(is_cluster_wide("Kafka::TOPIC_AUTHORIZATION_FAILED"));
    EXPECT_TRUE(is_cluster_wide("Kafka::UNKNOWN_TOPIC_OR_PART"));
    EXPECT_TRUE(is_cluster_wide("Kafka::SASL_AUTHENTICATION_FAILED"));
    EXPECT_FALSE(dionysus::kafka::is_permanent("Kafka::TOPIC_AUTHORIZATION_FAILED"));
}

TEST(KafkaErrors, OversizedMessagesArePermanent) {
    EXPECT_TRUE(dionysus::kafka::is_permanent("Kafka::MSG_SIZE_TOO_LARGE"));
    EXPECT_TRUE(dionysus::kafka::is_permanent("Kafka::RECORD_LIST_TOO_LARGE"));
    EXPECT_FALSE(dionysus::kafka::is_permanent("Kafka::_TRANSPORT"));
    EXPECT_FALSE(dionysus::kafka::is_permanent("Dionysus::SerializationError"));
}

TEST(KafkaErrors, MessageErrorsAreNot) {
    EXPECT_FALSE(is_cluster_wide("Kafka::MSG_SIZE_TOO_LARGE"));
    EXPECT_FALSE(is_cluster_wide("Kafka::POLICY_VIOLATION"));
    EXPECT_FALSE(is_cluster_wide("Kafka::INVALID_RECORD"));
    EXPECT_FALSE(is_cluster_wide("Dionysus::SerializationError"));
    EXPECT_FALSE(is_cluster_wide("MSG_TIMED_OUT"));  // without the Kafka:: class prefix
    EXPECT_FALSE(is_cluster_wide(""));
}
