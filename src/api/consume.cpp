// The consumer's declarations (README "Consumer"): dionysus.consume,
// dionysus.consume_model, dionysus.consumer_target and
// dionysus.consumer_group_id. They write the catalog tables
// dionysus.consumed_topics and dionysus.consumed_models (dumped with the
// database); the consumer worker reads them.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/arguments.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "extension/guc.hpp"
#include "wire/naming.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/errcodes.h"
}

#include <set>
#include <string>

using namespace dionysus;
using pg::Error;
using pg::Value;

namespace {

// Retries are immediate (in the same transaction): more than this only
// holds the topic back.
constexpr int32 kMaxRetries = 100;

std::string oid_text(Oid oid) { return std::to_string(oid); }

Datum text_datum(const std::string& s) {
    return pg::guard([&] { return PointerGetDatum(cstring_to_text(s.c_str())); });
}

}  // namespace

// consume(namespace, topic, import, dedupe, dead_letter_topic, max_retries) -> the Kafka topic
DIONYSUS_PG_FUNCTION(dionysus_consume) {
    const std::string ns = api::text_arg(fcinfo, 0, "namespace");
    const std::string topic = api::text_arg(fcinfo, 1, "topic");
    const bool import = api::bool_arg(fcinfo, 2, "import");
    const bool dedupe = api::bool_arg(fcinfo, 3, "dedupe");
    const Value dead_letter_topic = api::optional_text_arg(fcinfo, 4);
    if (PG_ARGISNULL(5)) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "max_retries must not be NULL");
    const int32 max_retries = PG_GETARG_INT32(5);

    if (auto problem = naming::namespace_or_name_problem(ns, "namespace"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid namespace: " + *problem);
    if (auto problem = naming::namespace_or_name_problem(topic, "topic name"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic name: " + *problem);
    const std::string full = naming::topic_name(ns, topic);
    if (auto problem = naming::topic_name_problem(full))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic: " + *problem);
    if (max_retries < 0 || max_retries > kMaxRetries)
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                    "max_retries must be between 0 and " + std::to_string(kMaxRetries),
                    "0 sends a failing message to the dead-letter topic at its first failure.");
    if (dead_letter_topic) {
        if (auto problem = naming::topic_name_problem(*dead_letter_topic))
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid dead_letter_topic: " + *problem);
        if (*dead_letter_topic == full)
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "dead_letter_topic must not be the consumed topic");
    }

    pg::SpiConnection spi;
    if (pg::query_value("SELECT 1 FROM dionysus.consumed_topics WHERE name = $1", {full}))
        throw Error(ERRCODE_DUPLICATE_OBJECT, "topic \"" + full + "\" is already consumed");
    pg::execute("INSERT INTO dionysus.consumed_topics (name, namespace, topic, import, dedupe, dead_letter_topic, "
                "max_retries) VALUES ($1, $2, $3, $4::pg_catalog.bool, $5::pg_catalog.bool, $6, $7::pg_catalog.int4)",
                {full, ns, topic, std::string(import ? "true" : "false"), std::string(dedupe ? "true" : "false"),
                 dead_letter_topic, std::to_string(max_retries)});
    return text_datum(full);
}

// consume_model(model_name, target, mapping, soft_delete_strategy, remove_unlisted, destroy_with_parent)
DIONYSUS_PG_FUNCTION(dionysus_consume_model) {
    const std::string model_name = api::nonempty_text_arg(fcinfo, 0, "model_name");
    const Oid target = api::regclass_arg(fcinfo, 1, "target");
    const Value mapping = api::optional_jsonb_arg(fcinfo, 2);
    const Value strategy = api::optional_text_arg(fcinfo, 3);
    const bool remove_unlisted = api::bool_arg(fcinfo, 4, "remove_unlisted");
    const bool destroy_with_parent = api::bool_arg(fcinfo, 5, "destroy_with_parent");

    pg::SpiConnection spi;
    const std::string table = catalog::table_name(target);
    if (!catalog::has_column(target, "synced_id"))
        throw Error(ERRCODE_UNDEFINED_COLUMN, "table " + table + " has no column synced_id",
                    "A target keeps the remote id in synced_id (dionysus-rb's synchronizable models).");
    if (mapping) {
        if (pg::query_value("SELECT pg_catalog.jsonb_typeof($1::pg_catalog.jsonb)", {mapping}).value_or("") != "object")
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "mapping must be a JSON object",
                        "It maps local column names to remote attribute names: '{\"name\": \"title\"}'.");
        for (const auto& row : pg::query("SELECT e.key, pg_catalog.jsonb_typeof(e.value) "
                                         "FROM pg_catalog.jsonb_each($1::pg_catalog.jsonb) e ORDER BY e.key",
                                         {mapping})) {
            const std::string& column = *row[0];
            if (*row[1] != "string")
                throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                            "mapping of column \"" + column + "\" must be a remote attribute name (a JSON string)");
            if (!catalog::has_column(target, column))
                throw Error(ERRCODE_UNDEFINED_COLUMN,
                            "mapping names column \"" + column + "\", which table " + table + " does not have");
        }
    }
    Value stored_strategy;
    if (strategy) {
        if (strategy->empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "soft_delete_strategy must not be empty");
        // A function of the caller's, found with the caller's search_path,
        // taking the target's row type (called with the local row a
        // _destroyed event removes, as the target's owner).
        const Value named = pg::query_value_as_caller(
            "SELECT pg_catalog.to_regproc($1)::pg_catalog.oid::pg_catalog.text", {*strategy});
        const Value fn = named ? pg::query_value("SELECT p.oid::pg_catalog.text FROM pg_catalog.pg_proc p "
                                                 "JOIN pg_catalog.pg_class c ON c.oid = $2::pg_catalog.oid "
                                                 "WHERE p.oid = $1::pg_catalog.oid AND p.pronargs = 1 "
                                                 "AND p.proargtypes[0] = c.reltype AND p.prokind = 'f'",
                                                 {named, oid_text(target)})
                               : Value();
        if (!fn)
            throw Error(ERRCODE_UNDEFINED_FUNCTION,
                        "soft_delete_strategy \"" + *strategy + "\" is not a function " + *strategy + "(" + table + ")",
                        "A soft-delete strategy is one function taking the target's row, called with the local row a "
                        "_destroyed event without canceled_at removes.");
        const Oid function = static_cast<Oid>(std::stoul(*fn));
        catalog::require_owned_by_table_owner(function, target, table, "soft_delete_strategy");
        stored_strategy = catalog::qualified_function(function);
    }
    if (pg::query_value("SELECT 1 FROM dionysus.consumed_models WHERE model_name = $1", {model_name}))
        throw Error(ERRCODE_DUPLICATE_OBJECT, "model \"" + model_name + "\" already has a target");
    pg::execute("INSERT INTO dionysus.consumed_models (model_name, target, mapping, soft_delete_strategy, "
                "remove_unlisted, destroy_with_parent) "
                "VALUES ($1, $2::pg_catalog.oid, $3::pg_catalog.jsonb, $4, $5::pg_catalog.bool, $6::pg_catalog.bool)",
                {model_name, oid_text(target), mapping, stored_strategy, std::string(remove_unlisted ? "true" : "false"),
                 std::string(destroy_with_parent ? "true" : "false")});
    PG_RETURN_VOID();
}

// consumer_target(model_name) -> where its records go: the consume_model
// target, else the table named by convention (Rental -> rentals) in
// dionysus.consumer_schema, else NULL (its records are skipped).
DIONYSUS_PG_FUNCTION(dionysus_consumer_target) {
    const std::string model_name = api::text_arg(fcinfo, 0, "model_name");
    pg::SpiConnection spi;
    Value oid = pg::query_value("SELECT target::pg_catalog.oid::pg_catalog.text FROM dionysus.consumed_models "
                                "WHERE model_name = $1", {model_name});
    if (!oid) {
        const std::string schema = dionysus_consumer_schema ? dionysus_consumer_schema : "public";
        oid = pg::query_value("SELECT c.oid::pg_catalog.text FROM pg_catalog.pg_class c "
                              "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                              "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                              {schema, naming::table_name_for_model(model_name)});
    }
    if (!oid) PG_RETURN_NULL();
    return ObjectIdGetDatum(static_cast<Oid>(std::stoul(*oid)));
}

// consumer_group_id() -> <client_id>_<consumer_group_prefix>_<client_id>,
// the group id dionysus-rb's README gives, so a migrated consumer keeps it.
DIONYSUS_PG_FUNCTION(dionysus_consumer_group_id) {
    const std::string client = dionysus_client_id ? dionysus_client_id : "";
    const std::string prefix = dionysus_consumer_group_prefix ? dionysus_consumer_group_prefix : "";
    return text_datum(client + "_" + prefix + "_" + client);
}
