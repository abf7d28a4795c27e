// The publisher background worker's loop (README "The publisher worker").
//
// Loop: wait for a commit to set our latch (or poll_interval), then for each
// topic with pending rows: read a batch in outbox order and render it in one
// short transaction (snapshot at publish time), produce it with no
// transaction open, serve delivery reports on this thread, and record the
// results in a second short transaction. Rows are marked published only after
// the broker acknowledged them, so a crash at any point re-sends (at least once).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/transaction.hpp"
#include "publisher/worker.hpp"
#include "catalog/relations.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
#include "kafka/errors.hpp"
#include "kafka/producer.hpp"
#include "kafka/properties.hpp"
#include "publisher/fan_out.hpp"
#include "publisher/fault_injection.hpp"
#include "publisher/genesis_stream.hpp"
#include "publisher/model_cache.hpp"
#include "publisher/model_record.hpp"
#include "publisher/outbox_queue.hpp"
#include "publisher/render.hpp"
#include "publisher/session.hpp"
#include "publisher/topic_ownership.hpp"
#include "publisher/metrics_reporter.hpp"
#include "publisher/outbox_retention.hpp"
#include "recovery/crash_marker.hpp"

extern "C" {
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
}

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace dionysus::publisher {

namespace {

using pg::in_transaction;

// Set by the SIGTERM handler (bgworker/publisher_main.cpp): drain and stop.
const volatile sig_atomic_t* stop = nullptr;
// The crash marker's file, for the SIGQUIT handler (-1: none).
volatile sig_atomic_t marker_fd = -1;

void log_message(int level, const std::string& msg) {
    pg::guard([&] { ereport(level, (errmsg_internal("dionysus publisher: %s", msg.c_str()))); });
}

struct ProducerSettings {
    std::string brokers, client_id, partitioner, properties;
    bool operator!=(const ProducerSettings& o) const {
        return brokers != o.brokers || client_id != o.client_id || partitioner != o.partitioner ||
               properties != o.properties;
    }
};

ProducerSettings current_settings() {
    auto s = [](const char* v) { return std::string(v ? v : ""); };
    return {s(dionysus_brokers), s(dionysus_client_id), s(dionysus_partitioner),
            s(dionysus_kafka_properties)};
}

// One produced batch: its messages stay at their addresses (deque) until
// every delivery report arrived.
struct Batch {
    std::string topic;
    std::chrono::steady_clock::time_point produced_at;
    std::deque<kafka::Message> messages;
    std::vector<int64_t> skipped;
    // Its has_one dependency changes (keys known only once rendered): outbox id -> model name.
    std::map<int64_t, std::string> keyless;
    // Their messages for keys that wait, taken out of the batch: outbox id -> target ids.
    std::map<int64_t, std::vector<std::string>> held_back;
    // A chunk of a genesis run instead of outbox rows.
    struct GenesisChunk {
        int64_t run = 0;
        int generation = 0;  // of the run's reading when read (GenesisProgress)
        std::string last_key;
        int64_t rows = 0;
    };
    std::optional<GenesisChunk> genesis;
    bool done() const {
        for (const auto& m : messages)
            if (m.status == kafka::Message::Status::Pending) return false;
        return true;
    }
};

// Batches produced but not yet acknowledged: reading and rendering the next
// batch overlaps with the broker round trip of the previous ones.
constexpr size_t kMaxBatchesInFlight = 4;
// A cycle re-reads every topic from its oldest unpublished row at least this
// often, so rows of transactions that committed late are never passed over.
constexpr auto kMaxCycle = std::chrono::seconds(1);
// Published rows deleted per retention batch (dionysus.outbox_retention).
constexpr int kRetentionBatch = 2000;
// The longest a waiting publisher goes without refreshing its heartbeat.
constexpr long kHeartbeatMillis = 10000;
// Retry interval of rows that failed because the cluster was unreachable.
constexpr int kClusterWideRetrySeconds = 1;
// How long a wake-up waits for further commits before reading.
constexpr long kCoalesceMicros = 1000;
// Retry interval of a drain cycle that failed as a whole (e.g. a bad setting).
constexpr long kErrorRetryMillis = 1000;
// Genesis chunks in flight at once: one slot is left for live batches, so a
// running genesis never holds back the live stream's next batch.
constexpr size_t kMaxGenesisChunksInFlight = kMaxBatchesInFlight - 1;
// Rows of a genesis chunk, in live batches (dionysus.batch_size).
constexpr int kGenesisChunkBatches = 2;
// A genesis chunk that was not acknowledged is read again after this long.
constexpr auto kGenesisRetryDelay = std::chrono::seconds(1);
// A genesis chunk that fails to render this many times in a row (or kills
// the worker as often) fails its run, with the error.
constexpr int kGenesisRenderFailures = 3;
constexpr auto kGenesisRenderRetryDelay = std::chrono::seconds(5);
// The crash marker's topic while a genesis chunk renders (not a Kafka topic
// name: those have no spaces); its ids are the run's.
const std::string kGenesisMarkerTopic = "genesis run";
// Deaths of the worker while rendering one row before that row is parked:
// the first death on a batch has it read again one row at a time, further
// deaths single out the row.
constexpr int kCrashesToPark = 3;

// The id of the target row a fan-out message was rendered for: its key is
// `Model:id` (naming::message_key).
std::string target_id_of(const kafka::Message& m, const std::string& model_name) {
    return m.key.substr(std::min(m.key.size(), model_name.size() + 1));
}

// Fan-outs to more rows than dionysus.observers_inline_maximum_size (an
// account with 200,000 rentals changed) are streamed instead of rendered
// in one batch: the row is replaced by one keyed row per target, in
// chunks, which drain like any rows, a batch at a time (the worker's
// memory stays bounded by its batches, plus the target ids while they are
// written: about 100 bytes each), interleaved with the other topics.
// They take new ids: sent after what was delivered meanwhile, each a
// snapshot rendered when sent.
constexpr size_t kStreamChunk = 10000;

void stream_large_fan_outs(const std::string& topic, std::vector<OutboxRow>& rows) {
    const size_t inline_maximum = static_cast<size_t>(dionysus_observers_inline_maximum_size);
    std::vector<int64_t> streamed;
    for (const auto& r : rows) {
        if (r.key || r.message_key) continue;
        const auto& model = cached_model(topic, r.resource_class);
        if (!model) continue;
        const std::vector<std::string> ids = fan_out_target_ids(*model, r);
        if (ids.size() <= inline_maximum) continue;
        for (size_t start = 0; start < ids.size(); start += kStreamChunk)
            split_fan_out(topic, r.id,
                          std::vector<std::string>(ids.begin() + start, ids.begin() + std::min(ids.size(), start + kStreamChunk)));
        streamed.push_back(r.id);
    }
    if (streamed.empty()) return;
    mark_published(topic, streamed);
    rows.erase(std::remove_if(rows.begin(), rows.end(),
                              [&](const OutboxRow& r) {
                                  return std::find(streamed.begin(), streamed.end(), r.id) != streamed.end();
                              }),
               rows.end());
}

// dionysus.remove_consecutive_duplicates (dionysus-rb's
// remove_consecutive_duplicates_before_publishing): a model row's own event
// right after the same event of the same key in the batch is published
// once. Nothing is lost: every message is the row's state when rendered, so
// the first one already carries what the later ones would. The later rows
// are marked published with their batch (Batch::skipped).
void remove_consecutive_duplicates(std::vector<OutboxRow>& rows, std::vector<int64_t>& skipped) {
    if (!dionysus_remove_consecutive_duplicates || rows.size() < 2) return;
    auto own_event = [](const OutboxRow& r) { return r.key && !r.message_key && !r.resource_column && !r.observer; };
    std::vector<OutboxRow> kept;
    kept.reserve(rows.size());
    for (auto& r : rows) {
        if (!kept.empty() && own_event(r) && own_event(kept.back()) && *r.key == *kept.back().key &&
            r.event_name == kept.back().event_name && r.partition_key == kept.back().partition_key) {
            skipped.push_back(r.id);
            continue;
        }
        kept.push_back(std::move(r));
    }
    rows = std::move(kept);
}

// The error message of a split row (outbox_queue.hpp, mark_split).
std::string split_note(const std::string& cause, const std::vector<int64_t>& rows) {
    std::string note = "failed (" + cause + "): split by key into " + std::to_string(rows.size()) + " outbox row";
    if (rows.size() != 1) note += "s";
    if (!rows.empty()) {
        note += " " + std::to_string(*std::min_element(rows.begin(), rows.end()));
        if (rows.size() > 1) note += ".." + std::to_string(*std::max_element(rows.begin(), rows.end()));
    }
    return note;
}

// A has_one dependency change has no key of its own: a message it renders
// for a key that waits must not overtake that key's waiting row. Such
// messages leave the batch (Batch::held_back) and become outbox rows of
// their own, keyed, queued behind the waiting row, when the batch is
// recorded (record: in the transaction that records their row's outcome);
// the row's other messages go out now. A row left without messages is done
// once its batch is.
void hold_back_waiting_keys(Batch& batch, const std::set<std::string>& blocked) {
    if (blocked.empty() || batch.keyless.empty()) return;
    std::set<int64_t> kept;  // keyless rows that still send a message
    for (const auto& m : batch.messages) {
        auto keyless = batch.keyless.find(m.outbox_id);
        if (keyless == batch.keyless.end()) continue;
        if (!blocked.count(m.key)) {
            kept.insert(m.outbox_id);
            continue;
        }
        auto& targets = batch.held_back[m.outbox_id];
        std::string id = target_id_of(m, keyless->second);
        if (std::find(targets.begin(), targets.end(), id) == targets.end()) targets.push_back(std::move(id));
    }
    if (batch.held_back.empty()) return;
    batch.messages.erase(std::remove_if(batch.messages.begin(), batch.messages.end(),
                                        [&](const kafka::Message& m) {
                                            return batch.held_back.count(m.outbox_id) && blocked.count(m.key);
                                        }),
                         batch.messages.end());
    for (const auto& [id, targets] : batch.held_back)
        if (!kept.count(id)) batch.skipped.push_back(id);
}

class Publisher {
public:
    Publisher(int index, int count) : index_(index), ownership_(index, count), metrics_(index) {}
    void run();

private:
    bool drain_cycle();
    bool drain_topics();
    void wait_for_work(long min_millis);
    void report_error(const std::string& error);
    // The last error of a drain cycle, for report_error (cleared by a good cycle).
    struct ErrorLog {
        std::string last;
        std::chrono::steady_clock::time_point logged_at;
        int repeated = 0;
        void clear() { last.clear(), repeated = 0; }
    } errors_;
    // What became of a finished batch, recorded in the current transaction.
    struct Outcome {
        uint64 failed = 0;        // outbox rows
        bool cluster_wide = false;  // the cluster was unreachable: the topic waits
        std::string first_error;
        std::vector<std::string> failed_keys;  // of the failed rows' messages
    };
    Outcome record(const Batch& batch);
    void ensure_producer();
    void flush_logs();
    // Crash protection: the rows being rendered are kept in a file (see
    // recovery/crash_marker.hpp); what the previous process left is suspect.
    void recover_from_crash();
    // Parks the suspect row after kCrashesToPark deaths; true when it did.
    bool park_crashing_row();
    void mark_rendering(const std::string& topic, const std::vector<OutboxRow>& rows);
    // The marker says these rows are being rendered (dropped, logged, when it cannot be written).
    void begin_marker(const std::string& topic, int64_t first_id, int64_t last_id, int crashes);
    // A has_one dependency change that failed to render, split into a row
    // per current target in a transaction of its own; false when that failed.
    bool split_failed_render(const std::string& topic, const OutboxRow& row, const std::string& error);
    void mark_rendered();

    std::unique_ptr<kafka::Producer> producer_;
    int index_;
    TopicOwnership ownership_;
    MetricsReporter metrics_;
    // The last cycle found the extension installed at this library's version.
    bool catalog_current_ = false;
    std::chrono::steady_clock::time_point retention_due_{};
    // Retention and metrics, between drain cycles.
    void housekeep();
    // Topics read one row at a time: a batch of theirs failed to render and
    // the failing row is not found yet.
    // Value: the last outbox id of the batch that failed; past it, whole
    // batches again (the failure may have been transient, e.g. a lock).
    std::map<std::string, int64_t> isolated_;
    // Topics that may have failed rows (loaded at the first cycle, then kept
    // up to date): only their delivered batches look for rows to supersede.
    std::set<std::string> topics_with_failures_;
    bool failures_loaded_ = false;
    ProducerSettings settings_;
    bool formats_set_ = false;
    std::unique_ptr<recovery::CrashMarker> marker_;  // null: could not be kept (logged)
    std::optional<recovery::Suspect> suspect_;

    // Genesis runs being streamed (genesis_stream.hpp), by id. Reloaded
    // from dionysus.genesis_run at every cycle (no chunk is in flight then).
    struct GenesisProgress {
        GenesisRun run;                         // as recorded: cursor, rows_done
        std::optional<std::string> read_after;  // where the next chunk starts
        int64_t rows_read = 0;                  // rows_done plus the chunks in flight
        int generation = 0;                     // grows when chunks in flight are given up
        int chunks_in_flight = 0;               // of this generation
        bool exhausted = false;                 // a read found the last row: done once acknowledged
        int render_failures = 0;
        int delivery_failures = 0;  // in a row; the run fails at dionysus.max_attempts
        std::chrono::steady_clock::time_point not_before{}, started{};
        // Gives up the chunks in flight (their outcomes are ignored): the
        // next chunk starts after the acknowledged rows, in `delay`.
        void rewind(std::chrono::steady_clock::duration delay) {
            generation++;
            chunks_in_flight = 0;
            read_after = run.cursor;
            rows_read = run.rows_done;
            exhausted = false;
            not_before = std::chrono::steady_clock::now() + delay;
        }
    };
    std::map<int64_t, GenesisProgress> genesis_;
    int64_t last_genesis_pick_ = 0;  // round robin over runs
    std::optional<recovery::Suspect> genesis_suspect_;  // a run whose chunk the previous worker died rendering
    // `runs`: running_genesis_runs(), read with the cycle's topics.
    void load_genesis_runs(std::vector<GenesisRun> runs);
    bool genesis_ready(const GenesisProgress& p, std::chrono::steady_clock::time_point now) const;
    std::optional<int64_t> pick_genesis(size_t chunks_in_flight);
    // Reads and renders the run's next chunk into `next` (none when the run
    // has no row left: it ends once its chunks are acknowledged).
    void read_genesis(int64_t run_id, std::unique_ptr<Batch>& next);
    void genesis_failed(int64_t run_id, const std::string& error);
    void record_genesis(const Batch& batch);
};

void Publisher::recover_from_crash() {
    // One file per database and publisher (the worker's working directory is the data directory).
    const std::string path = "dionysus/publisher_" + std::to_string(MyDatabaseId) +
                             (index_ > 0 ? "_" + std::to_string(index_) : "") + ".rendering";
    // The postmaster's identity: its pid and start time (crash restarts keep both).
    const std::string owner = std::to_string(PostmasterPid) + "-" + std::to_string(PgStartTime);
    try {
        marker_ = std::make_unique<recovery::CrashMarker>(path, owner);
        suspect_ = marker_->recover();
        marker_fd = marker_->fd();
    } catch (const std::exception& e) {
        log_message(WARNING, std::string("no crash protection: ") + e.what());
        return;
    }
    if (!suspect_) return;
    if (suspect_->topic == kGenesisMarkerTopic) {
        log_message(WARNING, "the previous worker died rendering a chunk of genesis run " +
                                 std::to_string(suspect_->first_id) + " (death " + std::to_string(suspect_->crashes) + ")");
        genesis_suspect_ = suspect_;
        suspect_.reset();
        return;
    }
    log_message(WARNING, "the previous worker died rendering outbox rows " + std::to_string(suspect_->first_id) +
                             ".." + std::to_string(suspect_->last_id) + " of topic " + suspect_->topic + " (death " +
                             std::to_string(suspect_->crashes) + " on them)");
    // Read the topic one row at a time up to them, to find the one that
    // kills us (and to render a single suspect alone).
    isolated_[suspect_->topic] = suspect_->last_id;
}

bool Publisher::park_crashing_row() {
    if (!suspect_ || !suspect_->single_row() || suspect_->crashes < kCrashesToPark) return false;
    mark_failed(suspect_->topic, {suspect_->first_id}, "Dionysus::WorkerCrash",
                "the worker died " + std::to_string(suspect_->crashes) +
                    " times rendering this row (a crashing serializer, or memory exhausted)",
                Backoff{dionysus_max_retry_interval_s, 1});
    topics_with_failures_.insert(suspect_->topic);
    log_message(WARNING, "parked outbox row " + std::to_string(suspect_->first_id) + " of topic " +
                             suspect_->topic + ": the worker died rendering it");
    return true;  // the caller forgets the suspect once this commits
}

bool Publisher::split_failed_render(const std::string& topic, const OutboxRow& row, const std::string& error) {
    try {
        in_transaction([&] {
            reset_model_cache();  // as every read: what the declarations and tables are now
            const auto& model = cached_model(topic, row.resource_class);
            const std::vector<int64_t> rows =
                model ? split_fan_out(topic, row.id, fan_out_target_ids(*model, row)) : std::vector<int64_t>{};
            mark_split(topic, row.id, split_note(error, rows));
        });
        return true;
    } catch (const std::exception& e) {
        log_message(LOG, std::string("could not split a failed fan-out by key: ") + e.what());
        return false;
    }
}

void Publisher::mark_rendering(const std::string& topic, const std::vector<OutboxRow>& rows) {
    if (!marker_) return;
    int crashes = 0;  // deaths already counted on these rows
    if (suspect_ && suspect_->topic == topic && rows.front().id <= suspect_->last_id &&
        rows.back().id >= suspect_->first_id)
        crashes = suspect_->crashes;
    begin_marker(topic, rows.front().id, rows.back().id, crashes);
}

void Publisher::begin_marker(const std::string& topic, int64_t first_id, int64_t last_id, int crashes) {
    if (!marker_) return;
    try {
        marker_->begin(topic, first_id, last_id, crashes);
    } catch (const std::exception& e) {
        log_message(WARNING, std::string("no crash protection: ") + e.what());
        marker_fd = -1;
        marker_.reset();
    }
}

void Publisher::mark_rendered() {
    if (!marker_) return;
    try {
        marker_->end();
    } catch (const std::exception& e) {
        log_message(WARNING, std::string("no crash protection: ") + e.what());
        marker_fd = -1;
        marker_.reset();
    }
}

void Publisher::ensure_producer() {
    ProducerSettings wanted = current_settings();
    if (producer_ && !(wanted != settings_)) return;
    producer_.reset();  // nothing is in flight between cycles
    kafka::Config config{wanted.brokers, wanted.client_id, wanted.partitioner, wanted.properties};
    producer_ = std::make_unique<kafka::Producer>(config);
    settings_ = wanted;
    std::string keys;  // values may be secrets: log only the keys
    for (const auto& kv : kafka::parse_properties(wanted.properties))
        keys += (keys.empty() ? "" : ", ") + kv.first;
    log_message(LOG, "kafka producer for " + wanted.brokers +
                         (keys.empty() ? "" : " with properties " + keys));
}

void Publisher::flush_logs() {
    if (!producer_) return;
    for (const auto& line : producer_->take_logs()) log_message(LOG, "kafka: " + line);
}

Publisher::Outcome Publisher::record(const Batch& batch) {
    if (batch.genesis) {
        record_genesis(batch);
        return {};
    }
    // An outbox row is published when every message it produced was
    // acknowledged; a row whose outcome is unknown stays pending (sent again).
    using Error = std::pair<std::string, std::string>;  // error class, message
    Outcome outcome;
    std::map<int64_t, const kafka::Message*> failed_by_id;  // its first failed message
    std::set<int64_t> pending, failed_cluster_wide;
    for (const auto& m : batch.messages) {
        if (m.status == kafka::Message::Status::Failed) {
            failed_by_id.emplace(m.outbox_id, &m);
            if (kafka::is_cluster_wide(m.error_class)) failed_cluster_wide.insert(m.outbox_id);
            outcome.failed_keys.push_back(m.key);
        }
        if (m.status == kafka::Message::Status::Pending) pending.insert(m.outbox_id);
    }
    // A has_one dependency change whose messages failed for some keys (not
    // because the cluster was unreachable) is split: those keys get rows of
    // their own that carry the failure (split_fan_out); the row is done.
    std::set<int64_t> split;
    for (const auto& [id, model_name] : batch.keyless)
        if (failed_by_id.count(id) && !pending.count(id) && !failed_cluster_wide.count(id)) split.insert(id);
    std::vector<int64_t> published(batch.skipped);
    std::map<Error, std::vector<int64_t>> failures;
    std::map<int64_t, std::map<std::string, Error>> split_failed;  // outbox id -> target id -> its error
    int64_t last = -1;
    for (const auto& m : batch.messages) {
        if (split.count(m.outbox_id)) {
            if (m.status == kafka::Message::Status::Failed)  // (its _genesis copy may fail too: one row per target)
                split_failed[m.outbox_id].emplace(target_id_of(m, batch.keyless.at(m.outbox_id)),
                                                  Error{m.error_class, m.error_message});
            continue;
        }
        if (m.outbox_id == last) continue;
        last = m.outbox_id;
        if (pending.count(m.outbox_id)) continue;
        auto f = failed_by_id.find(m.outbox_id);
        if (f == failed_by_id.end()) published.push_back(m.outbox_id);
        else failures[{f->second->error_class, f->second->error_message}].push_back(m.outbox_id);
    }
    // Messages held back for waiting keys (hold_back_waiting_keys) become
    // rows of their own now, with their row's outcome: unless that row is
    // sent again whole (its outcome unknown, or the cluster unreachable).
    // A row done here says so (a split row's failure note comes below).
    const std::set<int64_t> done(published.begin(), published.end());
    for (const auto& [id, targets] : batch.held_back) {
        if (!done.count(id) && !split.count(id)) continue;
        const std::vector<int64_t> rows = split_fan_out(batch.topic, id, targets);
        if (done.count(id)) mark_split(batch.topic, id, split_note("held back behind waiting keys", rows));
    }
    mark_published(batch.topic, published);
    if (!failures.empty() || !split.empty()) topics_with_failures_.insert(batch.topic);
    auto record_failure = [&](const Error& error, const std::vector<int64_t>& ids) {
        // An unreachable cluster is not the rows' fault: retry soon, whatever
        // their attempts, and never park, so the backlog drains within seconds
        // of recovery. An error no retry fixes parks at once.
        Backoff backoff{dionysus_max_retry_interval_s, dionysus_max_attempts};
        if (kafka::is_cluster_wide(error.first)) {
            backoff = {kClusterWideRetrySeconds, 0};
            outcome.cluster_wide = true;
        } else if (kafka::is_permanent(error.first)) {
            backoff.park_after_attempts = 1;
        }
        mark_failed(batch.topic, ids, error.first, error.second, backoff);
        outcome.failed += ids.size();
        if (outcome.first_error.empty()) outcome.first_error = error.first + ": " + error.second;
    };
    for (const auto& [error, ids] : failures) record_failure(error, ids);
    for (const auto& [id, by_target] : split_failed) {
        std::map<Error, std::vector<std::string>> by_error;
        for (const auto& [target, error] : by_target) by_error[error].push_back(target);
        std::vector<int64_t> rows;
        for (const auto& [error, targets] : by_error) {
            const std::vector<int64_t> fresh = split_fan_out(batch.topic, id, targets);
            record_failure(error, fresh);
            rows.insert(rows.end(), fresh.begin(), fresh.end());
        }
        if (rows.empty()) {  // no longer published: the failure stays on the row (rendering will skip it)
            record_failure(by_error.begin()->first, {id});
            continue;
        }
        mark_split(batch.topic, id, split_note(by_error.begin()->first.first, rows));
    }
    // Failed rows of a key whose later event was just delivered are never
    // sent after it (per-key order, also across batches in flight).
    if (topics_with_failures_.count(batch.topic)) {
        std::vector<std::string> keys;
        std::vector<int64_t> ids;
        for (const auto& m : batch.messages)
            if (m.status == kafka::Message::Status::Delivered) {
                keys.push_back(m.key);
                ids.push_back(m.outbox_id);
            }
        supersede_older(batch.topic, keys, ids);
    }
    uint64 bytes = 0;
    bool delivered = false;
    for (const auto& m : batch.messages)
        if (m.status == kafka::Message::Status::Delivered) {
            bytes += m.key.size() + (m.value ? m.value->size() : 0);
            delivered = true;
        }
    publisher_count(published.size() - batch.skipped.size(), outcome.failed, bytes);
    if (outcome.cluster_wide) publisher_broker_reachable(false);
    else if (delivered) publisher_broker_reachable(true);
    return outcome;
}

// The running genesis runs; one never started is started in a transaction
// of its own (counting its rows runs its condition: a failure fails that
// run alone).
void Publisher::load_genesis_runs(std::vector<GenesisRun> runs) {
    std::map<int64_t, GenesisProgress> loaded;
    const auto now = std::chrono::steady_clock::now();
    for (auto& run : runs) {
        if (genesis_suspect_ && genesis_suspect_->first_id == run.id && genesis_suspect_->crashes >= kGenesisRenderFailures) {
            const std::string error = "the worker died " + std::to_string(genesis_suspect_->crashes) +
                                      " times rendering a chunk of this run after key " + run.cursor.value_or("(none)") +
                                      " (a crashing serializer, or memory exhausted)";
            in_transaction([&] { finish_genesis_run(run, error); });
            log_message(WARNING, "genesis run " + std::to_string(run.id) + " failed: " + error);
            genesis_suspect_.reset();
            continue;
        }
        GenesisProgress p;
        auto known = genesis_.find(run.id);
        if (known != genesis_.end()) {  // what the last cycle learnt that the table does not say
            p.generation = known->second.generation + 1;
            p.render_failures = known->second.render_failures;
            p.delivery_failures = known->second.delivery_failures;
            p.not_before = known->second.not_before;
        }
        // Started here, or its condition checked again (names resolve anew
        // when plans are: it must still use only the table owner's objects).
        if (!run.rows_total || run.condition) {
            const bool starting = !run.rows_total;
            try {
                in_transaction([&] {
                    reset_model_cache();
                    const auto& model = cached_model(run.topic, run.model_name);
                    if (!model) throw std::runtime_error("model " + run.model_name + " is no longer published on topic " + run.topic);
                    if (starting) start_genesis_run(run, *model);
                    else check_genesis_condition(run, *model);
                });
                if (starting)
                    log_message(LOG, "genesis run " + std::to_string(run.id) + ": streaming " +
                                         std::to_string(*run.rows_total) + " rows of " + run.model_name + " on " +
                                         run.topic + (run.replica_only ? "_genesis" : ""));
            } catch (const std::exception& e) {
                genesis_.erase(run.id);
                genesis_failed(run.id, e.what());
                continue;
            }
        }
        p.read_after = run.cursor;
        p.rows_read = run.rows_done;
        p.started = now - std::chrono::milliseconds(static_cast<int64_t>(run.seconds_running * 1000));
        p.run = std::move(run);
        loaded.emplace(p.run.id, std::move(p));
    }
    genesis_ = std::move(loaded);
}

bool Publisher::genesis_ready(const GenesisProgress& p, std::chrono::steady_clock::time_point now) const {
    if (p.exhausted || now < p.not_before) return false;
    if (p.run.duration_s <= 0 || !p.run.rows_total || *p.run.rows_total == 0) return true;
    // Spread evenly over the duration: no more rows read than are due by now.
    const double elapsed = std::chrono::duration<double>(now - p.started).count();
    return static_cast<double>(p.rows_read) < static_cast<double>(*p.run.rows_total) * elapsed / p.run.duration_s;
}

std::optional<int64_t> Publisher::pick_genesis(size_t chunks_in_flight) {
    if (genesis_.empty() || chunks_in_flight >= kMaxGenesisChunksInFlight) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    std::optional<int64_t> first;
    for (const auto& [id, p] : genesis_) {
        if (!genesis_ready(p, now)) continue;
        if (id > last_genesis_pick_) return last_genesis_pick_ = id;
        if (!first) first = id;
    }
    if (first) last_genesis_pick_ = *first;
    return first;
}

void Publisher::read_genesis(int64_t run_id, std::unique_ptr<Batch>& next) {
    GenesisProgress& p = genesis_.at(run_id);
    const auto& model = cached_model(p.run.topic, p.run.model_name);
    if (!model) throw std::runtime_error("model " + p.run.model_name + " is no longer published on topic " + p.run.topic);
    // Chunks of twice a live batch: a chunk's queries cost about a batch's,
    // and a live batch waits for at most one chunk's rendering.
    const int limit = kGenesisChunkBatches * dionysus_batch_size;
    GenesisChunk chunk = read_genesis_chunk(p.run, *model, p.read_after, limit);
    if (static_cast<int>(chunk.rows.size()) < limit) p.exhausted = true;
    if (chunk.rows.empty()) {
        if (p.chunks_in_flight == 0) {
            finish_genesis_run(p.run);
            genesis_.erase(run_id);  // (committed by the caller's transaction, like the run's last chunk)
        }
        return;
    }
    next = std::make_unique<Batch>();
    next->topic = p.run.topic;
    next->genesis = Batch::GenesisChunk{run_id, p.generation, *chunk.last_key, static_cast<int64_t>(chunk.rows.size())};
    int crashes = 0;
    if (genesis_suspect_ && genesis_suspect_->first_id == run_id) crashes = genesis_suspect_->crashes;
    begin_marker(kGenesisMarkerTopic, run_id, run_id, crashes);
    render(p.run.topic, chunk.rows, next->messages, next->skipped);
    p.read_after = chunk.last_key;
    p.rows_read += static_cast<int64_t>(chunk.rows.size());
    p.chunks_in_flight++;
    p.render_failures = 0;
    if (genesis_suspect_ && genesis_suspect_->first_id == run_id) genesis_suspect_.reset();
}

// A chunk of the run failed to render: read again later from where the
// run's acknowledged rows end; after kGenesisRenderFailures in a row the run
// fails with the error (in a transaction of its own).
void Publisher::genesis_failed(int64_t run_id, const std::string& error) {
    auto it = genesis_.find(run_id);
    if (it != genesis_.end() && ++it->second.render_failures < kGenesisRenderFailures) {
        it->second.rewind(kGenesisRenderRetryDelay);
        log_message(LOG, "genesis run " + std::to_string(run_id) + ": a chunk failed, read again in " +
                             std::to_string(kGenesisRenderRetryDelay.count()) + " s: " + error);
        return;
    }
    GenesisRun run;
    run.id = run_id;
    try {
        in_transaction([&] { finish_genesis_run(run, error); });
    } catch (const std::exception& e) {
        log_message(WARNING, "genesis run " + std::to_string(run_id) + " could not be marked failed: " + e.what());
    }
    log_message(WARNING, "genesis run " + std::to_string(run_id) + " failed: " + error);
    genesis_.erase(run_id);
}

// What became of a genesis chunk: acknowledged, its run's cursor moves on
// (the run ends with its last chunk); otherwise the chunks after the run's
// acknowledged rows are read again, as snapshots of then.
void Publisher::record_genesis(const Batch& batch) {
    auto it = genesis_.find(batch.genesis->run);
    if (it == genesis_.end() || it->second.generation != batch.genesis->generation) return;  // given up
    GenesisProgress& p = it->second;
    p.chunks_in_flight--;
    const kafka::Message* failed = nullptr;
    for (const auto& m : batch.messages)
        if (m.status != kafka::Message::Status::Delivered) {
            failed = &m;
            break;
        }
    const std::string why = !failed ? std::string()
                            : failed->status == kafka::Message::Status::Failed
                                ? failed->error_class + ": " + failed->error_message
                                : std::string("no acknowledgement");
    if (failed && dionysus_max_attempts > 0 && ++p.delivery_failures >= dionysus_max_attempts) {
        const std::string error = "delivery failed " + std::to_string(p.delivery_failures) + " times in a row: " + why;
        GenesisRun run = p.run;
        genesis_.erase(it);
        finish_genesis_run(run, error);
        log_message(WARNING, "genesis run " + std::to_string(run.id) + " failed: " + error);
        return;
    }
    if (failed) {
        p.rewind(kGenesisRetryDelay);
        log_message(LOG, "genesis run " + std::to_string(p.run.id) + ": delivery failed, will retry: " + why);
        return;
    }
    if (!record_genesis_chunk(p.run.id, batch.genesis->last_key, batch.genesis->rows)) {
        genesis_.erase(it);  // canceled meanwhile
        return;
    }
    p.run.cursor = batch.genesis->last_key;
    p.run.rows_done += batch.genesis->rows;
    p.delivery_failures = 0;
    uint64 bytes = 0;
    for (const auto& m : batch.messages) bytes += m.key.size() + (m.value ? m.value->size() : 0);
    publisher_count(batch.messages.size(), 0, bytes);
    publisher_broker_reachable(true);
    if (p.exhausted && p.chunks_in_flight == 0) {
        finish_genesis_run(p.run);
        log_message(LOG, "genesis run " + std::to_string(p.run.id) + " finished: " + std::to_string(p.run.rows_done) + " rows");
        genesis_.erase(it);
    }
}

// One drain cycle over every topic with pending rows. Returns true when work
// may remain (the caller starts the next cycle without waiting).
bool Publisher::drain_cycle() {
    // Before looking: a commit from now on wakes us again.
    publisher_clear_wake();
    try {
        return drain_topics();
    } catch (...) {
        // drain_topics dropped the producer if batches were in flight (their
        // rows stay unpublished and are sent again); start afresh anyway.
        producer_.reset();
        throw;
    }
}

bool Publisher::drain_topics() {
    bool installed = false, parked_pending_commit = false;
    std::vector<std::string> topics;
    std::vector<GenesisRun> runs;
    in_transaction([&] {
        installed = extension_installed();
        catalog_current_ = false;
        if (!installed) return;
        // Retention and metrics need this version's catalog (its index, its
        // views): not before ALTER EXTENSION dionysus UPDATE.
        catalog_current_ = OidIsValid(catalog::dionysus_relid("outbox_published"));
        if (!formats_set_) {
            set_session_formats();
            formats_set_ = true;
        }
        reset_model_cache();
        if (park_crashing_row()) parked_pending_commit = true;
        // Rendered and produced without dying (or parked, or discarded):
        // forgotten. Not before: a suspect skipped while its key waited is
        // still to be rendered, and its deaths still count.
        else if (suspect_ && !has_pending(suspect_->topic, suspect_->first_id, suspect_->last_id))
            suspect_.reset();
        if (!failures_loaded_) {
            for (auto& t : topics_with_failures()) topics_with_failures_.insert(std::move(t));
            failures_loaded_ = true;
        }
        // Only the topics this publisher holds (several publishers per database).
        std::vector<GenesisRun> all_runs = running_genesis_runs();
        std::vector<std::string> pending = topics_with_pending();
        std::set<std::string> candidates(pending.begin(), pending.end());
        for (const auto& r : all_runs) candidates.insert(r.topic);
        const std::set<std::string> owned = ownership_.claim(candidates);
        for (auto& t : pending)
            if (owned.count(t)) topics.push_back(std::move(t));
        for (auto& r : all_runs)
            if (owned.count(r.topic)) runs.push_back(std::move(r));
    });
    if (parked_pending_commit) suspect_.reset();
    if (!installed) {
        publisher_report("waiting for extension");
        return false;
    }
    load_genesis_runs(std::move(runs));
    const auto ready_genesis = [&] {
        const auto now = std::chrono::steady_clock::now();
        for (const auto& [id, p] : genesis_)
            if (genesis_ready(p, now)) return true;
        return false;
    };
    if (topics.empty() && !ready_genesis()) {
        publisher_report(genesis_.empty() ? "idle" : "streaming genesis (paced)");
        return false;
    }
    publisher_report("publishing");
    pg::guard([] { pgstat_report_activity(STATE_RUNNING, "publishing"); });
    ensure_producer();

    const auto cycle_start = std::chrono::steady_clock::now();
    std::deque<std::string> active(topics.begin(), topics.end());  // round robin
    std::map<std::string, int64_t> cursor;
    // Per topic, keys held back for the rest of the cycle: a row of theirs
    // waits for its retry or just failed (per-key order); other keys flow.
    std::map<std::string, std::set<std::string>> blocked;
    std::deque<std::unique_ptr<Batch>> in_flight;
    // However this function is left (an exception, the SIGTERM deadline),
    // librdkafka must be done with the messages before they are freed: the
    // producer goes first (declared after in_flight, destroyed before it).
    struct ProducerBeforeMessages {
        std::unique_ptr<kafka::Producer>& producer;
        const std::deque<std::unique_ptr<Batch>>& in_flight;
        ~ProducerBeforeMessages() {
            if (!in_flight.empty()) producer.reset();
        }
    } producer_before_messages{producer_, in_flight};
    bool time_up = false, abandoned = false, genesis_turn = false;
    auto sigterm_deadline = std::chrono::steady_clock::time_point::max();

    for (;;) {
        std::vector<std::unique_ptr<Batch>> finished;
        while (!in_flight.empty() && in_flight.front()->done()) {
            finished.push_back(std::move(in_flight.front()));
            in_flight.pop_front();
        }
        const auto now = std::chrono::steady_clock::now();
        time_up = time_up || now - cycle_start > kMaxCycle;
        if (*stop && sigterm_deadline == std::chrono::steady_clock::time_point::max())
            sigterm_deadline = now + std::chrono::seconds(10);
        const bool can_read = !active.empty() && !time_up && !*stop &&
                              in_flight.size() < kMaxBatchesInFlight;
        // While a genesis streams, a commit's rows are read at once, not at
        // the end of the cycle: its topic joins the round robin again.
        const bool relist = !genesis_.empty() && publisher_take_wake();
        // A genesis chunk when there is no live batch to read, or every
        // other read while live topics are busy: neither starves the other
        // (a live batch waits for at most one chunk's rendering).
        std::optional<int64_t> genesis_pick;
        if ((!can_read || genesis_turn) && !time_up && !*stop && in_flight.size() < kMaxBatchesInFlight) {
            size_t chunks = 0;
            for (const auto& b : in_flight) chunks += b->genesis ? 1 : 0;
            genesis_pick = pick_genesis(chunks);
        }
        if (genesis_pick) genesis_turn = false;
        else if (can_read) genesis_turn = true;

        std::unique_ptr<Batch> next;
        bool read_on = false;  // a read moved the cursor without giving a batch: read again at once
        std::set<std::string> unreachable;  // topics whose cluster did not answer: they wait
        std::string first_error;
        uint64 failed = 0;
        if (!finished.empty() || can_read || relist || genesis_pick) {
            std::string topic;  // the topic being read, once reading started
            std::vector<OutboxRow> reading;  // the rows being rendered
            auto record_finished = [&] {
                for (const auto& b : finished) {
                    Outcome outcome = record(*b);
                    if (outcome.failed == 0) continue;
                    failed += outcome.failed;
                    if (first_error.empty()) first_error = outcome.first_error;
                    if (outcome.cluster_wide) unreachable.insert(b->topic);
                    blocked[b->topic].insert(outcome.failed_keys.begin(), outcome.failed_keys.end());
                }
            };
            // Genesis chunks are recorded in a transaction of their own: the
            // run's progress in memory follows what committed (a failed read
            // below rolls back, and records the other batches again).
            if (std::any_of(finished.begin(), finished.end(), [](const auto& b) { return b->genesis.has_value(); })) {
                in_transaction([&] { record_finished(); });
                finished.clear();
            }
            try {
                in_transaction([&] {
                    record_finished();
                    if (relist) {
                        // (only topics this publisher holds: others join at the next cycle's claim)
                        for (auto& t : topics_with_pending())
                            if (ownership_.holds(t) && std::find(active.begin(), active.end(), t) == active.end())
                                active.push_back(std::move(t));
                        read_on = !active.empty();
                    }
                    if (genesis_pick) {
                        reset_model_cache();
                        read_genesis(*genesis_pick, next);
                        read_on = !next;
                        return;
                    }
                    if (!can_read) return;
                    // A declaration, a table or a function changed since the
                    // last read (invalidations arrive as a transaction
                    // starts): render with what they are now.
                    reset_model_cache();
                    std::string candidate = active.front();
                    active.pop_front();
                    if (unreachable.count(candidate)) return;
                    topic = candidate;
                    const int limit = isolated_.count(topic) ? 1 : dionysus_batch_size;
                    BatchRead batch = read_batch(topic, cursor[topic], limit, dionysus_publishing_delay_ms,
                                                 blocked[topic]);
                    reading = std::move(batch.rows);
                    stream_large_fan_outs(topic, reading);
                    std::vector<int64_t> duplicates;
                    remove_consecutive_duplicates(reading, duplicates);
                    if (!reading.empty()) {
                        next = std::make_unique<Batch>();
                        next->topic = topic;
                        next->skipped = std::move(duplicates);
                        mark_rendering(topic, reading);  // until produced (mark_rendered below)
                        render(topic, reading, next->messages, next->skipped);
                        for (const auto& r : reading)
                            if (!r.key) next->keyless.emplace(r.id, r.resource_class);
                        hold_back_waiting_keys(*next, blocked[topic]);
                    }
                    read_on = !next && batch.more && batch.last_read > cursor[topic];
                    cursor[topic] = batch.last_read;
                    auto isolated = isolated_.find(topic);
                    if (isolated != isolated_.end() && cursor[topic] >= isolated->second) isolated_.erase(isolated);
                    if (batch.more) active.push_back(topic);
                });
            } catch (const std::exception& e) {
                if (genesis_pick && topic.empty()) {
                    // A chunk failed to read or render: its run retries
                    // later (or fails); redo the bookkeeping rolled back.
                    mark_rendered();
                    next.reset();
                    failed = 0;
                    first_error.clear();
                    unreachable.clear();
                    if (!finished.empty()) in_transaction([&] { record_finished(); });
                    genesis_failed(*genesis_pick, e.what());
                    continue;
                }
                if (topic.empty()) throw;
                mark_rendered();
                // Rendering failed (e.g. a serializer function raised). A batch
                // cannot say which row failed: read the topic one row at a time
                // until the failing row is found, and record the failure on that
                // row alone, with backoff (parked after max_attempts), instead
                // of on every row of the batch; its key then waits, the others
                // flow. Either way, redo the bookkeeping the failed transaction
                // rolled back.
                next.reset();
                failed = 0;
                first_error.clear();
                unreachable.clear();
                const std::string message = e.what();
                // a record no retry fixes: parked at once
                const bool invalid_record = dynamic_cast<const InvalidRecord*>(&e) != nullptr;
                const std::string error_class =
                    invalid_record ? "Dionysus::InvalidRecord" : "Dionysus::SerializationError";
                if (reading.empty()) {
                    // Reading failed, not rendering (e.g. lock_timeout): the
                    // topic waits for the next cycle.
                    in_transaction([&] { record_finished(); });
                    unreachable.insert(topic);
                    failed++;
                    if (first_error.empty()) first_error = message;
                } else if (isolated_.count(topic)) {
                    const OutboxRow& row = reading.front();
                    in_transaction([&] { record_finished(); });
                    // A row whose key is known waits alone. One whose keys are
                    // known only once rendered (a has_one dependency change)
                    // is split into a row per target (read again, row by row
                    // once a batch of them fails), so only the failing
                    // target's key waits;
                    // when even its targets cannot be read, it takes a new id
                    // and ends the topic's batches until its retry (read_batch).
                    const bool split = !row.key && split_failed_render(topic, row, error_class + ": " + message);
                    if (!split)
                        in_transaction([&] {
                            mark_failed(topic, {row.id}, error_class, message,
                                        Backoff{dionysus_max_retry_interval_s, invalid_record ? 1 : dionysus_max_attempts});
                        });
                    isolated_.erase(topic);
                    topics_with_failures_.insert(topic);
                    if (row.key) blocked[topic].insert(*row.key);
                    cursor[topic] = row.id;
                    active.push_back(topic);
                    if (!split) failed++;
                    if (!split && first_error.empty()) first_error = error_class + ": " + message;
                } else {
                    in_transaction([&] { record_finished(); });
                    isolated_[topic] = reading.back().id;
                    active.push_front(topic);
                }
            }
        }
        if (failed > 0) {
            // A topic whose cluster did not answer waits for the next cycle.
            for (auto it = active.begin(); it != active.end();)
                it = unreachable.count(*it) ? active.erase(it) : it + 1;
            publisher_report("retrying", first_error);
            log_message(LOG, "delivery failed, will retry: " + first_error);
        }
        if (next) {
            next->produced_at = std::chrono::steady_clock::now();
            Batch& batch = *next;
            in_flight.push_back(std::move(next));  // owned there before librdkafka sees a message
            // A full local queue waits at most message.timeout.ms per batch,
            // and not past the SIGTERM deadline.
            const auto give_up = std::min(batch.produced_at + std::chrono::milliseconds(producer_->message_timeout_ms()),
                                          sigterm_deadline);
            for (auto& m : batch.messages) producer_->produce(m, give_up);
            crash_if_injected(batch.messages, "crash_producing=");
            mark_rendered();
            producer_->poll(0);
            continue;
        }
        if (in_flight.empty() && ((active.empty() && !ready_genesis()) || time_up || *stop)) break;
        if (std::chrono::steady_clock::now() > sigterm_deadline) break;  // unacknowledged rows stay pending
        if (read_on) {
            producer_->poll(0);
            continue;
        }
        // (1 ms while a genesis streams: a commit is seen within it)
        producer_->poll(genesis_.empty() ? 10 : 1);
        pg::guard([] { CHECK_FOR_INTERRUPTS(); });
        if (!in_flight.empty() &&
            std::chrono::steady_clock::now() - in_flight.front()->produced_at >
                std::chrono::milliseconds(producer_->message_timeout_ms() + 1000)) {
            // Broker unreachable: fail what is in flight (recorded with
            // backoff in the next iteration) and start over with a new producer.
            producer_->abandon_in_flight();
            abandoned = true;
        }
    }
    flush_logs();
    if (abandoned) producer_.reset();
    return time_up && !*stop;
}

// Logs a drain cycle's error: once, then at most once a minute while the
// same error repeats (with how often it did), so a persistent one does not
// flood the server log.
void Publisher::report_error(const std::string& error) {
    publisher_report("error", error);
    const auto now = std::chrono::steady_clock::now();
    if (error == errors_.last && now - errors_.logged_at < std::chrono::seconds(60)) {
        errors_.repeated++;
        return;
    }
    std::string line = error;
    if (error == errors_.last && errors_.repeated > 0)
        line += " (repeated " + std::to_string(errors_.repeated) + " times since last logged)";
    log_message(WARNING, line);
    errors_.last = error;
    errors_.logged_at = now;
    errors_.repeated = 0;
}

// Sleeps until a commit wakes us or poll_interval passes; for at least
// `min_millis` whatever the commits (after an error).
void Publisher::wait_for_work(long min_millis) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(std::max<long>(dionysus_poll_interval_ms, min_millis));
    const auto earliest = start + std::chrono::milliseconds(min_millis);
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return;
        // A long poll_interval must not make the heartbeat look stale (health_check).
        left = std::min<long>(left, kHeartbeatMillis);
        publisher_heartbeat();
        int rc = pg::guard([&] {
            return WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, left,
                             PG_WAIT_EXTENSION);
        });
        pg::guard([] { ResetLatch(MyLatch); });
        if (*stop || ConfigReloadPending || !(rc & WL_LATCH_SET)) return;
        if (std::chrono::steady_clock::now() < earliest) continue;
        // With a publishing delay a fresh commit has nothing to publish yet:
        // keep sleeping for the poll interval.
        if (dionysus_publishing_delay_ms > 0) continue;
        // Let the commits of the next millisecond join this cycle: at
        // thousands of commits per second one cycle per commit would spend
        // the worker's time on per-cycle overhead.
        pg::guard([] { pg_usleep(kCoalesceMicros); });
        return;
    }
}

void Publisher::housekeep() {
    metrics_.maybe_report();
    if (index_ != 0 || dionysus_outbox_retention_s <= 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now < retention_due_) return;
    uint64_t deleted = 0;
    try {
        in_transaction([&] { deleted = delete_expired_published(dionysus_outbox_retention_s, kRetentionBatch); });
    } catch (const pg::Error& e) {
        report_error(std::string("outbox retention: ") + e.what());
        retention_due_ = now + std::chrono::seconds(10);
        return;
    }
    // A full batch: more are due, soon (a backlog of expired rows goes at
    // up to 20 batches a second, between drain cycles).
    retention_due_ = now + (deleted == static_cast<uint64_t>(kRetentionBatch) ? std::chrono::milliseconds(50)
                                                                            : std::chrono::milliseconds(1000));
}

// A query cancel (pg_cancel_backend, statement_timeout) raises an error at
// the next interrupt check, wherever the worker is: outside a drain cycle it
// is logged and the loop goes on, as it does inside one.
template <typename Fn>
void surviving_cancel(Fn&& fn) {
    try {
        fn();
    } catch (const pg::Error& e) {
        log_message(LOG, e.what());
    }
}

void Publisher::run() {
    recover_from_crash();
    while (!*stop) {
        surviving_cancel([] { pg::guard([] { CHECK_FOR_INTERRUPTS(); }); });
        if (ConfigReloadPending) {
            // (a change of dionysus.database or dionysus.workers: the
            // launcher stops and starts publishers)
            ConfigReloadPending = false;
            pg::guard([] { ProcessConfigFile(PGC_SIGHUP); });
        }
        bool more = false, failed = false;
        if (pg::guard([] { return RecoveryInProgress(); })) {
            publisher_report("standby");
        } else {
            try {
                more = drain_cycle();
                errors_.clear();
            } catch (const pg::Error& e) {
                failed = true;
                report_error(e.what());
                formats_set_ = false;
                pg::forget_cached_plans();  // e.g. the extension was dropped and recreated
                forget_model_cache();
            } catch (const std::exception& e) {
                failed = true;
                report_error(e.what());
                producer_.reset();
            }
        }
        if (!failed && catalog_current_) housekeep();
        if (more) continue;
        pg::guard([] { pgstat_report_activity(STATE_IDLE, nullptr); });
        // An error that persists (a bad setting, the extension broken) is
        // retried once a second, not at every commit.
        surviving_cancel([this, failed] { wait_for_work(failed ? kErrorRetryMillis : 0); });
    }
    publisher_report("stopping");
    producer_.reset();  // drain_cycle served (or abandoned) every in-flight delivery
}

}  // namespace

int rendering_marker_fd() { return marker_fd; }

void run(const volatile sig_atomic_t* stop_requested, int index, int count) {
    stop = stop_requested;
    Publisher publisher(index, count);
    publisher.run();
}

}  // namespace dionysus::publisher
