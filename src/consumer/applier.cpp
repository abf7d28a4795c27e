#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/user_context.hpp"
#include "consumer/applier.hpp"
#include "extension/guc.hpp"
#include "wire/json_render.hpp"
#include "wire/local_changes.hpp"
#include "wire/naming.hpp"
#include "util/pg_array_literal.hpp"
#include "util/sql_identifier.hpp"
#include "wire/column_text.hpp"

extern "C" {
#include "utils/errcodes.h"
}

#include <map>
#include <set>

namespace dionysus::consumer {

namespace {

using util::quote_identifier;

constexpr size_t kNotifyLimit = 7900;  // NOTIFY payloads must stay under 8000 bytes

// Every statement on a target is planned for its parameters (custom
// plans): a generic plan made while a target was empty would keep scanning
// it sequentially once it is large.

const char* kOrd = "\"dionysus.ord\"";
const char* kEventAt = "\"dionysus.event_at\"";

bool is_null_json(const std::string* v) { return v == nullptr || *v == "null"; }

// The path a target's owner code runs with: pg_catalog, then the
// database's default search_path (postgresql.conf, ALTER DATABASE … SET),
// which the owner's triggers and strategy expect. pg_catalog first,
// whatever the default says: the applier's own expressions (IS DISTINCT
// FROM's =, format_type names) keep their meaning.
std::string default_search_path() {
    return pg::guard([] {
        const char* p = GetConfigOptionResetString("search_path");
        return std::string("pg_catalog") + (p && *p ? std::string(", ") + p : std::string());
    });
}


}  // namespace

Applier::Applier(Targets& targets, std::string topic, int notify)
    : targets_(targets), topic_(std::move(topic)), notify_(notify != kConsumerNotifyOff),
      notify_values_(notify == kConsumerNotifyChanges), search_path_(default_search_path()) {}

void Applier::notify_row(const std::string& event, const std::string& model, const pg::Value& synced_id,
                         const std::string& action, const std::string& changes) {
    rows_changed_++;
    if (notify_)
        notifications_.push_back(wire::consume_notification(topic_, event, model, synced_id.value_or("null"), action,
                                                            changes, kNotifyLimit, notify_values_));
}

Applier::Op Applier::make_op(const Target* target, const std::string& model_name, const std::string& event,
                             wire::EventKind kind, bool aggregate_root, const wire::DeserializedRecord* record) const {
    Op op;
    op.target = target;
    op.model_name = model_name;
    op.event = event;
    op.kind = kind;
    op.aggregate_root = aggregate_root;
    op.record = record;
    op.synced_id = *record->find("synced_id");
    const std::string* updated = record->find("synced_updated_at");
    const std::string* created = record->find("synced_created_at");
    op.event_at = !is_null_json(updated) ? *updated : !is_null_json(created) ? *created : "null";

    const bool cancel_in_payload = !is_null_json(record->find("synced_canceled_at"));
    const bool soft_deletable = target->has("synced_canceled_at");
    if (kind != wire::EventKind::Destroyed || (!aggregate_root && !target->destroy_with_parent)) {
        op.mode = Mode::Upsert;
    } else if ((target->soft_delete_strategy || target->strategy_problem) && (!cancel_in_payload || !soft_deletable)) {
        // A declared strategy that cannot be called fails this message
        // (dead letter), never turning it into a hard delete.
        if (target->strategy_problem) throw pg::Error(ERRCODE_UNDEFINED_FUNCTION, *target->strategy_problem);
        op.mode = Mode::Strategy;
    } else if (cancel_in_payload && soft_deletable) {
        op.mode = Mode::Upsert;  // soft-deleted through synced_canceled_at
    } else {
        op.mode = Mode::Delete;
    }

    std::map<size_t, std::string> by_position;  // target column index -> JSON value
    auto position = [&](const TargetColumn* c) { return static_cast<size_t>(c - target->columns.data()); };
    if (op.mode == Mode::Delete) {
        by_position.emplace(position(target->column("synced_id")), op.synced_id);
    } else {
        for (const auto& [name, json] : record->attributes)
            if (const TargetColumn* c = target->destination(name)) by_position.emplace(position(c), json);
        if (const TargetColumn* c = target->column("synced_data")) {
            std::string data = "{";
            for (const auto& [name, json] : record->attributes) {
                if (data.size() > 1) data += ',';
                json::append_string(data, name);
                data += ':';
                data += json;
            }
            data += '}';
            by_position.emplace(position(c), std::move(data));
        }
        // restore_with_dionysus: created/updated clear synced_canceled_at
        if (kind != wire::EventKind::Destroyed && soft_deletable && !record->find("synced_canceled_at"))
            by_position.emplace(position(target->column("synced_canceled_at")), "null");
    }
    for (auto& [i, json] : by_position) op.values.emplace_back(&target->columns[i], std::move(json));
    return op;
}

void Applier::apply(const std::vector<const std::vector<wire::ConsumedEvent>*>& messages) {
    std::vector<Op> ops;
    for (const auto* events : messages)
        for (const auto& e : *events) {
            const wire::EventKind kind = wire::event_kind(e.event);
            if (kind == wire::EventKind::Other) continue;  // dionysus-rb logs unknown events and goes on
            const Target* target = targets_.for_model(e.model_name);
            if (target == nullptr) continue;  // a model this database does not keep
            for (const auto& json : e.records) {
                records_.push_back(wire::deserialize_record(json));
                ops.push_back(make_op(target, e.model_name, e.event, kind, true, &records_.back()));
            }
        }
    apply_ops(ops);
}

void Applier::apply_ops(std::vector<Op>& ops) {
    size_t start = 0;
    while (start < ops.size()) {
        std::vector<Op*> run{&ops[start]};
        std::set<std::string> ids{ops[start].synced_id};
        size_t end = start + 1;
        auto same_columns = [](const Op& a, const Op& b) {
            if (a.values.size() != b.values.size()) return false;
            for (size_t i = 0; i < a.values.size(); i++)
                if (a.values[i].first != b.values[i].first) return false;
            return true;
        };
        while (end < ops.size() && ops[end].target == ops[start].target && ops[end].mode == ops[start].mode &&
               ops[end].model_name == ops[start].model_name && ops[end].event == ops[start].event &&
               same_columns(ops[end], ops[start]) && ids.insert(ops[end].synced_id).second) {
            run.push_back(&ops[end]);
            end++;
        }
        apply_run(run);
        start = end;
    }
}


void Applier::apply_run(const std::vector<Op*>& run) {
    const Target& t = *run[0]->target;
    // As the target's owner: its triggers, defaults and strategy never run
    // with the worker's superuser rights.
    pg::as_user(t.owner, [&] {
        switch (run[0]->mode) {
            case Mode::Upsert:
                upsert(run);
                break;
            case Mode::Strategy:
                upsert(run);
                call_strategy(run);
                break;
            case Mode::Delete:
                remove(run);
                break;
        }
    }, search_path_.c_str());
    apply_sideloads(run);
}

// The run's records as a query with the columns "dionysus.ord" (position
// in the run), "dionysus.event_at" and the assigned ones, typed as the
// target's: one text array per column, unnested and cast, when every value
// reads as text (wire/column_text.hpp); else one JSON array of objects
// through jsonb_to_recordset (which costs three times as much: it parses
// the whole document, then each value again).
Applier::RecordSource Applier::record_source(const std::vector<Op*>& run) const {
    const auto& values = run[0]->values;
    RecordSource out;
    bool as_text = true;
    for (const auto& [c, json] : values) as_text = as_text && c->text.has_value();
    if (as_text) {
        std::vector<std::string> arrays(values.size() + 1, "{");
        std::string text;
        bool is_null = false;
        auto characters = [](const std::string& t) {
            size_t n = 0;
            for (unsigned char ch : t) n += (ch & 0xC0) != 0x80;
            return n;
        };
        auto add = [&](std::string& array, const std::string& json, wire::ColumnText kind, int max_chars = -1) {
            if (!wire::column_text(json, kind, &text, &is_null)) return false;
            if (max_chars >= 0 && !is_null && characters(text) > static_cast<size_t>(max_chars)) return false;
            if (array.size() > 1) array += ',';
            if (is_null) array += "NULL";
            else util::append_quoted_element(array, text);
            return true;
        };
        for (const Op* op : run) {
            as_text = as_text && add(arrays[0], op->event_at, wire::ColumnText::Scalar);
            for (size_t k = 0; as_text && k < values.size(); k++)
                as_text = add(arrays[k + 1], op->values[k].second, *values[k].first->text, values[k].first->max_chars);
            if (!as_text) break;
        }
        if (as_text) {
            std::string select = "SELECT (u.n OPERATOR(pg_catalog.-) 1)::pg_catalog.int4 AS " + std::string(kOrd) +
                                 ", u.c0::pg_catalog.timestamptz AS " + kEventAt;
            std::string unnest = "pg_catalog.unnest($1::pg_catalog.text[])", names = "c0";
            for (size_t k = 0; k < values.size(); k++) {
                const std::string u = "c" + std::to_string(k + 1);
                select += ", u." + u + values[k].first->text_cast + " AS " + quote_identifier(values[k].first->name);
                unnest += ", pg_catalog.unnest($" + std::to_string(k + 2) + "::pg_catalog.text[])";
                names += ", " + u;
            }
            out.sql = select + " FROM ROWS FROM (" + unnest + ") WITH ORDINALITY AS u(" + names + ", n)";
            for (auto& a : arrays) out.params.emplace_back(a + "}");
            return out;
        }
    }
    std::string definitions = std::string(kOrd) + " pg_catalog.int4, " + kEventAt + " pg_catalog.timestamptz";
    for (const auto& [c, json] : values) definitions += ", " + quote_identifier(c->name) + " " + c->type_sql;
    out.sql = "SELECT * FROM pg_catalog.jsonb_to_recordset($1::pg_catalog.jsonb) AS r(" + definitions + ")";
    std::string records = "[";
    for (size_t i = 0; i < run.size(); i++) {
        if (i) records += ',';
        records += "{\"dionysus.ord\":" + std::to_string(i) + ",\"dionysus.event_at\":" + run[i]->event_at;
        for (const auto& [c, json] : run[i]->values) {
            records += ',';
            json::append_string(records, c->name);
            records += ':';
            records += json;
        }
        records += '}';
    }
    out.params.emplace_back(records + "]");
    return out;
}

namespace {

std::string stale_expression(const Target& t, const std::string& row) {
    if (t.synced_at.empty()) return "false";
    const std::string col = row + "." + quote_identifier(t.synced_at);
    return "(r." + std::string(kEventAt) + " IS NOT NULL AND " + col + " IS NOT NULL AND r." + kEventAt + " OPERATOR(pg_catalog.<) " + col +
           ")";
}

}  // namespace

void Applier::upsert(const std::vector<Op*>& run) {
    const Target& t = *run[0]->target;
    const auto& values = run[0]->values;
    auto assigned = [&](const std::string& name) {
        for (const auto& [c, json] : values)
            if (c->name == name) return true;
        return false;
    };
    const bool local_created_at = t.has("created_at") && !assigned("created_at");
    const bool local_updated_at = t.has("updated_at") && !assigned("updated_at");
    // to_json, not to_jsonb: the text is all local_changes reads, and
    // to_json writes it in one pass (half the cost)
    const std::string before = notify_ ? "pg_catalog.to_json(o.*)" : "NULL::pg_catalog.json";
    const std::string after = notify_ ? "pg_catalog.to_json(n.*)" : "NULL::pg_catalog.json";
    std::string set, distinct_old, distinct_new, insert_columns, insert_values;
    for (const auto& [c, json] : values) {
        const std::string q = quote_identifier(c->name);
        if (!set.empty()) {
            set += ", ";
            distinct_old += ", ";
            distinct_new += ", ";
            insert_columns += ", ";
            insert_values += ", ";
        }
        set += q + " = s." + q;
        distinct_old += "n." + q + "::pg_catalog.text";
        distinct_new += "s." + q + "::pg_catalog.text";
        insert_columns += q;
        insert_values += "r." + q;
    }
    if (local_updated_at) set += ", \"updated_at\" = pg_catalog.now()";
    if (local_created_at) insert_columns += ", \"created_at\"", insert_values += ", pg_catalog.now()";
    if (local_updated_at) insert_columns += ", \"updated_at\"", insert_values += ", pg_catalog.now()";
    RecordSource source = record_source(run);
    const std::string sql =
        "WITH r AS (" + source.sql + "), "
        // LATERAL: one index probe per record (a join would let the
        // planner hash the whole target, for every batch)
        "s AS (SELECT r.*, l.* FROM r CROSS JOIN LATERAL (SELECT o.ctid AS \"dionysus.row\", " + before +
        " AS \"dionysus.before\", " + stale_expression(t, "o") + " AS \"dionysus.stale\" FROM " + t.qualified +
        " o WHERE o.\"synced_id\" OPERATOR(pg_catalog.=) r.\"synced_id\" FOR UPDATE) l), "
        "u AS (UPDATE " + t.qualified + " AS n SET " + set +
        " FROM s WHERE n.ctid OPERATOR(pg_catalog.=) s.\"dionysus.row\" AND NOT s.\"dionysus.stale\" AND ROW(" + distinct_old +
        ") IS DISTINCT FROM ROW(" + distinct_new + ") RETURNING s." + kOrd + " AS ord, s.\"dionysus.before\" AS before, " +
        after + " AS after, pg_catalog.to_jsonb(n.\"synced_id\") AS id), "
        "i AS (INSERT INTO " + t.qualified + " AS n (" + insert_columns + ") SELECT " + insert_values +
        " FROM r WHERE NOT EXISTS (SELECT 1 FROM s WHERE s." + kOrd + " OPERATOR(pg_catalog.=) r." + kOrd + ") ORDER BY r." + kOrd +
        " RETURNING " + after + " AS after, pg_catalog.to_jsonb(n.\"synced_id\") AS id) "
        "SELECT 'update', u.ord::pg_catalog.text, u.before::pg_catalog.text, u.after::pg_catalog.text, "
        "u.id::pg_catalog.text FROM u "
        "UNION ALL SELECT 'insert', NULL, NULL, i.after::pg_catalog.text, i.id::pg_catalog.text FROM i "
        "UNION ALL SELECT DISTINCT 'stale', s." + kOrd + "::pg_catalog.text, NULL, NULL, NULL FROM s "
        "WHERE s.\"dionysus.stale\"";
    take_results(run, pg::query_cached(sql, source.params));
}

void Applier::remove(const std::vector<Op*>& run) {
    const Target& t = *run[0]->target;
    RecordSource source = record_source(run);
    const std::string sql =
        "WITH r AS (" + source.sql + "), "
        "s AS (SELECT r." + kOrd + ", l.* FROM r CROSS JOIN LATERAL (SELECT o.ctid AS \"dionysus.row\", " +
        stale_expression(t, "o") + " AS \"dionysus.stale\" FROM " + t.qualified +
        " o WHERE o.\"synced_id\" OPERATOR(pg_catalog.=) r.\"synced_id\" FOR UPDATE) l), "
        "d AS (DELETE FROM " + t.qualified + " AS n USING s WHERE n.ctid OPERATOR(pg_catalog.=) s.\"dionysus.row\" AND NOT s.\"dionysus.stale\" "
        "RETURNING s." + kOrd + " AS ord, pg_catalog.to_jsonb(n.\"synced_id\") AS id) "
        // a deletion's payload names no columns: no row image
        "SELECT 'delete', d.ord::pg_catalog.text, NULL, NULL, d.id::pg_catalog.text FROM d "
        "UNION ALL SELECT DISTINCT 'stale', s." + kOrd + "::pg_catalog.text, NULL, NULL, NULL FROM s "
        "WHERE s.\"dionysus.stale\"";
    take_results(run, pg::query_cached(sql, source.params));
}

void Applier::call_strategy(const std::vector<Op*>& run) {
    const Target& t = *run[0]->target;
    const std::string& type = t.column("synced_id")->type_sql;
    const std::string sql = "SELECT " + *t.soft_delete_strategy + "(t.*) FROM " + t.qualified +
                            " t WHERE t.\"synced_id\" OPERATOR(pg_catalog.=) ($1::pg_catalog.jsonb OPERATOR(pg_catalog.#>>) "
                            "'{}'::pg_catalog.text[])::" + type;
    for (const Op* op : run)
        if (!op->stale) (void)pg::query_cached(sql, {op->synced_id});
}

void Applier::take_results(const std::vector<Op*>& run, const std::vector<pg::Row>& rows) {
    for (const auto& row : rows) {
        const std::string& what = *row[0];
        if (what == "stale") {
            run.at(std::stoul(*row[1]))->stale = true;
            continue;
        }
        const Op& op = *run[row[1] ? std::stoul(*row[1]) : 0];
        const std::string changes = !notify_ || what == "delete"
                                        ? std::string("{}")
                                        : wire::local_changes(row[2].value_or(""), row[3].value_or("{}"));
        notify_row(op.event, op.model_name, row[4], what, changes);
    }
}

void Applier::apply_sideloads(const std::vector<Op*>& run) {
    std::vector<Op> children;
    struct Unlisted {
        const Target* child;
        std::string child_model, link, parent_id;
        std::vector<std::string> ids;
    };
    std::vector<Unlisted> unlisted;
    for (const Op* op : run) {
        if (op->stale) continue;  // dionysus-rb skips the whole record
        for (const auto& hm : op->record->has_many) {
            if (!hm.sideloaded) continue;  // linked only: the children are not in the message
            const std::string model = naming::model_name_for_table(hm.model_name);
            const Target* t = targets_.for_model(model);
            if (t == nullptr) continue;
            std::vector<std::string> ids;
            for (const auto& r : hm.records) {
                children.push_back(make_op(t, model, op->event, op->kind, false, &r));
                ids.push_back(children.back().synced_id);
            }
            const std::string link = "synced_" + naming::underscore(op->model_name) + "_id";
            if (t->remove_unlisted && t->has(link)) unlisted.push_back({t, model, link, op->synced_id, std::move(ids)});
        }
        for (const auto& ho : op->record->has_one) {
            if (ho.record.empty()) continue;
            const std::string model = naming::model_name_for_table(ho.model_name);
            const Target* t = targets_.for_model(model);
            if (t == nullptr) continue;
            children.push_back(make_op(t, model, op->event, op->kind, false, &ho.record[0]));
        }
    }
    if (!children.empty()) apply_ops(children);
    // Local children the parents no longer list: one statement per child
    // table and link column.
    std::map<std::pair<const Target*, std::string>, std::vector<const Unlisted*>> groups;
    for (const auto& u : unlisted) groups[{u.child, u.link}].push_back(&u);
    for (const auto& [key, items] : groups) {
        const Target& t = *key.first;
        const TargetColumn* link = t.column(key.second);
        std::string set = "[";
        for (const Unlisted* u : items) {
            if (set.size() > 1) set += ',';
            set += "{\"parent\":" + u->parent_id + ",\"ids\":[";
            for (size_t i = 0; i < u->ids.size(); i++) set += (i ? "," : "") + u->ids[i];
            set += "]}";
        }
        set += ']';
        // the children found by index probes per parent, then deleted by ctid
        const std::string sql = "DELETE FROM " + t.qualified + " AS c WHERE c.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
                                "SELECT x.ctid FROM pg_catalog.jsonb_to_recordset($1::pg_catalog.jsonb) "
                                "AS p(parent " + link->type_sql + ", ids " + t.column("synced_id")->type_sql +
                                "[]) CROSS JOIN LATERAL (SELECT x.ctid FROM " + t.qualified + " x WHERE x." +
                                quote_identifier(link->name) +
                                " OPERATOR(pg_catalog.=) p.parent AND x.\"synced_id\" OPERATOR(pg_catalog.<>) ALL (p.ids) "
                                // OFFSET 0: not flattened into a join, which the planner
                                // would hash over a scan of the whole child table
                                "OFFSET 0) x)) "
                                "RETURNING 'delete', NULL::pg_catalog.text, NULL::pg_catalog.text, NULL::pg_catalog.text, "
                                "pg_catalog.to_jsonb(c.\"synced_id\")::pg_catalog.text";
        const auto rows =
            pg::as_user(t.owner, [&] { return pg::query_cached(sql, {set}); }, search_path_.c_str());
        for (const auto& row : rows) notify_row(run[0]->event, items[0]->child_model, row[4], "delete", "{}");
    }
}

}  // namespace dionysus::consumer
