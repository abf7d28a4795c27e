#include "kafka/producer.hpp"
#include "kafka/properties.hpp"

#include <gtest/gtest.h>

using dionysus::kafka::parse_properties;

TEST(KafkaProperties, ParsesSemicolonAndNewlineSeparatedPairs) {
    auto props = parse_properties(" security.protocol = SASL_SSL ;sasl.mechanism=PLAIN\nmessage.timeout.ms=3000;");
    ASSERT_EQ(props.size(), 3u);
    EXPECT_EQ(props[0].first, "security.protocol");
    EXPECT_EQ(props[0].second, "SASL_SSL");
    EXPECT_EQ(props[1].first, "sasl.mechanism");
    EXPECT_EQ(props[2].second, "3000");
}

TEST(KafkaProperties, KeepsEqualsSignsInValues) {
    auto props = parse_properties("sasl.jaas.config=a=b");
    ASSERT_EQ(props.size(), 1u);
    EXPECT_EQ(props[0].second, "a=b");
}

TEST(KafkaProperties, EmptyTextMeansNoProperties) {
    EXPECT_TRUE(parse_properties("").empty());
    EXPECT_TRUE(parse_properties(" ; ;\n").empty());
}

TEST(KafkaProperties, RejectsItemsWithoutKeyOrEquals) {
    EXPECT_THROW(parse_properties("acks"), std::invalid_argument);
    EXPECT_THROW(parse_properties("=1"), std::invalid_argument);
}

TEST(KafkaProducer, RejectsUnknownPropertiesAndPartitioners) {
    dionysus::kafka::Config bad_property{"127.0.0.1:1", "t", "consistent_random", "no.such.property=1"};
    EXPECT_THROW(dionysus::kafka::Producer p(bad_property), std::runtime_error);
    dionysus::kafka::Config bad_partitioner{"127.0.0.1:1", "t", "nope", ""};
    EXPECT_THROW(dionysus::kafka::Producer p(bad_partitioner), std::runtime_error);
}
