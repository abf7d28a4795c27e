// dionysus.statsd_address: every 10 seconds the publisher sends
// dionysus-rb's Datadog figures as DogStatsD gauges (tag topic, database):
// dionysus.producer.outbox.latency.{minimum,maximum,average,
// highest_since_creation_date} in seconds (from dionysus.outbox_latency),
// dionysus.producer.outbox.{pending,failed,parked,published_last_minute}
// (dionysus.outbox_status) — by publisher 0 of a database — and each
// publisher's dionysus.producer.{published,failed} counters (tag worker).
#pragma once

#include "metrics/statsd.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace dionysus::publisher {

class MetricsReporter {
public:
    explicit MetricsReporter(int index) : index_(index) {}
    // Sends when the interval passed and an address is set; needs no SPI
    // connection (opens its own transaction). Errors are logged, at most
    // once a minute.
    void maybe_report();

private:
    void report();
    int index_;
    std::unique_ptr<metrics::StatsdSender> sender_;
    std::chrono::steady_clock::time_point next_{};
    std::chrono::steady_clock::time_point error_logged_{};
    uint64_t published_ = 0, failed_ = 0;  // the counters at the last report
};

}  // namespace dionysus::publisher
