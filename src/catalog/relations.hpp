// Lookups in PostgreSQL's system catalogs about the tables we publish, each
// written once: is it a table, its primary key, whether it has a column.
// Errors are pg::Error with the SQLSTATE the README documents. Everything
// but dionysus_relid needs an SPI connection.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>
#include <vector>

namespace dionysus::catalog {

// OID of relation `name` in schema dionysus; InvalidOid when the extension
// is not installed. Needs no SPI connection.
Oid dionysus_relid(const char* name);

// The catalog tables of declared topics and published models, qualified.
// 0.2.0 renamed them (dionysus.topics -> declared_topics, dionysus.models ->
// published_models: the old names went to the monitoring views); in a
// database whose extension is still 0.1.0 (the new library installed,
// ALTER EXTENSION dionysus UPDATE not run yet) the old names are returned,
// so capture and publishing keep working until the update. Needs no SPI
// connection (a syscache lookup), only a transaction.
std::string topics_table();
std::string models_table();
const char* models_relname();  // unqualified: "published_models" or "models"
const char* topics_relname();

// Declarations changed: every backend drops its cached capture metadata and
// the publisher its cached models, at commit of the caller (relcache
// invalidation of dionysus.models).
void declarations_changed();

// The relation as regclass text for messages: quoted, schema-qualified
// when not visible on the caller's search_path. 42P01 when it does not exist.
std::string display_name(Oid relid);

// display_name, checking it is a table: 42809 unless it is an ordinary or
// partitioned table.
std::string table_name(Oid relid);

// 0A000 for a partitioned table or a partition: capture (statement
// triggers) would miss the rows written through the other.
void require_capturable(Oid relid, const std::string& table);

// 0A000 unless the column's text is the same under any session settings
// (integers, numeric, text types, uuid, boolean, enums): a primary key whose
// text becomes event ids.
void require_stable_key_text(Oid relid, const std::string& column, const std::string& table);

// pg_class.relname, unquoted: the base of default model and relation names.
std::string relation_name(Oid relid);

// The columns of the table's primary key, in key order; empty when none.
std::vector<std::string> primary_key_columns(Oid relid);

// The single column identifying published rows. 42P16 when the table has
// no primary key, 0A000 when it is composite.
std::string single_column_primary_key(Oid relid, const std::string& table);

// The owner of a relation (pg_class.relowner): the role queries of its rows
// run as (README "Security model"). 42P01 when it does not exist.
Oid relation_owner(Oid relid);

// The type of a table's column through every domain level (a domain's CHECK
// is its owner's code: privileged code binds parameters of the base type),
// and that base type's array type. 42703 when the column does not exist,
// 42804 when the base type has no array type.
struct ColumnBaseType {
    Oid column_type;  // as declared (maybe a domain)
    Oid base;
    Oid base_array;
    // Names to write in SQL: schema-qualified, quoted, without modifiers
    // (regtype prints bpchar as "character", which reads as char(1)).
    std::string base_name, base_array_name;
    // What follows the column in SQL to compare it as its base type:
    // "::<base_name>" for a domain (a relabeling, no code runs), else "".
    std::string relabel;
};
ColumnBaseType column_base_type(Oid relid, const std::string& column);

// Whether the table has this (not dropped) column.
bool has_column(Oid relid, const std::string& column);

// The names of `columns` the table lacks, in the given order.
std::vector<std::string> missing_columns(Oid relid, const std::vector<std::string>& columns);

}  // namespace dionysus::catalog
