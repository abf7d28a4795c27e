#include "kafka/errors.hpp"
#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

namespace {

template <size_t N>
bool one_of(const std::string_view (&classes)[N], std::string_view error_class) {
    for (std::string_view c : classes)
        if (c == error_class) return true;
    return false;
}

}  // namespace

bool is_cluster_wide(std::string_view error_class) {
    // Timeouts and transport failures, leadership moving, the cluster short
    // of replicas, the topic refused: none of them is about the message itself.
    static constexpr std::string_view kClusterWide[] = {
        "Kafka::MSG_TIMED_OUT",  // the worker gave up waiting (broker unreachable)
        "Kafka::_MSG_TIMED_OUT",
        "Kafka::_TIMED_OUT",
        "Kafka::_TIMED_OUT_QUEUE",
        "Kafka::_TRANSPORT",
        "Kafka::_ALL_BROKERS_DOWN",
        "Kafka::_QUEUE_FULL",
        "Kafka::_WAIT_COORD",
        "Kafka::REQUEST_TIMED_OUT",
        "Kafka::NETWORK_EXCEPTION",
        "Kafka::LEADER_NOT_AVAILABLE",
        "Kafka::NOT_LEADER_FOR_PARTITION",
        "Kafka::NOT_ENOUGH_REPLICAS",
        "Kafka::NOT_ENOUGH_REPLICAS_AFTER_APPEND",
        "Kafka::BROKER_NOT_AVAILABLE",
        // The cluster refuses the whole topic (librdkafka then fails every
        // partition's messages): an ACL or topic to fix, not a message to
        // park; the backlog drains within seconds of the fix.
        "Kafka::TOPIC_AUTHORIZATION_FAILED",
        "Kafka::CLUSTER_AUTHORIZATION_FAILED",
        "Kafka::UNKNOWN_TOPIC_OR_PART",
        "Kafka::_UNKNOWN_TOPIC",
        "Kafka::_AUTHENTICATION",
        "Kafka::SASL_AUTHENTICATION_FAILED",
    };
    return one_of(kClusterWide, error_class);
}

bool is_permanent(std::string_view error_class) {
    static constexpr std::string_view kPermanent[] = {
        "Kafka::MSG_SIZE_TOO_LARGE",  // larger than message.max.bytes (local) or the broker's limit
        "Kafka::RECORD_LIST_TOO_LARGE",
        "Kafka::INVALID_MSG_SIZE",
        "Kafka::INVALID_RECORD",
    };
    return one_of(kPermanent, error_class);
}

}  // namespace dionysus::kafka
