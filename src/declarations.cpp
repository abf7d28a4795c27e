// SQL surface of the producer declarations: declare_topic, publish,
// unpublish, drop_topic. Validation lives in pure C++ (naming.hpp); catalog
// reads and writes go through guarded SPI with text parameters, and DDL text
// is produced by format('%I'/%s of regclass) so identifiers are always quoted.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "guc.hpp"
#include "naming.hpp"
#include "capture_trigger.hpp"
#include "catalog.hpp"
#include "foreign_keys.hpp"
#include "sql_arguments.hpp"

extern "C" {
#include "utils/array.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/errcodes.h"
#include "utils/lsyscache.h"
}

#include <string>
#include <vector>

using dionysus::pg::Error;
using dionysus::pg::Value;
using dionysus::optional_text_arg;
using dionysus::regclass_arg;
using dionysus::require_topic;
using dionysus::text_arg;
namespace spi = dionysus::pg;

namespace {

std::string oid_text(Oid oid) { return std::to_string(oid); }

// The table as regclass text, also checking it is a table we can publish.
std::string checked_table(Oid relid) {
    auto rows = spi::query(
        "SELECT c.oid::regclass::text, c.relkind::text FROM pg_catalog.pg_class c WHERE c.oid = "
        "$1::pg_catalog.oid",
        {oid_text(relid)});
    if (rows.empty())
        throw Error(ERRCODE_UNDEFINED_TABLE, "relation with OID " + oid_text(relid) + " does not exist");
    const std::string& kind = *rows[0][1];
    if (kind != "r" && kind != "p")
        throw Error(ERRCODE_WRONG_OBJECT_TYPE, "\"" + *rows[0][0] + "\" is not a table",
                    "Only ordinary and partitioned tables can be published.");
    return *rows[0][0];
}

bool has_column(Oid relid, const std::string& column) {
    return spi::query_value(
               "SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::pg_catalog.oid AND "
               "attname = $2 AND attnum > 0 AND NOT attisdropped",
               {oid_text(relid), column})
        .has_value();
}

const char* const kTriggers[][2] = {
    {"dionysus_capture_insert",
     "CREATE TRIGGER %I AFTER INSERT ON %s REFERENCING NEW TABLE AS dionysus_new "
     "FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
    {"dionysus_capture_update",
     "CREATE TRIGGER %I AFTER UPDATE ON %s REFERENCING OLD TABLE AS dionysus_old "
     "NEW TABLE AS dionysus_new FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
    {"dionysus_capture_delete",
     "CREATE TRIGGER %I AFTER DELETE ON %s REFERENCING OLD TABLE AS dionysus_old "
     "FOR EACH STATEMENT EXECUTE FUNCTION dionysus.capture()"},
};

void install_capture(Oid relid) {
    for (const auto& trig : kTriggers) {
        if (spi::query_value("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = "
                             "$1::pg_catalog.oid AND tgname = $2",
                             {oid_text(relid), std::string(trig[0])}))
            continue;
        auto ddl = spi::query_value(
            "SELECT pg_catalog.format($1, $2, $3::pg_catalog.oid::pg_catalog.regclass)",
            {std::string(trig[1]), std::string(trig[0]), oid_text(relid)});
        spi::execute(*ddl);
    }
}

void remove_capture_if_unused(Oid relid) {
    if (spi::query_value("SELECT 1 FROM dionysus.models WHERE model = $1::pg_catalog.oid "
                         "UNION ALL SELECT 1 FROM dionysus.dependencies WHERE dependency = "
                         "$1::pg_catalog.oid",
                         {oid_text(relid)}))
        return;
    // A table dropped since it was declared has no triggers left to drop.
    if (!spi::query_value("SELECT 1 FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
                          {oid_text(relid)}))
        return;
    for (const auto& trig : kTriggers) {
        auto ddl = spi::query_value(
            "SELECT pg_catalog.format('DROP TRIGGER IF EXISTS %I ON %s', $1, "
            "$2::pg_catalog.oid::pg_catalog.regclass)",
            {std::string(trig[0]), oid_text(relid)});
        spi::execute(*ddl);
    }
}

// Resolves a partition key for a table: a column, else a function f(row) -> text.
// Returns {kind, resolved}; kind "" means none.
std::pair<std::string, std::string> resolve_partition_key(Oid relid, const std::string& table,
                                                          const Value& declared) {
    if (!declared) {
        std::string fallback = dionysus_default_partition_key ? dionysus_default_partition_key : "";
        if (!fallback.empty() && has_column(relid, fallback)) return {"c", fallback};
        return {"", ""};
    }
    if (has_column(relid, *declared)) return {"c", *declared};
    // A function taking the table's row type and returning text.
    auto fn = spi::query_value(
        "SELECT p.oid::pg_catalog.oid::text FROM pg_catalog.pg_proc p "
        "JOIN pg_catalog.pg_class c ON c.oid = $2::pg_catalog.oid "
        "WHERE p.oid = pg_catalog.to_regproc($1) AND p.pronargs = 1 "
        "AND p.proargtypes[0] = c.reltype AND p.prorettype = 'pg_catalog.text'::pg_catalog.regtype",
        {*declared, oid_text(relid)});
    if (fn) return {"f", dionysus::qualified_function(static_cast<Oid>(std::stoul(*fn)))};
    throw Error(ERRCODE_UNDEFINED_COLUMN,
                "partition key \"" + *declared + "\" is neither a column of table " + table +
                    " nor a function " + *declared + "(" + table + ") returning text");
}

void invalidate_declarations() { dionysus::invalidate_captures_everywhere(); }

// The single-column primary key of a table we publish or depend on.
std::string primary_key_of(Oid relid, const std::string& table) {
    auto pk = spi::query(
        "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
        "WHERE i.indrelid = $1::pg_catalog.oid AND i.indisprimary",
        {oid_text(relid)});
    if (pk.empty())
        throw Error(ERRCODE_INVALID_TABLE_DEFINITION, "table " + table + " has no primary key",
                    "", "Published models and their dependencies are identified by a single-column primary key.");
    if (pk.size() > 1)
        throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "table " + table + " has a composite primary key",
                    "Published models and their dependencies are identified by a single-column primary key.");
    return *pk[0][0];
}

struct DependencyPath {
    char kind;           // 'm' has_many, 'o' has_one
    std::string column;  // the foreign-key column
    std::string relation;
};

// How a change of `dependency` reaches rows of `model`: the dependency
// references the model (has_many), or the model references the dependency
// (has_one). Exactly one foreign key must say it.
DependencyPath dependency_path(Oid model, const std::string& model_table, Oid dependency,
                               const std::string& dependency_table) {
    auto many = dionysus::foreign_keys(dependency, model);
    auto one = dionysus::foreign_keys(model, dependency);
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
        dionysus::check_key_types(dependency, many[0], model, dependency_table, model_table);
        std::string relname = *spi::query_value(
            "SELECT relname::text FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
            {oid_text(dependency)});
        return {'m', many[0], relname};
    }
    dionysus::check_key_types(model, one[0], dependency, model_table, dependency_table);
    return {'o', one[0], dionysus::naming::link_name(one[0])};
}

std::vector<Oid> regclass_array_arg(FunctionCallInfo fcinfo, int n) {
    std::vector<Oid> out;
    if (PG_ARGISNULL(n)) return out;
    // Postgres data inside the guard, C++ containers outside it.
    Datum* items = nullptr;
    bool* nulls = nullptr;
    int count = 0;
    dionysus::pg::guard([&] {
        ArrayType* arr = PG_GETARG_ARRAYTYPE_P(n);
        deconstruct_array(arr, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &items, &nulls, &count);
    });
    for (int i = 0; i < count; i++) {
        if (nulls[i]) throw Error(ERRCODE_NULL_VALUE_NOT_ALLOWED, "dependencies must not contain NULL");
        out.push_back(DatumGetObjectId(items[i]));
    }
    return out;
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_declare_topic) {
    std::string ns = text_arg(fcinfo, 0, "namespace");
    std::string name = text_arg(fcinfo, 1, "name");
    Value partition_key = optional_text_arg(fcinfo, 2);
    bool genesis_replica = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);

    if (auto problem = dionysus::naming::namespace_or_name_problem(ns, "namespace"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid namespace: " + *problem);
    if (auto problem = dionysus::naming::namespace_or_name_problem(name, "topic name"))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic name: " + *problem);
    std::string full = dionysus::naming::topic_name(ns, name);
    if (auto problem = dionysus::naming::topic_name_problem(genesis_replica ? full + "_genesis" : full))
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "invalid topic: " + *problem);
    if (partition_key && partition_key->empty())
        throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "partition_key must not be empty",
                    "Pass NULL to use dionysus.default_partition_key.");

    spi::SpiConnection spi;
    if (spi::query_value("SELECT 1 FROM dionysus.topics WHERE name = $1", {full}))
        throw Error(ERRCODE_DUPLICATE_OBJECT, "topic \"" + full + "\" is already declared");
    spi::execute(
        "INSERT INTO dionysus.topics (name, namespace, topic, partition_key, genesis_replica) "
        "VALUES ($1, $2, $3, $4, $5::pg_catalog.bool)",
        {full, ns, name, partition_key, std::string(genesis_replica ? "true" : "false")});
    invalidate_declarations();
    return dionysus::pg::guard([&] { return PointerGetDatum(cstring_to_text(full.c_str())); });
}

DIONYSUS_PG_FUNCTION(dionysus_publish) {
    std::string topic = text_arg(fcinfo, 0, "topic");
    Oid relid = regclass_arg(fcinfo, 1, "model");
    Value model_name = optional_text_arg(fcinfo, 2);
    std::vector<Oid> dependencies = regclass_array_arg(fcinfo, 3);
    bool after_soft_delete = PG_ARGISNULL(4) ? false : PG_GETARG_BOOL(4);

    spi::SpiConnection spi;
    require_topic(topic);
    std::string table = checked_table(relid);
    std::string primary_key = primary_key_of(relid, table);

    std::string relname = *spi::query_value(
        "SELECT relname::text FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
        {oid_text(relid)});
    std::string name = model_name ? *model_name : dionysus::naming::model_name_for_table(relname);
    if (name.empty()) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, "model_name must not be empty");

    if (spi::query_value("SELECT 1 FROM dionysus.models WHERE topic = $1 AND model = "
                         "$2::pg_catalog.oid",
                         {topic, oid_text(relid)}))
        throw Error(ERRCODE_DUPLICATE_OBJECT,
                    "table " + table + " is already published on topic \"" + topic + "\"");
    if (spi::query_value("SELECT 1 FROM dionysus.models WHERE topic = $1 AND model_name = $2",
                         {topic, name}))
        throw Error(ERRCODE_DUPLICATE_OBJECT,
                    "model name \"" + name + "\" is already used on topic \"" + topic + "\"");

    // Every dependency is checked before anything is written.
    std::vector<DependencyPath> paths;
    std::string dependency_list = "{";
    for (size_t i = 0; i < dependencies.size(); i++) {
        Oid dep = dependencies[i];
        std::string dep_table = checked_table(dep);
        if (dep == relid)
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "table " + table + " cannot be a dependency of itself");
        for (size_t j = 0; j < i; j++)
            if (dependencies[j] == dep)
                throw Error(ERRCODE_DUPLICATE_OBJECT,
                            "dependency " + dep_table + " is listed more than once");
        primary_key_of(dep, dep_table);
        paths.push_back(dependency_path(relid, table, dep, dep_table));
        dependency_list += (i ? "," : "") + oid_text(dep);
    }
    dependency_list += "}";

    Value declared_key = spi::query_value(
        "SELECT partition_key FROM dionysus.topics WHERE name = $1", {topic});
    auto [key_kind, key] = resolve_partition_key(relid, table, declared_key);

    Value soft_delete;
    if (dionysus_soft_delete_column && *dionysus_soft_delete_column &&
        has_column(relid, dionysus_soft_delete_column))
        soft_delete = std::string(dionysus_soft_delete_column);

    spi::execute(
        "INSERT INTO dionysus.models (topic, model, model_name, primary_key, partition_key, "
        "partition_key_kind, soft_delete_column, publish_updates_after_soft_delete, dependencies) "
        "VALUES ($1, $2::pg_catalog.oid, $3, $4, $5, $6::\"char\", $7, $8::pg_catalog.bool, "
        "$9::pg_catalog.oid[]::pg_catalog.regclass[])",
        {topic, oid_text(relid), name, primary_key, key_kind.empty() ? Value() : Value(key),
         key_kind.empty() ? Value() : Value(key_kind), soft_delete,
         std::string(after_soft_delete ? "true" : "false"), dependency_list});
    for (size_t i = 0; i < dependencies.size(); i++) {
        spi::execute(
            "INSERT INTO dionysus.dependencies (topic, model, dependency, position, kind, \"column\", "
            "relation) VALUES ($1, $2::pg_catalog.oid, $3::pg_catalog.oid, $4::pg_catalog.int4, "
            "$5::\"char\", $6, $7)",
            {topic, oid_text(relid), oid_text(dependencies[i]), std::to_string(i + 1),
             std::string(1, paths[i].kind), paths[i].column, paths[i].relation});
        install_capture(dependencies[i]);
    }
    install_capture(relid);
    invalidate_declarations();
    PG_RETURN_VOID();
}

DIONYSUS_PG_FUNCTION(dionysus_unpublish) {
    std::string topic = text_arg(fcinfo, 0, "topic");
    Oid relid = regclass_arg(fcinfo, 1, "model");
    spi::SpiConnection spi;
    require_topic(topic);
    // Its dependency rows go with it (foreign key ON DELETE CASCADE).
    auto dependencies = spi::query(
        "SELECT dependency::pg_catalog.oid::text FROM dionysus.dependencies WHERE topic = $1 "
        "AND model = $2::pg_catalog.oid",
        {topic, oid_text(relid)});
    auto removed = spi::query(
        "DELETE FROM dionysus.models WHERE topic = $1 AND model = $2::pg_catalog.oid "
        "RETURNING model_name",
        {topic, oid_text(relid)});
    if (removed.empty())
        throw Error(ERRCODE_UNDEFINED_OBJECT,
                    "table " + checked_table(relid) + " is not published on topic \"" + topic + "\"");
    // Its pending events can no longer be serialized.
    spi::execute("DELETE FROM dionysus.outbox WHERE topic = $1 AND resource_class = $2 AND "
                 "published_at IS NULL",
                 {topic, removed[0][0]});
    remove_capture_if_unused(relid);
    for (const auto& row : dependencies) remove_capture_if_unused(static_cast<Oid>(std::stoul(*row[0])));
    invalidate_declarations();
    PG_RETURN_VOID();
}

DIONYSUS_PG_FUNCTION(dionysus_drop_topic) {
    std::string topic = text_arg(fcinfo, 0, "name");
    spi::SpiConnection spi;
    require_topic(topic);
    auto models = spi::query(
        "SELECT dependency::pg_catalog.oid::text FROM dionysus.dependencies WHERE topic = $1",
        {topic});
    auto published = spi::query(
        "DELETE FROM dionysus.models WHERE topic = $1 RETURNING model::pg_catalog.oid::text",
        {topic});
    models.insert(models.end(), published.begin(), published.end());
    spi::execute("DELETE FROM dionysus.topics WHERE name = $1", {topic});
    spi::execute("DELETE FROM dionysus.outbox WHERE topic = $1 AND published_at IS NULL", {topic});
    for (const auto& row : models) remove_capture_if_unused(static_cast<Oid>(std::stoul(*row[0])));
    invalidate_declarations();
    PG_RETURN_VOID();
}
