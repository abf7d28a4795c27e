// The publisher's Postgres side: reading outbox batches, loading the current
// state of the rows they name (snapshot at publish time) and rendering the
// messages, then recording delivery results. Runs inside a transaction with
// an SPI connection; every Postgres call is guarded.
#pragma once

#include "kafka_producer.hpp"

#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace dionysus::publisher {

struct OutboxRow {
    int64_t id = 0;
    std::string resource_class;
    std::optional<std::string> resource_id;
    std::string event_name;
    std::optional<std::string> partition_key;
    // Dependency changes: resource_id is a value of this column of the
    // model's table; the event goes to every row having it.
    std::optional<std::string> resource_column;
    // Hand-built messages (enqueue/tombstone): key and value as given.
    std::optional<std::string> message_key;
    std::optional<std::string> message;  // nullopt with message_key: tombstone
};

// Topics that have unpublished outbox rows (loose index scan over the partial index).
std::vector<std::string> topics_with_pending();

// Up to `limit` unpublished rows of `topic` with id > after_id, in outbox
// order, stopping before the first row that waits for its retry time (so
// per-key order holds). `more` tells whether the limit was reached.
std::vector<OutboxRow> read_batch(const std::string& topic, int64_t after_id, int limit,
                                  int delay_ms, bool& more);

// Start of each drain cycle: drop cached model metadata if a declaration or
// a rendered table changed since (relcache invalidation).
void reset_model_cache();
// After an error: reload everything at the next cycle.
void forget_model_cache();

// Appends one message per row (two with a genesis replica). Rows whose record
// no longer exists for a _created/_updated event are appended to `skipped`.
void render(const std::string& topic, const std::vector<OutboxRow>& rows,
            std::deque<kafka::Message>& out, std::vector<int64_t>& skipped);

void mark_published(const std::string& topic, const std::vector<int64_t>& ids);
void mark_failed(const std::string& topic, const std::vector<int64_t>& ids,
                 const std::string& error_class, const std::string& error_message);

// The next `limit` unpublished rows of `topic` after `after_id` could not be
// rendered: record the failure with backoff (the topic waits for the retry).
void mark_batch_failed(const std::string& topic, int64_t after_id, int limit,
                       const std::string& error_class, const std::string& error_message);

bool extension_installed();
// DateStyle ISO, TimeZone UTC, …: what json_render expects; asynchronous commit.
void set_session_formats();

}  // namespace dionysus::publisher
