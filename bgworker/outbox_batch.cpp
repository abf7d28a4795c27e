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

std::string link_name(const std::string& column) {
    if (column.size() > 3 && column.compare(column.size() - 3, 3, "_id") == 0)
        return column.substr(0, column.size() - 3);
    return column;
}

struct Column {
    std::string name;
    json::Kind kind;
    bool is_array;
    bool is_foreign_key;
};

struct Model {
    std::string model_name;
    std::string primary_key;
    std::string fetch_sql;   // SELECT t.*[, f(t)] … WHERE pk = ANY($1)
    std::vector<Column> columns;
    size_t pk_index = 0;
    // What a record shows (dionysus.serializer, else the default serializer):
    std::vector<size_t> attributes;                     // column indexes, in order
    std::vector<std::pair<std::string, size_t>> links;  // has_one: name -> column index
    bool custom_function = false;                       // record = last fetched column
    struct HasMany {
        std::string name;           // relation name: links key and sideload key
        std::string fetch_sql;      // children of parents $1 (text[] of ids), by child pk
        std::shared_ptr<const struct Model> child;
        size_t fk_index = 0;        // in child->columns
    };
    std::vector<HasMany> has_many;
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

// Default serializer: every column but foreign keys, which become has_one
// links named after the column without _id. dionysus.serializer may choose
// and order the attributes, exclude columns, declare the has_one links, or
// name a function whose jsonb result is the whole record.
void apply_serializer(Model& m, const std::string& relid) {
    auto index_of = [&m](const std::string& column) -> std::optional<size_t> {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (m.columns[i].name == column) return i;
        return std::nullopt;
    };
    auto decl = spi::query(
        "SELECT s.attributes IS NOT NULL, s.has_one IS NOT NULL, "
        "(SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p "
        " JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = s.function::pg_catalog.regprocedure) "
        "FROM dionysus.serializers s WHERE s.model = $1::pg_catalog.oid",
        {relid});
    const bool declared = !decl.empty();
    const bool has_attributes = declared && *decl[0][0] == "t";
    const bool has_one = declared && *decl[0][1] == "t";
    if (declared && decl[0][2]) {
        m.custom_function = true;
        // The function's result comes as one more column after t.*.
        m.fetch_sql.replace(m.fetch_sql.find("SELECT t.*"), 10, "SELECT t.*, " + *decl[0][2] + "(t)::pg_catalog.text");
        return;
    }
    std::vector<bool> is_link(m.columns.size(), false);
    if (has_one) {
        for (const auto& r : spi::query("SELECT e.key, e.value FROM dionysus.serializers s, "
                                        "pg_catalog.jsonb_each_text(s.has_one) e WHERE s.model = $1::pg_catalog.oid",
                                        {relid}))
            if (auto i = index_of(*r[1])) {
                m.links.emplace_back(*r[0], *i);
                is_link[*i] = true;
            }
    } else {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (m.columns[i].is_foreign_key) {
                m.links.emplace_back(link_name(m.columns[i].name), i);
                is_link[i] = true;
            }
    }
    if (has_attributes) {
        for (const auto& r : spi::query("SELECT a FROM dionysus.serializers s, pg_catalog.unnest(s.attributes) "
                                        "WITH ORDINALITY u(a, n) WHERE s.model = $1::pg_catalog.oid ORDER BY u.n",
                                        {relid}))
            if (auto i = index_of(*r[0])) m.attributes.push_back(*i);
    } else {
        for (size_t i = 0; i < m.columns.size(); i++)
            if (!is_link[i]) m.attributes.push_back(i);
    }
    if (declared) {
        for (const auto& r : spi::query("SELECT e FROM dionysus.serializers s, pg_catalog.unnest(s.\"except\") e "
                                        "WHERE s.model = $1::pg_catalog.oid",
                                        {relid}))
            if (auto i = index_of(*r[0])) {
                m.attributes.erase(std::remove(m.attributes.begin(), m.attributes.end(), *i), m.attributes.end());
                m.links.erase(std::remove_if(m.links.begin(), m.links.end(),
                                             [&](const auto& l) { return l.second == *i; }),
                              m.links.end());
            }
    }
}

// Columns, fetch statement and serializer of a table. Children of has_many
// relations are loaded one level deep (as dionysus-rb sideloads).
Model load_table(const std::string& relid, const std::string& model_name, bool with_has_many) {
    auto rows = spi::query(
        "SELECT a.attname::text, "
        "pg_catalog.format('SELECT t.* FROM %s t WHERE t.%I = ANY ($1::pg_catalog.text[]::%s[])', "
        "c.oid::pg_catalog.regclass, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] "
        "WHERE c.oid = $1::pg_catalog.oid",
        {relid});
    if (rows.empty())
        throw std::runtime_error("table " + relid + " has no primary key: it cannot be rendered");
    Model m;
    m.model_name = model_name;
    m.primary_key = *rows[0][0];
    m.fetch_sql = *rows[0][1];
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
    apply_serializer(m, relid);
    if (!with_has_many || m.custom_function) return m;
    // has_many: {"relation": "child_table.fk_column"}, in declaration (jsonb) order.
    for (const auto& r : spi::query(
             "SELECT e.key, ch.oid::pg_catalog.oid::text, "
             // No ORDER BY: it would tempt the planner into a primary-key index
             // scan of the whole child table; children are sorted below.
             "pg_catalog.format('SELECT t.* FROM %s t WHERE t.%I = ANY ($1::pg_catalog.text[]::%s[])', "
             "  ch.oid::pg_catalog.regclass, fk.attname, pg_catalog.format_type(fk.atttypid, fk.atttypmod)), "
             "fk.attname::text "
             "FROM dionysus.serializers s CROSS JOIN LATERAL pg_catalog.jsonb_each_text(s.has_many) e "
             "CROSS JOIN LATERAL (SELECT pg_catalog.to_regclass(pg_catalog.substring(e.value, '^(.*)\\.[^.]*$')) AS oid, "
             "  pg_catalog.substring(e.value, '\\.([^.]*)$') AS col) ch "
             "JOIN pg_catalog.pg_attribute fk ON fk.attrelid = ch.oid AND fk.attname = ch.col "
             "JOIN pg_catalog.pg_index i ON i.indrelid = ch.oid AND i.indisprimary "
             "JOIN pg_catalog.pg_attribute pk ON pk.attrelid = ch.oid AND pk.attnum = i.indkey[0] "
             "WHERE s.model = $1::pg_catalog.oid",
             {relid})) {
        Model::HasMany h;
        h.name = *r[0];
        h.fetch_sql = *r[2];
        auto child = std::make_shared<Model>(load_table(*r[1], "", false));
        for (size_t i = 0; i < child->columns.size(); i++)
            if (child->columns[i].name == *r[3]) h.fk_index = i;
        h.child = std::move(child);
        m.has_many.push_back(std::move(h));
    }
    return m;
}

std::optional<Model> load_model_uncached(const std::string& topic, const std::string& model_name) {
    auto relid = spi::query_value(
        "SELECT m.model::pg_catalog.oid::text FROM dionysus.models m WHERE m.topic = $1 AND m.model_name = $2",
        {topic, model_name});
    if (!relid) return std::nullopt;
    return load_table(*relid, model_name, true);
}

// A record of `model` for one fetched row: its attributes, its has_one links
// then `many_links`, then `sideloads`; or its custom function's result.
// `attrs` and `links` are scratch vectors reused across rows.
void append_model_record(std::string& out, const Model& model, const pg::Row& row,
                         std::vector<Attribute>& attrs, std::vector<Attribute>& links,
                         const std::vector<Attribute>& many_links, const std::vector<Sideload>& sideloads) {
    if (model.custom_function) {
        const auto& result = row.back();  // f(t)::text, used as it is
        if (result) json::append_value(out, json::Kind::Json, *result);
        else out += "null";
        return;
    }
    auto attribute = [&row, &model](std::string_view name, size_t c) {
        const Column& col = model.columns[c];
        return Attribute{name, col.kind, col.is_array, !row[c],
                         row[c] ? std::string_view(*row[c]) : std::string_view()};
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
        auto rows = spi::query_cached(rel.fetch_sql, {ids});
        // Children in primary-key order (numeric for integer keys).
        const size_t pk = child.pk_index;
        const bool numeric = child.columns[pk].kind == json::Kind::Integer;
        std::sort(rows.begin(), rows.end(), [pk, numeric](const pg::Row& a, const pg::Row& b) {
            const std::string& x = a[pk].value_or("");
            const std::string& y = b[pk].value_or("");
            if (numeric && x.size() && y.size()) return std::stoll(x) < std::stoll(y);
            return x < y;
        });
        for (const auto& row : rows) {
            if (!row[rel.fk_index]) continue;
            auto& [id_list, records] = out[h][*row[rel.fk_index]];
            // links: child primary keys in a PG array literal, rendered by append_array
            id_list += id_list.empty() ? "{" : ",";
            id_list += '"';
            for (char ch : row[child.pk_index].value_or("")) {
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
    for (const char* catalog : {"models", "serializers", "topics"}) {
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
        "o.message_key, o.message::text, ((o.retry_at IS NOT NULL AND o.retry_at > pg_catalog.now()) OR o.created_at > "
        "pg_catalog.now() - pg_catalog.make_interval(secs => $2::pg_catalog.float8 / 1000))::text "
        "FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.topic = $1 "
        "AND o.id > $4::pg_catalog.int8 ORDER BY o.id LIMIT $3::pg_catalog.int4",
        {topic, std::to_string(delay_ms), std::to_string(limit), std::to_string(after_id)});
    more = static_cast<int>(rows.size()) == limit;
    std::vector<OutboxRow> out;
    for (auto& r : rows) {
        if (*r[7] == "true") {
            more = false;
            break;
        }
        out.push_back(OutboxRow{std::stoll(*r[0]), *r[1], r[2], *r[3], r[4], r[5], r[6]});
    }
    return out;
}

void render(const std::string& topic, const std::vector<OutboxRow>& rows,
            std::deque<kafka::Message>& out, std::vector<int64_t>& skipped) {
    bool replica = spi::query_value(
                       "SELECT genesis_replica::text FROM dionysus.topics WHERE name = $1",
                       {topic})
                       .value_or("false") == "true";
    // Current state of every row named in the batch, one query per model.
    std::map<std::string, std::vector<const OutboxRow*>> by_model;
    // outbox id -> rendered value (nullopt: tombstone)
    std::unordered_map<int64_t, std::optional<std::string>> value_of;
    for (const auto& r : rows) {
        if (!r.message_key) {
            by_model[r.resource_class].push_back(&r);
        } else if (r.message) {
            value_of.emplace(r.id, hand_built_value(*r.message));
        } else {
            value_of.emplace(r.id, std::nullopt);
        }
    }

    for (auto& [model_name, model_rows] : by_model) {
        const auto& model = load_model(topic, model_name);
        if (!model) {  // unpublished since: nothing to serialize it with
            for (auto* r : model_rows) skipped.push_back(r->id);
            continue;
        }
        std::vector<std::string> ids;
        for (auto* r : model_rows)
            if (r->resource_id) ids.push_back(*r->resource_id);
        auto current = spi::query_cached(model->fetch_sql, {text_array_literal(ids)});
        std::unordered_map<std::string, size_t> row_of;  // pk text -> index in current
        std::vector<std::string> found_ids;
        for (size_t i = 0; i < current.size(); i++)
            if (const auto& pk = current[i][model->pk_index]) {
                row_of.emplace(*pk, i);
                found_ids.push_back(*pk);
            }
        const Children children = load_children(*model, found_ids);

        std::unordered_map<std::string, std::string> record_of;  // rendered once per id
        std::vector<Attribute> attrs, links, many_links;         // reused for every row
        std::vector<Sideload> sideloads;
        for (auto* r : model_rows) {
            const bool destroyed = r->event_name.size() >= 10 &&
                                   r->event_name.compare(r->event_name.size() - 10, 10, "_destroyed") == 0;
            auto found = r->resource_id ? row_of.find(*r->resource_id) : row_of.end();
            std::string record;
            if (found == row_of.end()) {
                if (!destroyed) {  // deleted since; its _destroyed event follows
                    skipped.push_back(r->id);
                    continue;
                }
                const Column& pk = model->columns[model->pk_index];
                Attribute id{"id", pk.kind, false, !r->resource_id,
                             r->resource_id ? std::string_view(*r->resource_id) : std::string_view()};
                append_deleted_record(record, id);
            } else {
                auto cached = record_of.find(*r->resource_id);
                if (cached != record_of.end()) {
                    record = cached->second;
                } else {
                    const auto& row = current[found->second];
                    many_links.clear();
                    sideloads.clear();
                    // has_many: ids in links, records sideloaded under the relation name
                    for (size_t h = 0; h < model->has_many.size(); h++) {
                        const auto& rel = model->has_many[h];
                        auto kids = children[h].find(*r->resource_id);
                        const bool none = kids == children[h].end();
                        // string_views into `children` (a ternary with a literal would
                        // make a temporary std::string)
                        const std::string_view ids = none ? std::string_view("{}") : std::string_view(kids->second.first);
                        const std::string_view records = none ? std::string_view("[]") : std::string_view(kids->second.second);
                        many_links.push_back(Attribute{rel.name, rel.child->columns[rel.child->pk_index].kind,
                                                       true, false, ids});
                        sideloads.push_back(Sideload{rel.name, records});
                    }
                    append_model_record(record, *model, row, attrs, links, many_links, sideloads);
                    record_of.emplace(*r->resource_id, record);
                }
            }
            value_of.emplace(r->id, envelope(r->event_name, model->model_name, record));
        }
    }
    // Messages in outbox order.
    for (const auto& r : rows) {
        auto v = value_of.find(r.id);
        if (v == value_of.end()) continue;
        kafka::Message m;
        m.topic = topic;
        m.key = r.message_key ? *r.message_key
                              : naming::message_key(r.resource_class, r.resource_id.value_or(""));
        m.value = std::move(v->second);
        m.partition_key = r.partition_key;
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
