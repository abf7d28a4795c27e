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

// How a change of this table (a dependency) reaches the model rows it
// belongs to: each changed row names, through `value_att`, the rows of the
// model whose `resource_column` has that value (plain data as well).
struct DependencyCapture {
    Datum topic;            // text: the model's topic
    Datum model_name;       // text
    Datum event_updated;    // text: "<model prefix>_updated"
    Datum resource_column;  // name: the model's primary key (has_many) or foreign key (has_one)
    AttrNumber value_att;   // this table's foreign key (has_many) or primary key (has_one)
    FmgrInfo value_out;
    // has_one: a row just inserted or deleted cannot be referenced by any
    // model row (the foreign key forbids it), so only updates count.
    bool updates_only;
};

struct TableCapture {
    MemoryContext context;  // owns this struct and everything it points to
    Oid relid;
    AttrNumber pk_att;
    FmgrInfo pk_out;
    int ntopics;            // 0: not published itself
    TopicCapture* topics;
    int ndependencies;      // models this table is a dependency of (per topic)
    DependencyCapture* dependencies;
    Oid outbox_relid;
    Oid sequence_relid;
};

enum class CaptureEvent { Insert, Update, Delete };

// Writes the outbox rows for one statement; returns how many. Raises
// Postgres errors (call it inside pg::guard).
uint64 write_outbox_rows(const TableCapture* capture, TriggerData* trigdata, CaptureEvent event);

}  // namespace dionysus
