#include "pg/boundary.hpp"
#include "capture/outbox_writer.hpp"
#include "wire/partitioning.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "commands/sequence.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/builtins.h"
#include "nodes/primnodes.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/tuplestore.h"
}

namespace dionysus::capture {

namespace {

// dionysus.outbox's columns, in the order the install script creates them
// (checked against the table by check_outbox_shape): positions in a row's
// values/nulls arrays.
enum OutboxColumn {
    kId, kResourceClass, kResourceId, kEventName, kTopic, kPartitionKey, kChangeset,
    kPublishedAt, kFailedAt, kRetryAt, kErrorClass, kErrorMessage, kAttempts,
    kCreatedAt, kUpdatedAt, kMessageKey, kMessage, kResourceColumn,
    kOutboxNatts
};
const char* const kOutboxColumns[kOutboxNatts] = {
    "id", "resource_class", "resource_id", "event_name", "topic", "partition_key", "changeset",
    "published_at", "failed_at", "retry_at", "error_class", "error_message", "attempts",
    "created_at", "updated_at", "message_key", "message", "resource_column"};
constexpr int kFlushEvery = 1000;

struct Writer {
    Relation outbox;
    EState* estate;
    ResultRelInfo* rri;
    BulkInsertState bistate;
    CommandId cid;
    TupleTableSlot* slots[kFlushEvery];
    int nslots;
    int used;
    MemoryContext row_context;  // text datums of buffered rows
    uint64 written;
};

void check_outbox_shape(Relation outbox) {
    TupleDesc desc = RelationGetDescr(outbox);
    bool ok = desc->natts == kOutboxNatts;
    for (int i = 0; ok && i < kOutboxNatts; i++)
        ok = strcmp(NameStr(TupleDescAttr(desc, i)->attname), kOutboxColumns[i]) == 0;
    if (!ok)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("dionysus.outbox does not have the columns this version writes"),
                        errhint("ALTER EXTENSION dionysus UPDATE.")));
}

void writer_open(Writer* w, Oid outbox_relid, bool bulk) {
    memset(w, 0, sizeof(*w));
    w->outbox = table_open(outbox_relid, RowExclusiveLock);
    check_outbox_shape(w->outbox);
    w->estate = CreateExecutorState();
    w->rri = makeNode(ResultRelInfo);
    InitResultRelInfo(w->rri, w->outbox, 1, nullptr, 0);
    ExecOpenIndices(w->rri, false);
    // A bulk-write ring buffer only pays off for large statements.
    w->bistate = bulk ? GetBulkInsertState() : nullptr;
    w->cid = GetCurrentCommandId(true);
    w->row_context = AllocSetContextCreate(CurrentMemoryContext, "dionysus outbox rows",
                                           ALLOCSET_DEFAULT_SIZES);
}

void writer_flush(Writer* w) {
    if (w->used == 0) return;
    table_multi_insert(w->outbox, w->slots, w->used, w->cid, 0, w->bistate);
    for (int i = 0; i < w->used; i++) {
        List* recheck = ExecInsertIndexTuples(w->rri, w->slots[i], w->estate, false, false,
                                              nullptr, NIL);
        list_free(recheck);
        ExecClearTuple(w->slots[i]);
    }
    w->written += w->used;
    w->used = 0;
    MemoryContextReset(w->row_context);
}

void writer_close(Writer* w) {
    writer_flush(w);
    for (int i = 0; i < w->nslots; i++) ExecDropSingleTupleTableSlot(w->slots[i]);
    if (w->bistate) FreeBulkInsertState(w->bistate);
    ExecCloseIndices(w->rri);
    FreeExecutorState(w->estate);
    table_close(w->outbox, NoLock);
    MemoryContextDelete(w->row_context);
}

Datum text_of(FmgrInfo* out, Datum value) {
    return CStringGetTextDatum(OutputFunctionCall(out, value));
}

// What every outbox row has: an id, no attempts yet, created_at and
// updated_at; every other column NULL until set.
void fill_common(Datum* v, bool* n, const TableCapture* c, TimestampTz now) {
    for (int i = 0; i < kOutboxNatts; i++) n[i] = true;
    v[kId] = Int64GetDatum(nextval_internal(c->sequence_relid, false));
    v[kAttempts] = Int32GetDatum(0);
    v[kCreatedAt] = TimestampTzGetDatum(now);
    v[kUpdatedAt] = TimestampTzGetDatum(now);
    n[kId] = n[kAttempts] = n[kCreatedAt] = n[kUpdatedAt] = false;
}

// The outbox row for one event of `row` (a slot of the published table) on
// topic `t`; text values are allocated in the current memory context.
void fill_outbox_row(Datum* v, bool* n, const TableCapture* c, const TopicCapture* t, Datum event,
                     TupleTableSlot* row, TimestampTz now) {
    bool isnull;
    fill_common(v, n, c, now);
    v[kResourceClass] = t->model_name;
    n[kResourceClass] = false;
    Datum pk = slot_getattr(row, c->pk_att, &isnull);
    if (!isnull) {
        v[kResourceId] = text_of(const_cast<FmgrInfo*>(&c->pk_out), pk);
        n[kResourceId] = false;
    }
    v[kEventName] = event;
    n[kEventName] = false;
    v[kTopic] = t->topic;
    n[kTopic] = false;
    if (t->key_kind == catalog::PartitionKeyKind::Column) {
        Datum key = slot_getattr(row, t->key_att, &isnull);
        v[kPartitionKey] = isnull ? CStringGetTextDatum(partitioning::kNullPartitionKey)
                                  : text_of(const_cast<FmgrInfo*>(&t->key_out), key);
        n[kPartitionKey] = false;
    } else if (t->key_kind == catalog::PartitionKeyKind::Function) {
        LOCAL_FCINFO(fcinfo, 1);
        InitFunctionCallInfoData(*fcinfo, const_cast<FmgrInfo*>(&t->key_fn), 1, InvalidOid,
                                 nullptr, nullptr);
        fcinfo->args[0].value = ExecFetchSlotHeapTupleDatum(row);
        fcinfo->args[0].isnull = false;
        Datum key = FunctionCallInvoke(fcinfo);
        v[kPartitionKey] = fcinfo->isnull ? CStringGetTextDatum(partitioning::kNullPartitionKey) : datumCopy(key, false, -1);
        n[kPartitionKey] = false;
    }
}

// The outbox row of a dependency change: `<model>_updated` of the model rows
// whose `resource_column` is `value`; their partition key is read from those
// rows at publish time.
void fill_dependency_row(Datum* v, bool* n, const TableCapture* c, const DependencyCapture* d,
                         const char* value, TimestampTz now) {
    fill_common(v, n, c, now);
    v[kResourceClass] = d->model_name;
    v[kResourceId] = CStringGetTextDatum(value);
    v[kEventName] = d->event_updated;
    v[kTopic] = d->topic;
    v[kResourceColumn] = d->resource_column;
    n[kResourceClass] = n[kResourceId] = n[kEventName] = n[kTopic] = n[kResourceColumn] = false;
}

// The same value, bit for bit (no equality operator needed: json has none).
bool rows_equal(TupleTableSlot* a, TupleTableSlot* b) {
    TupleDesc desc = a->tts_tupleDescriptor;
    slot_getallattrs(a);
    slot_getallattrs(b);
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (att->attisdropped) continue;
        if (a->tts_isnull[i] != b->tts_isnull[i]) return false;
        if (a->tts_isnull[i]) continue;
        if (!datum_image_eq(a->tts_values[i], b->tts_values[i], att->attbyval, att->attlen))
            return false;
    }
    return true;
}

bool is_null(TupleTableSlot* row, AttrNumber att) {
    bool isnull;
    slot_getattr(row, att, &isnull);
    return isnull;
}

bool same_attr(TupleTableSlot* a, TupleTableSlot* b, AttrNumber att) {
    bool na, nb;
    Datum va = slot_getattr(a, att, &na);
    Datum vb = slot_getattr(b, att, &nb);
    if (na || nb) return na == nb;
    Form_pg_attribute fa = TupleDescAttr(a->tts_tupleDescriptor, att - 1);
    return datum_image_eq(va, vb, fa->attbyval, fa->attlen);
}

// dionysus-rb's event for an UPDATE on a topic; 0 for none.
Datum update_event(const TopicCapture* t, TupleTableSlot* before, TupleTableSlot* after) {
    if (t->soft_delete_att == 0) return t->event_updated;
    bool was_deleted = !is_null(before, t->soft_delete_att);
    bool is_deleted = !is_null(after, t->soft_delete_att);
    if (!was_deleted && is_deleted) return t->event_destroyed;
    if (was_deleted && !is_deleted) return t->event_created;
    if (was_deleted && !same_attr(before, after, t->soft_delete_att)) return t->event_destroyed;
    if (!is_deleted) return t->event_updated;
    return t->after_soft_delete ? t->event_updated : (Datum)0;
}

// Calls visit(ctx, old_row, new_row) for every row the statement changed,
// in statement order: (NULL, new) for INSERT, (old, NULL) for DELETE,
// (old, new) for an UPDATE that changed something.
using RowFn = void (*)(void* ctx, TupleTableSlot* old_row, TupleTableSlot* new_row);

void for_each_changed_row(TriggerData* trigdata, CaptureEvent event, RowFn visit, void* ctx) {
    TupleDesc desc = RelationGetDescr(trigdata->tg_relation);
    TupleTableSlot* before = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    TupleTableSlot* after = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
    if (event == CaptureEvent::Insert || event == CaptureEvent::Delete) {
        const bool insert = event == CaptureEvent::Insert;
        Tuplestorestate* rows = insert ? trigdata->tg_newtable : trigdata->tg_oldtable;
        tuplestore_rescan(rows);
        while (tuplestore_gettupleslot(rows, true, false, after))
            visit(ctx, insert ? nullptr : after, insert ? after : nullptr);
    } else {
        // Old and new rows are stored pairwise in update order.
        tuplestore_rescan(trigdata->tg_oldtable);
        tuplestore_rescan(trigdata->tg_newtable);
        while (tuplestore_gettupleslot(trigdata->tg_oldtable, true, false, before) &&
               tuplestore_gettupleslot(trigdata->tg_newtable, true, false, after)) {
            if (!rows_equal(before, after)) visit(ctx, before, after);
        }
    }
    ExecDropSingleTupleTableSlot(before);
    ExecDropSingleTupleTableSlot(after);
}

// ---- fast path for small statements --------------------------------------
// Opening an executor state and the outbox's indexes costs more than
// inserting one row. When every outbox index is a plain-column btree whose
// only predicate is "published_at IS NULL" (true for a new row) — what the
// install script creates — small statements insert the heap tuple and its
// index entries directly, with index metadata cached per backend.

constexpr int kFastPathMaxRows = 16;
constexpr int kMaxCachedIndexes = 8;
constexpr AttrNumber kPublishedAtAttno = kPublishedAt + 1;

struct IndexCache {
    bool valid;
    bool usable;  // every index qualifies for the fast path
    Oid outbox_relid;
    int n;
    Oid oids[kMaxCachedIndexes];
    IndexInfo* infos[kMaxCachedIndexes];
    MemoryContext context;
};
IndexCache index_cache = {};
bool index_callback_registered = false;

void index_cache_invalidate(Datum, Oid relid) {
    // Any relcache reset or change of the outbox (index added, dropped…).
    if (relid == InvalidOid || relid == index_cache.outbox_relid) index_cache.valid = false;
    for (int i = 0; i < index_cache.n; i++)
        if (relid == index_cache.oids[i]) index_cache.valid = false;
}

bool predicate_is_unpublished(List* predicate) {
    if (list_length(predicate) != 1) return false;
    Node* node = static_cast<Node*>(linitial(predicate));
    if (!IsA(node, NullTest)) return false;
    NullTest* test = reinterpret_cast<NullTest*>(node);
    if (test->nulltesttype != IS_NULL || !IsA(test->arg, Var)) return false;
    return reinterpret_cast<Var*>(test->arg)->varattno == kPublishedAtAttno;
}

void index_cache_load(Relation outbox) {
    if (!index_callback_registered) {
        CacheRegisterRelcacheCallback(index_cache_invalidate, (Datum)0);
        index_callback_registered = true;
    }
    if (index_cache.context) MemoryContextDelete(index_cache.context);
    index_cache = {};
    index_cache.context =
        AllocSetContextCreate(CacheMemoryContext, "dionysus outbox indexes", ALLOCSET_SMALL_SIZES);
    index_cache.outbox_relid = RelationGetRelid(outbox);
    index_cache.usable = true;
    List* indexes = RelationGetIndexList(outbox);
    ListCell* lc;
    foreach (lc, indexes) {
        Oid oid = lfirst_oid(lc);
        if (index_cache.n == kMaxCachedIndexes) {
            index_cache.usable = false;
            break;
        }
        Relation index = index_open(oid, AccessShareLock);
        MemoryContext old = MemoryContextSwitchTo(index_cache.context);
        IndexInfo* info = BuildIndexInfo(index);
        MemoryContextSwitchTo(old);
        bool simple = info->ii_Expressions == NIL && !info->ii_Unique &&
                      info->ii_ExclusionOps == nullptr &&
                      (info->ii_Predicate == NIL || predicate_is_unpublished(info->ii_Predicate));
        for (int k = 0; simple && k < info->ii_NumIndexAttrs; k++)
            simple = info->ii_IndexAttrNumbers[k] > 0;
        index_close(index, AccessShareLock);
        if (!simple) index_cache.usable = false;
        index_cache.oids[index_cache.n] = oid;
        index_cache.infos[index_cache.n] = info;
        index_cache.n++;
    }
    list_free(indexes);
    index_cache.valid = true;
}

struct FastRow {
    Datum values[kOutboxNatts];
    bool nulls[kOutboxNatts];
};

void fast_insert(Relation outbox, Relation* indexes, FastRow* r, CommandId cid) {
    HeapTuple tuple = heap_form_tuple(RelationGetDescr(outbox), r->values, r->nulls);
    heap_insert(outbox, tuple, cid, 0, nullptr);
    for (int i = 0; i < index_cache.n; i++) {
        IndexInfo* info = index_cache.infos[i];
        Datum values[INDEX_MAX_KEYS];
        bool nulls[INDEX_MAX_KEYS];
        for (int k = 0; k < info->ii_NumIndexAttrs; k++) {
            AttrNumber att = info->ii_IndexAttrNumbers[k];
            values[k] = r->values[att - 1];
            nulls[k] = r->nulls[att - 1];
        }
        index_insert(indexes[i], values, nulls, &tuple->t_self, outbox, UNIQUE_CHECK_NO, false, info);
    }
    heap_freetuple(tuple);
}

// Where outbox rows go: straight into the heap and its indexes (small
// statements), or buffered for heap multi-inserts (bulk).
struct Sink {
    const TableCapture* c;
    bool fast;
    TimestampTz now;
    uint64 written;
    FastRow row;  // filled by the caller between sink_begin and sink_end
    // fast
    Relation outbox;
    Relation indexes[kMaxCachedIndexes];
    CommandId cid;
    // bulk
    Writer w;
    MemoryContext caller_context;
};

void sink_open(Sink* s, const TableCapture* c, uint64 estimated_rows) {
    s->c = c;
    s->written = 0;
    s->now = GetCurrentTransactionStartTimestamp();  // now(), like the column default
    s->fast = false;
    if (estimated_rows <= kFastPathMaxRows) {
        Relation outbox = table_open(c->outbox_relid, RowExclusiveLock);
        if (!index_cache.valid || index_cache.outbox_relid != c->outbox_relid) {
            check_outbox_shape(outbox);
            index_cache_load(outbox);
        }
        if (index_cache.usable) {
            s->fast = true;
            s->outbox = outbox;
            for (int i = 0; i < index_cache.n; i++)
                s->indexes[i] = index_open(index_cache.oids[i], RowExclusiveLock);
            s->cid = GetCurrentCommandId(true);
            return;
        }
        table_close(outbox, NoLock);
    }
    writer_open(&s->w, c->outbox_relid, estimated_rows >= kFlushEvery);
}

// Text values of the row are allocated from here to sink_end.
void sink_begin(Sink* s) {
    if (!s->fast) s->caller_context = MemoryContextSwitchTo(s->w.row_context);
}

void sink_end(Sink* s) {
    if (s->fast) {
        fast_insert(s->outbox, s->indexes, &s->row, s->cid);
        s->written++;
        return;
    }
    MemoryContextSwitchTo(s->caller_context);
    Writer* w = &s->w;
    if (w->used == w->nslots)
        w->slots[w->nslots++] = MakeSingleTupleTableSlot(RelationGetDescr(w->outbox), &TTSOpsVirtual);
    TupleTableSlot* slot = w->slots[w->used++];
    ExecClearTuple(slot);
    memcpy(slot->tts_values, s->row.values, sizeof(s->row.values));
    memcpy(slot->tts_isnull, s->row.nulls, sizeof(s->row.nulls));
    ExecStoreVirtualTuple(slot);
    if (w->used == kFlushEvery) writer_flush(w);
}

void sink_close(Sink* s) {
    if (s->fast) {
        for (int i = 0; i < index_cache.n; i++) index_close(s->indexes[i], NoLock);
        table_close(s->outbox, NoLock);
        return;
    }
    writer_close(&s->w);
    s->written = s->w.written;
}

// ---- dependency changes ----------------------------------------------------

struct DependencyValue {
    int dependency;  // index in TableCapture::dependencies
    char* value;     // text of the value
};

int compare_dependency_values(const void* a, const void* b) {
    auto* x = static_cast<const DependencyValue*>(a);
    auto* y = static_cast<const DependencyValue*>(b);
    if (x->dependency != y->dependency) return x->dependency < y->dependency ? -1 : 1;
    return strcmp(x->value, y->value);
}

struct DependencyValues {
    DependencyValue* items;
    int n, size;
};

void add_dependency_values(DependencyValues* out, const TableCapture* c, TupleTableSlot* row,
                           bool update) {
    for (int i = 0; i < c->ndependencies; i++) {
        const DependencyCapture* d = &c->dependencies[i];
        if (d->updates_only && !update) continue;
        bool isnull;
        Datum value = slot_getattr(row, d->value_att, &isnull);
        if (isnull) continue;  // belongs to no model row
        if (out->n == out->size) {
            out->size = out->size ? out->size * 2 : 16;
            out->items = static_cast<DependencyValue*>(
                out->items ? repalloc(out->items, sizeof(DependencyValue) * out->size)
                           : palloc(sizeof(DependencyValue) * out->size));
        }
        out->items[out->n++] = {i, OutputFunctionCall(const_cast<FmgrInfo*>(&d->value_out), value)};
    }
}

// One `<model>_updated` per model row the statement touched, however many of
// its dependency rows changed (old and new parent of a moved row).
void write_dependency_rows(Sink* s, DependencyValues* values) {
    if (values->n == 0) return;
    qsort(values->items, values->n, sizeof(DependencyValue), compare_dependency_values);
    for (int i = 0; i < values->n; i++) {
        if (i > 0 && compare_dependency_values(&values->items[i - 1], &values->items[i]) == 0) continue;
        sink_begin(s);
        fill_dependency_row(s->row.values, s->row.nulls, s->c,
                            &s->c->dependencies[values->items[i].dependency], values->items[i].value, s->now);
        sink_end(s);
    }
    pfree(values->items);
}

// The events of one changed row on each topic the table is published on.
void write_model_events(Sink* s, TupleTableSlot* old_row, TupleTableSlot* new_row) {
    for (int i = 0; i < s->c->ntopics; i++) {
        const TopicCapture* t = &s->c->topics[i];
        Datum event = !old_row ? t->event_created
                      : !new_row ? t->event_destroyed
                                 : update_event(t, old_row, new_row);
        if (event == (Datum)0) continue;
        sink_begin(s);
        fill_outbox_row(s->row.values, s->row.nulls, s->c, t, event, new_row ? new_row : old_row, s->now);
        sink_end(s);
    }
}

}  // namespace

uint64 write_outbox_rows(const TableCapture* c, TriggerData* trigdata, CaptureEvent event) {
    if (c->ntopics == 0 && c->ndependencies == 0) return 0;
    Tuplestorestate* counted = event == CaptureEvent::Delete ? trigdata->tg_oldtable : trigdata->tg_newtable;
    // Upper bound: a moved dependency row names two model rows.
    uint64 estimated = tuplestore_tuple_count(counted) * (c->ntopics + 2 * c->ndependencies);
    // One pass over the statement's rows: the table's own events as they
    // come, the values naming model rows collected for write_dependency_rows.
    struct Capture {
        Sink sink;
        DependencyValues dependencies;
    } capture;
    capture.dependencies = {nullptr, 0, 0};
    sink_open(&capture.sink, c, estimated);
    for_each_changed_row(trigdata, event,
                         [](void* ctx, TupleTableSlot* old_row, TupleTableSlot* new_row) {
                             auto* cap = static_cast<Capture*>(ctx);
                             write_model_events(&cap->sink, old_row, new_row);
                             const bool update = old_row && new_row;
                             if (old_row) add_dependency_values(&cap->dependencies, cap->sink.c, old_row, update);
                             if (new_row) add_dependency_values(&cap->dependencies, cap->sink.c, new_row, update);
                         },
                         &capture);
    write_dependency_rows(&capture.sink, &capture.dependencies);
    sink_close(&capture.sink);
    return capture.sink.written;
}

}  // namespace dionysus::capture
