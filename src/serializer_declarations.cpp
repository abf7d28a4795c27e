// dionysus.serializer(model, attributes, except, has_one, has_many, function):
// how a model is rendered. Validated here against the catalog, stored in
// dionysus.serializers, applied by the publisher (bgworker/outbox_batch.cpp).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog.hpp"
#include "foreign_keys.hpp"
#include "capture_trigger.hpp"
#include "sql_arguments.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/fmgroids.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/errcodes.h"
}

#include <string>
#include <vector>

using dionysus::pg::Error;
using dionysus::pg::Value;
namespace spi = dionysus::pg;

namespace {

// text[] argument as its text output ('{a,b}'), parsed again in SQL.
Value array_text(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) return std::nullopt;
    return std::string(spi::guard([&] {
        return OidOutputFunctionCall(F_ARRAY_OUT, PG_GETARG_DATUM(n));
    }));
}

// Columns of `columns` (text[] literal) that `relid` lacks, comma-separated.
Value missing_columns(const std::string& relid, const Value& columns) {
    if (!columns) return std::nullopt;
    return spi::query_value(
        "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(c), ', ') FROM pg_catalog.unnest($2::pg_catalog.text[]) c "
        "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.oid "
        "AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)",
        {relid, columns});
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_serializer) {
    const std::string relid = std::to_string(dionysus::regclass_arg(fcinfo, 0, "model"));
    Value attributes = array_text(fcinfo, 1);
    Value except = array_text(fcinfo, 2);
    Value has_one = dionysus::optional_jsonb_arg(fcinfo, 3);
    Value has_many = dionysus::optional_jsonb_arg(fcinfo, 4);
    Value function;
    if (!PG_ARGISNULL(5)) function = std::to_string(PG_GETARG_OID(5));

    spi::SpiConnection spi;
    auto table = spi::query(
        "SELECT c.oid::pg_catalog.regclass::text, c.relkind::text, c.reltype::text FROM pg_catalog.pg_class c "
        "WHERE c.oid = $1::pg_catalog.oid",
        {relid});
    if (table.empty() || (*table[0][1] != "r" && *table[0][1] != "p"))
        throw Error(ERRCODE_WRONG_OBJECT_TYPE, "a serializer needs a table");
    const std::string name = *table[0][0];

    if (auto missing = missing_columns(relid, attributes))
        throw Error(ERRCODE_UNDEFINED_COLUMN, "attributes: table " + name + " has no column " + *missing);
    if (auto missing = missing_columns(relid, except))
        throw Error(ERRCODE_UNDEFINED_COLUMN, "except: table " + name + " has no column " + *missing);

    if (has_one) {
        if (*spi::query_value("SELECT pg_catalog.jsonb_typeof($1::pg_catalog.jsonb)", {has_one}) != "object")
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_one must be an object {\"relation\": \"fk_column\"}");
        auto bad = spi::query(
            "SELECT NULL::pg_catalog.text, "
            "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.key), ', ') FROM pg_catalog.jsonb_each(h) e "
            " WHERE pg_catalog.jsonb_typeof(e.value) OPERATOR(pg_catalog.<>) 'string'), "
            "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(e.value), ', ') FROM pg_catalog.jsonb_each_text(h) e "
            " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.oid "
            " AND a.attname = e.value AND a.attnum > 0 AND NOT a.attisdropped)) "
            "FROM (SELECT $2::pg_catalog.jsonb AS h) x",
            {relid, has_one});
        if (bad[0][0]) throw Error(ERRCODE_INVALID_PARAMETER_VALUE, *bad[0][0]);
        if (bad[0][1])
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_one: relation " + *bad[0][1] + " must name a foreign-key column (a string)");
        if (bad[0][2])
            throw Error(ERRCODE_UNDEFINED_COLUMN, "has_one: table " + name + " has no column " + *bad[0][2]);
    }

    if (has_many) {
        // {"relation": "child_table.fk_column"}: the child table and its column must exist.
        auto rows = spi::query(
            "SELECT e.key, pg_catalog.jsonb_typeof(e.value), e.value OPERATOR(pg_catalog.->>) 0 "
            "FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof($1::pg_catalog.jsonb) = 'object' "
            "THEN $1::pg_catalog.jsonb ELSE '{}' END) e",
            {has_many});
        if (*spi::query_value("SELECT pg_catalog.jsonb_typeof($1::pg_catalog.jsonb)", {has_many}) != "object")
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_many must be an object {\"relation\": \"child_table.fk_column\"}");
        for (const auto& r : rows) {
            const std::string relation = *r[0];
            if (*r[1] != "string")
                throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                            "has_many: relation \"" + relation + "\" must map to \"child_table.fk_column\"");
            std::string target = *spi::query_value("SELECT $1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) $2",
                                                   {has_many, relation});
            size_t dot = target.rfind('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == target.size())
                throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                            "has_many: \"" + target + "\" is not of the form child_table.fk_column");
            const std::string child = target.substr(0, dot), column = target.substr(dot + 1);
            auto child_oid = spi::query_value("SELECT pg_catalog.to_regclass($1)::pg_catalog.oid::text", {child});
            if (!child_oid)
                throw Error(ERRCODE_UNDEFINED_TABLE, "has_many: relation \"" + relation +
                                                         "\" names unknown table \"" + child + "\"");
            if (missing_columns(*child_oid, "{\"" + column + "\"}"))
                throw Error(ERRCODE_UNDEFINED_COLUMN,
                            "has_many: table " + child + " has no column \"" + column + "\"");
            // children are grouped under their parent by the text of the key
            dionysus::check_key_types(static_cast<Oid>(std::stoul(*child_oid)), column,
                                      static_cast<Oid>(std::stoul(relid)), child, name);
        }
    }

    if (function) {
        // f(row_type) -> jsonb
        auto ok = spi::query_value(
            "SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = $1::pg_catalog.oid AND p.pronargs = 1 "
            "AND p.proargtypes[0] = $2::pg_catalog.oid AND p.prorettype = 'pg_catalog.jsonb'::pg_catalog.regtype "
            "AND p.prokind = 'f' AND NOT p.proretset",
            {*function, *table[0][2]});
        if (!ok)
            throw Error(ERRCODE_INVALID_FUNCTION_DEFINITION,
                        "function " + *spi::query_value("SELECT $1::pg_catalog.oid::pg_catalog.regprocedure::text", {*function}) +
                            " must take one argument of type " + name + " and return jsonb");
        function = dionysus::qualified_function(static_cast<Oid>(std::stoul(*function)));
    }

    spi::execute(
        "INSERT INTO dionysus.serializers AS s (model, attributes, \"except\", has_one, has_many, function) "
        "VALUES ($1::pg_catalog.oid, $2::pg_catalog.text[], $3::pg_catalog.text[], $4::pg_catalog.jsonb, "
        "$5::pg_catalog.jsonb, $6) ON CONFLICT (model) DO UPDATE SET attributes = EXCLUDED.attributes, "
        "\"except\" = EXCLUDED.\"except\", has_one = EXCLUDED.has_one, has_many = EXCLUDED.has_many, "
        "function = EXCLUDED.function",
        {relid, attributes, except, has_one, has_many, function});
    dionysus::invalidate_captures_everywhere();  // and the publisher's model cache
    PG_RETURN_VOID();
}
