// Capture: what a change of a published table becomes (DESIGN §4).
//
// Statement-level AFTER triggers with transition tables: one call per
// statement, whatever its row count. What a table's capture needs (its topics,
// primary key, partition key, soft-delete column) is read from the catalog
// once per backend into a TableCapture and dropped when declarations or the
// table change (relcache invalidation); the rows are then written natively
// by outbox_writer.cpp without SPI.
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "capture_trigger.hpp"
#include "catalog.hpp"
#include "guc.hpp"
#include "naming.hpp"
#include "outbox_writer.hpp"
#include "shared_state.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

#include <string>
#include <unordered_map>
#include <vector>

using dionysus::pg::Error;
namespace spi = dionysus::pg;

namespace {

using dionysus::CaptureEvent;
using dionysus::TableCapture;

std::unordered_map<Oid, TableCapture*> captures;
std::vector<TableCapture*> stale_captures;  // freed on next use, not inside a callback
Oid models_relid = InvalidOid;
bool callbacks_registered = false;
bool outbox_written_in_xact = false;

void drop_capture(std::unordered_map<Oid, TableCapture*>::iterator it) {
    stale_captures.push_back(it->second);
    captures.erase(it);
}

void relcache_callback(Datum, Oid relid) {
    if (relid == InvalidOid || relid == models_relid) {
        for (auto it = captures.begin(); it != captures.end();) drop_capture(it++);
        if (relid == InvalidOid) models_relid = InvalidOid;
        return;
    }
    auto it = captures.find(relid);
    if (it != captures.end()) drop_capture(it);
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

void ensure_callbacks() {
    if (callbacks_registered) return;
    spi::guard([] {
        CacheRegisterRelcacheCallback(relcache_callback, (Datum)0);
        RegisterXactCallback(xact_callback, nullptr);
    });
    callbacks_registered = true;
}

struct TopicInfo {
    std::string topic, model_name, prefix, key_kind, key, soft_delete;
    bool after_soft_delete = false;
    Oid key_fn = InvalidOid;
};

AttrNumber attnum_of(TupleDesc desc, const std::string& name) {
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && name == NameStr(att->attname)) return att->attnum;
    }
    throw Error(ERRCODE_UNDEFINED_COLUMN, "dionysus: column \"" + name +
                                              "\" of a published table no longer exists",
                "", "Run dionysus.unpublish and dionysus.publish again.");
}

// Reads a table's capture declarations (needs an SPI connection).
TableCapture* build_capture(Relation rel) {
    const Oid relid = RelationGetRelid(rel);
    auto rows = spi::query(
        "SELECT m.topic, m.model_name, m.primary_key::text, COALESCE(m.partition_key_kind::text, ''), "
        "COALESCE(m.partition_key, ''), COALESCE(m.soft_delete_column::text, ''), "
        "m.publish_updates_after_soft_delete::text FROM dionysus.models m "
        "WHERE m.model = $1::pg_catalog.oid ORDER BY m.topic",
        {std::to_string(relid)});
    std::vector<TopicInfo> topics;
    std::string primary_key;
    for (const auto& r : rows) {
        TopicInfo t{*r[0], *r[1], dionysus::naming::underscore(*r[1]), *r[3], *r[4], *r[5],
                    *r[6] == "true"};
        if (t.key_kind == "f")
            t.key_fn = static_cast<Oid>(std::stoul(*spi::query_value(
                "SELECT $1::pg_catalog.regprocedure::pg_catalog.oid::text", {t.key})));
        primary_key = *r[2];
        topics.push_back(std::move(t));
    }
    TupleDesc desc = RelationGetDescr(rel);
    const AttrNumber pk_att = topics.empty() ? 0 : attnum_of(desc, primary_key);
    std::vector<AttrNumber> key_atts, soft_delete_atts;
    for (const auto& t : topics) {
        key_atts.push_back(t.key_kind == "c" ? attnum_of(desc, t.key) : 0);
        soft_delete_atts.push_back(t.soft_delete.empty() ? 0 : attnum_of(desc, t.soft_delete));
    }
    // Models this table is a dependency of: which of its columns names the
    // model rows (its foreign key for has_many, its primary key for has_one).
    struct DependencyInfo {
        std::string topic, model_name, prefix, resource_column;
        AttrNumber value_att;
        bool has_one;
    };
    std::vector<DependencyInfo> deps;
    for (const auto& r : spi::query(
             "SELECT d.topic, m.model_name, "
             "CASE d.kind WHEN 'm' THEN m.primary_key ELSE d.\"column\" END::text, "
             "CASE d.kind WHEN 'm' THEN d.\"column\"::text ELSE "
             "(SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
             " ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
             " WHERE i.indrelid = d.dependency AND i.indisprimary) END, d.kind::text "
             "FROM dionysus.dependencies d JOIN dionysus.models m ON m.topic = d.topic AND m.model = d.model "
             // a model table dropped since: nothing to republish
             "JOIN pg_catalog.pg_class c ON c.oid = d.model "
             "WHERE d.dependency = $1::pg_catalog.oid ORDER BY d.topic, m.model_name",
             {std::to_string(relid)})) {
        if (!r[3])
            throw Error(ERRCODE_INVALID_TABLE_DEFINITION,
                        "dionysus: a dependency table no longer has a primary key", "",
                        "Run dionysus.unpublish and dionysus.publish again.");
        deps.push_back({*r[0], *r[1], dionysus::naming::underscore(*r[1]), *r[2],
                        attnum_of(RelationGetDescr(rel), *r[3]), *r[4] == "o"});
    }
    const DependencyInfo* dep_info = deps.data();
    const int ndeps = static_cast<int>(deps.size());

    const Oid outbox = dionysus::dionysus_relid("outbox");
    const Oid sequence = dionysus::dionysus_relid("outbox_id_seq");
    if (!OidIsValid(outbox) || !OidIsValid(sequence))
        throw Error(ERRCODE_UNDEFINED_TABLE, "dionysus.outbox does not exist");

    // Plain data from here on, in a memory context of its own.
    const TopicInfo* info = topics.data();
    const AttrNumber* key_att = key_atts.data();
    const AttrNumber* sd_att = soft_delete_atts.data();
    const int n = static_cast<int>(topics.size());
    return spi::guard([&]() -> TableCapture* {
        MemoryContext cxt =
            AllocSetContextCreate(CacheMemoryContext, "dionysus capture", ALLOCSET_SMALL_SIZES);
        MemoryContext old = MemoryContextSwitchTo(cxt);
        auto* c = static_cast<TableCapture*>(palloc0(sizeof(TableCapture)));
        c->context = cxt;
        c->relid = relid;
        c->outbox_relid = outbox;
        c->sequence_relid = sequence;
        c->ntopics = n;
        c->topics = static_cast<dionysus::TopicCapture*>(palloc0(sizeof(dionysus::TopicCapture) * (n + 1)));
        Oid out_fn;
        bool varlena;
        if (n > 0) {
            c->pk_att = pk_att;
            getTypeOutputInfo(TupleDescAttr(desc, pk_att - 1)->atttypid, &out_fn, &varlena);
            fmgr_info_cxt(out_fn, &c->pk_out, cxt);
        }
        for (int i = 0; i < n; i++) {
            dionysus::TopicCapture* t = &c->topics[i];
            t->topic = CStringGetTextDatum(info[i].topic.c_str());
            t->model_name = CStringGetTextDatum(info[i].model_name.c_str());
            t->event_created = CStringGetTextDatum(psprintf("%s_created", info[i].prefix.c_str()));
            t->event_updated = CStringGetTextDatum(psprintf("%s_updated", info[i].prefix.c_str()));
            t->event_destroyed = CStringGetTextDatum(psprintf("%s_destroyed", info[i].prefix.c_str()));
            t->key_kind = info[i].key_kind.empty() ? 0 : info[i].key_kind[0];
            if (t->key_kind == 'c') {
                t->key_att = key_att[i];
                getTypeOutputInfo(TupleDescAttr(desc, key_att[i] - 1)->atttypid, &out_fn, &varlena);
                fmgr_info_cxt(out_fn, &t->key_out, cxt);
            } else if (t->key_kind == 'f') {
                fmgr_info_cxt(info[i].key_fn, &t->key_fn, cxt);
            }
            t->soft_delete_att = sd_att[i];
            t->after_soft_delete = info[i].after_soft_delete;
        }
        c->ndependencies = ndeps;
        c->dependencies = static_cast<dionysus::DependencyCapture*>(
            palloc0(sizeof(dionysus::DependencyCapture) * (ndeps + 1)));
        for (int i = 0; i < ndeps; i++) {
            dionysus::DependencyCapture* d = &c->dependencies[i];
            d->topic = CStringGetTextDatum(dep_info[i].topic.c_str());
            d->model_name = CStringGetTextDatum(dep_info[i].model_name.c_str());
            d->event_updated = CStringGetTextDatum(psprintf("%s_updated", dep_info[i].prefix.c_str()));
            NameData* column = static_cast<NameData*>(palloc0(sizeof(NameData)));
            namestrcpy(column, dep_info[i].resource_column.c_str());
            d->resource_column = NameGetDatum(column);
            d->value_att = dep_info[i].value_att;
            d->updates_only = dep_info[i].has_one;
            getTypeOutputInfo(TupleDescAttr(desc, d->value_att - 1)->atttypid, &out_fn, &varlena);
            fmgr_info_cxt(out_fn, &d->value_out, cxt);
        }
        MemoryContextSwitchTo(old);
        return c;
    });
}

}  // namespace

namespace dionysus {

void note_outbox_write() {
    ensure_callbacks();
    outbox_written_in_xact = true;
}

void invalidate_captures_everywhere() {
    Oid relid = dionysus::dionysus_relid("models");
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

    CaptureEvent ev;
    if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event)) ev = CaptureEvent::Insert;
    else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)) ev = CaptureEvent::Update;
    else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event)) ev = CaptureEvent::Delete;
    else return PointerGetDatum(nullptr);  // TRUNCATE is not captured
    if ((ev != CaptureEvent::Delete && trigdata->tg_newtable == nullptr) ||
        (ev != CaptureEvent::Insert && trigdata->tg_oldtable == nullptr))
        throw Error(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED,
                    "dionysus.capture() needs the statement's transition tables",
                    "Install capture with dionysus.publish().");

    ensure_callbacks();
    while (!stale_captures.empty()) {
        MemoryContext cxt = stale_captures.back()->context;
        stale_captures.pop_back();
        spi::guard([&] { MemoryContextDelete(cxt); });
    }
    if (!OidIsValid(models_relid)) models_relid = dionysus::dionysus_relid("models");
    const Oid relid = RelationGetRelid(trigdata->tg_relation);
    auto it = captures.find(relid);
    if (it == captures.end()) {
        // The catalog is private to the extension: read it as the bootstrap
        // superuser (restricted), whoever writes the table. Writing the
        // outbox needs no privilege: it is a direct heap insert.
        Oid saved_user;
        int saved_context;
        spi::guard([&] {
            GetUserIdAndSecContext(&saved_user, &saved_context);
            SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE |
                                                              SECURITY_RESTRICTED_OPERATION);
        });
        TableCapture* built;
        try {
            spi::SpiConnection spi;
            built = build_capture(trigdata->tg_relation);
        } catch (...) {
            spi::guard([&] { SetUserIdAndSecContext(saved_user, saved_context); });
            throw;
        }
        spi::guard([&] { SetUserIdAndSecContext(saved_user, saved_context); });
        it = captures.emplace(relid, built).first;
    }
    const TableCapture* capture = it->second;
    uint64 written = spi::guard([&] { return dionysus::write_outbox_rows(capture, trigdata, ev); });
    if (written > 0) outbox_written_in_xact = true;
    return PointerGetDatum(nullptr);
}
