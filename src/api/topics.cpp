// dionysus.declare_topic and dionysus.drop_topic (README "declare_topic",
// "unpublish and drop_topic"). Names are checked by pure C++
// (wire/naming.hpp) against Kafka's rules before anything is written.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/arguments.hpp"
#include "api/capture_triggers.hpp"
#include "api/pending_events.hpp"
#include "catalog/declarations.hpp"
#include "catalog/relations.hpp"
#include "wire/naming.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/errcodes.h"
}

#include <string>
#include <vector>

using namespace dionysus;
using pg::Error;
using pg::Value;

DIONYSUS_PG_FUNCTION(dionysus_declare_topic) {
    std::string ns = api::text_arg(fcinfo, 0, "namespace");
    std::string name = api::text_arg(fcinfo, 1, "name");
    Value partition_key = api::optional_text_arg(fcinfo, 2);
    bool genesis_replica = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);

    if (auto problem = naming::namespace_or_name_problem(ns, "namespace"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid namespace: " + *problem);
    if (auto problem = naming::namespace_or_name_problem(name, "topic name"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic name: " + *problem);
    std::string full = naming::topic_name(ns, name);
    if (auto problem = naming::topic_name_problem(genesis_replica ? full + "_genesis" : full))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic: " + *problem);
    if (partition_key && partition_key->empty())
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "partition_key must not be empty",
                    "Pass NULL to use dionysus.default_partition_key.");

    pg::SpiConnection spi;
    if (pg::query_value("SELECT 1 FROM " + catalog::topics_table() + " WHERE name = $1", {full}))
        throw Error(ERRCODE_DUPLICATE_OBJECT, "topic \"" + full + "\" is already declared");
    pg::execute(
        "INSERT INTO " + catalog::topics_table() + " (name, namespace, topic, partition_key, genesis_replica) "
        "VALUES ($1, $2, $3, $4, $5::pg_catalog.bool)",
        {full, ns, name, partition_key, std::string(genesis_replica ? "true" : "false")});
    catalog::declarations_changed();
    return pg::guard([&] { return PointerGetDatum(cstring_to_text(full.c_str())); });
}

DIONYSUS_PG_FUNCTION(dionysus_drop_topic) {
    std::string topic = api::text_arg(fcinfo, 0, "name");
    const bool discard_pending = api::bool_arg(fcinfo, 1, "discard_pending");
    pg::SpiConnection spi;
    catalog::require_topic(topic);
    auto models = pg::query(
        "SELECT dependency::pg_catalog.oid::text FROM dionysus.dependencies WHERE topic = $1 "
        "UNION SELECT observed::pg_catalog.oid::text FROM dionysus.observers WHERE topic = $1 "
        "UNION SELECT model::pg_catalog.oid::text FROM " + catalog::models_table() + " WHERE topic = $1",
        {topic});
    std::vector<Oid> tables;
    for (const auto& row : models) tables.push_back(static_cast<Oid>(std::stoul(*row[0])));
    api::settle_pending(topic, std::nullopt, discard_pending, tables);
    pg::execute("DELETE FROM " + catalog::models_table() + " WHERE topic = $1", {topic});
    pg::execute("DELETE FROM " + catalog::topics_table() + " WHERE name = $1", {topic});
    for (const auto& row : models) api::remove_capture_if_unused(static_cast<Oid>(std::stoul(*row[0])));
    catalog::declarations_changed();
    PG_RETURN_VOID();
}
