// dionysus.outbox as the publisher's queue: which topics have pending rows,
// the next batch of a topic in outbox order, and what became of each row
// (published, or failed with dionysus-rb's backoff). Runs inside a
// transaction with an SPI connection; every Postgres call is guarded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dionysus::publisher {

// One outbox row (wording: render.hpp) as the publisher reads it.
struct OutboxRow {
    int64_t id = 0;
    std::string resource_class;  // the model name
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
// order, stopping before the first row that waits for its retry time or
// for publishing_delay (so per-key order holds). Parked rows are skipped. `more` tells whether the
// limit was reached.
std::vector<OutboxRow> read_batch(const std::string& topic, int64_t after_id, int limit, int delay_ms,
                                  bool& more);

// How a failure is recorded: the cap of dionysus-rb's backoff, and after how
// many attempts the row is parked (0: never, e.g. while the cluster is down).
struct Backoff {
    int max_retry_interval_s;
    int park_after_attempts;
};

// published_at = now(); the error fields of earlier failures are cleared.
void mark_published(const std::string& topic, const std::vector<int64_t>& ids);
// attempts+1, the error, retry_at = now + 5·2^attempts s counted after the
// increment (dionysus-rb's backoff: first retry after 10 s), at most
// backoff.max_retry_interval_s; parked_at = now() once attempts reach
// backoff.park_after_attempts (parked rows are no longer read).
void mark_failed(const std::string& topic, const std::vector<int64_t>& ids, const std::string& error_class,
                 const std::string& error_message, const Backoff& backoff);
// Per key, Kafka must never receive an event after a later one: rows of
// `topic` that failed (or were parked) while a later event of the same
// message key has now been delivered (`keys[i]` by outbox row `ids[i]`) are
// never sent; they are marked published as Dionysus::Superseded (the
// delivered event carries a newer snapshot). Rows of dependency changes
// (whose keys are known only when rendered) are left as they are. Returns
// how many rows it marked.
uint64_t supersede_older(const std::string& topic, const std::vector<std::string>& keys,
                         const std::vector<int64_t>& ids);

// Topics that have failed or parked unpublished rows.
std::vector<std::string> topics_with_failures();

// The next `limit` unpublished rows of `topic` after `after_id` could not be
// rendered: record the failure with backoff (the topic waits for the retry).
void mark_batch_failed(const std::string& topic, int64_t after_id, int limit, const std::string& error_class,
                       const std::string& error_message, const Backoff& backoff);

}  // namespace dionysus::publisher
