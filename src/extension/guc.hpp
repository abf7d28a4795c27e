// Configuration (GUCs) — see README "Configuration". Defined in _PG_init.
#pragma once

extern "C" {
extern char* dionysus_database;
extern char* dionysus_brokers;
extern char* dionysus_kafka_properties;
extern char* dionysus_client_id;
extern int dionysus_batch_size;
extern int dionysus_poll_interval_ms;
extern int dionysus_publishing_delay_ms;
extern int dionysus_max_retry_interval_s;
extern int dionysus_max_attempts;
extern int dionysus_observers_inline_maximum_size;
extern bool dionysus_remove_consecutive_duplicates;
extern char* dionysus_soft_delete_column;
extern char* dionysus_default_partition_key;
extern char* dionysus_partitioner;
extern bool dionysus_capture_enabled;
extern char* dionysus_fault_injection;
extern char* dionysus_changeset_key;
extern char* dionysus_changeset_previous_keys;
extern int dionysus_workers;
extern int dionysus_outbox_retention_s;
extern char* dionysus_statsd_address;
extern char* dionysus_consumer_group_prefix;
extern char* dionysus_consumer_schema;
extern int dionysus_consumer_batch_size;
extern int dionysus_consumer_workers;
extern int dionysus_consumer_notify;  // a kConsumerNotify* value
}

namespace dionysus {
void define_gucs();
// dionysus.consumer_notify
constexpr int kConsumerNotifyOff = 0, kConsumerNotifyColumns = 1, kConsumerNotifyChanges = 2;
}
