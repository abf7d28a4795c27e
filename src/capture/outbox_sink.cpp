#include "pg/boundary.hpp"
#include "capture/outbox_sink.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/primnodes.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

#include <cstring>

namespace dionysus::capture {

namespace {

const char* const kOutboxColumns[kOutboxNatts] = {
    "id", "resource_class", "resource_id", "event_name", "topic", "partition_key", "changeset",
    "published_at", "failed_at", "retry_at", "error_class", "error_message", "attempts",
    "created_at", "updated_at", "message_key", "message", "resource_column", "parked_at", "observer"};

// Their types: the values capture forms are of these types, whatever the table says.
const Oid kOutboxTypes[kOutboxNatts] = {
    INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, JSONBOID,
    TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT4OID,
    TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, JSONBOID, NAMEOID, TIMESTAMPTZOID, INT8OID};

void check_outbox_shape(Relation outbox) {
    TupleDesc desc = RelationGetDescr(outbox);
    bool ok = desc->natts == kOutboxNatts;
    for (int i = 0; ok && i < kOutboxNatts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        ok = !att->attisdropped && strcmp(NameStr(att->attname), kOutboxColumns[i]) == 0 &&
             att->atttypid == kOutboxTypes[i];
    }
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

// ---- fast path for small statements --------------------------------------
// Opening an executor state and the outbox's indexes costs more than
// inserting one row. When every outbox index is a plain-column btree whose
// only predicate is "published_at IS NULL" (true for a new row) — what the
// install script creates — small statements insert the heap tuple and its
// index entries directly, with index metadata cached per backend.

constexpr int kFastPathMaxRows = 16;
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

void fast_insert(Relation outbox, Relation* indexes, FastRow* r, CommandId cid) {
    HeapTuple tuple = heap_form_tuple(RelationGetDescr(outbox), r->values, r->nulls);
    heap_insert(outbox, tuple, cid, 0, nullptr);
    for (int i = 0; i < index_cache.n; i++) {
        IndexInfo* info = index_cache.infos[i];
        // An index being built by CREATE INDEX CONCURRENTLY takes no entries
        // yet (its validation adds them), as ExecInsertIndexTuples does.
        if (!info->ii_ReadyForInserts) continue;
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

}  // namespace

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

}  // namespace dionysus::capture
