// dionysus.serializer(model, attributes, except, has_one, has_many, function)
// (README "serializer"): how a model is rendered. Validated here against the
// catalog, stored in dionysus.serializers, applied by the publisher
// (src/publisher/model.cpp).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "api/arguments.hpp"
#include "catalog/foreign_keys.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "util/pg_array_literal.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <string>
#include <vector>

using namespace dionysus;
using pg::Error;
using pg::Value;

namespace {

// The elements of a text[] literal.
std::vector<std::string> elements(const Value& array_literal) {
    std::vector<std::string> out;
    if (!array_literal) return out;
    for (const auto& r : pg::query("SELECT pg_catalog.unnest($1::pg_catalog.text[])", {array_literal}))
        if (r[0]) out.push_back(*r[0]);
    return out;
}

// "a, \"B\"": names as quote_ident shows them, for error messages.
std::string quoted_list(const std::vector<std::string>& names) {
    return *pg::query_value(
        "SELECT pg_catalog.string_agg(pg_catalog.quote_ident(n), ', ' ORDER BY i) "
        "FROM pg_catalog.unnest($1::pg_catalog.text[]) WITH ORDINALITY u(n, i)",
        {util::text_array_literal(names)});
}

void require_columns(Oid relid, const std::string& table, const std::vector<std::string>& columns,
                     const std::string& what) {
    const auto missing = catalog::missing_columns(relid, columns);
    if (!missing.empty())
        throw Error(ERRCODE_UNDEFINED_COLUMN, what + ": table " + table + " has no column " + quoted_list(missing));
}

}  // namespace

DIONYSUS_PG_FUNCTION(dionysus_serializer) {
    const Oid model = api::regclass_arg(fcinfo, 0, "model");
    const std::string relid = std::to_string(model);
    Value attributes = api::optional_text_array_arg(fcinfo, 1);
    Value except = api::optional_text_array_arg(fcinfo, 2);
    Value has_one = api::optional_jsonb_arg(fcinfo, 3);
    Value has_many = api::optional_jsonb_arg(fcinfo, 4);
    Value function;
    if (!PG_ARGISNULL(5)) function = std::to_string(PG_GETARG_OID(5));

    pg::SpiConnection spi;
    const std::string name = catalog::table_name(model);
    require_columns(model, name, elements(attributes), "attributes");
    require_columns(model, name, elements(except), "except");

    if (has_one) {
        if (*pg::query_value("SELECT pg_catalog.jsonb_typeof($1::pg_catalog.jsonb)", {has_one}) != "object")
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_one must be an object {\"relation\": \"fk_column\"}");
        std::vector<std::string> not_strings, columns;
        for (const auto& r : pg::query("SELECT e.key, pg_catalog.jsonb_typeof(e.value), e.value OPERATOR(pg_catalog.->>) 0 "
                                       "FROM pg_catalog.jsonb_each($1::pg_catalog.jsonb) e",
                                       {has_one})) {
            if (*r[1] != "string") not_strings.push_back(*r[0]);
            else columns.push_back(*r[2]);
        }
        if (!not_strings.empty())
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_one: relation " + quoted_list(not_strings) + " must name a foreign-key column (a string)");
        require_columns(model, name, columns, "has_one");
    }

    if (has_many) {
        // {"relation": "child_table.fk_column"}: the child table and its column must exist.
        std::vector<std::string> relations, targets;
        auto rows = pg::query(
            "SELECT e.key, pg_catalog.jsonb_typeof(e.value), e.value OPERATOR(pg_catalog.->>) 0 "
            "FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof($1::pg_catalog.jsonb) = 'object' "
            "THEN $1::pg_catalog.jsonb ELSE '{}' END) e",
            {has_many});
        if (*pg::query_value("SELECT pg_catalog.jsonb_typeof($1::pg_catalog.jsonb)", {has_many}) != "object")
            throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                        "has_many must be an object {\"relation\": \"child_table.fk_column\"}");
        for (const auto& r : rows) {
            const std::string relation = *r[0];
            if (*r[1] != "string")
                throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                            "has_many: relation \"" + relation + "\" must map to \"child_table.fk_column\"");
            std::string target = *pg::query_value("SELECT $1::pg_catalog.jsonb OPERATOR(pg_catalog.->>) $2",
                                                   {has_many, relation});
            size_t dot = target.rfind('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == target.size())
                throw Error(ERRCODE_INVALID_PARAMETER_VALUE,
                            "has_many: \"" + target + "\" is not of the form child_table.fk_column");
            const std::string child = target.substr(0, dot), column = target.substr(dot + 1);
            // the caller's name, resolved with the caller's search_path
            auto child_oid = pg::query_value_as_caller(
                "SELECT pg_catalog.to_regclass($1)::pg_catalog.oid::pg_catalog.text", {child});
            if (!child_oid)
                throw Error(ERRCODE_UNDEFINED_TABLE, "has_many: relation \"" + relation +
                                                         "\" names unknown table \"" + child + "\"");
            if (!catalog::has_column(static_cast<Oid>(std::stoul(*child_oid)), column))
                throw Error(ERRCODE_UNDEFINED_COLUMN,
                            "has_many: table " + child + " has no column \"" + column + "\"");
            // children are grouped under their parent by the text of the key
            catalog::check_key_types(static_cast<Oid>(std::stoul(*child_oid)), column,
                                      static_cast<Oid>(std::stoul(relid)), child, name);
            // stored schema-qualified: the publisher resolves it with no search_path of the caller's
            relations.push_back(relation);
            targets.push_back(*pg::query_value(
                // the column as it is: the publisher takes what follows the last dot
                "SELECT pg_catalog.format('%s.%s', $1::pg_catalog.oid::pg_catalog.regclass, $2)", {child_oid, column}));
        }
        has_many = pg::query_value(
            "SELECT COALESCE(pg_catalog.jsonb_object_agg(r, t), '{}') "
            "FROM ROWS FROM (pg_catalog.unnest($1::pg_catalog.text[]), pg_catalog.unnest($2::pg_catalog.text[])) u(r, t)",
            {util::text_array_literal(relations), util::text_array_literal(targets)});
    }

    if (function) {
        // f(row_type) -> jsonb
        auto ok = pg::query_value(
            "SELECT 1 FROM pg_catalog.pg_proc p WHERE p.oid = $1::pg_catalog.oid AND p.pronargs = 1 "
            "AND p.proargtypes[0] = (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid = $2::pg_catalog.oid) "
            "AND p.prorettype = 'pg_catalog.jsonb'::pg_catalog.regtype "
            "AND p.prokind = 'f' AND NOT p.proretset",
            {*function, relid});
        if (!ok)
            throw Error(ERRCODE_INVALID_FUNCTION_DEFINITION,
                        "function " + *pg::query_value_as_caller("SELECT $1::pg_catalog.oid::pg_catalog.regprocedure::pg_catalog.text", {*function}) +
                            " must take one argument of type " + name + " and return jsonb");
        catalog::require_owned_by_table_owner(static_cast<Oid>(std::stoul(*function)), model, name, "serializer function");
        function = catalog::qualified_function(static_cast<Oid>(std::stoul(*function)));
    }

    pg::execute(
        "INSERT INTO dionysus.serializers AS s (model, attributes, \"except\", has_one, has_many, function) "
        "VALUES ($1::pg_catalog.oid, $2::pg_catalog.text[], $3::pg_catalog.text[], $4::pg_catalog.jsonb, "
        "$5::pg_catalog.jsonb, $6) ON CONFLICT (model) DO UPDATE SET attributes = EXCLUDED.attributes, "
        "\"except\" = EXCLUDED.\"except\", has_one = EXCLUDED.has_one, has_many = EXCLUDED.has_many, "
        "function = EXCLUDED.function",
        {relid, attributes, except, has_one, has_many, function});
    catalog::declarations_changed();
    PG_RETURN_VOID();
}
