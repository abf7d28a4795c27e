// The consumer worker's loop.
//
// Loop: read the consumed topics (a short transaction), assign their
// partitions at the offsets stored in dionysus.consumer_offsets, poll a
// batch with no transaction open (a broker outage is waited out here),
// then apply it in one transaction that also stores the offsets after it:
// the changes and the offsets they cover commit together, so a crash
// re-reads exactly what was not committed. With several consumer workers
// (dionysus.consumer_workers) each reads its share of the partitions; the
// offsets are stored only if nobody stored further meanwhile, so two
// workers that ever read the same partition cannot both apply a message.
// Within the transaction the batch is applied set-wise in one
// subtransaction; if that fails, message
// by message, each in its own subtransaction, up to max_retries + 1 times,
// and a message that still fails is recorded in
// dionysus.consumer_dead_letters (and sent to the dead-letter topic after
// commit). NOTIFY dionysus_consume is queued in the transaction, so
// listeners hear of a batch when it committed.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"
#include "pg/transaction.hpp"
#include "consumer/applier.hpp"
#include "consumer/consumer_worker.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
#include "kafka/consumer.hpp"
#include "kafka/partition_share.hpp"
#include "kafka/producer.hpp"
#include "util/bytea_hex.hpp"
#include "util/pg_array_literal.hpp"
#include "wire/batch_dedupe.hpp"
#include "wire/message_reader.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/errcodes.h"
#include "utils/guc.h"
#include "utils/wait_event.h"
}

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dionysus::consumer {

namespace {

using Clock = std::chrono::steady_clock;

// How often partition counts are read again (new partitions, new topics).
constexpr auto kMetadataRefresh = std::chrono::seconds(10);
// How often the list of consumed topics is read again between batches (a
// batch reads the declarations it applies in its own transaction; the
// targets' metadata too, so an owner or column change is never missed).
constexpr auto kCatalogRefresh = std::chrono::seconds(1);
// How often an idle consumer records the partitions' high watermarks.
constexpr auto kWatermarkRefresh = std::chrono::seconds(2);
constexpr long kErrorRetryMillis = 1000;
// A dead-letter topic that does not take messages is tried again after this.
constexpr auto kDeadLetterRetry = std::chrono::seconds(30);
constexpr long kIdleMillis = 1000;
constexpr int kPollMillis = 200;

void log_message(int level, const std::string& msg) {
    pg::guard([&] { ereport(level, (errmsg_internal("dionysus consumer: %s", msg.c_str()))); });
}

std::string s(const char* v) { return v ? v : ""; }

using TopicPartition = std::pair<std::string, int32_t>;

// A list of partitions as the parameters $1 (topics) and $2 (partition
// numbers) of a query that joins them with partitions_join.
std::vector<pg::Value> partition_arrays(const std::vector<TopicPartition>& partitions) {
    std::vector<std::string> topics, numbers;
    for (const auto& [topic, partition] : partitions) topics.push_back(topic), numbers.push_back(std::to_string(partition));
    return {util::text_array_literal(topics), util::text_array_literal(numbers)};
}

// " JOIN … ON …": the rows of `table` (an alias with topic and "partition") of those partitions.
std::string partitions_join(const std::string& table) {
    return " JOIN ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.int4[])) "
           "AS m(topic, \"partition\") ON m.topic OPERATOR(pg_catalog.=) " + table + ".topic AND m.\"partition\" "
           "OPERATOR(pg_catalog.=) " + table + ".\"partition\" ";
}

struct ConsumedTopic {
    std::string name;
    bool dedupe = true;
    std::optional<std::string> dead_letter_topic;
    int max_retries = 2;
};

struct Settings {
    std::string brokers, client_id, group_id, properties;
    bool operator!=(const Settings& o) const {
        return brokers != o.brokers || client_id != o.client_id || group_id != o.group_id || properties != o.properties;
    }
};

Settings current_settings() {
    const std::string client = s(dionysus_client_id);
    return {s(dionysus_brokers), client, client + "_" + s(dionysus_consumer_group_prefix) + "_" + client,
            s(dionysus_kafka_properties)};
}

struct Failure {
    std::string error_class, message;
};

// SQLSTATE classes of failures a retry later may not see again.
bool transient(const pg::Error& e) {
    const int category = ERRCODE_TO_CATEGORY(e.sqlerrcode());
    return category == ERRCODE_TRANSACTION_ROLLBACK || category == ERRCODE_INSUFFICIENT_RESOURCES ||
           category == ERRCODE_OPERATOR_INTERVENTION || category == ERRCODE_SYSTEM_ERROR ||
           e.sqlerrcode() == ERRCODE_LOCK_NOT_AVAILABLE;
}

Failure failure_of(const std::exception& e) {
    if (const auto* pe = dynamic_cast<const pg::Error*>(&e)) {
        const char* code = pg::guard([&] { return unpack_sql_state(pe->sqlerrcode()); });
        std::string message = pe->what();
        if (!pe->detail().empty()) message += " (" + pe->detail() + ")";
        return {std::string("PG::") + code, message};
    }
    if (dynamic_cast<const wire::MalformedMessage*>(&e)) return {"Dionysus::MalformedMessage", e.what()};
    return {"StandardError", e.what()};
}

class Consumer {
public:
    Consumer(const volatile sig_atomic_t* stop, int index, int count) : stop_(stop), index_(index), count_(count) {}
    void run();

private:
    bool refresh_declarations();
    void ensure_assignment();
    void apply_batch(std::vector<kafka::ReceivedMessage>& batch);
    void apply_topic(const ConsumedTopic& topic, const std::vector<const kafka::ReceivedMessage*>& messages,
                     std::map<TopicPartition, std::string>& errors);
    struct Position {
        int64_t first = INT64_MAX, next = 0;  // offsets of the batch's first message and after its last
        int64_t timestamp_ms = -1;
    };
    // Locks the batch's offsets rows; sorts out the partitions stored past the batch.
    void check_offsets(const std::map<TopicPartition, Position>& positions, std::set<TopicPartition>& fenced,
                       std::set<TopicPartition>& rewound);
    void record_watermarks();
    void send_dead_letters();
    void wait(long millis);
    void report_error(const std::string& what);

    bool mine(const std::string& topic, int32_t partition) const {
        return kafka::partition_share(topic, partition, count_) == index_;
    }

    const volatile sig_atomic_t* stop_;
    const int index_, count_;  // which consumer worker of the database, of how many
    Settings settings_;
    std::unique_ptr<kafka::Consumer> kafka_;
    std::unique_ptr<kafka::Producer> producer_;  // for dead letters, created when one is to be sent
    std::map<std::string, ConsumedTopic> topics_;
    std::vector<kafka::PartitionOffset> assigned_;
    bool assignment_stale_ = true;
    Clock::time_point metadata_read_{};
    Clock::time_point watermarks_recorded_{};
    bool dead_letters_pending_ = true;  // look once at start: unsent ones of an earlier run
    Clock::time_point dead_letters_retry_at_{};  // after a failed send: consuming is not held up by it
    Clock::time_point declarations_read_{};
    bool formats_set_ = false;
    std::string last_error_;
};

void Consumer::wait(long millis) {
    pg::guard([millis] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, millis, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
    });
}

void Consumer::report_error(const std::string& what) {
    publisher_report("error", what);
    if (what != last_error_) log_message(LOG, what);
    last_error_ = what;
}

// The consumed topics; true when the set changed (or the extension is not
// installed: then topics_ is empty).
bool Consumer::refresh_declarations() {
    std::map<std::string, ConsumedTopic> topics;
    pg::in_transaction([&] {
        if (!pg::guard([] { return OidIsValid(get_extension_oid("dionysus", true)); })) return;
        if (!OidIsValid(pg::guard([] { return get_relname_relid("consumer_offsets", get_namespace_oid("dionysus", true)); })))
            return;  // an extension version without the consumer's tables
        if (!formats_set_) {
            // to_jsonb of rows (NOTIFY payloads) and error texts the same whatever the database's defaults
            pg::execute("SELECT pg_catalog.set_config('TimeZone', 'UTC', false), "
                        "pg_catalog.set_config('DateStyle', 'ISO, YMD', false), "
                        // dead letters' keys and values are read back as hex
                        "pg_catalog.set_config('bytea_output', 'hex', false)");
            formats_set_ = true;
        }
        for (const auto& row : pg::query_cached("SELECT t.name, t.dedupe::pg_catalog.text, t.dead_letter_topic, "
                                                "t.max_retries::pg_catalog.text FROM dionysus.consumed_topics t")) {
            ConsumedTopic t;
            t.name = *row[0];
            t.dedupe = *row[1] == "true";
            t.dead_letter_topic = row[2];
            t.max_retries = std::stoi(*row[3]);
            topics.emplace(t.name, std::move(t));
        }
    });
    bool changed = topics.size() != topics_.size();
    for (const auto& [name, t] : topics)
        if (!topics_.count(name)) changed = true;
    topics_ = std::move(topics);
    return changed;
}

// This worker's share of the consumed topics' partitions at their stored
// offsets (the group's committed offset, else the earliest, for a
// partition Postgres has none of).
void Consumer::ensure_assignment() {
    if (!assignment_stale_ && Clock::now() - metadata_read_ < kMetadataRefresh) return;
    std::vector<std::string> names;
    for (const auto& [name, t] : topics_) names.push_back(name);
    const auto counts = kafka_->partition_counts(names, 5000);
    metadata_read_ = Clock::now();
    size_t wanted = 0;
    for (const auto& [name, n] : counts)
        for (int32_t p = 0; p < n; p++) wanted += mine(name, p) ? 1 : 0;
    if (!assignment_stale_ && wanted == assigned_.size()) return;
    std::map<TopicPartition, int64_t> stored;
    pg::in_transaction([&] {
        for (const auto& row : pg::query_cached("SELECT o.topic, o.\"partition\"::pg_catalog.text, "
                                                "o.next_offset::pg_catalog.text FROM dionysus.consumer_offsets o"))
            stored[{*row[0], std::stoi(*row[1])}] = std::stoll(*row[2]);
    });
    std::vector<kafka::PartitionOffset> assignment;
    for (const auto& [name, n] : counts)
        for (int32_t p = 0; p < n; p++) {
            if (!mine(name, p)) continue;
            auto it = stored.find({name, p});
            assignment.push_back({name, p, it == stored.end() ? kafka::kOffsetFromGroup : it->second});
        }
    kafka_->assign(assignment);
    assigned_ = std::move(assignment);
    assignment_stale_ = false;
    for (const auto& name : names)
        if (!counts.count(name)) log_message(DEBUG1, "topic " + name + " does not exist yet");
}

void Consumer::apply_topic(const ConsumedTopic& topic, const std::vector<const kafka::ReceivedMessage*>& messages,
                           std::map<TopicPartition, std::string>& errors) {
    // Parsed up front: a message that does not parse is a failure of its own.
    std::vector<std::vector<wire::ConsumedEvent>> events(messages.size());
    std::vector<std::optional<Failure>> parse_failure(messages.size());
    std::vector<size_t> parsed;
    for (size_t i = 0; i < messages.size(); i++) {
        try {
            if (messages[i]->value) events[i] = wire::read_message(std::string_view(*messages[i]->value));
            else events[i] = wire::read_message(std::nullopt);
            parsed.push_back(i);
        } catch (const std::exception& e) {
            parse_failure[i] = failure_of(e);
        }
    }
    // RemoveDuplicatesStrategy over the messages that parsed.
    std::vector<size_t> selected = parsed;
    if (topic.dedupe && parsed.size() > 1) {
        std::vector<std::vector<wire::ConsumedEvent>> batch;
        for (size_t i : parsed) batch.push_back(events[i]);
        selected.clear();
        for (size_t k : wire::remove_duplicates(batch)) selected.push_back(parsed[k]);
        std::sort(selected.begin(), selected.end());
    }
    const int notify = dionysus_consumer_notify;
    std::vector<std::string> notifications;
    uint64_t applied = 0;
    // The messages that parsed, set-wise first.
    bool whole = false;
    {
        Targets targets;
        Applier applier(targets, topic.name, notify);
        try {
            pg::in_subtransaction([&] {
                std::vector<const std::vector<wire::ConsumedEvent>*> all;
                for (size_t i : selected) all.push_back(&events[i]);
                applier.apply(all);
            });
            whole = true;
            notifications = std::move(applier.notifications());
            applied = selected.size();
        } catch (const std::exception&) {
            // one by one below
        }
    }
    // Then, in message order, the messages that did not parse (set-wise
    // done) or every message (one by one, each retried).
    std::set<size_t> chosen(selected.begin(), selected.end());
    for (size_t i = 0; i < messages.size(); i++) {
        std::optional<Failure> failure = parse_failure[i];
        if (!failure) {
            if (whole || !chosen.count(i)) continue;  // applied, or a duplicate collapsed away
            for (int attempt = 1; attempt <= topic.max_retries + 1; attempt++) {
                Targets targets;
                Applier applier(targets, topic.name, notify);
                try {
                    pg::in_subtransaction([&] { applier.apply({&events[i]}); });
                    for (auto& n : applier.notifications()) notifications.push_back(std::move(n));
                    failure.reset();
                    applied++;
                    break;
                } catch (const pg::Error& e) {
                    // A deadlock, a lock timeout, a cancel, no memory: not the
                    // message's fault. The whole batch is rolled back and read
                    // again later, nothing is dead-lettered.
                    if (transient(e)) throw;
                    failure = failure_of(e);
                } catch (const std::exception& e) {
                    failure = failure_of(e);
                }
            }
            if (!failure) continue;
        }
        // Every try failed (a message that did not parse counts so: parsing again cannot help).
        const int attempts = topic.max_retries + 1;
        const kafka::ReceivedMessage& m = *messages[i];
        pg::execute("INSERT INTO dionysus.consumer_dead_letters (topic, \"partition\", \"offset\", key, value, "
                    "error_class, error_message, attempts, dead_letter_topic) VALUES ($1, $2::pg_catalog.int4, "
                    "$3::pg_catalog.int8, $4::pg_catalog.bytea, $5::pg_catalog.bytea, $6, $7, $8::pg_catalog.int4, $9)",
                    {m.topic, std::to_string(m.partition), std::to_string(m.offset),
                     m.key ? pg::Value(util::bytea_hex(*m.key)) : pg::Value(),
                     m.value ? pg::Value(util::bytea_hex(*m.value)) : pg::Value(), failure->error_class,
                     failure->message, std::to_string(attempts), topic.dead_letter_topic});
        if (topic.dead_letter_topic) dead_letters_pending_ = true;
        errors[{m.topic, m.partition}] =
            failure->error_class + ": " + failure->message + " (offset " + std::to_string(m.offset) + ")";
        publisher_count(0, 1, 0, 0);
        log_message(LOG, "message at offset " + std::to_string(m.offset) + " of " + m.topic + " partition " +
                             std::to_string(m.partition) + " skipped after " + std::to_string(attempts) +
                             " attempt(s): " + failure->error_class + ": " + failure->message);
    }
    for (const auto& payload : notifications)
        pg::guard([&] { Async_Notify("dionysus_consume", payload.c_str()); });
    publisher_count(applied, 0, 0, 0);
}

// This batch's offsets rows, locked until commit. A partition stored past
// the batch's first message was applied by another consumer meanwhile
// (fenced): its messages are left out and it is read again from the stored
// offset. One whose log now ends below the stored offset restarted (the
// topic was recreated; rewound): it is applied from where Kafka stands.
void Consumer::check_offsets(const std::map<TopicPartition, Position>& positions, std::set<TopicPartition>& fenced,
                             std::set<TopicPartition>& rewound) {
    std::vector<TopicPartition> batch;
    for (const auto& [tp, pos] : positions) batch.push_back(tp);
    for (const auto& row : pg::query_cached(
             "SELECT o.topic, o.\"partition\"::pg_catalog.text, o.next_offset::pg_catalog.text "
             "FROM dionysus.consumer_offsets o" + partitions_join("o") +
             "ORDER BY o.topic, o.\"partition\" FOR UPDATE OF o",  // one order: two consumers never deadlock here
             partition_arrays(batch))) {
        const TopicPartition tp{*row[0], std::stoi(*row[1])};
        const int64_t stored = std::stoll(*row[2]);
        const int64_t first = positions.at(tp).first;
        if (stored <= first) continue;
        // the broker asked now: a fetch's cached figure may predate what
        // the other consumer read
        const auto hw = kafka_->query_high_watermark(tp.first, tp.second, 2000);
        const bool restarted = hw && *hw < stored;
        (restarted ? rewound : fenced).insert(tp);
        log_message(restarted ? WARNING : LOG,
                    "partition " + std::to_string(tp.second) + " of " + tp.first + " is stored at offset " +
                        std::to_string(stored) + ", past this batch's first message " + std::to_string(first) +
                        (restarted ? "; the partition now ends at " + std::to_string(*hw) + " (restarted): applied from there"
                                   : ": another consumer applied it meanwhile; read again from there"));
    }
}

void Consumer::apply_batch(std::vector<kafka::ReceivedMessage>& batch) {
    // Messages of topics no longer consumed (a declaration dropped since the
    // assignment) are left alone: their offsets are not advanced.
    std::map<std::string, std::vector<const kafka::ReceivedMessage*>> by_topic;
    std::map<TopicPartition, Position> positions;
    uint64_t bytes = 0;
    for (const auto& m : batch) {
        by_topic[m.topic].push_back(&m);
        auto& p = positions[{m.topic, m.partition}];
        p.first = std::min(p.first, m.offset);
        p.next = std::max(p.next, m.offset + 1);
        p.timestamp_ms = std::max(p.timestamp_ms, m.timestamp_ms);
        bytes += m.value ? m.value->size() : 0;
    }
    std::map<TopicPartition, std::string> errors;
    std::set<std::string> skipped;  // topics not consumed (any more, or not yet as this process knows them)
    std::set<TopicPartition> fenced, rewound;
    pg::in_transaction([&] {
        fenced.clear();
        rewound.clear();
        // Deferrable constraints checked at each statement: a deferred
        // trigger would otherwise fire at commit, outside its owner's
        // context (PostgreSQL refuses to queue it in one anyway).
        pg::execute("SET CONSTRAINTS ALL IMMEDIATE");
        check_offsets(positions, fenced, rewound);
        std::set<std::string> consumed;
        for (const auto& row : pg::query_cached("SELECT t.name FROM dionysus.consumed_topics t")) consumed.insert(*row[0]);
        for (const auto& [name, all] : by_topic) {
            auto t = topics_.find(name);
            if (t == topics_.end() || !consumed.count(name)) {
                skipped.insert(name);
                continue;
            }
            std::vector<const kafka::ReceivedMessage*> messages;
            for (const auto* m : all)
                if (!fenced.count({m->topic, m->partition})) messages.push_back(m);
            if (!messages.empty()) apply_topic(t->second, messages, errors);
        }
        for (const auto& [tp, pos] : positions) {
            if (skipped.count(tp.first) || fenced.count(tp)) continue;
            const auto hw = kafka_->high_watermark(tp.first, tp.second);
            auto e = errors.find(tp);
            // Stored only where nobody stored further than this batch's
            // first message (a partition first seen, stored by a second
            // consumer meanwhile): else the whole batch rolls back and is
            // read again from there.
            const auto stored = pg::query_cached(
                "INSERT INTO dionysus.consumer_offsets AS o (topic, \"partition\", next_offset, high_watermark, "
                "last_message_at, applied_at, last_error, last_error_at) VALUES ($1, $2::pg_catalog.int4, "
                "$3::pg_catalog.int8, $4::pg_catalog.int8, pg_catalog.to_timestamp($5::pg_catalog.float8 / 1000), "
                "pg_catalog.now(), $6, CASE WHEN $6 IS NOT NULL THEN pg_catalog.now() END) "
                "ON CONFLICT (topic, \"partition\") DO UPDATE SET next_offset = EXCLUDED.next_offset, "
                "high_watermark = GREATEST(EXCLUDED.high_watermark, EXCLUDED.next_offset), "
                "last_message_at = COALESCE(EXCLUDED.last_message_at, o.last_message_at), applied_at = EXCLUDED.applied_at, "
                "last_error = COALESCE(EXCLUDED.last_error, o.last_error), "
                "last_error_at = COALESCE(EXCLUDED.last_error_at, o.last_error_at) "
                "WHERE o.next_offset OPERATOR(pg_catalog.<=) $7::pg_catalog.int8 OR $8::pg_catalog.bool RETURNING 1",
                {tp.first, std::to_string(tp.second), std::to_string(pos.next),
                 hw ? pg::Value(std::to_string(*hw)) : pg::Value(),
                 pos.timestamp_ms >= 0 ? pg::Value(std::to_string(pos.timestamp_ms)) : pg::Value(),
                 e == errors.end() ? pg::Value() : pg::Value(e->second), std::to_string(pos.first),
                 rewound.count(tp) ? "true" : "false"});
            if (stored.empty())
                throw std::runtime_error("partition " + std::to_string(tp.second) + " of " + tp.first +
                                         " was applied past offset " + std::to_string(pos.first) +
                                         " by another consumer meanwhile; this batch is rolled back and the "
                                         "partition read again from its stored offset");
        }
    });
    // Committed: the group's offsets follow, for monitoring tools.
    std::vector<kafka::PartitionOffset> offsets;
    for (const auto& [tp, pos] : positions)
        if (!skipped.count(tp.first) && !fenced.count(tp)) offsets.push_back({tp.first, tp.second, pos.next});
    kafka_->commit_async(offsets);
    // Messages passed over: read from the stored offsets again once the
    // declarations are read again (a topic dropped and declared anew), or
    // at once (a partition another consumer applied further).
    if (!skipped.empty() || !fenced.empty()) assignment_stale_ = true;
    publisher_count(0, 0, bytes, 1);
}

void Consumer::record_watermarks() {
    if (Clock::now() - watermarks_recorded_ < kWatermarkRefresh) return;
    watermarks_recorded_ = Clock::now();
    std::vector<std::pair<const kafka::PartitionOffset*, int64_t>> known;
    for (const auto& p : assigned_)
        if (auto hw = kafka_->high_watermark(p.topic, p.partition)) known.emplace_back(&p, *hw);
    if (known.empty()) return;
    pg::in_transaction([&] {
        for (const auto& [p, hw] : known)
            pg::execute_cached("UPDATE dionysus.consumer_offsets SET high_watermark = $3::pg_catalog.int8 "
                               "WHERE topic = $1 AND \"partition\" = $2::pg_catalog.int4 "
                               "AND high_watermark IS DISTINCT FROM $3::pg_catalog.int8",
                               {p->topic, std::to_string(p->partition), std::to_string(hw)});
    });
}

// Dead letters recorded but not yet acknowledged by the broker, sent to
// their dead-letter topics with headers saying why and where they came from.
void Consumer::send_dead_letters() {
    if (!dead_letters_pending_ || Clock::now() < dead_letters_retry_at_) return;
    std::vector<pg::Row> rows;
    pg::in_transaction([&] {
        // Those of this worker's share of partitions (another worker sends
        // the others), whether or not their topic is still consumed.
        std::vector<TopicPartition> partitions;
        for (const auto& r : pg::query_cached("SELECT DISTINCT d.topic, d.\"partition\"::pg_catalog.text "
                                              "FROM dionysus.consumer_dead_letters d "
                                              "WHERE d.sent_at IS NULL AND d.dead_letter_topic IS NOT NULL"))
            if (mine(*r[0], std::stoi(*r[1]))) partitions.emplace_back(*r[0], std::stoi(*r[1]));
        if (partitions.empty()) return;
        rows = pg::query_cached(
            "SELECT d.id::pg_catalog.text, d.topic, d.\"partition\"::pg_catalog.text, d.\"offset\"::pg_catalog.text, "
            "d.key::pg_catalog.text, d.value::pg_catalog.text, d.error_class, d.error_message, d.attempts::pg_catalog.text, "
            "d.dead_letter_topic FROM dionysus.consumer_dead_letters d" + partitions_join("d") +
            "WHERE d.sent_at IS NULL AND d.dead_letter_topic IS NOT NULL ORDER BY d.id LIMIT 500",
            partition_arrays(partitions));
    });
    if (rows.empty()) {
        dead_letters_pending_ = false;
        return;
    }
    if (!producer_) producer_ = std::make_unique<kafka::Producer>(kafka::Config{settings_.brokers, settings_.client_id,
                                                                                "consistent_random", settings_.properties});
    std::deque<kafka::Message> messages;
    const auto give_up = Clock::now() + std::chrono::seconds(10);
    for (const auto& r : rows) {
        kafka::Message m;
        m.topic = *r[9];
        if (r[4]) m.key = util::from_bytea_hex(*r[4]).value_or("");
        if (r[5]) m.value = util::from_bytea_hex(*r[5]);
        m.headers = {{"dionysus-error-class", *r[6]},     {"dionysus-error-message", *r[7]},
                     {"dionysus-source-topic", *r[1]},    {"dionysus-source-partition", *r[2]},
                     {"dionysus-source-offset", *r[3]},   {"dionysus-attempts", *r[8]},
                     {"dionysus-consumer-group", settings_.group_id}};
        m.outbox_id = std::stoll(*r[0]);
        messages.push_back(std::move(m));
        producer_->produce(messages.back(), give_up);
    }
    auto pending = [&] {
        for (const auto& m : messages)
            if (m.status == kafka::Message::Status::Pending) return true;
        return false;
    };
    while (pending() && Clock::now() < give_up && !*stop_) producer_->poll(50);
    std::vector<int64_t> sent;
    for (const auto& m : messages)
        if (m.status == kafka::Message::Status::Delivered) sent.push_back(m.outbox_id);
    if (pending()) producer_.reset();  // abandoned: sent again next time (at least once)
    if (sent.empty()) {
        dead_letters_retry_at_ = Clock::now() + kDeadLetterRetry;
        throw std::runtime_error("dead letters could not be sent to their topic (retried in 30 s)");
    }
    pg::in_transaction([&] {
        pg::execute("UPDATE dionysus.consumer_dead_letters SET sent_at = pg_catalog.now() "
                    "WHERE id = ANY ($1::pg_catalog.int8[])",
                    {util::int_array_literal(sent)});
    });
    // more may be waiting: dead_letters_pending_ stays set until a look finds none
}

void Consumer::run() {
    while (!*stop_) {
        pg::guard([] { CHECK_FOR_INTERRUPTS(); });
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            pg::guard([] { ProcessConfigFile(PGC_SIGHUP); });
        }
        if (pg::guard([] { return RecoveryInProgress(); })) {
            publisher_report("standby");
            wait(kIdleMillis);
            continue;
        }
        try {
            if (!kafka_ || Clock::now() - declarations_read_ > kCatalogRefresh) {
                if (refresh_declarations()) assignment_stale_ = true;
                declarations_read_ = Clock::now();
            }
            if (topics_.empty()) {
                if (kafka_) {
                    kafka_.reset();
                    assigned_.clear();
                }
                publisher_report("idle (nothing consumed)");
                wait(kIdleMillis);
                continue;
            }
            const Settings now = current_settings();
            if (!kafka_ || now != settings_) {
                kafka_.reset();
                producer_.reset();
                settings_ = now;
                kafka_ = std::make_unique<kafka::Consumer>(
                    kafka::ConsumerConfig{now.brokers, now.client_id, now.group_id, now.properties});
                assignment_stale_ = true;
            }
            ensure_assignment();
            try {
                send_dead_letters();
            } catch (const std::exception& e) {
                report_error(e.what());  // consuming goes on; they are sent later
            }
            publisher_report("consuming");
            std::vector<kafka::ReceivedMessage> batch =
                kafka_->poll_batch(static_cast<size_t>(dionysus_consumer_batch_size), kPollMillis);
            for (const auto& line : kafka_->take_logs()) log_message(DEBUG1, line);
            publisher_broker_reachable(kafka_->brokers_reachable());
            if (batch.empty()) {
                record_watermarks();
                continue;
            }
            try {
                apply_batch(batch);
                last_error_.clear();
            } catch (...) {
                // Nothing of the batch committed: read it again from the stored offsets.
                assignment_stale_ = true;
                throw;
            }
        } catch (const std::exception& e) {
            report_error(e.what());
            formats_set_ = false;
            wait(kErrorRetryMillis);
        }
    }
    publisher_report("stopping");
}

}  // namespace

void run(const volatile sig_atomic_t* stop_requested, int index, int count) {
    Consumer c(stop_requested, index, count);
    c.run();
}

}  // namespace dionysus::consumer
