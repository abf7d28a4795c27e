// What a published (or dependency) table's capture needs, read from the
// catalog once per backend and kept until declarations or the table change
// (relcache invalidation): its topics, primary key, partition key,
// soft-delete column, the models it is a dependency of, and the observers
// of its attributes. Plain C data in
// a memory context of its own, so outbox_writer.cpp can use it inside one
// pg::guard region without C++ objects to unwind.
#pragma once

extern "C" {
#include "postgres.h"
#include "fmgr.h"
#include "utils/relcache.h"
}

#include "catalog/declarations.hpp"

namespace dionysus::capture {

// How one topic captures a table (plain data, lives in its own memory context).
struct TopicCapture {
    Datum topic;         // text
    Datum model_name;    // text
    Datum event_created, event_updated, event_destroyed;  // text: "<prefix>_created", …
    catalog::PartitionKeyKind key_kind;
    AttrNumber key_att;  // Column
    FmgrInfo key_out;    // Column: output function of the key column's type
    FmgrInfo key_fn;     // Function f(row) -> text
    Oid key_fn_owner;    // Function: the role it runs as
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

// How a change of this table (an observed table) republishes the rows of a
// model (dionysus.observe): a change of any of `attributes` writes one
// outbox row naming, through `value_att`, the model rows to republish
// (plain data as well).
struct ObserverCapture {
    Datum topic;            // text: the model's topic
    Datum model_name;       // text
    Datum event_updated;    // text: "<model prefix>_updated"
    Datum resource_column;  // name: the model's foreign key; (Datum)0 for an association query
    int64 observer;         // dionysus.observers.id
    AttrNumber value_att;   // the observed column the foreign key references, or the primary key
    FmgrInfo value_out;
    int nattributes;
    AttrNumber* attributes;
    char** names;               // of the attributes: the changeset's keys
    FmgrInfo* attribute_out;    // output functions: the changeset's values are text
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
    int nobservers;         // models that observe attributes of this table
    ObserverCapture* observers;
    Oid outbox_relid;
    Oid sequence_relid;
};

// The capture of `rel`, built at its first use in this backend (reading the
// private catalog as the bootstrap superuser, whoever writes the table).
const TableCapture* table_capture(Relation rel);

}  // namespace dionysus::capture
