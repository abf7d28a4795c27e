// Builds and caches each table's TableCapture (see table_capture.hpp).
#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "pg/user_context.hpp"
#include "capture/table_capture.hpp"
#include "catalog/functions.hpp"
#include "catalog/relations.hpp"
#include "wire/event_names.hpp"

extern "C" {
#include "catalog/pg_authid.h"
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

namespace dionysus::capture {

namespace {

using pg::Error;

// Invariants: `captures` holds what was built since the last invalidation
// of its table or of dionysus.published_models. The relcache callback must neither
// allocate nor free: it only notes what changed (in fixed space), and
// table_capture() drops those entries before it looks one up. A dropped
// entry's memory context waits in `stale_captures` until the next capture,
// so a pointer handed out for the current statement stays valid.
std::unordered_map<Oid, TableCapture*> captures;
std::vector<TableCapture*> stale_captures;
Oid models_relid = InvalidOid;
bool callback_registered = false;
constexpr int kMaxNoted = 32;
Oid noted[kMaxNoted];   // tables invalidated since the last apply_invalidations()
int nnoted = 0;
bool drop_all = false;  // dionysus.published_models changed, a cache reset, or too many to note

void relcache_callback(Datum, Oid relid) {
    if (relid == InvalidOid || relid == models_relid || nnoted == kMaxNoted) {
        drop_all = true;
        if (relid == InvalidOid) models_relid = InvalidOid;
        return;
    }
    noted[nnoted++] = relid;
}

// Whether what the callback noted concerns the capture of `relid`.
bool invalidated(Oid relid) {
    if (drop_all) return true;
    for (int i = 0; i < nnoted; i++)
        if (noted[i] == relid) return true;
    return false;
}

void apply_invalidations() {
    if (drop_all) {
        for (const auto& [relid, capture] : captures) stale_captures.push_back(capture);
        captures.clear();
    } else {
        for (int i = 0; i < nnoted; i++) {
            auto it = captures.find(noted[i]);
            if (it == captures.end()) continue;
            stale_captures.push_back(it->second);
            captures.erase(it);
        }
    }
    nnoted = 0;
    drop_all = false;
}

struct TopicInfo {
    std::string topic, model_name, created, updated, destroyed, key, soft_delete;
    catalog::PartitionKeyKind key_kind = catalog::PartitionKeyKind::None;
    bool after_soft_delete = false;
    Oid key_fn = InvalidOid;
    Oid key_fn_owner = InvalidOid;
};

AttrNumber attnum_or_zero(TupleDesc desc, const std::string& name) {
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (!att->attisdropped && name == NameStr(att->attname)) return att->attnum;
    }
    return 0;
}

AttrNumber attnum_of(TupleDesc desc, const std::string& name) {
    if (const AttrNumber att = attnum_or_zero(desc, name)) return att;
    throw Error(ERRCODE_UNDEFINED_COLUMN, "dionysus: column \"" + name +
                                              "\" of a published table no longer exists",
                "", "Run dionysus.unpublish and dionysus.publish again.");
}

// The output function of a column's type into `out` (plain C, for the
// guard region that fills a TableCapture).
void set_output_function(TupleDesc desc, AttrNumber att, FmgrInfo* out, MemoryContext cxt) {
    Oid fn;
    bool varlena;
    getTypeOutputInfo(TupleDescAttr(desc, att - 1)->atttypid, &fn, &varlena);
    fmgr_info_cxt(fn, out, cxt);
}

// A name Datum allocated in the current memory context.
Datum name_datum(const char* name) {
    NameData* column = static_cast<NameData*>(palloc0(sizeof(NameData)));
    namestrcpy(column, name);
    return NameGetDatum(column);
}

// Reads a table's capture declarations (needs an SPI connection).
TableCapture* build_capture(Relation rel) {
    const Oid relid = RelationGetRelid(rel);
    enum { kTopic, kModelName, kPrimaryKey, kKeyKind, kKey, kSoftDelete, kAfterSoftDelete };
    auto rows = pg::query(
        "SELECT m.topic, m.model_name, m.primary_key::text, COALESCE(m.partition_key_kind::text, ''), "
        "COALESCE(m.partition_key, ''), COALESCE(m.soft_delete_column::text, ''), "
        "m.publish_updates_after_soft_delete::text FROM " + catalog::models_table() + " m "
        "WHERE m.model = $1::pg_catalog.oid ORDER BY m.topic",
        {std::to_string(relid)});
    std::vector<TopicInfo> topics;
    std::string primary_key;
    for (const auto& r : rows) {
        const std::string& model_name = *r[kModelName];
        TopicInfo t;
        t.topic = *r[kTopic];
        t.model_name = model_name;
        t.created = events::event_name(model_name, events::Event::Created);
        t.updated = events::event_name(model_name, events::Event::Updated);
        t.destroyed = events::event_name(model_name, events::Event::Destroyed);
        t.key_kind = catalog::partition_key_kind(*r[kKeyKind]);
        t.key = *r[kKey];
        t.soft_delete = *r[kSoftDelete];
        t.after_soft_delete = *r[kAfterSoftDelete] == "true";
        if (t.key_kind == catalog::PartitionKeyKind::Function) {
            t.key_fn = static_cast<Oid>(std::stoul(*pg::query_value(
                "SELECT $1::pg_catalog.regprocedure::pg_catalog.oid::text", {t.key})));
            t.key_fn_owner = catalog::function_owner(t.key);
        }
        primary_key = *r[kPrimaryKey];
        topics.push_back(std::move(t));
    }
    TupleDesc desc = RelationGetDescr(rel);
    const AttrNumber pk_att = topics.empty() ? 0 : attnum_of(desc, primary_key);
    std::vector<AttrNumber> key_atts, soft_delete_atts;
    for (const auto& t : topics) {
        key_atts.push_back(t.key_kind == catalog::PartitionKeyKind::Column ? attnum_of(desc, t.key) : 0);
        soft_delete_atts.push_back(t.soft_delete.empty() ? 0 : attnum_of(desc, t.soft_delete));
    }
    // Models this table is a dependency of: which of its columns names the
    // model rows (its foreign key for has_many, its primary key for has_one).
    struct DependencyInfo {
        std::string topic, model_name, updated, resource_column;
        AttrNumber value_att;
        bool has_one;
    };
    std::vector<DependencyInfo> deps;
    enum { kDepTopic, kDepModelName, kDepModelPrimaryKey, kDepKind, kDepColumn, kDependency };
    for (const auto& r : pg::query(
             "SELECT d.topic, m.model_name, m.primary_key::text, d.kind::text, d.\"column\"::text, "
             "d.dependency::pg_catalog.oid::text "
             "FROM dionysus.dependencies d JOIN " + catalog::models_table() + " m ON m.topic = d.topic AND m.model = d.model "
             // a model table dropped since: nothing to republish
             "JOIN pg_catalog.pg_class c ON c.oid = d.model "
             "WHERE d.dependency = $1::pg_catalog.oid ORDER BY d.topic, m.model_name",
             {std::to_string(relid)})) {
        const bool has_one = catalog::dependency_kind(*r[kDepKind]) == catalog::DependencyKind::HasOne;
        // has_many: this table's foreign key names the model rows by their
        // primary key; has_one: this table's primary key, by the model's foreign key.
        std::string value_column = *r[kDepColumn];
        if (has_one) {
            const auto pk = catalog::primary_key_columns(static_cast<Oid>(std::stoul(*r[kDependency])));
            if (pk.empty())
                throw Error(ERRCODE_INVALID_TABLE_DEFINITION, "dionysus: a dependency table no longer has a primary key",
                            "", "Run dionysus.unpublish and dionysus.publish again.");
            value_column = pk[0];
        }
        deps.push_back({*r[kDepTopic], *r[kDepModelName],
                        events::event_name(*r[kDepModelName], events::Event::Updated),
                        has_one ? *r[kDepColumn] : *r[kDepModelPrimaryKey], attnum_of(RelationGetDescr(rel), value_column),
                        has_one});
    }
    const DependencyInfo* dep_info = deps.data();
    const int ndeps = static_cast<int>(deps.size());

    // Observers of this table's attributes.
    struct ObserverInfo {
        int64 id;
        std::string topic, model_name, updated, resource_column;  // resource_column "": a query
        AttrNumber value_att;
        std::vector<AttrNumber> attributes;
        std::vector<std::string> names;
    };
    std::vector<ObserverInfo> observers;
    enum { kObsId, kObsTopic, kObsModelName, kObsColumn, kObsObservedColumn };
    for (const auto& r : pg::query(
             "SELECT o.id::pg_catalog.text, o.topic, m.model_name, COALESCE(o.association_column::pg_catalog.text, ''), "
             "COALESCE(o.observed_column::pg_catalog.text, '') "
             "FROM dionysus.observers o JOIN " + catalog::models_table() + " m ON m.topic = o.topic AND m.model = o.model "
             "JOIN pg_catalog.pg_class c ON c.oid = o.model "
             "WHERE o.observed = $1::pg_catalog.oid ORDER BY o.id",
             {std::to_string(relid)})) {
        ObserverInfo o;
        o.id = std::stoll(*r[kObsId]);
        o.topic = *r[kObsTopic];
        o.model_name = *r[kObsModelName];
        o.updated = events::event_name(o.model_name, events::Event::Updated);
        o.resource_column = *r[kObsColumn];
        std::string value_column = *r[kObsObservedColumn];
        if (value_column.empty()) {  // an association query: $1 is the primary key
            const auto pk = catalog::primary_key_columns(relid);
            if (pk.empty())
                throw Error(ERRCODE_INVALID_TABLE_DEFINITION, "dionysus: an observed table no longer has a primary key",
                            "", "Run dionysus.unpublish and dionysus.publish (and observe) again.");
            value_column = pk[0];
        }
        // An observed table is maybe not published itself: a column renamed
        // or dropped since observe() must not fail its writes. Such an
        // attribute is no longer observed; without its key column the
        // observer names no rows.
        o.value_att = attnum_or_zero(desc, value_column);
        if (o.value_att == 0) continue;
        for (const auto& a : pg::query("SELECT u.a FROM dionysus.observers o, "
                                        "pg_catalog.unnest(o.attributes) WITH ORDINALITY u(a, n) "
                                        "WHERE o.id = $1::pg_catalog.int8 ORDER BY u.n",
                                        {*r[kObsId]})) {
            const AttrNumber att = attnum_or_zero(desc, *a[0]);
            if (att == 0) continue;
            o.names.push_back(*a[0]);
            o.attributes.push_back(att);
        }
        if (!o.attributes.empty()) observers.push_back(std::move(o));
    }
    const ObserverInfo* obs_info = observers.data();
    const int nobs = static_cast<int>(observers.size());

    const Oid outbox = catalog::dionysus_relid("outbox");
    const Oid sequence = catalog::dionysus_relid("outbox_id_seq");
    if (!OidIsValid(outbox) || !OidIsValid(sequence))
        throw Error(ERRCODE_UNDEFINED_TABLE, "dionysus.outbox does not exist");

    // Plain data from here on, in a memory context of its own.
    const TopicInfo* info = topics.data();
    const AttrNumber* key_att = key_atts.data();
    const AttrNumber* sd_att = soft_delete_atts.data();
    const int n = static_cast<int>(topics.size());
    return pg::guard([&]() -> TableCapture* {
        MemoryContext cxt =
            AllocSetContextCreate(CacheMemoryContext, "dionysus capture", ALLOCSET_SMALL_SIZES);
        MemoryContext old = MemoryContextSwitchTo(cxt);
        auto* c = static_cast<TableCapture*>(palloc0(sizeof(TableCapture)));
        c->context = cxt;
        c->relid = relid;
        c->outbox_relid = outbox;
        c->sequence_relid = sequence;
        c->ntopics = n;
        c->topics = static_cast<TopicCapture*>(palloc0(sizeof(TopicCapture) * (n + 1)));
        if (n > 0) {
            c->pk_att = pk_att;
            set_output_function(desc, pk_att, &c->pk_out, cxt);
        }
        for (int i = 0; i < n; i++) {
            TopicCapture* t = &c->topics[i];
            t->topic = CStringGetTextDatum(info[i].topic.c_str());
            t->model_name = CStringGetTextDatum(info[i].model_name.c_str());
            t->event_created = CStringGetTextDatum(info[i].created.c_str());
            t->event_updated = CStringGetTextDatum(info[i].updated.c_str());
            t->event_destroyed = CStringGetTextDatum(info[i].destroyed.c_str());
            t->key_kind = info[i].key_kind;
            if (t->key_kind == catalog::PartitionKeyKind::Column) {
                t->key_att = key_att[i];
                set_output_function(desc, key_att[i], &t->key_out, cxt);
            } else if (t->key_kind == catalog::PartitionKeyKind::Function) {
                fmgr_info_cxt(info[i].key_fn, &t->key_fn, cxt);
                t->key_fn_owner = info[i].key_fn_owner;
            }
            t->soft_delete_att = sd_att[i];
            t->after_soft_delete = info[i].after_soft_delete;
        }
        c->ndependencies = ndeps;
        c->dependencies = static_cast<DependencyCapture*>(
            palloc0(sizeof(DependencyCapture) * (ndeps + 1)));
        for (int i = 0; i < ndeps; i++) {
            DependencyCapture* d = &c->dependencies[i];
            d->topic = CStringGetTextDatum(dep_info[i].topic.c_str());
            d->model_name = CStringGetTextDatum(dep_info[i].model_name.c_str());
            d->event_updated = CStringGetTextDatum(dep_info[i].updated.c_str());
            d->resource_column = name_datum(dep_info[i].resource_column.c_str());
            d->value_att = dep_info[i].value_att;
            d->updates_only = dep_info[i].has_one;
            set_output_function(desc, d->value_att, &d->value_out, cxt);
        }
        c->nobservers = nobs;
        c->observers = static_cast<ObserverCapture*>(palloc0(sizeof(ObserverCapture) * (nobs + 1)));
        for (int i = 0; i < nobs; i++) {
            ObserverCapture* o = &c->observers[i];
            o->topic = CStringGetTextDatum(obs_info[i].topic.c_str());
            o->model_name = CStringGetTextDatum(obs_info[i].model_name.c_str());
            o->event_updated = CStringGetTextDatum(obs_info[i].updated.c_str());
            if (!obs_info[i].resource_column.empty()) o->resource_column = name_datum(obs_info[i].resource_column.c_str());
            o->observer = obs_info[i].id;
            o->value_att = obs_info[i].value_att;
            set_output_function(desc, o->value_att, &o->value_out, cxt);
            const int na = static_cast<int>(obs_info[i].attributes.size());
            o->nattributes = na;
            o->attributes = static_cast<AttrNumber*>(palloc(sizeof(AttrNumber) * (na + 1)));
            o->names = static_cast<char**>(palloc(sizeof(char*) * (na + 1)));
            o->attribute_out = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (na + 1)));
            for (int a = 0; a < na; a++) {
                o->attributes[a] = obs_info[i].attributes[a];
                o->names[a] = pstrdup(obs_info[i].names[a].c_str());
                set_output_function(desc, o->attributes[a], &o->attribute_out[a], cxt);
            }
        }
        MemoryContextSwitchTo(old);
        return c;
    });
}

}  // namespace

const TableCapture* table_capture(Relation rel) {
    if (!callback_registered) {
        pg::guard([] { CacheRegisterRelcacheCallback(relcache_callback, (Datum)0); });
        callback_registered = true;
    }
    apply_invalidations();
    while (!stale_captures.empty()) {
        MemoryContext cxt = stale_captures.back()->context;
        stale_captures.pop_back();
        pg::guard([&] { MemoryContextDelete(cxt); });
    }
    if (!OidIsValid(models_relid)) models_relid = catalog::dionysus_relid(catalog::models_relname());
    const Oid relid = RelationGetRelid(rel);
    auto it = captures.find(relid);
    if (it != captures.end()) return it->second;
    apply_invalidations();  // what looking up dionysus.published_models brought in
    // The catalog is private to the extension: read it as the bootstrap
    // superuser (restricted), whoever writes the table. Writing the outbox
    // needs no privilege: it is a direct heap insert.
    TableCapture* built = pg::as_user(BOOTSTRAP_SUPERUSERID, [&] {
        pg::SpiConnection spi;
        return build_capture(rel);
    });
    if (invalidated(relid)) {
        // The declarations or the table changed while they were read: this
        // statement uses what was read, the next one reads them again.
        stale_captures.push_back(built);
        return built;
    }
    return captures.emplace(relid, built).first->second;
}

}  // namespace dionysus::capture
