// What the publisher knows of a published model (wording: render.hpp): its
// table's columns, how one of its records is rendered (dionysus.serializer,
// else the default serializer), its sideloaded relations and, per topic,
// its partition key and soft-delete column. Loaded from the catalog through
// guarded SPI; cached across cycles by model_cache.hpp.
#pragma once

#include "catalog/declarations.hpp"
#include "pg/spi.hpp"
#include "wire/json_render.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dionysus::publisher {

struct Column {
    std::string name;
    json::Kind kind;      // of the element type when is_array
    bool is_array;
    bool is_foreign_key;  // a single-column foreign key: a has_one link by default
};

// A statement fetching rows by the values of one column: $1 is an array of
// the column's type, given as its text (planned once, generic).
struct Fetch {
    std::string sql;
    Oid array_type = InvalidOid;
    // The role the statement runs as: the table's owner, never the worker's
    // superuser (planning and running a query of a table runs code of its
    // owner's: index and statistics expressions, a serializer function).
    Oid run_as = InvalidOid;
};

// Rows of a Fetch whose column has one of the values of `values_literal`
// (a PostgreSQL array literal, util/pg_array_literal.hpp).
pg::RowSet fetch_rows(const Fetch& fetch, const std::string& values_literal);

struct Model {
    std::string relid;       // the table's OID, as text
    std::string model_name;  // "" for related tables (sideloaded, never published by themselves)
    std::string primary_key;
    std::vector<Column> columns;  // the table's columns, in attnum order: fetched as t.*
    size_t pk_index = 0;
    // Expressions fetched after t.*: a custom serializer's f(t), a partition
    // key function's f(t). `fetch` selects them in this order.
    std::vector<std::string> extra_columns;
    Oid table_owner = InvalidOid;  // who its fetches run as (and who must own its functions)
    Fetch fetch;  // SELECT t.*[, extras] … WHERE pk = ANY($1)
    // Tables this model renders (its own, its children's, its related
    // tables'): a change to any of them reloads it.
    std::vector<Oid> tables;

    // What a record shows (dionysus.serializer, else the default serializer):
    std::vector<size_t> attributes;                     // column indexes, in order
    std::vector<std::pair<std::string, size_t>> links;  // has_one: name -> column index
    std::optional<size_t> custom_function;              // record = this fetched column

    struct HasMany {
        std::string name;  // relation name: links key and sideload key
        Fetch fetch;       // children of parents $1
        std::shared_ptr<const Model> child;
        size_t fk_index = 0;  // in child->columns
    };
    std::vector<HasMany> has_many;
    struct HasOne {
        std::string name;     // sideload key (the link's name)
        size_t fk_index = 0;  // in columns
        std::shared_ptr<const Model> target;
    };
    std::vector<HasOne> has_one;
    // Sideloads in dependency order, each an index into has_one or has_many.
    struct SideloadRef {
        catalog::DependencyKind kind;
        size_t index;
    };
    std::vector<SideloadRef> sideloads;

    // Per topic (published models only):
    catalog::PartitionKeyKind partition_key_kind = catalog::PartitionKeyKind::None;
    size_t partition_key_index = 0;  // fetched column holding the key (Column, or Function with dependencies)
    std::optional<size_t> soft_delete_index;
    bool after_soft_delete = false;  // publish_updates_after_soft_delete
    // Fan-out of dependency events: model rows by a foreign-key column.
    std::map<std::string, Fetch> fetch_by_column;
    // Observers of other tables' attributes (dionysus.observe), by their
    // dionysus.observers id: an observed change republishes the model rows
    // whose `column` has the observed row's key (fetch_by_column), or whose
    // ids `query` returns for it ($1, of type `key_type`).
    struct Observer {
        std::string column;  // "" for a query
        std::string query;
        Oid key_type = InvalidOid;
        // Why the query may not run (it uses another role's objects since it
        // was declared): its rows fail with this; "" when it may.
        std::string refused;
    };
    std::map<int64_t, Observer> observers;
    // The same rows' primary keys only, fetched as the worker
    // (no user function runs): the targets a failed fan-out is split into.
    std::map<std::string, Fetch> ids_by_column;

    std::optional<size_t> index_of(const std::string& column) const {
        for (size_t i = 0; i < columns.size(); i++)
            if (columns[i].name == column) return i;
        return std::nullopt;
    }
};

// The model `model_name` published on `topic`, with its relations; nullopt
// when it is no longer published (or its table was dropped since).
std::optional<Model> load_model(const std::string& topic, const std::string& model_name);

}  // namespace dionysus::publisher
