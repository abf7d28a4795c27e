#include "pg/spi.hpp"
#include "pg/query_inspection.hpp"
#include "pg/user_context.hpp"
#include "publisher/genesis_query.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/errcodes.h"
}

namespace dionysus::publisher {

namespace {

std::string table_text(Oid model) {
    return *pg::query_value("SELECT $1::pg_catalog.oid::pg_catalog.regclass::pg_catalog.text", {std::to_string(model)});
}

std::string quoted(const std::string& name) {
    return *pg::query_value("SELECT pg_catalog.quote_ident($1)", {name});
}

// FROM and WHERE of every statement of the run; `where` gets the key
// condition of a chunk first.
GenesisStatement restricted(const GenesisFilter& f, const std::string& select, std::vector<std::string> where,
                            GenesisStatement s) {
    auto param = [&](const std::string& value, Oid type) {
        s.params.push_back(value);
        s.types.push_back(type);
        return "$" + std::to_string(s.params.size());
    };
    const std::string window = "t." + quoted(kGenesisWindowColumn);
    if (f.from) where.push_back(window + " OPERATOR(pg_catalog.>=) " + param(*f.from, TIMESTAMPTZOID));
    if (f.to) where.push_back(window + " OPERATOR(pg_catalog.<=) " + param(*f.to, TIMESTAMPTZOID));
    if (f.soft_delete_column) where.push_back("t." + quoted(*f.soft_delete_column) + " IS NULL");
    // The condition alone in a subquery, exactly the text genesis() checked
    // (genesis_condition_check_sql): one that closes its parenthesis early
    // ("false) OR (true") cannot reach the conditions above. The planner
    // flattens the subquery.
    const std::string from = f.condition ? "(" + genesis_condition_check_sql(f.model, *f.condition, "t.*") + ") t"
                                         : table_text(f.model) + " t";
    s.sql = select + " FROM " + from;
    for (size_t i = 0; i < where.size(); i++) s.sql += (i == 0 ? " WHERE " : " AND ") + where[i];
    return s;
}

}  // namespace

std::string genesis_condition_check_sql(Oid model, const std::string& condition, const std::string& select_list) {
    return "SELECT " + select_list + " FROM " + table_text(model) + " t WHERE (\n" + condition + "\n)";
}

void check_genesis_condition(Oid model, Oid owner, const std::string& condition) {
    // Parsed as the worker embeds it, as the role that runs it.
    const std::string sql = genesis_condition_check_sql(model, condition);
    if (!pg::is_plain_where_condition(sql))
        throw pg::Error(ERRCODE_SYNTAX_ERROR,
                        "condition must be one boolean expression over the model's row (a WHERE condition, "
                        "e.g. account_id = 1), without clauses or parameters of its own");
    const pg::QueryInspection query = pg::as_user(owner, [&] { return pg::inspect_query(sql, INT8OID); });
    if (!query.plain_select)
        throw pg::Error(ERRCODE_INVALID_PARAMETER_VALUE, "condition must not lock rows or modify data");
    catalog::require_objects_owned_by(owner, query.relations, query.functions, "condition");
}

GenesisStatement genesis_count(const GenesisFilter& filter) {
    return restricted(filter, "SELECT pg_catalog.count(*)", {}, {});
}

GenesisStatement genesis_chunk(const GenesisFilter& filter, const std::optional<std::string>& after, int limit) {
    // Compared and ordered as the key's base type (as every fetch:
    // catalog::column_base_type) with its own operators named with their
    // schema, so that ">" and ORDER BY agree whatever the search_path.
    const std::string pk = catalog::single_column_primary_key(filter.model, table_text(filter.model));
    const auto type = catalog::column_base_type(filter.model, pk);
    const auto ops = catalog::ordering_operators(type.base);
    const std::string key = "t." + quoted(pk) + type.relabel;
    GenesisStatement s;
    std::vector<std::string> where;
    if (after) {
        s.params.push_back(*after);
        s.types.push_back(type.base);
        where.push_back(key + " " + ops.greater + " $1");
    }
    s = restricted(filter, "SELECT t." + quoted(pk), where, std::move(s));
    s.sql += " ORDER BY " + key + " USING " + ops.less + " LIMIT " + std::to_string(limit);
    return s;
}

}  // namespace dionysus::publisher
