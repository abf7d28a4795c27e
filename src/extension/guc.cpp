#include "pg/boundary.hpp"
#include "extension/guc.hpp"
#include "crypto/changeset_cipher.hpp"
#include "wire/partitioning.hpp"

extern "C" {
#include "utils/guc.h"
}

#include <openssl/crypto.h>

char* dionysus_database = nullptr;
char* dionysus_brokers = nullptr;
char* dionysus_kafka_properties = nullptr;
char* dionysus_client_id = nullptr;
int dionysus_batch_size = 100;
int dionysus_poll_interval_ms = 200;
int dionysus_publishing_delay_ms = 0;
int dionysus_max_retry_interval_s = 120;
int dionysus_max_attempts = 10;
int dionysus_observers_inline_maximum_size = 1000;
bool dionysus_remove_consecutive_duplicates = false;
char* dionysus_soft_delete_column = nullptr;
char* dionysus_default_partition_key = nullptr;
char* dionysus_partitioner = nullptr;
bool dionysus_capture_enabled = true;
char* dionysus_fault_injection = nullptr;
char* dionysus_changeset_key = nullptr;
char* dionysus_changeset_previous_keys = nullptr;
int dionysus_workers = 1;
int dionysus_outbox_retention_s = 7 * 24 * 3600;
char* dionysus_statsd_address = nullptr;
char* dionysus_consumer_group_prefix = nullptr;
char* dionysus_consumer_schema = nullptr;
int dionysus_consumer_batch_size = 1000;
int dionysus_consumer_workers = 1;
int dionysus_consumer_notify = dionysus::kConsumerNotifyChanges;

namespace {

bool check_partitioner(char** newval, void**, GucSource) {
    if (*newval && dionysus::partitioning::parse(*newval)) return true;
    GUC_check_errdetail("Valid partitioners: random, consistent, consistent_random, murmur2, "
                        "murmur2_random, fnv1a, fnv1a_random.");
    return false;
}

// A key is a secret: never echoed back in an error (GUC_check_errmsg
// replaces the message that would quote the value), and never stored where
// every role can read it (ALTER ROLE/DATABASE … SET and a function's SET
// clause land in world-readable catalogs): postgresql.conf, ALTER SYSTEM,
// or a superuser's SET only.
bool key_source_allowed(const char* value, GucSource source) {
    if (!value || !*value) return true;
    if (source == PGC_S_TEST || source == PGC_S_DATABASE || source == PGC_S_USER || source == PGC_S_DATABASE_USER) {
        GUC_check_errmsg("changeset keys can only be set in postgresql.conf, ALTER SYSTEM or SET");
        GUC_check_errdetail("ALTER ROLE, ALTER DATABASE and function SET clauses store them where every role can "
                            "read them.");
        return false;
    }
    return true;
}

bool check_changeset_key(char** newval, void**, GucSource source) {
    if (!key_source_allowed(*newval, source)) return false;
    dionysus::crypto::Key key;
    const bool ok = !*newval || !**newval || dionysus::crypto::parse_key(*newval, &key);
    OPENSSL_cleanse(&key, sizeof key);
    if (ok) return true;
    GUC_check_errmsg("invalid value for parameter \"dionysus.changeset_key\" (not shown)");
    GUC_check_errdetail("A key is \"<id>:<64 hex digits>\" (32 random bytes), the id of [A-Za-z0-9_.-].");
    return false;
}

bool check_changeset_keys(char** newval, void**, GucSource source) {
    if (!key_source_allowed(*newval, source)) return false;
    dionysus::crypto::Key keys[dionysus::crypto::kMaxPreviousKeys + 1];
    int n = 0;
    const bool parsed = !*newval || dionysus::crypto::parse_keys(*newval, keys, dionysus::crypto::kMaxPreviousKeys + 1, &n);
    OPENSSL_cleanse(keys, sizeof keys);
    if (parsed && n <= dionysus::crypto::kMaxPreviousKeys) return true;
    GUC_check_errmsg("invalid value for parameter \"dionysus.changeset_previous_keys\" (not shown)");
    GUC_check_errdetail("At most %d keys \"<id>:<64 hex digits>\", separated by ';', ',' or spaces.",
                        dionysus::crypto::kMaxPreviousKeys);
    return false;
}

}  // namespace

namespace dionysus {

void define_gucs() {
    DefineCustomStringVariable("dionysus.database",
                               "Databases the publisher workers serve (comma-separated names).", nullptr,
                               &dionysus_database, "postgres", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.workers", "Publisher workers per database; topics are spread across them.",
                            nullptr, &dionysus_workers, 1, 1, 16, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.outbox_retention",
                            "Published outbox rows older than this are deleted by the worker (0: kept).", nullptr,
                            &dionysus_outbox_retention_s, 7 * 24 * 3600, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S,
                            nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.consumer_group_prefix",
                               "Middle part of the consumer group id <client_id>_<prefix>_<client_id> (dionysus-rb's).",
                               nullptr, &dionysus_consumer_group_prefix, "dionysus_consumer_group_for", PGC_SUSET, 0,
                               nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.consumer_schema",
                               "Schema where consumed models without a declared target find their table by convention.",
                               nullptr, &dionysus_consumer_schema, "public", PGC_SUSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.consumer_batch_size",
                            "Messages the consumer worker applies per transaction (at most).", nullptr,
                            &dionysus_consumer_batch_size, 1000, 1, 100000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.consumer_workers",
                            "Consumer workers per database; the consumed topics' partitions are spread across them.",
                            nullptr, &dionysus_consumer_workers, 1, 1, 16, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    static const config_enum_entry notify_options[] = {
        {"changes", dionysus::kConsumerNotifyChanges, false}, {"columns", dionysus::kConsumerNotifyColumns, false},
        {"off", dionysus::kConsumerNotifyOff, false},         {"on", dionysus::kConsumerNotifyChanges, true},
        {"true", dionysus::kConsumerNotifyChanges, true},     {"false", dionysus::kConsumerNotifyOff, true},
        {nullptr, 0, false}};
    DefineCustomEnumVariable("dionysus.consumer_notify",
                             "NOTIFY dionysus_consume for each row the consumer worker changes: with the changed "
                             "values (changes), the changed column names only (columns), or not (off).",
                             nullptr, &dionysus_consumer_notify, dionysus::kConsumerNotifyChanges, notify_options,
                             PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.statsd_address",
                               "host:port where the publisher sends StatsD/DogStatsD gauges over UDP (empty: none).",
                               nullptr, &dionysus_statsd_address, "", PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.brokers",
                               "Kafka bootstrap brokers (host:port, comma- or semicolon-separated).",
                               nullptr, &dionysus_brokers, "127.0.0.1:9092", PGC_SIGHUP, 0,
                               nullptr, nullptr, nullptr);
    DefineCustomStringVariable(
        "dionysus.kafka_properties",
        "Extra librdkafka properties, 'key=value' pairs separated by ';' (TLS, SASL, timeouts).",
        nullptr, &dionysus_kafka_properties, "", PGC_SIGHUP, GUC_SUPERUSER_ONLY, nullptr, nullptr,
        nullptr);
    // Secrets: superusers only, to set and to read, never listed by SHOW ALL.
    DefineCustomStringVariable(
        "dionysus.changeset_key",
        "Key that encrypts the changesets capture writes to the outbox, \"<id>:<64 hex digits>\" (empty: none).",
        nullptr, &dionysus_changeset_key, "", PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL, check_changeset_key,
        nullptr, nullptr);
    DefineCustomStringVariable(
        "dionysus.changeset_previous_keys",
        "Earlier changeset keys, still accepted by dionysus.decrypt_changeset (key rotation), ';'-separated.",
        nullptr, &dionysus_changeset_previous_keys, "", PGC_SUSET, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
        check_changeset_keys, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.observers_inline_maximum_size",
                            "Fan-outs (observed and has_one changes) to more rows than this are streamed: written "
                            "as one outbox row per target row instead of rendered in one batch.",
                            nullptr, &dionysus_observers_inline_maximum_size, 1000, 1, INT_MAX, PGC_SIGHUP, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("dionysus.remove_consecutive_duplicates",
                             "Consecutive outbox rows of a batch with the same key and event are published once "
                             "(dionysus-rb's remove_consecutive_duplicates_before_publishing).",
                             nullptr, &dionysus_remove_consecutive_duplicates, false, PGC_SIGHUP, 0, nullptr, nullptr,
                             nullptr);
    DefineCustomStringVariable("dionysus.client_id", "Kafka client.id of the workers.", nullptr,
                               &dionysus_client_id, "dionysus", PGC_SIGHUP, 0, nullptr, nullptr,
                               nullptr);
    DefineCustomIntVariable("dionysus.batch_size", "Outbox rows serialized and produced per batch.",
                            nullptr, &dionysus_batch_size, 100, 1, 100000, PGC_SIGHUP, 0, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("dionysus.poll_interval",
                            "Longest wait of the publisher when no commit wakes it.", nullptr,
                            &dionysus_poll_interval_ms, 200, 1, 3600 * 1000, PGC_SIGHUP,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    // dionysus-rb's backoff (5·2^attempts s) has no cap: after 10 failures a
    // row would wait 85 minutes. Two minutes keeps a recovered row moving.
    // Ten attempts span about a quarter of an hour with the default backoff
    // (10, 20, 40, 80, then 120 s each): a row failing that long needs a
    // person, and parking it lets the rows after it through.
    DefineCustomIntVariable("dionysus.max_attempts",
                            "Failed attempts after which an outbox row is parked (dionysus.parked).", nullptr,
                            &dionysus_max_attempts, 10, 1, 1000, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("dionysus.max_retry_interval",
                            "Longest wait before a failed outbox row is retried (cap of the backoff).", nullptr,
                            &dionysus_max_retry_interval_s, 120, 1, 24 * 3600, PGC_SIGHUP, GUC_UNIT_S, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("dionysus.publishing_delay",
                            "Publish outbox rows only once they are this old.", nullptr,
                            &dionysus_publishing_delay_ms, 0, 0, 24 * 3600 * 1000, PGC_SIGHUP,
                            GUC_UNIT_MS, nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.soft_delete_column",
                               "Column whose being set means a row is soft-deleted.", nullptr,
                               &dionysus_soft_delete_column, "canceled_at", PGC_SUSET, 0, nullptr,
                               nullptr, nullptr);
    DefineCustomStringVariable("dionysus.default_partition_key",
                               "Column used as partition key when a topic declares none.", nullptr,
                               &dionysus_default_partition_key, "account_id", PGC_SUSET, 0,
                               nullptr, nullptr, nullptr);
    DefineCustomStringVariable("dionysus.partitioner",
                               "librdkafka partitioner applied to the partition key.", nullptr,
                               &dionysus_partitioner, "consistent_random", PGC_SIGHUP, 0,
                               check_partitioner, nullptr, nullptr);
    // Superuser-only (PGC_SUSET): the writers capture audits must not switch
    // it off (SET, ALTER ROLE … SET, PGOPTIONS); a role may be given the
    // switch with GRANT SET ON PARAMETER dionysus.capture (README "Security model").
    DefineCustomBoolVariable("dionysus.capture",
                             "Write outbox rows for changes of published tables (off: suppress).",
                             nullptr, &dionysus_capture_enabled, true, PGC_SUSET, 0, nullptr, nullptr,
                             nullptr);
    // Test-only fault injection points (README "Tests"): hidden, and set only
    // in postgresql.conf / ALTER SYSTEM, i.e. by a superuser.
    DefineCustomStringVariable("dionysus.fault_injection",
                               "Test only: \"crash_rendering=<message key>\" makes the publisher crash "
                               "(SIGSEGV) when it renders that key.",
                               nullptr, &dionysus_fault_injection, "", PGC_SIGHUP,
                               GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("dionysus");
}

}  // namespace dionysus
