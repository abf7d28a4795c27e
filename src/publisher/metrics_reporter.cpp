#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/transaction.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
#include "publisher/metrics_reporter.hpp"

extern "C" {
#include "miscadmin.h"
#include "commands/dbcommands.h"
}

#include <vector>

namespace dionysus::publisher {

namespace {

constexpr auto kInterval = std::chrono::seconds(10);

double number_or_zero(const pg::Value& v) { return v ? std::stod(*v) : 0.0; }

}  // namespace

void MetricsReporter::maybe_report() {
    const std::string address = dionysus_statsd_address ? dionysus_statsd_address : "";
    if (address.empty()) {
        sender_.reset();
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < next_) return;
    next_ = now + kInterval;
    try {
        if (!sender_ || sender_->address() != address) {
            sender_.reset();
            sender_ = std::make_unique<metrics::StatsdSender>(address);
        }
        report();
    } catch (const std::exception& e) {
        // An address that does not resolve is tried again in a minute, not
        // every 10 s: getaddrinfo blocks the worker while DNS fails.
        if (!sender_) next_ = now + std::chrono::seconds(60);
        if (now - error_logged_ > std::chrono::seconds(60)) {
            error_logged_ = now;
            const std::string msg = std::string("dionysus publisher: metrics not sent: ") + e.what();
            pg::guard([&] { elog(WARNING, "%s", msg.c_str()); });
        }
    }
}

void MetricsReporter::report() {
    std::vector<std::string> lines;
    std::string database;
    std::vector<pg::Row> rows;
    pg::in_transaction([&] {
        database = pg::query_value("SELECT pg_catalog.current_database()::pg_catalog.text").value_or("");
        if (index_ != 0) return;
        rows = pg::query(
            "SELECT s.topic, s.pending::text, s.failed::text, s.parked::text, s.published_last_minute::text, "
            "pg_catalog.date_part('epoch', l.minimum)::text, pg_catalog.date_part('epoch', l.maximum)::text, "
            "pg_catalog.date_part('epoch', l.average)::text, "
            "pg_catalog.date_part('epoch', l.highest_since_creation_date)::text "
            "FROM dionysus.outbox_status s LEFT JOIN dionysus.outbox_latency l ON l.topic = s.topic "
            "ORDER BY s.topic");
    });
    for (const auto& r : rows) {
        const metrics::Tags tags{{"topic", *r[0]}, {"database", database}};
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.pending", number_or_zero(r[1]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.failed", number_or_zero(r[2]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.parked", number_or_zero(r[3]), tags));
        lines.push_back(
            metrics::gauge_line("dionysus.producer.outbox.published_last_minute", number_or_zero(r[4]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.latency.minimum", number_or_zero(r[5]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.latency.maximum", number_or_zero(r[6]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.latency.average", number_or_zero(r[7]), tags));
        lines.push_back(metrics::gauge_line("dionysus.producer.outbox.latency.highest_since_creation_date",
                                            number_or_zero(r[8]), tags));
    }
    const PublisherCounters c = publisher_counters();
    const metrics::Tags tags{{"database", database}, {"worker", std::to_string(index_)}};
    lines.push_back(metrics::counter_line("dionysus.producer.published", static_cast<long long>(c.published - published_), tags));
    lines.push_back(metrics::counter_line("dionysus.producer.failed", static_cast<long long>(c.failed - failed_), tags));
    published_ = c.published;
    failed_ = c.failed;
    sender_->send(lines);
}

}  // namespace dionysus::publisher
