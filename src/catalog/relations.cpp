#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "catalog/relations.hpp"
#include "util/pg_array_literal.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

namespace dionysus::catalog {

using pg::Error;

Oid dionysus_relid(const char* name) {
    return pg::guard([&] {
        Oid nsp = get_namespace_oid("dionysus", true);
        return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
    });
}

const char* models_relname() {
    return OidIsValid(dionysus_relid("published_models")) ? "published_models" : "models";
}

const char* topics_relname() {
    return OidIsValid(dionysus_relid("declared_topics")) ? "declared_topics" : "topics";
}

std::string topics_table() { return std::string("dionysus.") + topics_relname(); }
std::string models_table() { return std::string("dionysus.") + models_relname(); }

void declarations_changed() {
    const Oid relid = dionysus_relid(models_relname());
    if (OidIsValid(relid)) pg::guard([&] { CacheInvalidateRelcacheByRelid(relid); });
}

std::string display_name(Oid relid) {
    // regclass output, qualified only when not visible on the caller's path
    auto name = pg::query_value_as_caller(
        "SELECT $1::pg_catalog.oid::pg_catalog.regclass::pg_catalog.text", {std::to_string(relid)});
    if (!name) throw Error(ERRCODE_UNDEFINED_TABLE, "relation with OID " + std::to_string(relid) + " does not exist");
    return *name;
}

std::string table_name(Oid relid) {
    auto kind = pg::query_value("SELECT c.relkind::pg_catalog.text FROM pg_catalog.pg_class c "
                                "WHERE c.oid = $1::pg_catalog.oid",
                                {std::to_string(relid)});
    if (!kind)
        throw Error(ERRCODE_UNDEFINED_TABLE, "relation with OID " + std::to_string(relid) + " does not exist");
    const std::string name = display_name(relid);
    if (*kind != "r" && *kind != "p")
        throw Error(ERRCODE_WRONG_OBJECT_TYPE, "\"" + name + "\" is not a table",
                    "Only ordinary tables can be published.");
    return name;
}

void require_capturable(Oid relid, const std::string& table) {
    enum { kKind, kIsPartition, kParent };
    auto rows = pg::query(
        "SELECT c.relkind::pg_catalog.text, c.relispartition::pg_catalog.text, "
        "(SELECT i.inhparent::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_inherits i "
        " WHERE i.inhrelid = c.oid LIMIT 1) FROM pg_catalog.pg_class c WHERE c.oid = $1::pg_catalog.oid",
        {std::to_string(relid)});
    if (rows.empty()) return;
    // Statement triggers fire on the table a statement names: writes through
    // a partitioned table skip its partitions' triggers, and writes into a
    // partition skip the parent's. Either way some changes would be lost.
    const char* why = "Rows written through the partitioned table or directly into a partition would "
                      "not all be captured.";
    if (*rows[0][kKind] == "p")
        throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "table " + table + " is partitioned", why,
                    "Publish an ordinary table.");
    if (*rows[0][kIsPartition] == "true")
        throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "table " + table + " is a partition of " + rows[0][kParent].value_or("another table"), why,
                    "Publish an ordinary table.");
}

void require_stable_key_text(Oid relid, const std::string& column, const std::string& table) {
    // The key's text is the event's id (resource_id, the message key): it
    // must not depend on the writer's DateStyle, TimeZone,
    // extra_float_digits, bytea_output, IntervalStyle or lc_monetary.
    auto type = pg::query(
        "SELECT bt.typcategory::pg_catalog.text, bt.oid::pg_catalog.regtype::pg_catalog.text "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END "
        "WHERE a.attrelid = $1::pg_catalog.oid AND a.attname OPERATOR(pg_catalog.=) $2",
        {std::to_string(relid), column});
    if (type.empty()) return;
    const std::string& category = *type[0][0];
    const std::string& name = *type[0][1];
    const bool stable = (category == "N" && name != "real" && name != "double precision" && name != "money") ||
                        category == "S" || category == "U" || category == "B" || category == "E";
    if (!stable)
        throw Error(ERRCODE_FEATURE_NOT_SUPPORTED,
                    "the primary key " + table + "." + column + " of type " + name +
                        " prints differently under different session settings",
                    "Its text is the event's id: it must not depend on DateStyle, TimeZone, "
                    "extra_float_digits, bytea_output, IntervalStyle or lc_monetary.",
                    "Use an integer, numeric, text or uuid key.");
}

std::string relation_name(Oid relid) {
    auto name = pg::query_value("SELECT relname::text FROM pg_catalog.pg_class WHERE oid = $1::pg_catalog.oid",
                                {std::to_string(relid)});
    if (!name) throw Error(ERRCODE_UNDEFINED_TABLE, "relation with OID " + std::to_string(relid) + " does not exist");
    return *name;
}

std::vector<std::string> primary_key_columns(Oid relid) {
    std::vector<std::string> out;
    for (const auto& r : pg::query(
             "SELECT a.attname::text FROM pg_catalog.pg_index i "
             "CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, n) "
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
             // key columns only, not INCLUDE columns
             "WHERE i.indrelid = $1::pg_catalog.oid AND i.indisprimary AND k.n <= i.indnkeyatts ORDER BY k.n",
             {std::to_string(relid)}))
        out.push_back(*r[0]);
    return out;
}

std::string single_column_primary_key(Oid relid, const std::string& table) {
    const auto pk = primary_key_columns(relid);
    const char* why = "Published models and their dependencies are identified by a single-column primary key.";
    if (pk.empty())
        throw Error(ERRCODE_INVALID_TABLE_DEFINITION, "table " + table + " has no primary key", "", why);
    if (pk.size() > 1) throw Error(ERRCODE_FEATURE_NOT_SUPPORTED, "table " + table + " has a composite primary key", why);
    return pk[0];
}

std::vector<std::string> missing_columns(Oid relid, const std::vector<std::string>& columns) {
    std::vector<std::string> out;
    if (columns.empty()) return out;
    for (const auto& r : pg::query(
             "SELECT c FROM pg_catalog.unnest($2::pg_catalog.text[]) WITH ORDINALITY u(c, n) "
             "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = $1::pg_catalog.oid "
             "AND a.attname OPERATOR(pg_catalog.=) u.c AND a.attnum > 0 AND NOT a.attisdropped) ORDER BY u.n",
             {std::to_string(relid), util::text_array_literal(columns)}))
        out.push_back(*r[0]);
    return out;
}

bool has_column(Oid relid, const std::string& column) { return missing_columns(relid, {column}).empty(); }

Oid relation_owner(Oid relid) {
    auto owner = pg::query_value("SELECT c.relowner::pg_catalog.text FROM pg_catalog.pg_class c "
                                 "WHERE c.oid = $1::pg_catalog.oid",
                                 {std::to_string(relid)});
    if (!owner) throw Error(ERRCODE_UNDEFINED_TABLE, "relation with OID " + std::to_string(relid) + " does not exist");
    return static_cast<Oid>(std::stoul(*owner));
}

ColumnBaseType column_base_type(Oid relid, const std::string& column) {
    auto type = pg::query_value("SELECT a.atttypid::pg_catalog.text FROM pg_catalog.pg_attribute a "
                                "WHERE a.attrelid = $1::pg_catalog.oid AND a.attname OPERATOR(pg_catalog.=) $2 "
                                "AND a.attnum > 0 AND NOT a.attisdropped",
                                {std::to_string(relid), column});
    if (!type)
        throw Error(ERRCODE_UNDEFINED_COLUMN,
                    "column \"" + column + "\" of relation with OID " + std::to_string(relid) + " does not exist");
    ColumnBaseType out;
    out.column_type = static_cast<Oid>(std::stoul(*type));
    pg::guard([&] {
        out.base = getBaseType(out.column_type);
        out.base_array = get_array_type(out.base);
    });
    if (!OidIsValid(out.base_array))
        throw Error(ERRCODE_DATATYPE_MISMATCH, "the type of column \"" + column + "\" has no array type");
    auto names = pg::query(
        "SELECT pg_catalog.format('%I.%I', n.nspname, t.typname) FROM pg_catalog.pg_type t "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $1::pg_catalog.oid "
        "UNION ALL SELECT pg_catalog.format('%I.%I', n.nspname, t.typname) FROM pg_catalog.pg_type t "
        "JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid = $2::pg_catalog.oid",
        {std::to_string(out.base), std::to_string(out.base_array)});
    out.base_name = *names.at(0)[0];
    out.base_array_name = *names.at(1)[0];
    if (out.column_type != out.base) out.relabel = "::" + out.base_name;
    return out;
}

}  // namespace dionysus::catalog
