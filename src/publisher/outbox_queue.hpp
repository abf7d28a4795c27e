// dionysus.outbox as the publisher's queue: which topics have pending rows,
// the next batch of a topic in outbox order, and what became of each row
// (published, or failed with dionysus-rb's backoff). Runs inside a
// transaction with an SPI connection; every Postgres call is guarded.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
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
    // Observed changes (dionysus.observe): the dionysus.observers id; the
    // model rows are those its association finds for resource_id (the
    // observed row's key), resource_column is its foreign key (unset for an
    // association query); a row split from one by key has resource_column
    // = the model's primary key. Soft-deleted rows are republished too.
    std::optional<int64_t> observer;
    // Hand-built messages (enqueue/tombstone): key and value as given.
    std::optional<std::string> message_key;
    std::optional<std::string> message;  // nullopt with message_key: tombstone
    // The Kafka key of its messages when known before rendering (hand-built
    // messages, a model row's own events, has_many dependency changes);
    // nullopt for a has_one dependency change or an observed change, whose
    // keys are those of the rows it fans out to.
    std::optional<std::string> key;
    // A row of a genesis run's chunk (genesis_stream.hpp), not of the
    // outbox: the run's id; id is its position in the chunk. Its event is
    // <model>_updated, or _destroyed when the row is soft-deleted as
    // rendered (skipped with visible_only); its partition key is taken from
    // the row; with replica_only it goes to <topic>_genesis alone.
    int64_t genesis_run = 0;
    bool genesis_replica_only = false;
    bool genesis_visible_only = false;
};

// Topics that have unpublished outbox rows (loose index scan over the partial index).
std::vector<std::string> topics_with_pending();

// The next batch of a topic: up to `limit` unpublished, unparked rows of
// `topic` with id > after_id, read in outbox order, minus the rows that must
// wait (per-key order):
// - a row waiting for its retry time holds back its own key: it and every
//   later row of that key are skipped, and its key is added to `blocked`;
//   a waiting row whose key is not known before rendering (a has_one
//   dependency change) holds back every later row of its topic;
// - rows of a key in `blocked` (found waiting earlier in the cycle, or whose
//   delivery just failed) are skipped;
// - a row younger than publishing_delay ends the batch (later rows are
//   younger still).
struct BatchRead {
    std::vector<OutboxRow> rows;  // to render, in outbox order
    int64_t last_read = 0;        // the last id read or skipped: the next batch starts after it
    bool more = false;            // rows may follow last_read
};
BatchRead read_batch(const std::string& topic, int64_t after_id, int limit, int delay_ms,
                     std::set<std::string>& blocked);

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
// backoff.park_after_attempts (parked rows are no longer read). A has_one
// dependency change that fails as a whole (the cluster was unreachable, its
// targets could not be read) takes a new id from the outbox sequence: its
// keys are known only when rendered, so it cannot hold back just its keys;
// as the newest row it is sent after every event that may have been
// delivered meanwhile (its message is a snapshot rendered at its retry).
// Other failures of such a row split it by key instead (split_fan_out).
void mark_failed(const std::string& topic, const std::vector<int64_t>& ids, const std::string& error_class,
                 const std::string& error_message, const Backoff& backoff);
// A has_one dependency change (no key of its own) split by key: one outbox
// row per id of `target_ids`, `<event>` of that model row, keyed
// `Model:id` (resource_column = the model's primary key), with the
// original's attempts and created_at. A split row waits, and holds back,
// only its key. The new rows take new ids: they are sent after whatever was
// delivered meanwhile (their messages are snapshots rendered when sent).
// Returns their ids (ascending); the original row is left as it is
// (mark_split, or its batch marks it).
std::vector<int64_t> split_fan_out(const std::string& topic, int64_t id, const std::vector<std::string>& target_ids);
// The original of split_fan_out is done: published_at = now(), with
// error_class = 'Dionysus::FanOutSplit' and `why` as its error_message.
void mark_split(const std::string& topic, int64_t id, const std::string& why);

// Per key, Kafka must never receive an event after a later one: rows of
// `topic` that failed (or were parked) while a later event of the same
// message key has now been delivered (`keys[i]` by outbox row `ids[i]`) are
// never sent; they are marked published as Dionysus::Superseded (the
// delivered event carries a newer snapshot). Rows whose key is known only
// when rendered are left as they are (see mark_failed). Returns how many
// rows it marked.
uint64_t supersede_older(const std::string& topic, const std::vector<std::string>& keys,
                         const std::vector<int64_t>& ids);

// Whether rows first_id..last_id of `topic` have unpublished, unparked rows.
bool has_pending(const std::string& topic, int64_t first_id, int64_t last_id);

// Topics that have failed or parked unpublished rows.
std::vector<std::string> topics_with_failures();

}  // namespace dionysus::publisher
