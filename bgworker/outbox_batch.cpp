#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "outbox_batch.hpp"
#include "catalog.hpp"
#include "json_render.hpp"
#include "naming.hpp"
#include "record_writer.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
}

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <memory>
#include <unordered_map>

namespace spi = dionysus::pg;
using dionysus::pg::Value;

namespace dionysus::publisher {

namespace {

// PG array literal of text elements, each quoted: values never become SQL.
std::string text_array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); i++) {
        if (i) out += ',';
        out += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::string ids_literal(const std::vector<int64_t>& ids) {
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); i++) {
        if (i) out += ',';
        out += std::to_string(ids[i]);
    }
    return out + "}";
}

struct Column {
    std::string name;
    json::Kind kind;
    bool is_array;
    bool is_foreign_key;
};

// A statement fetching rows by the values of one column: $1 is an array of
// the column's type, given as its text (planned once, generic).
struct Fetch {
    std::string sql;
    Oid array_type = InvalidOid;
};

struct Model {
    std::string relid;
    std::string model_name;
    std::string primary_key;
    std::vector<Column> columns;
    size_t pk_index = 0;
    // Expressions fetched after t.*: a custom serializer's f(t), a partition
    // key function's f(t). fetch_sql selects them in this order.
    std::vector<std::string> extra_columns;
    Fetch fetch;             // SELECT t.*[, extras] … WHERE pk = ANY($1)
    // What a record shows (dionysus.serializer, else the default serializer):
    std::vector<size_t> attributes;                     // column indexes, in order
    std::vector<std::pair<std::string, size_t>> links;  // has_one: name -> column index
    std::optional<size_t> custom_function;              // record = this fetched column
    struct HasMany {
        std::string name;           // relation name: links key and sideload key
        Fetch fetch;                // children of parents $1
        std::shared_ptr<const struct Model> child;
        size_t fk_index = 0;        // in child->columns
    };
    std::vector<HasMany> has_many;
    struct HasOne {
        std::string name;           // sideload key (the link's name)
        size_t fk_index = 0;        // in columns
        std::shared_ptr<const struct Model> target;
    };
    std::vector<HasOne> has_one;
    // Sideloads in dependency order: ('o', has_one index) or ('m', has_many index).
    std::vector<std::pair<char, size_t>> sideloads;
    // Per topic (top-level models only):
    char partition_key_kind = 0;           // 'c' column, 'f' function, 0 none
    size_t partition_key_index = 0;        // fetched column holding the key
    std::optional<size_t> soft_delete_index;
    bool after_soft_delete = false;
    // Fan-out of dependency events: model rows by a foreign-key column.
    std::map<std::string, Fetch> fetch_by_column;

    std::optional<size_t> index_of(const std::string& column) const {
        for (size_t i = 0; i < columns.size(); i++)
            if (columns[i].name == column) return i;
        return std::nullopt;
    }
};

std::map<std::pair<std::string, std::string>, std::optional<Model>> model_cache;
// Relations whose change makes the cache stale: the catalog and every table
// a cached model renders. Read by the relcache callback (no allocation there).
std::set<Oid> model_cache_relids;
bool model_cache_stale = true;
bool model_cache_callback_registered = false;

void model_cache_invalidate(Datum, Oid relid) {
    if (relid == InvalidOid || model_cache_relids.count(relid)) model_cache_stale = true;
}

// A function's name, quoted, for calling it in SQL.
std::string function_call_name(const std::string& regprocedure) {
    return *spi::query_value(
        "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p "
        "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = $1::pg_catalog.regprocedure",
        {regprocedure});
}

// SELECT t.*[, extras] FROM <table> t WHERE t.<column> = ANY ($1::<type>[]).
// The type is in the text because plans are cached by text: after ALTER
// COLUMN … TYPE the statement (and its parameter type) must be new.
// No ORDER BY: it would tempt the planner into a primary-key index scan of
// a whole child table; rows are sorted in C++ where order matters.
Fetch fetch_sql(const Model& m, const std::string& column) {
    std::string select_list = "t.*";
    for (const auto& e : m.extra_columns) select_list += ", " + e;
    auto rows = spi::query(
        "SELECT pg_catalog.format('SELECT %s FROM %s t WHERE t.%I = ANY ($1::%s)', "
        "$3, c.oid::pg_catalog.regclass, a.attname, ty.typarray::pg_catalog.regtype), "
        "ty.typarray::pg_catalog.oid::text "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
        "AND a.attname = $2 AND NOT a.attisdropped JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid "
        "WHERE c.oid = $1::pg_catalog.oid AND ty.typarray <> 0",
        {m.relid, column, select_list});
    if (rows.empty())
        throw std::runtime_error("column " + column + " of table " + m.relid + " no longer exists");
    return Fetch{*rows[0][0], static_cast<Oid>(std::stoul(*rows[0][1]))};
}

using RowRef = pg::RowSet::RowRef;

pg::RowSet fetch_rows(const Fetch& f, const std::string& values_literal) {
    return spi::query_cached_rows(f.sql, {values_literal}, {f.array_type}, true);
}

// Default serializer: every column but foreign keys, which become has_one
// links named after the column without _id. dionysus.serializer may choose
// and order the attributes, exclude columns, declare the has_one links, or
// name a function whose jsonb result is the whole record.
void apply_serializer(Model& m) {
    const std::string& relid = m.relid;
    auto decl = spi::query(
        "SELECT s.attributes IS NOT NULL, s.has_one IS NOT NULL, s.function "
        "FROM dionysus.serializers s WHERE s.model = $1::pg_catalog.oid",
        {relid});
    const bool declared = !decl.empty();
    const bool has_attributes = declared && *decl[0][0] == "t";
    const bool has_one = declared && *decl[0][1] == "t";
    if (declared && decl[0][2]) {
        // The function's result comes as one more column after t.*.
        m.custom_function = m.columns.size() + m.extra_columns.size();
        m.extra_columns.push_back(function_call_name(*decl[0][2]) + "(t)::pg_catalog.text");
        return;
    }
    std::vector<bool> is_link(m.columns.size(), false);
    if (has_one) {
        for (const auto& r : spi::query("SELECT e.key, e.value FROM dionysus.serializers s, "
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
        for (const auto& r : spi::query("SELECT a FROM dionysus.serializers s, pg_catalog.unnest(s.attributes) "
                                        "WITH ORDINALITY u(a, n) WHERE s.model = $1::pg_catalog.oid ORDER BY u.n",
                                        {relid}))
            if (auto i = m.index_of(*r[0])) m.attributes.push_back(*i);
    } else {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (!is_link[i]) m.attributes.push_back(i);
    }
    if (declared) {
        for (const auto& r : spi::query("SELECT e FROM dionysus.serializers s, pg_catalog.unnest(s.\"except\") e "
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
    auto pk = spi::query_value(
        "SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = $1::pg_catalog.oid AND i.indisprimary",
        {relid});
    if (!pk) throw std::runtime_error("table " + relid + " has no primary key: it cannot be rendered");
    Model m;
    m.relid = relid;
    m.model_name = model_name;
    m.primary_key = *pk;
    model_cache_relids.insert(static_cast<Oid>(std::stoul(relid)));  // ALTER TABLE: reload
    // Domains render as their base type; arrays by their element type.
    auto cols = spi::query(
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
    for (size_t i = 0; i < cols.size(); i++) {
        const auto& c = cols[i];
        bool is_array = (*c[2] == "A") && !c[3]->empty();
        json::Kind kind = is_array ? json::kind_for_type(*c[3], (*c[4])[0])
                                   : json::kind_for_type(*c[1], (*c[2])[0]);
        m.columns.push_back(Column{*c[0], kind, is_array, *c[5] == "true"});
        if (*c[0] == m.primary_key) m.pk_index = i;
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

// A published model on a topic: its table, its relations (declared by
// dionysus.serializer or inferred from its dependencies), its partition key
// and soft-delete column (for events of dependency changes).
std::optional<Model> load_model_uncached(const std::string& topic, const std::string& model_name) {
    auto decl = spi::query(
        "SELECT m.model::pg_catalog.oid::text, COALESCE(m.partition_key_kind::text, ''), m.partition_key, "
        "m.soft_delete_column::text, m.publish_updates_after_soft_delete::text, "
        "(SELECT s.has_many IS NOT NULL FROM dionysus.serializers s WHERE s.model = m.model)::text "
        // a table dropped since it was published: its events are skipped
        "FROM dionysus.models m JOIN pg_catalog.pg_class c ON c.oid = m.model "
        "WHERE m.topic = $1 AND m.model_name = $2",
        {topic, model_name});
    if (decl.empty()) return std::nullopt;
    const auto& d = decl[0];
    Model m = load_columns(*d[0], model_name);
    // A dependency table dropped since is left out (its changes no longer reach us).
    const auto dependencies = spi::query(
        "SELECT d.kind::text, d.dependency::pg_catalog.oid::text, d.\"column\"::text, d.relation "
        "FROM dionysus.dependencies d JOIN pg_catalog.pg_class c ON c.oid = d.dependency "
        "WHERE d.topic = $1 AND d.model = $2::pg_catalog.oid ORDER BY d.position",
        {topic, *d[0]});
    // Events of dependency changes take their partition key from the row
    // at publish time; other events carry it from capture.
    m.partition_key_kind = d[1]->empty() ? 0 : (*d[1])[0];
    if (m.partition_key_kind == 'c') {
        m.partition_key_index = m.index_of(*d[2]).value_or(0);
    } else if (m.partition_key_kind == 'f' && !dependencies.empty()) {
        m.partition_key_index = m.columns.size() + m.extra_columns.size();
        m.extra_columns.push_back(function_call_name(*d[2]) + "(t)");
    }
    if (d[3]) m.soft_delete_index = m.index_of(*d[3]);
    m.after_soft_delete = *d[4] == "true";
    m.fetch = fetch_sql(m, m.primary_key);

    const bool declared_has_many = d[5] && *d[5] == "true";
    for (const auto& r : dependencies) {
        const std::string& column = *r[2];
        if (*r[0] == "o") {  // the model references the dependency
            auto fk = m.index_of(column);
            if (!fk) continue;  // renamed or dropped since: nothing to fan out or sideload
            m.fetch_by_column.emplace(column, fetch_sql(m, column));
            if (m.custom_function) continue;
            std::string name = *r[3];  // the link's name when the serializer renders one
            for (const auto& [link, index] : m.links)
                if (index == *fk) name = link;
            m.has_one.push_back(Model::HasOne{name, *fk, load_related(*r[1])});
            m.sideloads.emplace_back('o', m.has_one.size() - 1);
        } else if (!m.custom_function && !declared_has_many) {
            m.has_many.push_back(has_many_relation(*r[3], *r[1], column));
            m.sideloads.emplace_back('m', m.has_many.size() - 1);
        }
    }
    if (m.custom_function || !declared_has_many) return m;
    // has_many declared by the serializer: {"relation": "child_table.fk_column"}, in jsonb order.
    for (const auto& r : spi::query(
             "SELECT e.key, ch.oid::pg_catalog.oid::text, ch.col "
             "FROM dionysus.serializers s CROSS JOIN LATERAL pg_catalog.jsonb_each_text(s.has_many) e "
             "CROSS JOIN LATERAL (SELECT pg_catalog.to_regclass(pg_catalog.substring(e.value, '^(.*)\\.[^.]*$')) AS oid, "
             "  pg_catalog.substring(e.value, '\\.([^.]*)$') AS col) ch "
             // a child table or column gone since the declaration is left out
             "JOIN pg_catalog.pg_attribute a ON a.attrelid = ch.oid AND a.attname = ch.col AND NOT a.attisdropped "
             "WHERE s.model = $1::pg_catalog.oid",
             {*d[0]})) {
        m.has_many.push_back(has_many_relation(*r[0], *r[1], *r[2]));
        m.sideloads.emplace_back('m', m.has_many.size() - 1);
    }
    return m;
}

// A record of `model` for one fetched row: its attributes, its has_one links
// then `many_links`, then `sideloads`; or its custom function's result.
// `attrs` and `links` are scratch vectors reused across rows.
void append_model_record(std::string& out, const Model& model, const RowRef& row,
                         std::vector<Attribute>& attrs, std::vector<Attribute>& links,
                         const std::vector<Attribute>& many_links, const std::vector<Sideload>& sideloads) {
    if (model.custom_function) {
        const auto result = row[*model.custom_function];  // f(t)::text, used as it is
        if (result) json::append_value(out, json::Kind::Json, *result);
        else out += "null";
        return;
    }
    auto attribute = [&row, &model](std::string_view name, size_t c) {
        const Column& col = model.columns[c];
        const auto value = row[c];
        return Attribute{name, col.kind, col.is_array, !value, value.value_or(std::string_view())};
    };
    attrs.clear();
    links.clear();
    for (size_t c : model.attributes) attrs.push_back(attribute(model.columns[c].name, c));
    for (const auto& [name, c] : model.links) links.push_back(attribute(name, c));
    links.insert(links.end(), many_links.begin(), many_links.end());
    append_record(out, attrs, links, sideloads);
}

// Children of every parent in `parent_ids`, per relation, rendered once per
// batch (one query per relationship, not per row): relation index ->
// parent id -> (child ids as a PG array literal, sideload JSON array).
using Children = std::vector<std::unordered_map<std::string, std::pair<std::string, std::string>>>;

Children load_children(const Model& model, const std::vector<std::string>& parent_ids) {
    Children out(model.has_many.size());
    if (parent_ids.empty()) return out;
    const std::string ids = text_array_literal(parent_ids);
    std::vector<Attribute> attrs, links;
    for (size_t h = 0; h < model.has_many.size(); h++) {
        const auto& rel = model.has_many[h];
        const Model& child = *rel.child;
        auto rows = fetch_rows(rel.fetch, ids);
        // Children in primary-key order (numeric for integer keys), keys
        // parsed once rather than in every comparison.
        const size_t pk = child.pk_index;
        const bool numeric = child.columns[pk].kind == json::Kind::Integer;
        std::vector<std::pair<long long, size_t>> by_number;
        std::vector<std::pair<std::string_view, size_t>> by_text;
        for (size_t i = 0; i < rows.size(); i++) {
            const auto key = rows[i][pk];
            if (numeric && key) by_number.emplace_back(std::strtoll(std::string(*key).c_str(), nullptr, 10), i);
            else by_text.emplace_back(key.value_or(std::string_view()), i);
        }
        std::sort(by_number.begin(), by_number.end());
        std::sort(by_text.begin(), by_text.end());
        std::vector<size_t> order;
        order.reserve(rows.size());
        for (const auto& [key, i] : by_number) order.push_back(i);
        for (const auto& [key, i] : by_text) order.push_back(i);
        std::string parent;
        for (size_t i : order) {
            const RowRef row = rows[i];
            const auto fk = row[rel.fk_index];
            if (!fk) continue;
            parent.assign(*fk);
            auto& [id_list, records] = out[h][parent];
            if (records.empty()) records.reserve(1024);  // grows child by child
            // links: child primary keys in a PG array literal, rendered by append_array
            id_list += id_list.empty() ? "{" : ",";
            id_list += '"';
            for (char ch : row[child.pk_index].value_or(std::string_view())) {
                if (ch == '"' || ch == '\\') id_list += '\\';
                id_list += ch;
            }
            id_list += '"';
            records += records.empty() ? "[" : ",";
            append_model_record(records, child, row, attrs, links, {}, {});
        }
    }
    for (auto& per_parent : out)
        for (auto& [parent, value] : per_parent) {
            value.first += '}';
            value.second += ']';
        }
    return out;
}

// has_one sideloads of the fetched parent rows: relation index -> related
// primary key -> rendered record (one query per relationship per batch).
using Related = std::vector<std::unordered_map<std::string, std::string>>;

Related load_related_records(const Model& model, const std::vector<RowRef>& parents) {
    Related out(model.has_one.size());
    std::vector<Attribute> attrs, links;
    for (size_t h = 0; h < model.has_one.size(); h++) {
        const auto& rel = model.has_one[h];
        std::vector<std::string> ids;
        for (const auto& row : parents)
            if (const auto fk = row[rel.fk_index]) ids.emplace_back(*fk);
        if (ids.empty()) continue;
        const pg::RowSet rows = fetch_rows(rel.target->fetch, text_array_literal(ids));
        for (size_t i = 0; i < rows.size(); i++) {
            std::string record;
            append_model_record(record, *rel.target, rows[i], attrs, links, {}, {});
            out[h].emplace(rows[i][rel.target->pk_index].value_or(std::string_view()), std::move(record));
        }
    }
    return out;
}

const std::optional<Model>& load_model(const std::string& topic, const std::string& model_name) {
    auto key = std::make_pair(topic, model_name);
    auto it = model_cache.find(key);
    if (it == model_cache.end()) it = model_cache.emplace(key, load_model_uncached(topic, model_name)).first;
    return it->second;
}

}  // namespace

void forget_model_cache() { model_cache_stale = true; }

void reset_model_cache() {
    if (!model_cache_callback_registered) {
        spi::guard([] { CacheRegisterRelcacheCallback(model_cache_invalidate, (Datum)0); });
        model_cache_callback_registered = true;
    }
    // Invalidations arrive when a transaction starts: the caller has one open.
    if (!model_cache_stale) return;
    model_cache.clear();
    model_cache_relids.clear();
    // Declarations (publish, unpublish, serializer…) invalidate dionysus.models.
    for (const char* catalog : {"models", "serializers", "topics", "dependencies"}) {
        Oid relid = dionysus_relid(catalog);
        if (OidIsValid(relid)) model_cache_relids.insert(relid);
    }
    model_cache_stale = false;
}

bool extension_installed() {
    return spi::guard([] { return OidIsValid(get_extension_oid("dionysus", true)); });
}

void set_session_formats() {
    spi::execute(
        "SELECT pg_catalog.set_config('DateStyle', 'ISO, YMD', false), "
        "pg_catalog.set_config('TimeZone', 'UTC', false), "
        "pg_catalog.set_config('IntervalStyle', 'iso_8601', false), "
        "pg_catalog.set_config('extra_float_digits', '1', false), "
        "pg_catalog.set_config('bytea_output', 'hex', false), "
        // Losing the last published marks in a crash only re-sends those
        // rows (at least once); waiting for each mark's WAL flush would
        // halve the drain rate.
        "pg_catalog.set_config('synchronous_commit', 'off', false)");
}

std::vector<std::string> topics_with_pending() {
    auto rows = spi::query(
        "WITH RECURSIVE t(topic) AS ("
        " (SELECT o.topic FROM dionysus.outbox o WHERE o.published_at IS NULL ORDER BY o.topic LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT o.topic FROM dionysus.outbox o WHERE o.published_at IS NULL"
        "         AND o.topic OPERATOR(pg_catalog.>) t.topic ORDER BY o.topic LIMIT 1)"
        " FROM t WHERE t.topic IS NOT NULL)"
        " SELECT topic FROM t WHERE topic IS NOT NULL");
    std::vector<std::string> out;
    for (auto& r : rows) out.push_back(*r[0]);
    return out;
}

std::vector<OutboxRow> read_batch(const std::string& topic, int64_t after_id, int limit,
                                  int delay_ms, bool& more) {
    // Rows waiting for their retry time or younger than publishing_delay end
    // the batch (not filtered out): later rows wait behind them, so per-key
    // order holds and a held backlog costs one index probe, not a scan.
    auto rows = spi::query_cached(
        "SELECT o.id::text, o.resource_class, o.resource_id, o.event_name, o.partition_key, "
        "o.message_key, o.message::text, o.resource_column::text, ((o.retry_at IS NOT NULL AND o.retry_at > pg_catalog.now()) OR o.created_at > "
        "pg_catalog.now() - pg_catalog.make_interval(secs => $2::pg_catalog.float8 / 1000))::text "
        "FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.topic = $1 "
        "AND o.id > $4::pg_catalog.int8 ORDER BY o.id LIMIT $3::pg_catalog.int4",
        {topic, std::to_string(delay_ms), std::to_string(limit), std::to_string(after_id)});
    more = static_cast<int>(rows.size()) == limit;
    std::vector<OutboxRow> out;
    for (auto& r : rows) {
        if (*r[8] == "true") {
            more = false;
            break;
        }
        OutboxRow row{std::stoll(*r[0]), *r[1], r[2], *r[3], r[4], r[7], r[5], r[6]};
        out.push_back(std::move(row));
    }
    return out;
}

void render(const std::string& topic, const std::vector<OutboxRow>& rows,
            std::deque<kafka::Message>& out, std::vector<int64_t>& skipped) {
    bool replica = spi::query_value(
                       "SELECT genesis_replica::text FROM dionysus.topics WHERE name = $1",
                       {topic})
                       .value_or("false") == "true";
    // One rendered message: key, value (nullopt: tombstone), partition key.
    struct Rendered {
        std::string key;
        std::optional<std::string> value;
        std::optional<std::string> partition_key;
    };
    // Current state of every row named in the batch, one query per model
    // (and per fan-out column).
    std::map<std::string, std::vector<const OutboxRow*>> by_model;
    // (position of the outbox row in `rows`, message), sorted by position at the end
    std::vector<std::pair<size_t, Rendered>> rendered;
    rendered.reserve(rows.size());
    for (const auto& r : rows) {
        if (!r.message_key) {
            by_model[r.resource_class].push_back(&r);
        } else {
            rendered.emplace_back(&r - rows.data(), Rendered{
                *r.message_key, r.message ? std::optional<std::string>(hand_built_value(*r.message)) : std::nullopt,
                r.partition_key});
        }
    }

    for (auto& [model_name, model_rows] : by_model) {
        const auto& model = load_model(topic, model_name);
        if (!model) {  // unpublished since: nothing to serialize it with
            for (auto* r : model_rows) skipped.push_back(r->id);
            continue;
        }
        // Which rows to fetch: by primary key, or by a foreign key for
        // dependency changes that fan out (has_one).
        auto by_primary_key = [&model](const OutboxRow* r) {
            return !r->resource_column || *r->resource_column == model->primary_key;
        };
        std::vector<std::string> ids;
        std::map<std::string, std::vector<std::string>> fan_out_values;  // column -> values
        for (auto* r : model_rows) {
            if (!r->resource_id) continue;
            if (by_primary_key(r)) ids.push_back(*r->resource_id);
            else fan_out_values[*r->resource_column].push_back(*r->resource_id);
        }
        std::deque<pg::RowSet> results;  // owns the rows `current` refers to (deque: never moved)
        results.push_back(fetch_rows(model->fetch, text_array_literal(ids)));
        std::vector<RowRef> current;
        std::unordered_map<std::string, size_t> row_of;  // pk text -> index in current
        for (size_t i = 0; i < results.back().size(); i++) {
            current.push_back(results.back()[i]);
            if (const auto pk = current[i][model->pk_index]) row_of.emplace(*pk, i);
        }
        // column -> value -> rows having it
        std::map<std::string, std::unordered_map<std::string, std::vector<size_t>>> rows_by_value;
        for (const auto& [column, values] : fan_out_values) {
            auto sql = model->fetch_by_column.find(column);
            if (sql == model->fetch_by_column.end()) continue;  // declaration changed since
            const size_t col = *model->index_of(column);
            results.push_back(fetch_rows(sql->second, text_array_literal(values)));
            const pg::RowSet& fetched = results.back();
            for (size_t i = 0; i < fetched.size(); i++) {
                const auto pk = fetched[i][model->pk_index];
                const auto value = fetched[i][col];
                if (!pk || !value) continue;
                auto [it, fresh] = row_of.emplace(*pk, current.size());
                if (fresh) current.push_back(fetched[i]);
                rows_by_value[column][std::string(*value)].push_back(it->second);
            }
        }
        std::vector<std::string> found_ids;
        for (const auto& [pk, index] : row_of) found_ids.push_back(pk);
        const Children children = load_children(*model, found_ids);
        const Related related = load_related_records(*model, current);

        // The rows (indexes in `current`) an event is published for: the
        // row itself, or for a dependency change every row it belongs to.
        auto targets_of = [&](const OutboxRow* r) {
            std::vector<size_t> targets;
            if (!r->resource_id) return targets;
            if (by_primary_key(r)) {
                auto found = row_of.find(*r->resource_id);
                if (found != row_of.end()) targets.push_back(found->second);
            } else {
                auto column = rows_by_value.find(*r->resource_column);
                if (column != rows_by_value.end()) {
                    auto found = column->second.find(*r->resource_id);
                    if (found != column->second.end()) targets = found->second;
                }
            }
            std::sort(targets.begin(), targets.end());
            return targets;
        };
        // A record published once is rendered straight into its message;
        // one published several times in the batch is rendered once and kept.
        std::vector<std::vector<size_t>> targets(model_rows.size());
        std::vector<int> uses(current.size(), 0);
        for (size_t k = 0; k < model_rows.size(); k++) {
            targets[k] = targets_of(model_rows[k]);
            for (size_t index : targets[k]) uses[index]++;
        }
        std::unordered_map<size_t, std::string> record_of;  // by row index
        std::vector<Attribute> attrs, links, many_links;    // reused for every row
        std::vector<Sideload> sideloads;
        std::vector<const std::pair<std::string, std::string>*> kids_of;  // per has_many: ids, records
        auto value_for = [&](const std::string& event, size_t index) -> std::string {
            auto cached = record_of.find(index);
            if (cached != record_of.end()) return envelope(event, model->model_name, cached->second);
            const RowRef row = current[index];
            const std::string id(*row[model->pk_index]);
            many_links.clear();
            sideloads.clear();
            kids_of.clear();
            // has_many: ids in links, records sideloaded under the relation name
            for (size_t h = 0; h < model->has_many.size(); h++) {
                const auto& rel = model->has_many[h];
                auto kids = children[h].find(id);
                kids_of.push_back(kids == children[h].end() ? nullptr : &kids->second);
                // string_views into `children` (a ternary with a literal would
                // make a temporary std::string)
                const std::string_view ids = kids_of[h] ? std::string_view(kids_of[h]->first) : std::string_view("{}");
                many_links.push_back(Attribute{rel.name, rel.child->columns[rel.child->pk_index].kind,
                                               true, false, ids});
            }
            for (const auto& [kind, h] : model->sideloads) {
                if (kind == 'm') {
                    sideloads.push_back(Sideload{model->has_many[h].name,
                                                 kids_of[h] ? std::string_view(kids_of[h]->second) : std::string_view("[]")});
                } else {
                    const auto& rel = model->has_one[h];
                    const auto fk = row[rel.fk_index];
                    auto target = fk ? related[h].find(std::string(*fk)) : related[h].end();
                    sideloads.push_back(Sideload{rel.name, target == related[h].end()
                                                               ? std::string_view("null")
                                                               : std::string_view(target->second)});
                }
            }
            size_t size = 512 + event.size() + model->model_name.size();
            for (const auto& sideload : sideloads) size += sideload.json.size() + sideload.name.size() + 4;
            std::string out;
            out.reserve(size);
            if (uses[index] > 1) {
                append_model_record(out, *model, row, attrs, links, many_links, sideloads);
                return envelope(event, model->model_name, record_of.emplace(index, std::move(out)).first->second);
            }
            append_envelope_head(out, event, model->model_name);
            append_model_record(out, *model, row, attrs, links, many_links, sideloads);
            append_envelope_tail(out);
            return out;
        };

        for (size_t k = 0; k < model_rows.size(); k++) {
            const OutboxRow* r = model_rows[k];
            const size_t position = r - rows.data();
            if (r->resource_column) {
                // A dependency changed: `_updated` of every model row it
                // belongs to that still exists and is visible, with that
                // row's key and partition key.
                const size_t before = rendered.size();
                for (size_t index : targets[k]) {
                    const RowRef row = current[index];
                    if (model->soft_delete_index && row[*model->soft_delete_index] && !model->after_soft_delete)
                        continue;
                    std::optional<std::string> partition_key;
                    if (model->partition_key_kind)
                        partition_key = std::string(row[model->partition_key_index].value_or("0"));
                    rendered.emplace_back(position, Rendered{naming::message_key(r->resource_class, *row[model->pk_index]),
                                                             value_for(r->event_name, index),
                                                             std::move(partition_key)});
                }
                if (rendered.size() == before) skipped.push_back(r->id);
                continue;
            }
            const bool destroyed = r->event_name.size() >= 10 &&
                                   r->event_name.compare(r->event_name.size() - 10, 10, "_destroyed") == 0;
            std::string value;
            if (!targets[k].empty()) {  // the row itself
                value = value_for(r->event_name, targets[k][0]);
            } else if (!destroyed) {  // deleted since; its _destroyed event follows
                skipped.push_back(r->id);
                continue;
            } else {
                const Column& pk = model->columns[model->pk_index];
                Attribute id{"id", pk.kind, false, !r->resource_id,
                             r->resource_id ? std::string_view(*r->resource_id) : std::string_view()};
                std::string record;
                append_deleted_record(record, id);
                value = envelope(r->event_name, model->model_name, record);
            }
            rendered.emplace_back(position, Rendered{
                naming::message_key(r->resource_class, r->resource_id.value_or("")), std::move(value),
                r->partition_key});
        }
    }
    // Messages in outbox order; the messages of one outbox row stay together
    // (in the order they were rendered).
    std::stable_sort(rendered.begin(), rendered.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [position, one] : rendered) {
        const OutboxRow& r = rows[position];
        kafka::Message m;
        m.topic = topic;
        m.key = std::move(one.key);
        m.value = std::move(one.value);
        m.partition_key = std::move(one.partition_key);
        m.outbox_id = r.id;
        m.headers = {{"event", r.event_name}, {"model", r.resource_class},
                     {"outbox_id", std::to_string(r.id)}};
        if (replica) {
            kafka::Message copy = m;
            copy.topic = topic + "_genesis";
            out.push_back(std::move(m));
            out.push_back(std::move(copy));
        } else {
            out.push_back(std::move(m));
        }
    }
}

// The outbox has no primary key on purpose: found through the partial index
// of unpublished rows, a published row's new version enters no index at all.
// A batch holds consecutive unpublished rows of one topic, so the id range
// bounds the index scan and the array only filters within it.
void mark_published(const std::string& topic, const std::vector<int64_t>& ids) {
    if (ids.empty()) return;
    spi::execute_cached(
        "UPDATE dionysus.outbox SET published_at = pg_catalog.now(), updated_at = pg_catalog.now() "
        "WHERE topic = $2 AND published_at IS NULL AND id BETWEEN $3 AND $4 AND id = ANY ($1)",
        {ids_literal(ids), topic, std::to_string(*std::min_element(ids.begin(), ids.end())),
         std::to_string(*std::max_element(ids.begin(), ids.end()))},
        {INT8ARRAYOID, TEXTOID, INT8OID, INT8OID});
}

// A failure on rows: attempts+1, the error, and dionysus-rb's backoff
// (retry after 5·2^attempts seconds). $1 topic, $2 class, $3 message; the
// caller's condition selects the rows.
const char* const kRecordFailure =
    "UPDATE dionysus.outbox SET attempts = attempts + 1, failed_at = pg_catalog.now(), "
    "updated_at = pg_catalog.now(), error_class = $2, error_message = $3, "
    "retry_at = pg_catalog.now() + pg_catalog.make_interval(secs => 5 * pg_catalog.power(2, "
    "LEAST(attempts, 16))) WHERE topic = $1 AND published_at IS NULL AND ";

void mark_failed(const std::string& topic, const std::vector<int64_t>& ids,
                 const std::string& error_class, const std::string& error_message) {
    if (ids.empty()) return;
    spi::execute(std::string(kRecordFailure) + "id = ANY ($4::pg_catalog.int8[])",
                 {topic, error_class, error_message, ids_literal(ids)});
}

void mark_batch_failed(const std::string& topic, int64_t after_id, int limit,
                       const std::string& error_class, const std::string& error_message) {
    spi::execute(std::string(kRecordFailure) +
                     "id IN (SELECT o.id FROM dionysus.outbox o WHERE o.topic = $1 AND "
                     "o.published_at IS NULL AND o.id > $4::pg_catalog.int8 ORDER BY o.id "
                     "LIMIT $5::pg_catalog.int4)",
                 {topic, error_class, error_message, std::to_string(after_id), std::to_string(limit)});
}

}  // namespace dionysus::publisher
