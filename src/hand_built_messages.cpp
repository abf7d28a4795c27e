// dionysus.enqueue and dionysus.tombstone: messages that bypass the
// serializers (dionysus-rb's "bypassing serializers"), written to the outbox
// in the caller's transaction and published by the worker with the same
// guarantees (order per topic, at least once, retries).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "capture_trigger.hpp"
#include "naming.hpp"
#include "sql_arguments.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <string>

using dionysus::pg::Error;
using dionysus::pg::Value;
namespace spi = dionysus::pg;

namespace {

int64_t insert_message(const std::string& topic, const std::string& resource_class,
                       const std::string& resource_id, const std::string& event_name,
                       const Value& partition_key, const std::string& key, const Value& message) {
    auto id = spi::query_value(
        "INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, partition_key, "
        "message_key, message) VALUES ($1, $2, $3, $4, $5, $6, $7::pg_catalog.jsonb) RETURNING id::text",
        {resource_class, resource_id, event_name, topic, partition_key, key, message});
    dionysus::note_outbox_write();
    return std::stoll(*id);
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_enqueue) {
    std::string topic = dionysus::nonempty_text_arg(fcinfo, 0, "topic");
    std::string key = dionysus::nonempty_text_arg(fcinfo, 1, "key");
    Value partition_key = dionysus::optional_text_arg(fcinfo, 2);
    Value message = dionysus::optional_jsonb_arg(fcinfo, 3);

    spi::SpiConnection spi;
    dionysus::require_topic(topic);
    std::string resource_class, event_name = "tombstone";
    if (message) {
        // The dionysus-rb envelope: {"message":[{"event":…,"model_name":…,"data":[…]}, …]}
        auto check = spi::query(
            "SELECT CASE WHEN pg_catalog.jsonb_typeof(m) OPERATOR(pg_catalog.<>) 'object' "
            "  OR pg_catalog.jsonb_typeof(m OPERATOR(pg_catalog.->) 'message') IS DISTINCT FROM 'array' "
            "  THEN 'message must be {\"message\":[…]}' "
            "WHEN pg_catalog.jsonb_array_length(m OPERATOR(pg_catalog.->) 'message') OPERATOR(pg_catalog.=) 0 "
            "  THEN '\"message\" must hold at least one event' "
            "WHEN EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(m OPERATOR(pg_catalog.->) 'message') e "
            "  WHERE pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'event') IS DISTINCT FROM 'string' "
            "  OR pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'model_name') IS DISTINCT FROM 'string' "
            "  OR pg_catalog.jsonb_typeof(e OPERATOR(pg_catalog.->) 'data') IS DISTINCT FROM 'array') "
            "  THEN 'every event needs \"event\" and \"model_name\" strings and a \"data\" array' END, "
            "m OPERATOR(pg_catalog.->) 'message' OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'event', "
            "m OPERATOR(pg_catalog.->) 'message' OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'model_name' "
            "FROM (SELECT $1::pg_catalog.jsonb AS m) x",
            {message});
        if (check[0][0])
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid message: " + *check[0][0],
                        "dionysus-rb's format: {\"message\":[{\"event\":\"rental_destroyed\","
                        "\"model_name\":\"Rental\",\"data\":[{\"id\":1}]}]}");
        event_name = *check[0][1];
        resource_class = *check[0][2];
    } else {
        resource_class = key.substr(0, key.find(':'));
    }
    size_t colon = key.find(':');
    std::string resource_id = colon == std::string::npos ? key : key.substr(colon + 1);
    int64_t id = insert_message(topic, resource_class, resource_id, event_name, partition_key, key, message);
    PG_RETURN_INT64(id);
}

DIONYSUS_PG_FUNCTION(dionysus_tombstone) {
    std::string topic = dionysus::nonempty_text_arg(fcinfo, 0, "topic");
    const Oid relid = dionysus::regclass_arg(fcinfo, 1, "model");
    std::string id = dionysus::nonempty_text_arg(fcinfo, 2, "id");
    Value key = dionysus::optional_text_arg(fcinfo, 3);
    Value partition_key = dionysus::optional_text_arg(fcinfo, 4);
    if (key && key->empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "key must not be empty");

    spi::SpiConnection spi;
    dionysus::require_topic(topic);
    auto model = spi::query(
        "SELECT m.model_name, COALESCE(m.partition_key_kind::text, ''), "
        "pg_catalog.format('SELECT %s FROM %s t WHERE t.%I = $1::pg_catalog.text::%s', "
        "  CASE m.partition_key_kind WHEN 'c' THEN pg_catalog.format('COALESCE((t.%I)::pg_catalog.text, ''0'')', m.partition_key) "
        "  WHEN 'f' THEN pg_catalog.format('COALESCE(%s(t), ''0'')', (SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) "
        "    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
        "    WHERE p.oid = m.partition_key::pg_catalog.regprocedure)) ELSE 'NULL' END, "
        "  m.model, m.primary_key, pg_catalog.format_type(a.atttypid, a.atttypmod)) "
        "FROM dionysus.models m JOIN pg_catalog.pg_attribute a ON a.attrelid = m.model AND a.attname = m.primary_key "
        "WHERE m.topic = $1 AND m.model = $2::pg_catalog.oid",
        {topic, std::to_string(relid)});
    if (model.empty())
        throw Error(ERRCODE_UNDEFINED_OBJECT, "table " +
                        *spi::query_value("SELECT $1::pg_catalog.oid::pg_catalog.regclass::text",
                                          {std::to_string(relid)}) +
                        " is not published on topic \"" + topic + "\"");
    const std::string model_name = *model[0][0];
    if (!partition_key && !model[0][1]->empty()) {
        // Same partition as the model's events, or compaction keeps them.
        auto rows = spi::query(*model[0][2], {id});
        if (rows.empty())
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        model_name + " " + id + " no longer exists: pass its partition_key",
                        "A tombstone must land in the partition of the key's earlier events.");
        partition_key = rows[0][0];
    }
    const std::string message_key = key ? *key : dionysus::naming::message_key(model_name, id);
    int64_t outbox_id = insert_message(topic, model_name, id, "tombstone", partition_key,
                                       message_key, std::nullopt);
    PG_RETURN_INT64(outbox_id);
}
