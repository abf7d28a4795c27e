#include "pg/boundary.hpp"
#include "capture/outbox_writer.hpp"
#include "pg/user_context.hpp"
#include "capture/change_events.hpp"
#include "capture/outbox_sink.hpp"
#include "crypto/changeset_cipher.hpp"
#include "extension/guc.hpp"
#include "wire/partitioning.hpp"

extern "C" {
#include "commands/sequence.h"
#include "executor/executor.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <openssl/crypto.h>

#include <cstdlib>
#include <cstring>

namespace dionysus::capture {

namespace {

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
        // User code: it runs as its owner, as in the publisher, not as
        // whoever writes the table (we are inside a guard region already).
        pg::UserContext saved;
        pg::enter_user_context(t->key_fn_owner, saved);
        Datum key = FunctionCallInvoke(fcinfo);
        pg::leave_user_context(saved);
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

// ---- observed changes --------------------------------------------------------

JsonbValue text_value(FmgrInfo* out, Datum value, bool isnull) {
    JsonbValue v;
    if (isnull) {
        v.type = jbvNull;
        return v;
    }
    char* text = OutputFunctionCall(out, value);
    v.type = jbvString;
    v.val.string.val = text;
    v.val.string.len = static_cast<int>(strlen(text));
    return v;
}

// Whether the change touched observed attribute `i` of `o`: an update
// changed it (bit for bit), an insert set it, a delete removed a set value.
bool touched(const ObserverCapture* o, int i, TupleTableSlot* old_row, TupleTableSlot* new_row, Datum* old_value,
             bool* old_null, Datum* new_value, bool* new_null) {
    const AttrNumber att = o->attributes[i];
    *old_null = *new_null = true;
    *old_value = old_row ? slot_getattr(old_row, att, old_null) : (Datum)0;
    *new_value = new_row ? slot_getattr(new_row, att, new_null) : (Datum)0;
    if (*old_null && *new_null) return false;
    if (*old_null || *new_null) return true;
    Form_pg_attribute a = TupleDescAttr(new_row->tts_tupleDescriptor, att - 1);
    return !datum_image_eq(*old_value, *new_value, a->attbyval, a->attlen);
}

bool any_touched(const ObserverCapture* o, TupleTableSlot* old_row, TupleTableSlot* new_row) {
    Datum ov, nv;
    bool on, nn;
    for (int i = 0; i < o->nattributes; i++)
        if (touched(o, i, old_row, new_row, &ov, &on, &nv, &nn)) return true;
    return false;
}

// {"attribute": [before, after], …} of the observed attributes the change
// touched (an insert: those set; a delete: those that were set), values as
// their text.
Datum observed_changeset(const ObserverCapture* o, TupleTableSlot* old_row, TupleTableSlot* new_row) {
    JsonbParseState* state = nullptr;
    pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
    for (int i = 0; i < o->nattributes; i++) {
        Datum old_value, new_value;
        bool old_null, new_null;
        if (!touched(o, i, old_row, new_row, &old_value, &old_null, &new_value, &new_null)) continue;
        JsonbValue key;
        key.type = jbvString;
        key.val.string.val = o->names[i];
        key.val.string.len = static_cast<int>(strlen(o->names[i]));
        pushJsonbValue(&state, WJB_KEY, &key);
        pushJsonbValue(&state, WJB_BEGIN_ARRAY, nullptr);
        FmgrInfo* out = const_cast<FmgrInfo*>(&o->attribute_out[i]);
        JsonbValue before = text_value(out, old_value, old_null), after = text_value(out, new_value, new_null);
        pushJsonbValue(&state, WJB_ELEM, &before);
        pushJsonbValue(&state, WJB_ELEM, &after);
        pushJsonbValue(&state, WJB_END_ARRAY, nullptr);
    }
    JsonbValue* object = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
    return JsonbPGetDatum(JsonbValueToJsonb(object));
}

// What binds an encrypted changeset to its outbox row (it cannot be moved
// to another row): "dionysus changeset <outbox id>".
int changeset_aad(char* out, size_t size, int64 id) {
    return snprintf(out, size, "dionysus changeset " INT64_FORMAT, id);
}

// With dionysus.changeset_key set: {"key": <key id>, "encrypted": <sealed
// text of the changeset>} instead of the changeset (crypto/changeset_cipher.hpp).
Datum encrypted_changeset(Datum changeset, int64 id) {
    crypto::Key key;
    if (!dionysus_changeset_key || !*dionysus_changeset_key || !crypto::parse_key(dionysus_changeset_key, &key))
        return changeset;
    Jsonb* jb = DatumGetJsonbP(changeset);
    char* text = JsonbToCString(nullptr, &jb->root, VARSIZE(jb));
    const size_t len = strlen(text);
    char aad[64];
    const int aad_len = changeset_aad(aad, sizeof aad, id);
    const size_t sealed_len = crypto::sealed_length(len);
    char* sealed = static_cast<char*>(palloc(sealed_len + 1));
    const bool sealed_ok = crypto::seal(key, reinterpret_cast<unsigned char*>(text), len,
                                        reinterpret_cast<unsigned char*>(aad), static_cast<size_t>(aad_len), sealed);
    OPENSSL_cleanse(key.bytes, sizeof key.bytes);  // (its id is stored below)
    OPENSSL_cleanse(text, len);
    pfree(text);
    if (!sealed_ok) ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("dionysus: could not encrypt a changeset")));
    JsonbParseState* state = nullptr;
    JsonbValue k, v;
    pushJsonbValue(&state, WJB_BEGIN_OBJECT, nullptr);
    k.type = jbvString;
    k.val.string.val = const_cast<char*>("key");
    k.val.string.len = 3;
    pushJsonbValue(&state, WJB_KEY, &k);
    v.type = jbvString;
    v.val.string.val = key.id;
    v.val.string.len = static_cast<int>(strlen(key.id));
    pushJsonbValue(&state, WJB_VALUE, &v);
    k.val.string.val = const_cast<char*>("encrypted");
    k.val.string.len = 9;
    pushJsonbValue(&state, WJB_KEY, &k);
    v.val.string.val = sealed;
    v.val.string.len = static_cast<int>(sealed_len);
    pushJsonbValue(&state, WJB_VALUE, &v);
    JsonbValue* object = pushJsonbValue(&state, WJB_END_OBJECT, nullptr);
    return JsonbPGetDatum(JsonbValueToJsonb(object));
}

void write_observer_row(Sink* s, const ObserverCapture* o, Datum value, TupleTableSlot* old_row,
                        TupleTableSlot* new_row) {
    sink_begin(s);  // from here, allocations live as long as the row must
    Datum* v = s->row.values;
    bool* n = s->row.nulls;
    fill_common(v, n, s->c, s->now);
    v[kResourceClass] = o->model_name;
    v[kResourceId] = text_of(const_cast<FmgrInfo*>(&o->value_out), value);
    v[kEventName] = o->event_updated;
    v[kTopic] = o->topic;
    v[kChangeset] = encrypted_changeset(observed_changeset(o, old_row, new_row), DatumGetInt64(v[kId]));
    v[kObserver] = Int64GetDatum(o->observer);
    n[kResourceClass] = n[kResourceId] = n[kEventName] = n[kTopic] = n[kChangeset] = n[kObserver] = false;
    if (o->resource_column != (Datum)0) {
        v[kResourceColumn] = o->resource_column;
        n[kResourceColumn] = false;
    }
    sink_end(s);
}

// One outbox row per observer whose attributes the change of this row
// touched: `<model>_updated` of the model rows its association finds for
// the observed row (at publish time), with the changeset. An update that
// changed the observed row's key names the rows of both keys.
void write_observer_rows(Sink* s, TupleTableSlot* old_row, TupleTableSlot* new_row) {
    for (int i = 0; i < s->c->nobservers; i++) {
        const ObserverCapture* o = &s->c->observers[i];
        if (!any_touched(o, old_row, new_row)) continue;
        bool new_null = true, old_null = true;
        Datum new_value = new_row ? slot_getattr(new_row, o->value_att, &new_null) : (Datum)0;
        Datum old_value = old_row ? slot_getattr(old_row, o->value_att, &old_null) : (Datum)0;
        if (!new_null) write_observer_row(s, o, new_value, old_row, new_row);
        if (!old_null) {
            Form_pg_attribute a = TupleDescAttr(old_row->tts_tupleDescriptor, o->value_att - 1);
            if (new_null || !datum_image_eq(old_value, new_value, a->attbyval, a->attlen))
                write_observer_row(s, o, old_value, old_row, new_row);
        }
    }
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
    if (c->ntopics == 0 && c->ndependencies == 0 && c->nobservers == 0) return 0;
    Tuplestorestate* counted = event == CaptureEvent::Delete ? trigdata->tg_oldtable : trigdata->tg_newtable;
    // Upper bound: a moved dependency row names two model rows, an observed
    // row whose key changed two keys.
    uint64 estimated = tuplestore_tuple_count(counted) * (c->ntopics + 2 * c->ndependencies + 2 * c->nobservers);
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
                             write_observer_rows(&cap->sink, old_row, new_row);
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
