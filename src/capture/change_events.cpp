#include "pg/boundary.hpp"
#include "capture/change_events.hpp"

extern "C" {
#include "executor/executor.h"
#include "utils/datum.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
}

namespace dionysus::capture {

namespace {

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

}  // namespace

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

}  // namespace dionysus::capture
