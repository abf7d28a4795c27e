// Which delivery failures say "the cluster is unreachable" (or refuses the
// whole topic: authorization, unknown topic) rather than "this message
// cannot go": the first kind must not push each row's backoff
// up, or a long outage leaves the backlog waiting long after the brokers are
// back. Pure C++ (no Postgres), unit-tested in test/unit/kafka_errors_test.cpp.
#pragma once

#include <string_view>

namespace dionysus::kafka {

// error_class as the producer records it: "Kafka::" + librdkafka's error name
// (rd_kafka_err2name), e.g. "Kafka::_TRANSPORT", "Kafka::MSG_TIMED_OUT".
bool is_cluster_wide(std::string_view error_class);

// Errors no retry of the same message fixes (a message larger than the
// broker accepts): the row is parked at once.
bool is_permanent(std::string_view error_class);

}  // namespace dionysus::kafka
