// dionysus.enqueue and dionysus.tombstone: messages that bypass the
// serializers (dionysus-rb's "bypassing serializers"), written to the outbox
// in the caller's transaction and published by the worker with the same
// guarantees (order per topic, at least once, retries).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/user_context.hpp"
#include "capture/commit_wakeup.hpp"
#include "catalog/declarations.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "wire/partitioning.hpp"
#include "wire/naming.hpp"
#include "api/arguments.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <string>

using namespace dionysus;
using pg::Error;
using pg::Value;

namespace {

int64_t insert_message(const std::string& topic, const std::string& resource_class,
                       const std::string& resource_id, const std::string& event_name,
                       const Value& partition_key, const std::string& key, const Value& message) {
    auto id = pg::query_value(
        "INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, partition_key, "
        "message_key, message) VALUES ($1, $2, $3, $4, $5, $6, $7::pg_catalog.jsonb) RETURNING id::text",
        {resource_class, resource_id, event_name, topic, partition_key, key, message});
    capture::note_outbox_write();
    return std::stoll(*id);
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_enqueue) {
    std::string topic = api::nonempty_text_arg(fcinfo, 0, "topic");
    std::string key = api::nonempty_text_arg(fcinfo, 1, "key");
    Value partition_key = api::optional_text_arg(fcinfo, 2);
    Value message = api::optional_jsonb_arg(fcinfo, 3);

    pg::SpiConnection spi;
    catalog::require_topic(topic);
    std::string resource_class, event_name = "tombstone";
    if (message) {
        // The dionysus-rb envelope: {"message":[{"event":…,"model_name":…,"data":[…]}, …]}
        auto check = pg::query(
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
    std::string topic = api::nonempty_text_arg(fcinfo, 0, "topic");
    const Oid relid = api::regclass_arg(fcinfo, 1, "model");
    std::string id = api::nonempty_text_arg(fcinfo, 2, "id");
    Value key = api::optional_text_arg(fcinfo, 3);
    Value partition_key = api::optional_text_arg(fcinfo, 4);
    if (key && key->empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "key must not be empty");

    pg::SpiConnection spi;
    catalog::require_topic(topic);
    enum { kModelName, kKeyKind, kKey, kPrimaryKey };
    auto model = pg::query(
        "SELECT m.model_name, COALESCE(m.partition_key_kind::text, ''), m.partition_key, m.primary_key::text "
        "FROM " + catalog::models_table() + " m WHERE m.topic = $1 AND m.model = $2::pg_catalog.oid",
        {topic, std::to_string(relid)});
    if (model.empty())
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "table " + catalog::display_name(relid) + " is not published on topic \"" + topic + "\"");
    const auto& m = model[0];
    const std::string model_name = *m[kModelName];
    const auto key_kind = catalog::partition_key_kind(*m[kKeyKind]);
    if (!partition_key && key_kind != catalog::PartitionKeyKind::None) {
        // Same partition as the model's events, or compaction keeps them.
        // Read as the table's owner, as the publisher reads it (a query of
        // the table runs its owner's code), with no cast of the key's or
        // the partition key's type (a cast is its type owner's code): the
        // id is a typed parameter of the key's base type (no domain CHECK
        // runs), the key column relabeled to it, the partition key printed
        // by its output function.
        const bool column = key_kind == catalog::PartitionKeyKind::Column;
        const auto type = catalog::column_base_type(relid, *m[kPrimaryKey]);
        const std::string sql = *pg::query_value(
            "SELECT pg_catalog.format('SELECT %s FROM %s t WHERE t.%I%s %s $1', "
            "CASE WHEN $5::pg_catalog.bool THEN pg_catalog.format('t.%I', $1) "
            "ELSE $1 OPERATOR(pg_catalog.||) '(t)' END, $2::pg_catalog.oid::pg_catalog.regclass, $3, "
            "$6, $4)",
            {column ? *m[kKey] : catalog::function_call_name(*m[kKey]), std::to_string(relid), *m[kPrimaryKey],
             catalog::equality_operator(type.base), std::string(column ? "true" : "false"), type.relabel});
        // a partition-key function runs as the table's owner: it must be theirs (given away since publish?)
        if (!column)
            catalog::require_owned_by_table_owner(
                static_cast<Oid>(std::stoul(*pg::query_value("SELECT $1::pg_catalog.regprocedure::pg_catalog.oid::pg_catalog.text",
                                                             {*m[kKey]}))),
                relid, catalog::display_name(relid), "partition key function");
        auto rows = pg::as_user(catalog::relation_owner(relid), [&] { return pg::query_cached(sql, {id}, {type.base}); });
        if (rows.empty())
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        model_name + " " + id + " no longer exists: pass its partition_key",
                        "A tombstone must land in the partition of the key's earlier events.");
        const auto value = rows[0][0];
        partition_key = std::string(partitioning::partition_key_text(
            value ? std::optional<std::string_view>(*value) : std::nullopt));
    }
    const std::string message_key = key ? *key : naming::message_key(model_name, id);
    int64_t outbox_id = insert_message(topic, model_name, id, "tombstone", partition_key,
                                       message_key, std::nullopt);
    PG_RETURN_INT64(outbox_id);
}
