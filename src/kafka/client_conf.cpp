#include "kafka/client_conf.hpp"

#include <librdkafka/rdkafka.h>

#include <stdexcept>

#include "util/cpp_only_file.hpp"

namespace dionysus::kafka {

ClientConf::ClientConf(const std::string& brokers, const std::string& client_id) : conf_(rd_kafka_conf_new()) {
    std::string list = brokers;
    for (char& c : list)
        if (c == ';') c = ',';
    set("bootstrap.servers", list);
    set("client.id", client_id);
}

ClientConf::~ClientConf() {
    if (conf_) rd_kafka_conf_destroy(conf_);
}

void ClientConf::set(const std::string& key, const std::string& value) {
    char errstr[512];
    if (rd_kafka_conf_set(conf_, key.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        throw std::runtime_error("kafka property " + key + ": " + errstr);
}

}  // namespace dionysus::kafka
