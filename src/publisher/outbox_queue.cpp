#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "publisher/outbox_queue.hpp"
#include "util/pg_array_literal.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

#include <algorithm>

namespace dionysus::publisher {

std::vector<std::string> topics_with_pending() {
    auto rows = pg::query(
        "WITH RECURSIVE t(topic) AS ("
        " (SELECT o.topic FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.parked_at IS NULL "
        "  ORDER BY o.topic LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT o.topic FROM dionysus.outbox o WHERE o.published_at IS NULL"
        "         AND o.parked_at IS NULL AND o.topic OPERATOR(pg_catalog.>) t.topic ORDER BY o.topic LIMIT 1)"
        " FROM t WHERE t.topic IS NOT NULL)"
        " SELECT topic FROM t WHERE topic IS NOT NULL");
    std::vector<std::string> out;
    for (auto& r : rows) out.push_back(*r[0]);
    return out;
}

namespace {

// The Kafka key of an outbox row's messages when it is known before
// rendering (OutboxRow::key): a hand-built message's key; `Model:id` of a
// model row's own event or of a has_many dependency change (resource_column
// is the model's primary key); NULL for a has_one dependency change or an
// observed change.
// Must render the key as naming::message_key does.
std::string outbox_key_sql() {
    return "(CASE WHEN o.message_key IS NOT NULL THEN o.message_key "
           "WHEN (o.resource_column IS NULL AND o.observer IS NULL) "
           "  OR o.resource_column = (SELECT m.primary_key FROM " + catalog::models_table() + " m "
           "  WHERE m.topic = o.topic AND m.model_name = o.resource_class) "
           "THEN o.resource_class OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) COALESCE(o.resource_id, '') "
           "END)";
}

}  // namespace

BatchRead read_batch(const std::string& topic, int64_t after_id, int limit, int delay_ms,
                     std::set<std::string>& blocked) {
    // Waiting rows are read, not filtered out: the rows behind them must
    // wait too, and a held backlog costs one index range, not a scan.
    enum {
        kId, kResourceClass, kResourceId, kEventName, kPartitionKey, kMessageKey, kMessage, kResourceColumn,
        kObserver, kKey, kRetryLater, kTooYoung,
    };
    auto rows = pg::query_cached(
        "SELECT o.id::text, o.resource_class, o.resource_id, o.event_name, o.partition_key, "
        "o.message_key, o.message::text, o.resource_column::text, o.observer::text, " + outbox_key_sql() + ", "
        "(o.retry_at IS NOT NULL AND o.retry_at > pg_catalog.now())::text, "
        "(o.created_at > pg_catalog.now() - pg_catalog.make_interval(secs => $2::pg_catalog.float8 / 1000))::text "
        "FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.topic = $1 "
        "AND o.id > $4::pg_catalog.int8 ORDER BY o.id LIMIT $3::pg_catalog.int4",
        {topic, std::to_string(delay_ms), std::to_string(limit), std::to_string(after_id)});
    BatchRead out;
    out.last_read = after_id;
    out.more = static_cast<int>(rows.size()) == limit;
    for (auto& r : rows) {
        const int64_t id = std::stoll(*r[kId]);
        if (*r[kTooYoung] == "true" || (*r[kRetryLater] == "true" && !r[kKey])) {
            out.more = false;
            break;
        }
        out.last_read = id;
        if (*r[kRetryLater] == "true") {
            blocked.insert(*r[kKey]);
            continue;
        }
        if (r[kKey] && blocked.count(*r[kKey])) continue;
        OutboxRow row;
        row.id = id;
        row.resource_class = std::move(*r[kResourceClass]);
        row.resource_id = std::move(r[kResourceId]);
        row.event_name = std::move(*r[kEventName]);
        row.partition_key = std::move(r[kPartitionKey]);
        row.resource_column = std::move(r[kResourceColumn]);
        row.message_key = std::move(r[kMessageKey]);
        row.message = std::move(r[kMessage]);
        if (r[kObserver]) row.observer = std::stoll(*r[kObserver]);
        row.key = std::move(r[kKey]);
        out.rows.push_back(std::move(row));
    }
    return out;
}

// The outbox has no primary key on purpose: found through the partial index
// of unpublished rows, a published row's new version enters no index at all.
// A batch holds consecutive unpublished rows of one topic, so the id range
// bounds the index scan and the array only filters within it.
void mark_published(const std::string& topic, const std::vector<int64_t>& ids) {
    if (ids.empty()) return;
    pg::execute_cached(
        "UPDATE dionysus.outbox SET published_at = pg_catalog.now(), updated_at = pg_catalog.now(), "
        // success clears the error fields as dionysus-rb does; attempts stay
        "error_class = NULL, error_message = NULL, failed_at = NULL, retry_at = NULL, parked_at = NULL "
        "WHERE topic = $2 AND published_at IS NULL AND id BETWEEN $3 AND $4 AND id = ANY ($1)",
        {util::int_array_literal(ids), topic, std::to_string(*std::min_element(ids.begin(), ids.end())),
         std::to_string(*std::max_element(ids.begin(), ids.end()))},
        {INT8ARRAYOID, TEXTOID, INT8OID, INT8OID});
}

// A failure on rows: attempts+1, the error, and dionysus-rb's backoff
// (retry after 5·2^attempts seconds, counted after the increment). $1 topic,
// $2 class, $3 message, $4 the cap in seconds; the caller's condition
// selects the rows.
// (`attempts` on the right is the value before the increment: the first
// retry comes after 5·2^1 = 10 s), capped by $4 seconds; parked once the
// attempts reach $5 (0: never).
std::string record_failure_sql() {
    return
    "UPDATE dionysus.outbox o SET attempts = attempts + 1, failed_at = pg_catalog.now(), "
    "updated_at = pg_catalog.now(), error_class = $2, error_message = $3, "
    "retry_at = pg_catalog.now() + pg_catalog.make_interval(secs => LEAST(5 * pg_catalog.power(2, "
    "LEAST(attempts + 1, 30)), $4::pg_catalog.float8)), "
    "parked_at = CASE WHEN $5::pg_catalog.int4 > 0 AND attempts + 1 >= $5::pg_catalog.int4 "
    "THEN pg_catalog.now() END, "
    // a has_one dependency change becomes the newest row (see mark_failed)
    "id = CASE WHEN " + outbox_key_sql() + " IS NULL "
    "THEN pg_catalog.nextval('dionysus.outbox_id_seq'::pg_catalog.regclass) ELSE o.id END "
    "WHERE topic = $1 AND published_at IS NULL AND parked_at IS NULL AND ";
}

void mark_failed(const std::string& topic, const std::vector<int64_t>& ids, const std::string& error_class,
                 const std::string& error_message, const Backoff& backoff) {
    if (ids.empty()) return;
    pg::execute(record_failure_sql() + "id = ANY ($6::pg_catalog.int8[])",
                {topic, error_class, error_message, std::to_string(backoff.max_retry_interval_s),
                 std::to_string(backoff.park_after_attempts), util::int_array_literal(ids)});
}

std::vector<int64_t> split_fan_out(const std::string& topic, int64_t id, const std::vector<std::string>& target_ids) {
    std::vector<int64_t> out;
    if (target_ids.empty()) return out;
    auto rows = pg::query(
        "INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, resource_column, attempts, "
        "created_at, updated_at, observer) "
        "SELECT o.resource_class, t.target, o.event_name, o.topic, m.primary_key, o.attempts, o.created_at, "
        "pg_catalog.now(), o.observer FROM dionysus.outbox o "
        "JOIN " + catalog::models_table() + " m ON m.topic = o.topic AND m.model_name = o.resource_class "
        "CROSS JOIN LATERAL pg_catalog.unnest($3::pg_catalog.text[]) t(target) "
        "WHERE o.topic = $1 AND o.id = $2::pg_catalog.int8 AND o.published_at IS NULL "
        "RETURNING id::pg_catalog.text",
        {topic, std::to_string(id), util::text_array_literal(target_ids)});
    for (auto& r : rows) out.push_back(std::stoll(*r[0]));
    std::sort(out.begin(), out.end());
    return out;
}

void mark_split(const std::string& topic, int64_t id, const std::string& why) {
    pg::execute(
        "UPDATE dionysus.outbox SET published_at = pg_catalog.now(), updated_at = pg_catalog.now(), "
        "retry_at = NULL, parked_at = NULL, error_class = 'Dionysus::FanOutSplit', error_message = $3 "
        "WHERE topic = $1 AND id = $2::pg_catalog.int8 AND published_at IS NULL",
        {topic, std::to_string(id), why});
}

uint64_t supersede_older(const std::string& topic, const std::vector<std::string>& keys,
                         const std::vector<int64_t>& ids) {
    if (keys.empty()) return 0;
    return pg::execute_cached(
        "UPDATE dionysus.outbox o SET published_at = pg_catalog.now(), updated_at = pg_catalog.now(), "
        "parked_at = NULL, retry_at = NULL, error_class = 'Dionysus::Superseded', "
        "error_message = 'a later event of the same key was delivered first (outbox id ' "
        "  OPERATOR(pg_catalog.||) d.id::pg_catalog.text OPERATOR(pg_catalog.||) ')' "
        "FROM (SELECT u.k, pg_catalog.max(u.i) AS id FROM ROWS FROM (pg_catalog.unnest($2), pg_catalog.unnest($3)) "
        "  u(k, i) GROUP BY u.k) d "
        "WHERE o.topic = $1 AND o.published_at IS NULL AND o.failed_at IS NOT NULL AND o.id < d.id "
        "AND " + outbox_key_sql() + " = d.k",
        {topic, util::text_array_literal(keys), util::int_array_literal(ids)}, {TEXTOID, TEXTARRAYOID, INT8ARRAYOID});
}

bool has_pending(const std::string& topic, int64_t first_id, int64_t last_id) {
    return *pg::query_value("SELECT EXISTS (SELECT FROM dionysus.outbox o WHERE o.topic = $1 "
                            "AND o.published_at IS NULL AND o.parked_at IS NULL "
                            "AND o.id BETWEEN $2::pg_catalog.int8 AND $3::pg_catalog.int8)::pg_catalog.text",
                            {topic, std::to_string(first_id), std::to_string(last_id)}) == "true";
}

std::vector<std::string> topics_with_failures() {
    std::vector<std::string> out;
    for (auto& r : pg::query("SELECT DISTINCT o.topic FROM dionysus.outbox o "
                             "WHERE o.published_at IS NULL AND o.failed_at IS NOT NULL"))
        out.push_back(*r[0]);
    return out;
}

}  // namespace dionysus::publisher
