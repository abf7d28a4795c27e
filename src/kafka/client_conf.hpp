// A librdkafka configuration being built, shared by the producer and the
// consumer: bootstrap servers (dionysus.brokers' ';' read as ','),
// client.id, then the caller's properties; a property librdkafka refuses
// throws std::runtime_error naming it. Destroyed unless handed over.
#pragma once

#include <string>

struct rd_kafka_conf_s;

namespace dionysus::kafka {

class ClientConf {
public:
    ClientConf(const std::string& brokers, const std::string& client_id);
    ~ClientConf();
    ClientConf(const ClientConf&) = delete;
    ClientConf& operator=(const ClientConf&) = delete;

    void set(const std::string& key, const std::string& value);
    rd_kafka_conf_s* get() { return conf_; }
    // After rd_kafka_new succeeded with get(): it owns the configuration now.
    void handed_over() { conf_ = nullptr; }

private:
    rd_kafka_conf_s* conf_;
};

}  // namespace dionysus::kafka
