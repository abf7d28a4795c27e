#include "kafka/producer.hpp"
#include "kafka/client_conf.hpp"
#include "kafka/properties.hpp"
#include "kafka/thread_signals.hpp"
#include "wire/partitioning.hpp"

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <pthread.h>
#include <stdexcept>

#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

namespace {

// The partition key travels as msg_opaque (the Message), the partitioner
// choice as rkt_opaque; librdkafka may call this from any thread.
int32_t partition_message(const rd_kafka_topic_t* rkt, const void* keydata, size_t keylen,
                          int32_t partition_cnt, void* rkt_opaque, void* msg_opaque) {
    auto kind = static_cast<partitioning::Partitioner>(reinterpret_cast<intptr_t>(rkt_opaque));
    const auto* m = static_cast<const Message*>(msg_opaque);
    std::string_view key = (m && m->partition_key)
                               ? std::string_view(*m->partition_key)
                               : std::string_view(static_cast<const char*>(keydata), keylen);
    return partitioning::partition_for(kind, key, partition_cnt, rkt);
}

}  // namespace

Producer::Producer(const Config& config) {
    auto kind = partitioning::parse(config.partitioner);
    if (!kind) throw std::runtime_error("unknown partitioner \"" + config.partitioner + "\"");
    partitioner_ = static_cast<int>(*kind);

    ClientConf conf(config.brokers, config.client_id);
    // At-least-once with per-partition order across retries.
    conf.set("enable.idempotence", "true");
    conf.set("acks", "all");
    // Latency: a commit should reach the broker within milliseconds (with
    // librdkafka 2.0 even linger.ms=1 adds ~45 ms per round trip here).
    conf.set("linger.ms", "0");
    conf.set("socket.nagle.disable", "true");
    // A broker outage turns into recorded failures (and retries) after 30 s
    // instead of librdkafka's 5 minutes.
    conf.set("message.timeout.ms", "30000");
    // Aggregates can be large (a parent with thousands of sideloaded
    // children): accept messages up to 16 MiB. A real broker's default limit
    // is ~1 MB per (compressed) batch: raise it, or set compression.type=lz4
    // in dionysus.kafka_properties (it doubled commit-to-ack latency here).
    conf.set("message.max.bytes", "16777216");
    for (const auto& [k, v] : parse_properties(config.properties)) conf.set(k, v);
    char timeout[32];
    size_t timeout_size = sizeof timeout;
    if (rd_kafka_conf_get(conf.get(), "message.timeout.ms", timeout, &timeout_size) == RD_KAFKA_CONF_OK)
        message_timeout_ms_ = std::atoi(timeout);
    // 0 is librdkafka's "never time out": the worker then waits for
    // acknowledgements as long as it takes (SIGTERM still bounds the wait).
    if (message_timeout_ms_ <= 0) message_timeout_ms_ = kNoMessageTimeoutMs;

    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t* rk, const rd_kafka_message_t* msg, void* op) {
        on_delivery(rk, msg, op);
    });
    rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t* rk, int level, const char* fac,
                                      const char* buf) { on_log(rk, level, fac, buf); });
    rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t* rk, int err, const char* reason, void* op) {
        on_error(rk, err, reason, op);
    });

    char errstr[512];
    SignalBlock block;
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof errstr);
    if (rk_ == nullptr) throw std::runtime_error(std::string("could not create Kafka producer: ") + errstr);
    conf.handed_over();
}

Producer::~Producer() {
    // Messages still queued point at Message structs their owner is about to
    // free: purge them; their reports are never served (no poll after this).
    if (rk_ && in_flight_ > 0) rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
    if (rk_) rd_kafka_destroy(rk_);
}

rd_kafka_topic_t* Producer::topic_handle(const std::string& name) {
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second;
    // A copy of the default topic conf keeps the topic-level properties set
    // globally (message.timeout.ms, acks…); a fresh one would drop them.
    rd_kafka_topic_conf_t* tconf = rd_kafka_default_topic_conf_dup(rk_);
    rd_kafka_topic_conf_set_partitioner_cb(tconf, partition_message);
    rd_kafka_topic_conf_set_opaque(tconf, reinterpret_cast<void*>(static_cast<intptr_t>(partitioner_)));
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, name.c_str(), tconf);
    if (rkt == nullptr)
        throw std::runtime_error("could not create topic handle " + name + ": " +
                                 rd_kafka_err2str(rd_kafka_last_error()));
    topics_.emplace(name, rkt);
    return rkt;
}

bool Producer::produce(Message& m, std::chrono::steady_clock::time_point give_up) {
    rd_kafka_topic_t* rkt = topic_handle(m.topic);
    // The producev macros cast their arguments without parentheses.
    void* value = m.value ? const_cast<char*>(m.value->data()) : nullptr;
    size_t value_len = m.value ? m.value->size() : 0;
    void* key = const_cast<char*>(m.key.data());
    size_t key_len = m.key.size();
    // A full queue drains as deliveries are acknowledged or time out; while
    // the broker is unreachable nothing times out (see abandon_in_flight), so
    // the wait is bounded by the caller's deadline (one for a whole batch):
    // the caller must get control back (SIGTERM, outages).
    for (;;) {
        rd_kafka_headers_t* headers = rd_kafka_headers_new(m.headers.size());
        for (const auto& [k, v] : m.headers)
            rd_kafka_header_add(headers, k.data(), k.size(), v.data(), v.size());
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk_, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(value, value_len),
            RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&m), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            in_flight_++;
            return true;
        }
        rd_kafka_headers_destroy(headers);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && std::chrono::steady_clock::now() < give_up) {
            rd_kafka_poll(rk_, 10);
            continue;
        }
        m.status = Message::Status::Failed;
        m.error_class = std::string("Kafka::") + rd_kafka_err2name(err);
        m.error_message = rd_kafka_err2str(err);
        return false;
    }
}

void Producer::poll(int timeout_ms) { rd_kafka_poll(rk_, timeout_ms); }

void Producer::abandon_in_flight() {
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    abandoning_ = true;
    for (int i = 0; i < 1000 && in_flight_ > 0; i++) rd_kafka_poll(rk_, 10);
    abandoning_ = false;
}

void Producer::on_delivery(rd_kafka_s*, const void* rkmessage, void* opaque) noexcept {
    auto* self = static_cast<Producer*>(opaque);
    const auto* msg = static_cast<const rd_kafka_message_t*>(rkmessage);
    auto* m = static_cast<Message*>(msg->_private);
    if (self->in_flight_ > 0) self->in_flight_--;
    if (m == nullptr) return;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        m->status = Message::Status::Delivered;
        return;
    }
    // The status first: whatever happens to the texts, the batch completes.
    m->status = Message::Status::Failed;
    try {
        if (self->abandoning_) {
            m->error_class = "Kafka::MSG_TIMED_OUT";
            m->error_message = "not acknowledged within message.timeout.ms (" +
                               std::to_string(self->message_timeout_ms_) + " ms)";
        } else {
            // A timed-out message may have been persisted: it is sent again later
            // (at-least-once), which the idempotent producer keeps in order.
            m->error_class = std::string("Kafka::") + rd_kafka_err2name(msg->err);
            m->error_message = rd_kafka_err2str(msg->err);
        }
    } catch (...) {
    }
}

// librdkafka's threads call these through C frames (LogBuffer's adders throw nothing).
void Producer::on_log(const rd_kafka_s* rk, int level, const char* fac, const char* buf) noexcept {
    if (auto* self = static_cast<Producer*>(rd_kafka_opaque(rk))) self->logs_.log(level, fac, buf);
}

void Producer::on_error(rd_kafka_s*, int err, const char* reason, void* opaque) noexcept {
    static_cast<Producer*>(opaque)->logs_.error(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

std::vector<std::string> Producer::take_logs() { return logs_.take(); }

}  // namespace dionysus::kafka
