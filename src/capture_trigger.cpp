// Capture: what a change of a published table becomes (DESIGN §4).
//
// One generated INSERT … SELECT per (table, event) covers every topic the
// table is published on. It reads the statement's transition tables, so a
// 100k-row UPDATE costs one statement, not 100k trigger calls. The plan is
// prepared once per backend and dropped when declarations or the table change
// (relcache invalidation). Topic, model name and event prefix are plan
// parameters; identifiers are always quoted; every operator, function and
// cast is schema-qualified because the trigger runs SECURITY DEFINER.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "capture_trigger.hpp"
#include "guc.hpp"
#include "naming.hpp"
#include "shared_state.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
}

#include <string>
#include <unordered_map>
#include <vector>

using dionysus::pg::Error;
namespace spi = dionysus::pg;

namespace {

enum class Event { Insert = 0, Update = 1, Delete = 2 };

struct PlanEntry {
    SPIPlanPtr plan = nullptr;          // nullptr: the table is published nowhere
    std::vector<std::string> params;    // topic, model_name, event prefix per topic
};

std::unordered_map<uint64_t, PlanEntry> plans;
std::vector<SPIPlanPtr> stale_plans;    // freed on next use, not inside a callback
Oid models_relid = InvalidOid;
bool callbacks_registered = false;
bool outbox_written_in_xact = false;

uint64_t plan_key(Oid relid, Event ev) { return (uint64_t(relid) << 2) | uint64_t(ev); }

void drop_entry(std::unordered_map<uint64_t, PlanEntry>::iterator it) {
    if (it->second.plan) stale_plans.push_back(it->second.plan);
    plans.erase(it);
}

void relcache_callback(Datum, Oid relid) {
    if (relid == InvalidOid || relid == models_relid) {
        for (auto it = plans.begin(); it != plans.end();) drop_entry(it++);
        if (relid == InvalidOid) models_relid = InvalidOid;
        return;
    }
    for (int ev = 0; ev < 3; ev++) {
        auto it = plans.find(plan_key(relid, Event(ev)));
        if (it != plans.end()) drop_entry(it);
    }
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_COMMIT:
        case XACT_EVENT_PARALLEL_COMMIT:
            // Runs after the commit became visible: the worker sees our rows.
            if (outbox_written_in_xact) dionysus::wake_publisher();
            outbox_written_in_xact = false;
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
            outbox_written_in_xact = false;
            break;
        default:
            break;
    }
}

Oid lookup_models_relid() {
    return spi::guard([] {
        Oid nsp = get_namespace_oid("dionysus", true);
        return OidIsValid(nsp) ? get_relname_relid("models", nsp) : InvalidOid;
    });
}

void ensure_callbacks() {
    if (callbacks_registered) return;
    spi::guard([] {
        CacheRegisterRelcacheCallback(relcache_callback, (Datum)0);
        RegisterXactCallback(xact_callback, nullptr);
    });
    callbacks_registered = true;
}

std::string ident(const std::string& name) {  // always-quoted SQL identifier
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

struct TopicModel {
    std::string topic, model_name, primary_key, key_kind, key, soft_delete;
    bool after_soft_delete = false;
};

// Partition key expression over row alias `t` (text; NULL renders as "0").
std::string partition_key_expr(const TopicModel& m, const std::string& fn_name) {
    if (m.key_kind == "c")
        return "COALESCE((t." + ident(m.key) + ")::pg_catalog.text, '0')";
    if (m.key_kind == "f") return "COALESCE(" + fn_name + "(t), '0')";
    return "NULL::pg_catalog.text";
}

std::string build_sql(Event ev, const std::vector<TopicModel>& models,
                      const std::vector<std::string>& fn_names) {
    const std::string cols =
        "INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, partition_key) ";
    std::string sql;
    if (ev == Event::Insert || ev == Event::Delete) {
        const char* table = ev == Event::Insert ? "dionysus_new" : "dionysus_old";
        const char* suffix = ev == Event::Insert ? "_created" : "_destroyed";
        sql = cols;
        for (size_t i = 0; i < models.size(); i++) {
            const auto& m = models[i];
            size_t p = 3 * i;
            if (i) sql += " UNION ALL ";
            sql += "SELECT $" + std::to_string(p + 2) + ", (t." + ident(m.primary_key) +
                   ")::pg_catalog.text, $" + std::to_string(p + 3) +
                   " OPERATOR(pg_catalog.||) '" + suffix + "', $" + std::to_string(p + 1) + ", " +
                   partition_key_expr(m, fn_names[i]) + " FROM " + table + " t";
        }
        return sql;
    }
    // UPDATE: pair old and new rows by position (transition tables keep the
    // order of the update), keep pairs whose binary image changed.
    std::string o = "SELECT pg_catalog.row_number() OVER () AS rn, t AS r";
    std::string n = o;
    for (size_t i = 0; i < models.size(); i++) {
        const auto& m = models[i];
        std::string k = std::to_string(i);
        n += ", (t." + ident(m.primary_key) + ")::pg_catalog.text AS id" + k;
        n += ", " + partition_key_expr(m, fn_names[i]) + " AS pk" + k;
        if (!m.soft_delete.empty()) {
            o += ", t." + ident(m.soft_delete) + " AS sd" + k;
            n += ", t." + ident(m.soft_delete) + " AS sd" + k;
        }
    }
    sql = "WITH o AS (" + o + " FROM dionysus_old t), n AS (" + n + " FROM dionysus_new t) " + cols;
    for (size_t i = 0; i < models.size(); i++) {
        const auto& m = models[i];
        std::string k = std::to_string(i);
        size_t p = 3 * i;
        std::string event;
        if (m.soft_delete.empty()) {
            event = "'_updated'";
        } else {
            std::string os = "o.sd" + k, ns = "n.sd" + k;
            event = "CASE WHEN " + os + " IS NULL AND " + ns + " IS NOT NULL THEN '_destroyed' "
                    "WHEN " + os + " IS NOT NULL AND " + ns + " IS NULL THEN '_created' "
                    "WHEN " + os + " IS NOT NULL AND " + os + " IS DISTINCT FROM " + ns +
                    " THEN '_destroyed' WHEN " + ns + " IS NULL THEN '_updated' " +
                    (m.after_soft_delete ? "ELSE '_updated' END" : "ELSE NULL END");
        }
        if (i) sql += " UNION ALL ";
        sql += "SELECT $" + std::to_string(p + 2) + ", e.id, $" + std::to_string(p + 3) +
               " OPERATOR(pg_catalog.||) e.ev, $" + std::to_string(p + 1) +
               ", e.pk FROM (SELECT n.id" + k + " AS id, n.pk" + k + " AS pk, " + event +
               "::pg_catalog.text AS ev FROM o JOIN n ON o.rn OPERATOR(pg_catalog.=) n.rn "
               "WHERE o.r OPERATOR(pg_catalog.*<>) n.r) e WHERE e.ev IS NOT NULL";
    }
    return sql;
}

// Expects the transition tables registered on the current SPI connection.
PlanEntry build_entry(Oid relid, Event ev) {
    PlanEntry entry;
    auto rows = spi::query(
        "SELECT m.topic, m.model_name, m.primary_key::text, COALESCE(m.partition_key_kind::text, ''), "
        "COALESCE(m.partition_key, ''), COALESCE(m.soft_delete_column::text, ''), "
        "m.publish_updates_after_soft_delete::text FROM dionysus.models m "
        "WHERE m.model = $1::pg_catalog.oid ORDER BY m.topic",
        {std::to_string(relid)});
    if (rows.empty()) return entry;
    std::vector<TopicModel> models;
    std::vector<std::string> fn_names;
    for (const auto& r : rows) {
        TopicModel m{*r[0], *r[1], *r[2], *r[3], *r[4], *r[5], *r[6] == "true"};
        std::string fn;
        if (m.key_kind == "f")
            fn = *spi::query_value(
                "SELECT pg_catalog.format('%I.%I', n.nspname, p.proname) FROM pg_catalog.pg_proc p "
                "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
                "WHERE p.oid = $1::pg_catalog.regprocedure",
                {m.key});
        entry.params.push_back(m.topic);
        entry.params.push_back(m.model_name);
        entry.params.push_back(dionysus::naming::underscore(m.model_name));
        models.push_back(std::move(m));
        fn_names.push_back(std::move(fn));
    }
    std::string sql = build_sql(ev, models, fn_names);
    const int nargs = static_cast<int>(entry.params.size());
    const char* sql_c = sql.c_str();
    entry.plan = spi::guard([&]() -> SPIPlanPtr {
        Oid* types = static_cast<Oid*>(palloc(sizeof(Oid) * nargs));
        for (int i = 0; i < nargs; i++) types[i] = TEXTOID;
        SPIPlanPtr plan = SPI_prepare(sql_c, nargs, types);
        if (plan == nullptr)
            elog(ERROR, "dionysus: could not prepare capture statement: %s",
                 SPI_result_code_string(SPI_result));
        SPI_keepplan(plan);
        return plan;
    });
    return entry;
}

}  // namespace

namespace dionysus {

void invalidate_capture_plans_everywhere() {
    Oid relid = lookup_models_relid();
    if (OidIsValid(relid)) spi::guard([&] { CacheInvalidateRelcacheByRelid(relid); });
}

}  // namespace dionysus

DIONYSUS_PG_FUNCTION(dionysus_capture) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be called as a trigger");
    auto* trigdata = reinterpret_cast<TriggerData*>(fcinfo->context);
    if (!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event) || !TRIGGER_FIRED_AFTER(trigdata->tg_event))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() must be an AFTER … FOR EACH STATEMENT trigger");
    if (!dionysus_capture_enabled) return PointerGetDatum(nullptr);

    Event ev;
    if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event)) ev = Event::Insert;
    else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) ev = Event::Update;
    else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)) ev = Event::Delete;
    else return PointerGetDatum(nullptr);  // TRUNCATE is not captured

    ensure_callbacks();
    if (!OidIsValid(models_relid)) models_relid = lookup_models_relid();
    Oid relid = RelationGetRelid(trigdata->tg_relation);

    spi::SpiConnection spi;
    spi::guard([&] {
        if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
            elog(ERROR, "dionysus: could not register transition tables");
    });
    while (!stale_plans.empty()) {
        SPIPlanPtr p = stale_plans.back();
        stale_plans.pop_back();
        spi::guard([&] { SPI_freeplan(p); });
    }
    uint64_t key = plan_key(relid, ev);
    auto it = plans.find(key);
    if (it == plans.end()) it = plans.emplace(key, build_entry(relid, ev)).first;
    PlanEntry& entry = it->second;
    if (entry.plan == nullptr) return PointerGetDatum(nullptr);

    const int nargs = static_cast<int>(entry.params.size());
    std::vector<const char*> args;
    for (const auto& p : entry.params) args.push_back(p.c_str());
    const char** args_p = args.data();
    SPIPlanPtr plan = entry.plan;
    uint64 processed = spi::guard([&]() -> uint64 {
        Datum* values = static_cast<Datum*>(palloc(sizeof(Datum) * nargs));
        for (int i = 0; i < nargs; i++) values[i] = CStringGetTextDatum(args_p[i]);
        int rc = SPI_execute_plan(plan, values, nullptr, false, 0);
        if (rc != SPI_OK_INSERT)
            elog(ERROR, "dionysus: capture insert failed: %s", SPI_result_code_string(rc));
        return SPI_processed;
    });
    if (processed > 0) outbox_written_in_xact = true;
    return PointerGetDatum(nullptr);
}
