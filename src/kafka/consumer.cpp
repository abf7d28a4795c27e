#include "kafka/consumer.hpp"
#include "kafka/client_conf.hpp"
#include "kafka/properties.hpp"
#include "kafka/thread_signals.hpp"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

static_assert(kOffsetFromGroup == RD_KAFKA_OFFSET_STORED, "kOffsetFromGroup is librdkafka's stored offset");

namespace {

// rd_kafka_topic_partition_list_t, freed with its scope.
struct PartitionList {
    explicit PartitionList(int size) : list(rd_kafka_topic_partition_list_new(size)) {}
    ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
    PartitionList(const PartitionList&) = delete;
    PartitionList& operator=(const PartitionList&) = delete;
    rd_kafka_topic_partition_list_t* list;
};

void fill(PartitionList& l, const std::vector<PartitionOffset>& partitions) {
    for (const auto& p : partitions)
        rd_kafka_topic_partition_list_add(l.list, p.topic.c_str(), p.partition)->offset = p.offset;
}

}  // namespace

Consumer::Consumer(const ConsumerConfig& config) {
    ClientConf conf(config.brokers, config.client_id);
    conf.set("group.id", config.group_id);
    // Offsets live in Postgres (committed with the changes); Kafka gets a
    // copy for monitoring tools, from commit_async only.
    conf.set("enable.auto.commit", "false");
    conf.set("enable.auto.offset.store", "false");
    // A partition neither Postgres nor the group has an offset for is read
    // from its start (Karafka's default initial offset).
    conf.set("auto.offset.reset", "earliest");
    // Latency: a fetch returns as soon as one message is there.
    conf.set("fetch.wait.max.ms", "10");
    conf.set("socket.nagle.disable", "true");
    // The publisher's messages may be up to 16 MiB (a large aggregate).
    conf.set("fetch.message.max.bytes", "16777216");
    // Whatever a read_committed producer aborted is not applied.
    conf.set("isolation.level", "read_committed");
    for (const auto& [k, v] : parse_properties(config.properties)) {
        // The settings the exactly-once effect rests on are ours.
        if (k == "enable.auto.commit" || k == "enable.auto.offset.store" || k == "isolation.level" ||
            k == "auto.offset.reset")
            continue;
        conf.set(k, v);
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_log_cb(conf.get(), [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        on_log(rk, level, fac, buf);
    });
    rd_kafka_conf_set_error_cb(conf.get(), [](rd_kafka_t* rk, int err, const char* reason, void* op) {
        on_error(rk, err, reason, op);
    });
    char errstr[512];
    SignalBlock block;
    rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof errstr);
    if (rk_ == nullptr) throw std::runtime_error(std::string("could not create Kafka consumer: ") + errstr);
    conf.handed_over();
    // Messages of every assigned partition come through rd_kafka_consumer_poll.
    rd_kafka_poll_set_consumer(rk_);
}

Consumer::~Consumer() {
    if (rk_ == nullptr) return;
    // No group membership to leave (partitions are assigned explicitly).
    rd_kafka_assign(rk_, nullptr);
    rd_kafka_destroy(rk_);
}

std::map<std::string, int> Consumer::partition_counts(const std::vector<std::string>& topics, int timeout_ms) {
    std::map<std::string, int> out;
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 1, nullptr, &md, timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string("could not read the brokers' metadata: ") + rd_kafka_err2str(err));
    for (int i = 0; i < md->topic_cnt; i++) {
        const auto& t = md->topics[i];
        if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR || t.partition_cnt <= 0) continue;
        for (const auto& name : topics)
            if (name == t.topic) out[name] = t.partition_cnt;
    }
    rd_kafka_metadata_destroy(md);
    return out;
}

void Consumer::assign(const std::vector<PartitionOffset>& partitions) {
    PartitionList l(static_cast<int>(partitions.size()));
    fill(l, partitions);
    rd_kafka_resp_err_t err = rd_kafka_assign(rk_, partitions.empty() ? nullptr : l.list);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(std::string("could not assign partitions: ") + rd_kafka_err2str(err));
}

std::vector<ReceivedMessage> Consumer::poll_batch(size_t max, int timeout_ms) {
    std::vector<ReceivedMessage> out;
    int wait = timeout_ms;
    while (out.size() < max) {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait);
        if (m == nullptr) break;
        wait = 0;
        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                std::string where = m->rkt ? std::string(rd_kafka_topic_name(m->rkt)) : std::string();
                logs_.add("consumer error " + std::string(rd_kafka_err2name(m->err)) +
                        (where.empty() ? "" : " on " + where) + ": " + rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        ReceivedMessage r;
        r.topic = rd_kafka_topic_name(m->rkt);
        r.partition = m->partition;
        r.offset = m->offset;
        if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
        if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
        rd_kafka_timestamp_type_t type;
        r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
        rd_kafka_message_destroy(m);
        out.push_back(std::move(r));
    }
    if (!out.empty()) brokers_down_ = false;
    return out;
}

void Consumer::commit_async(const std::vector<PartitionOffset>& offsets) {
    if (offsets.empty()) return;
    PartitionList l(static_cast<int>(offsets.size()));
    fill(l, offsets);
    (void)rd_kafka_commit(rk_, l.list, 1);  // a failure only delays what monitoring tools see
}

std::optional<int64_t> Consumer::high_watermark(const std::string& topic, int32_t partition) {
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(rk_, topic.c_str(), partition, &low, &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
        return std::nullopt;
    return high;
}

std::optional<int64_t> Consumer::query_high_watermark(const std::string& topic, int32_t partition, int timeout_ms) {
    int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &low, &high, timeout_ms) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0)
        return std::nullopt;
    return high;
}

bool Consumer::brokers_reachable() const { return !brokers_down_; }

// librdkafka's threads call these through C frames (LogBuffer's adders throw nothing).
void Consumer::on_log(const rd_kafka_s* rk, int level, const char* fac, const char* buf) noexcept {
    if (auto* self = static_cast<Consumer*>(rd_kafka_opaque(rk))) self->logs_.log(level, fac, buf);
}

void Consumer::on_error(rd_kafka_s*, int err, const char* reason, void* opaque) noexcept {
    auto* self = static_cast<Consumer*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->brokers_down_ = true;
    self->logs_.error(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), reason);
}

std::vector<std::string> Consumer::take_logs() { return logs_.take(); }

}  // namespace dionysus::kafka
