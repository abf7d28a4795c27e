// dionysus.publish and dionysus.unpublish (README "publish", "unpublish
// and drop_topic"): a table becomes a model on a topic, with the
// dependencies whose changes republish it, found through foreign keys.
// Catalog reads and writes go through guarded SPI with text parameters.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/arguments.hpp"
#include "api/capture_triggers.hpp"
#include "api/pending_events.hpp"
#include "catalog/declarations.hpp"
#include "catalog/foreign_keys.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "extension/guc.hpp"
#include "wire/naming.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <string>
#include <utility>
#include <vector>

using namespace dionysus;
using catalog::DependencyKind;
using catalog::PartitionKeyKind;
using pg::Error;
using pg::Value;

namespace {

std::string oid_text(Oid oid) { return std::to_string(oid); }

// Resolves a partition key for a table: a column, else a function f(row) -> text.
// Returns {kind, resolved column or function}.
std::pair<PartitionKeyKind, std::string> resolve_partition_key(Oid relid, const std::string& table,
                                                          const Value& declared) {
    if (!declared) {
        std::string fallback = dionysus_default_partition_key ? dionysus_default_partition_key : "";
        if (!fallback.empty() && catalog::has_column(relid, fallback)) return {PartitionKeyKind::Column, fallback};
        return {PartitionKeyKind::None, ""};
    }
    if (catalog::has_column(relid, *declared)) return {PartitionKeyKind::Column, *declared};
    // A function taking the table's row type and returning text; its name
    // is the caller's, resolved with the caller's search_path.
    auto named = pg::query_value_as_caller("SELECT pg_catalog.to_regproc($1)::pg_catalog.oid::pg_catalog.text",
                                           {*declared});
    auto fn = named ? pg::query_value(
                          "SELECT p.oid::pg_catalog.text FROM pg_catalog.pg_proc p "
                          "JOIN pg_catalog.pg_class c ON c.oid = $2::pg_catalog.oid "
                          "WHERE p.oid = $1::pg_catalog.oid AND p.pronargs = 1 "
                          "AND p.proargtypes[0] = c.reltype AND p.prorettype = 'pg_catalog.text'::pg_catalog.regtype",
                          {named, oid_text(relid)})
                    : Value();
    if (fn) {
        const Oid function = static_cast<Oid>(std::stoul(*fn));
        catalog::require_owned_by_table_owner(function, relid, table, "partition key function");
        return {PartitionKeyKind::Function, catalog::qualified_function(function)};
    }
    throw Error(ERRCODE_UNDEFINED_COLUMN,
                "partition key \"" + *declared + "\" is neither a column of table " + table +
                    " nor a function " + *declared + "(" + table + ") returning text");
}

struct DependencyPath {
    DependencyKind kind;
    std::string column;  // the foreign-key column
    std::string relation;
};

// How a change of `dependency` reaches rows of `model`: the dependency
// references the model (has_many), or the model references the dependency
// (has_one). Exactly one foreign key must say it.
DependencyPath dependency_path(Oid model, const std::string& model_table, Oid dependency,
                               const std::string& dependency_table) {
    auto many = catalog::foreign_keys(dependency, model);
    auto one = catalog::foreign_keys(model, dependency);
    if (many.size() + one.size() == 0)
        throw Error(ERRCODE_INVALID_FOREIGN_KEY,
                    "dependency " + dependency_table + " has no foreign-key path to model " + model_table,
                    "A dependency either references the model's primary key (has_many) or is "
                    "referenced by a column of the model (has_one), through a single-column foreign key.");
    if (many.size() + one.size() > 1)
        throw Error(ERRCODE_INVALID_FOREIGN_KEY,
                    "dependency " + dependency_table + " has several foreign-key paths to model " +
                        model_table,
                    "Only one single-column foreign key may link a dependency and its model.");
    if (!many.empty()) {
        catalog::check_key_types(dependency, many[0], model, dependency_table, model_table);
        return {DependencyKind::HasMany, many[0], catalog::relation_name(dependency)};
    }
    catalog::check_key_types(model, one[0], dependency, model_table, dependency_table);
    return {DependencyKind::HasOne, one[0], naming::link_name(one[0])};
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_publish) {
    std::string topic = api::text_arg(fcinfo, 0, "topic");
    Oid relid = api::regclass_arg(fcinfo, 1, "model");
    Value model_name = api::optional_text_arg(fcinfo, 2);
    std::vector<Oid> dependencies = api::regclass_array_arg(fcinfo, 3, "dependencies");
    bool after_soft_delete = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);

    pg::SpiConnection spi;
    catalog::require_topic(topic);
    std::string table = catalog::table_name(relid);
    catalog::require_capturable(relid, table);
    std::string primary_key = catalog::single_column_primary_key(relid, table);
    catalog::require_stable_key_text(relid, primary_key, table);
    std::string name = model_name ? *model_name : naming::model_name_for_table(catalog::relation_name(relid));
    if (name.empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "model_name must not be empty");

    if (pg::query_value("SELECT 1 FROM " + catalog::models_table() + " WHERE topic = $1 AND model = "
                         "$2::pg_catalog.oid",
                         {topic, oid_text(relid)}))
        throw Error(ERRCODE_DUPLICATE_OBJECT,
                    "table " + table + " is already published on topic \"" + topic + "\"");
    if (pg::query_value("SELECT 1 FROM " + catalog::models_table() + " WHERE topic = $1 AND model_name = $2",
                         {topic, name}))
        throw Error(ERRCODE_DUPLICATE_OBJECT,
                    "model name \"" + name + "\" is already used on topic \"" + topic + "\"");

    // Every dependency is checked before anything is written.
    std::vector<DependencyPath> paths;
    for (size_t i = 0; i < dependencies.size(); i++) {
        Oid dep = dependencies[i];
        std::string dep_table = catalog::table_name(dep);
        catalog::require_capturable(dep, dep_table);
        if (dep == relid)
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "table " + table + " cannot be a dependency of itself");
        for (size_t j = 0; j < i; j++)
            if (dependencies[j] == dep)
                throw Error(ERRCODE_DUPLICATE_OBJECT,
                            "dependency " + dep_table + " is listed more than once");
        catalog::require_stable_key_text(dep, catalog::single_column_primary_key(dep, dep_table), dep_table);
        paths.push_back(dependency_path(relid, table, dep, dep_table));
    }

    Value declared_key = pg::query_value(
        "SELECT partition_key FROM " + catalog::topics_table() + " WHERE name = $1", {topic});
    auto [key_kind, key] = resolve_partition_key(relid, table, declared_key);

    Value soft_delete;
    if (dionysus_soft_delete_column && *dionysus_soft_delete_column &&
        catalog::has_column(relid, dionysus_soft_delete_column))
        soft_delete = std::string(dionysus_soft_delete_column);

    const char* stored_kind = catalog::stored(key_kind);
    pg::execute(
        "INSERT INTO " + catalog::models_table() + " (topic, model, model_name, primary_key, partition_key, "
        "partition_key_kind, soft_delete_column, publish_updates_after_soft_delete) "
        "VALUES ($1, $2::pg_catalog.oid, $3, $4, $5, $6::\"char\", $7, $8::pg_catalog.bool)",
        {topic, oid_text(relid), name, primary_key, stored_kind ? Value(key) : Value(),
         stored_kind ? Value(stored_kind) : Value(), soft_delete, std::string(after_soft_delete ? "true" : "false")});
    for (size_t i = 0; i < dependencies.size(); i++) {
        pg::execute(
            "INSERT INTO dionysus.dependencies (topic, model, dependency, position, kind, \"column\", "
            "relation) VALUES ($1, $2::pg_catalog.oid, $3::pg_catalog.oid, $4::pg_catalog.int4, "
            "$5::\"char\", $6, $7)",
            {topic, oid_text(relid), oid_text(dependencies[i]), std::to_string(i + 1),
             std::string(catalog::stored(paths[i].kind)), paths[i].column, paths[i].relation});
        api::install_capture(dependencies[i]);
    }
    api::install_capture(relid);
    catalog::declarations_changed();
    PG_RETURN_VOID();
}

DIONYSUS_PG_FUNCTION(dionysus_unpublish) {
    std::string topic = api::text_arg(fcinfo, 0, "topic");
    Oid relid = api::regclass_arg(fcinfo, 1, "model");
    const bool discard_pending = api::bool_arg(fcinfo, 2, "discard_pending");
    pg::SpiConnection spi;
    catalog::require_topic(topic);
    auto model_name = pg::query_value(
        "SELECT model_name FROM " + catalog::models_table() + " WHERE topic = $1 AND model = $2::pg_catalog.oid", {topic, oid_text(relid)});
    if (!model_name)
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "table " + catalog::table_name(relid) + " is not published on topic \"" + topic + "\"");
    // Its dependency and observer rows go with it (foreign keys ON DELETE CASCADE).
    auto dependencies = pg::query(
        "SELECT dependency::pg_catalog.oid::text FROM dionysus.dependencies WHERE topic = $1 "
        "AND model = $2::pg_catalog.oid "
        "UNION SELECT observed::pg_catalog.oid::text FROM dionysus.observers WHERE topic = $1 "
        "AND model = $2::pg_catalog.oid",
        {topic, oid_text(relid)});
    // Events can only be rendered while the model is declared: nothing pending is dropped unasked.
    std::vector<Oid> tables{relid};
    for (const auto& row : dependencies) tables.push_back(static_cast<Oid>(std::stoul(*row[0])));
    api::settle_pending(topic, model_name, discard_pending, tables);
    pg::execute("DELETE FROM " + catalog::models_table() + " WHERE topic = $1 AND model = $2::pg_catalog.oid", {topic, oid_text(relid)});
    api::remove_capture_if_unused(relid);
    for (const auto& row : dependencies) api::remove_capture_if_unused(static_cast<Oid>(std::stoul(*row[0])));
    catalog::declarations_changed();
    PG_RETURN_VOID();
}
