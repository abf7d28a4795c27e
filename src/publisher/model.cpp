#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/query_inspection.hpp"
#include "pg/user_context.hpp"
#include "publisher/model.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "wire/naming.hpp"

extern "C" {
#include "catalog/pg_type.h"
}

#include <algorithm>
#include <stdexcept>

namespace dionysus::publisher {

using catalog::DependencyKind;
using catalog::PartitionKeyKind;

namespace {

// A user's function joins the model's fetch. Every fetch runs as the
// table's owner (README "Security model": planning a query of the table
// runs its owner's code, e.g. index expressions), so the function runs as
// that role too: it must be the function's owner, or the table's owner could
// run code as someone else (and the function's owner as the table's owner).
void call_as_owner(Model& m, const std::string& regprocedure) {
    const Oid owner = catalog::function_owner(regprocedure);
    if (owner != m.table_owner)
        throw std::runtime_error("function " + regprocedure + " is not owned by the owner of table " + m.relid +
                                 ": the worker runs it, and reads the table, as the table's owner "
                                 "(ALTER FUNCTION ... OWNER TO the table's owner)");
}

// SELECT t.*[, extras] FROM <table> t WHERE t.<column> = ANY ($1::<type>[])
// (ids_only: SELECT t.<primary key>), run as the table's owner.
// The type is in the text because plans are cached by text: after ALTER
// COLUMN … TYPE the statement (and its parameter type) must be new.
// No ORDER BY: it would tempt the planner into a primary-key index scan of
// a whole child table; rows are sorted in C++ where order matters.
Fetch fetch_sql(const Model& m, const std::string& column, bool ids_only = false) {
    std::string select_list = "t.*";
    for (const auto& e : m.extra_columns) select_list += ", " + e;
    // The bare column: its text comes from the type's output function, as
    // for every fetch (a cast to text could be a table owner's CREATE CAST,
    // run as the worker, and print differently from the key).
    if (ids_only) select_list = *pg::query_value("SELECT pg_catalog.format('t.%I', $1)", {m.primary_key});
    // The parameter has the column's base type (through every domain: a
    // domain's CHECK is its owner's code, it must not run on the worker's
    // parameters), compared with the base type's own equality operator
    // named with its schema (the query runs under search_path pg_catalog; a
    // key of an extension's type, citext, compares with that extension's
    // operator). A domain column is relabeled to its base type first (no
    // code runs), so no operator a role created for the domain can match.
    // Integer keys are bound as bigint: a foreign key may be narrower than
    // the key it references (int referencing bigint), and the ids come from
    // the wider one; int = bigint is a pg_catalog operator an index serves.
    const auto type = catalog::column_base_type(static_cast<Oid>(std::stoul(m.relid)), column);
    const bool integer = type.base == INT2OID || type.base == INT4OID;
    const std::string equals = catalog::equality_operator(type.base);
    // (every piece a format() argument: names may hold '%')
    auto sql = pg::query_value(
        "SELECT pg_catalog.format('SELECT %s FROM %s t WHERE t.%I%s %s ANY ($1::%s)', $3, "
        "$1::pg_catalog.oid::pg_catalog.regclass, $2, $5, $4, $6)",
        {m.relid, column, select_list, equals, type.relabel, integer ? "pg_catalog._int8" : type.base_array_name});
    return Fetch{*sql, integer ? INT8ARRAYOID : type.base_array, m.table_owner};
}

// Default serializer: every column but foreign keys, which become has_one
// links named after the column without _id. dionysus.serializer may choose
// and order the attributes, exclude columns, declare the has_one links, or
// name a function whose jsonb result is the whole record.
void apply_serializer(Model& m) {
    const std::string& relid = m.relid;
    auto decl = pg::query(
        "SELECT s.attributes IS NOT NULL, s.has_one IS NOT NULL, s.function "
        "FROM dionysus.serializers s WHERE s.model = $1::pg_catalog.oid",
        {relid});
    enum { kHasAttributes, kHasOne, kFunction };
    const bool declared = !decl.empty();
    const bool has_attributes = declared && *decl[0][kHasAttributes] == "t";
    const bool has_one = declared && *decl[0][kHasOne] == "t";
    if (declared && decl[0][kFunction]) {
        // The function's result comes as one more column after t.*.
        m.custom_function = m.columns.size() + m.extra_columns.size();
        m.extra_columns.push_back(catalog::function_call_name(*decl[0][kFunction]) + "(t)::pg_catalog.text");
        call_as_owner(m, *decl[0][kFunction]);
        return;
    }
    std::vector<bool> is_link(m.columns.size(), false);
    if (has_one) {
        for (const auto& r : pg::query("SELECT e.key, e.value FROM dionysus.serializers s, "
                                        "pg_catalog.jsonb_each_text(s.has_one) e WHERE s.model = $1::pg_catalog.oid",
                                        {relid}))
            if (auto i = m.index_of(*r[1])) {
                m.links.emplace_back(*r[0], *i);
                is_link[*i] = true;
            }
    } else {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (m.columns[i].is_foreign_key) {
                m.links.emplace_back(naming::link_name(m.columns[i].name), i);
                is_link[i] = true;
            }
    }
    if (has_attributes) {
        for (const auto& r : pg::query("SELECT a FROM dionysus.serializers s, pg_catalog.unnest(s.attributes) "
                                        "WITH ORDINALITY u(a, n) WHERE s.model = $1::pg_catalog.oid ORDER BY u.n",
                                        {relid}))
            if (auto i = m.index_of(*r[0])) m.attributes.push_back(*i);
    } else {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (!is_link[i]) m.attributes.push_back(i);
    }
    if (declared) {
        for (const auto& r : pg::query("SELECT e FROM dionysus.serializers s, pg_catalog.unnest(s.\"except\") e "
                                        "WHERE s.model = $1::pg_catalog.oid",
                                        {relid}))
            if (auto i = m.index_of(*r[0])) {
                m.attributes.erase(std::remove(m.attributes.begin(), m.attributes.end(), *i), m.attributes.end());
                m.links.erase(std::remove_if(m.links.begin(), m.links.end(),
                                             [&](const auto& l) { return l.second == *i; }),
                              m.links.end());
            }
    }
}

// Columns and serializer of a table; fetch_sql is left to the caller (extra
// columns may follow).
Model load_columns(const std::string& relid, const std::string& model_name) {
    const Oid oid = static_cast<Oid>(std::stoul(relid));
    const auto pk = catalog::primary_key_columns(oid);
    if (pk.empty()) throw std::runtime_error("table " + relid + " has no primary key: it cannot be rendered");
    Model m;
    m.relid = relid;
    m.model_name = model_name;
    m.primary_key = pk[0];
    m.table_owner = catalog::relation_owner(oid);
    m.tables.push_back(oid);  // ALTER TABLE: reload
    // Domains render as their base type; arrays by their element type.
    auto cols = pg::query(
        "SELECT a.attname::text, bt.typname::text, bt.typcategory::text, "
        "COALESCE(et.typname::text, ''), COALESCE(et.typcategory::text, ''), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conrelid = a.attrelid "
        "AND c.contype = 'f' AND c.conkey = ARRAY[a.attnum])::text "
        "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
        "JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype "
        "ELSE t.oid END "
        "LEFT JOIN pg_catalog.pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A' "
        "WHERE a.attrelid = $1::pg_catalog.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        {relid});
    enum { kName, kType, kCategory, kElementType, kElementCategory, kIsForeignKey };
    for (size_t i = 0; i < cols.size(); i++) {
        const auto& c = cols[i];
        bool is_array = (*c[kCategory] == "A") && !c[kElementType]->empty();
        json::Kind kind = is_array ? json::kind_for_type(*c[kElementType], (*c[kElementCategory])[0])
                                   : json::kind_for_type(*c[kType], (*c[kCategory])[0]);
        m.columns.push_back(Column{*c[kName], kind, is_array, *c[kIsForeignKey] == "true"});
        if (*c[kName] == m.primary_key) m.pk_index = i;
    }
    apply_serializer(m);
    return m;
}

// A related table (sideloaded, one level deep as dionysus-rb does): rendered
// with its own serializer, no relations of its own.
std::shared_ptr<const Model> load_related(const std::string& relid) {
    auto m = std::make_shared<Model>(load_columns(relid, ""));
    m->fetch = fetch_sql(*m, m->primary_key);
    return m;
}

Model::HasMany has_many_relation(const std::string& name, const std::string& child_relid,
                                 const std::string& fk_column) {
    Model::HasMany h;
    h.name = name;
    h.child = load_related(child_relid);
    h.fetch = fetch_sql(*h.child, fk_column);
    h.fk_index = h.child->index_of(fk_column).value_or(0);
    return h;
}

// Columns of the declaration query of load_model and of its dependency query.
enum DeclarationColumn { kModelOid, kKeyKind, kKey, kSoftDeleteColumn, kAfterSoftDelete, kDeclaresHasMany };
enum DependencyColumn { kDependencyKind, kDependencyOid, kForeignKeyColumn, kRelationName };

// Every table a model renders, so that a change to one reloads the model.
void watch_related_tables(Model& m) {
    for (const auto& h : m.has_many) m.tables.insert(m.tables.end(), h.child->tables.begin(), h.child->tables.end());
    for (const auto& h : m.has_one) m.tables.insert(m.tables.end(), h.target->tables.begin(), h.target->tables.end());
}

}  // namespace

pg::RowSet fetch_rows(const Fetch& fetch, const std::string& values_literal) {
    return pg::as_user(fetch.run_as,
                       [&] { return pg::query_cached_rows(fetch.sql, {values_literal}, {fetch.array_type}, true); });
}

// A published model on a topic: its table, its relations (declared by
// dionysus.serializer or inferred from its dependencies), its partition key
// and soft-delete column (for events of dependency changes).
std::optional<Model> load_model(const std::string& topic, const std::string& model_name) {
    auto decl = pg::query(
        "SELECT m.model::pg_catalog.oid::text, COALESCE(m.partition_key_kind::text, ''), m.partition_key, "
        "m.soft_delete_column::text, m.publish_updates_after_soft_delete::text, "
        "(SELECT s.has_many IS NOT NULL FROM dionysus.serializers s WHERE s.model = m.model)::text "
        // a table dropped since it was published: its events are skipped
        "FROM " + catalog::models_table() + " m JOIN pg_catalog.pg_class c ON c.oid = m.model "
        "WHERE m.topic = $1 AND m.model_name = $2",
        {topic, model_name});
    if (decl.empty()) return std::nullopt;
    const auto& d = decl[0];
    const std::string& relid = *d[kModelOid];
    Model m = load_columns(relid, model_name);
    // A dependency table dropped since is left out (its changes no longer reach us).
    const auto dependencies = pg::query(
        "SELECT d.kind::text, d.dependency::pg_catalog.oid::text, d.\"column\"::text, d.relation "
        "FROM dionysus.dependencies d JOIN pg_catalog.pg_class c ON c.oid = d.dependency "
        "WHERE d.topic = $1 AND d.model = $2::pg_catalog.oid ORDER BY d.position",
        {topic, relid});
    // Observers of other tables (an observed table dropped since is left out).
    enum { kObserverId, kObserverColumn, kObserverQuery, kObservedTable };
    const auto observers = pg::query(
        "SELECT o.id::pg_catalog.text, o.association_column::pg_catalog.text, o.association_query, "
        "o.observed::pg_catalog.oid::pg_catalog.text FROM dionysus.observers o "
        "JOIN pg_catalog.pg_class c ON c.oid = o.observed "
        "WHERE o.topic = $1 AND o.model = $2::pg_catalog.oid ORDER BY o.id",
        {topic, relid});
    // Events of dependency changes and observed changes take their
    // partition key from the row at publish time; other events carry it
    // from capture.
    m.partition_key_kind = catalog::partition_key_kind(*d[kKeyKind]);
    if (m.partition_key_kind == PartitionKeyKind::Column) {
        m.partition_key_index = m.index_of(*d[kKey]).value_or(0);
    } else if (m.partition_key_kind == PartitionKeyKind::Function) {
        m.partition_key_index = m.columns.size() + m.extra_columns.size();
        m.extra_columns.push_back(catalog::function_call_name(*d[kKey]) + "(t)");
        call_as_owner(m, *d[kKey]);
    }
    if (d[kSoftDeleteColumn]) m.soft_delete_index = m.index_of(*d[kSoftDeleteColumn]);
    m.after_soft_delete = *d[kAfterSoftDelete] == "true";
    m.fetch = fetch_sql(m, m.primary_key);

    for (const auto& r : observers) {
        Model::Observer observer;
        if (r[kObserverColumn]) {
            observer.column = *r[kObserverColumn];
            if (!m.index_of(observer.column)) continue;  // renamed or dropped since
            if (!m.fetch_by_column.count(observer.column)) {
                m.fetch_by_column.emplace(observer.column, fetch_sql(m, observer.column));
                m.ids_by_column.emplace(observer.column, fetch_sql(m, observer.column, true));
            }
        } else {
            const Oid observed = static_cast<Oid>(std::stoul(*r[kObservedTable]));
            const auto pk = catalog::primary_key_columns(observed);
            if (pk.empty()) continue;
            observer.query = *r[kObserverQuery];
            observer.key_type = catalog::column_base_type(observed, pk[0]).base;
            // As at observe(): everything the query uses must still be the
            // table owner's (it runs as that role).
            // (A query that no longer parses fails the model's batch: a
            // Postgres error is not caught inside its transaction.)
            const auto query =
                pg::as_user(m.table_owner, [&] { return pg::inspect_query(observer.query, observer.key_type); });
            if (!query.plain_select || query.result_types.size() != 1) {
                observer.refused = "the association query of observer " + *r[kObserverId] +
                                   " is no longer one SELECT of one column";
            } else {
                try {
                    catalog::require_objects_owned_by(m.table_owner, query.relations, query.functions,
                                                      "the association query of observer " + *r[kObserverId]);
                } catch (const pg::Error& e) {  // raised by the check itself, not by Postgres
                    observer.refused = e.what();
                }
            }
        }
        m.tables.push_back(static_cast<Oid>(std::stoul(*r[kObservedTable])));  // ALTER of its key: reload
        m.observers.emplace(std::stoll(*r[kObserverId]), std::move(observer));
    }

    const bool declared_has_many = d[kDeclaresHasMany] && *d[kDeclaresHasMany] == "true";
    for (const auto& r : dependencies) {
        const std::string& column = *r[kForeignKeyColumn];
        if (catalog::dependency_kind(*r[kDependencyKind]) == DependencyKind::HasOne) {
            auto fk = m.index_of(column);
            if (!fk) continue;  // renamed or dropped since: nothing to fan out or sideload
            m.fetch_by_column.emplace(column, fetch_sql(m, column));
            m.ids_by_column.emplace(column, fetch_sql(m, column, true));
            if (m.custom_function) continue;
            std::string name = *r[kRelationName];  // the link's name when the serializer renders one
            for (const auto& [link, index] : m.links)
                if (index == *fk) name = link;
            m.has_one.push_back(Model::HasOne{name, *fk, load_related(*r[kDependencyOid])});
            m.sideloads.push_back({DependencyKind::HasOne, m.has_one.size() - 1});
        } else if (!m.custom_function && !declared_has_many) {
            m.has_many.push_back(has_many_relation(*r[kRelationName], *r[kDependencyOid], column));
            m.sideloads.push_back({DependencyKind::HasMany, m.has_many.size() - 1});
        }
    }
    if (m.custom_function || !declared_has_many) {
        watch_related_tables(m);
        return m;
    }
    // has_many declared by the serializer: {"relation": "child_table.fk_column"}, in jsonb order.
    for (const auto& r : pg::query(
             "SELECT e.key, ch.oid::pg_catalog.oid::text, ch.col "
             "FROM dionysus.serializers s CROSS JOIN LATERAL pg_catalog.jsonb_each_text(s.has_many) e "
             "CROSS JOIN LATERAL (SELECT pg_catalog.to_regclass(pg_catalog.substring(e.value, '^(.*)\\.[^.]*$')) AS oid, "
             "  pg_catalog.substring(e.value, '\\.([^.]*)$') AS col) ch "
             // a child table or column gone since the declaration is left out
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = ch.oid AND a.attname = ch.col AND NOT a.attisdropped "
             "WHERE s.model = $1::pg_catalog.oid",
             {relid})) {
        m.has_many.push_back(has_many_relation(*r[0], *r[1], *r[2]));
        m.sideloads.push_back({DependencyKind::HasMany, m.has_many.size() - 1});
    }
    watch_related_tables(m);
    return m;
}

}  // namespace dionysus::publisher
