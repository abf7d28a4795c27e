// Native capture: turns a statement's transition tables into outbox rows
// with heap multi-inserts (one WAL record per page, as COPY does) instead
// of one SQL INSERT per row. Plain C data inside, so the whole loop runs in
// one pg::guard region without C++ objects to unwind.
#pragma once

extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "fmgr.h"
}

namespace dionysus {

// How one topic captures a table (plain data, lives in its own memory context).
struct TopicCapture {
    Datum topic;         // text
    Datum model_name;    // text
    Datum event_created, event_updated, event_destroyed;  // text: "<prefix>_created", …
    char key_kind;       // 'c' column, 'f' function f(row) -> text, 0 none
    AttrNumber key_att;  // 'c'
    FmgrInfo key_out;    // 'c': output function of the key column's type
    FmgrInfo key_fn;     // 'f'
    AttrNumber soft_delete_att;  // 0: not soft-deletable
    bool after_soft_delete;      // publish_updates_after_soft_delete
};

struct TableCapture {
    MemoryContext context;  // owns this struct and everything it points to
    Oid relid;
    AttrNumber pk_att;
    FmgrInfo pk_out;
    int ntopics;            // 0: published nowhere (capture is a no-op)
    TopicCapture* topics;
    Oid outbox_relid;
    Oid sequence_relid;
};

enum class CaptureEvent { Insert, Update, Delete };

// Writes the outbox rows for one statement; returns how many. Raises
// Postgres errors (call it inside pg::guard).
uint64 write_outbox_rows(const TableCapture* capture, TriggerData* trigdata, CaptureEvent event);

}  // namespace dionysus
