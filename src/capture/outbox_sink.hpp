// Where capture's outbox rows go: straight into the heap and the indexes
// of dionysus.outbox (statements of a few rows: opening an executor state
// costs more than the insert), or buffered for heap multi-inserts (one WAL
// record per page, as COPY does). Plain C data: every function raises
// Postgres errors, call them inside one pg::guard region.
#pragma once

extern "C" {
#include "postgres.h"
#include "access/heapam.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"
}

#include "capture/table_capture.hpp"

namespace dionysus::capture {

// dionysus.outbox's columns, in the order the install script creates them
// (checked against the table by check_outbox_shape): positions in a row's
// values/nulls arrays.
enum OutboxColumn : int {
    kId, kResourceClass, kResourceId, kEventName, kTopic, kPartitionKey, kChangeset,
    kPublishedAt, kFailedAt, kRetryAt, kErrorClass, kErrorMessage, kAttempts,
    kCreatedAt, kUpdatedAt, kMessageKey, kMessage, kResourceColumn, kParkedAt, kObserver,
    kOutboxNatts
};
constexpr int kFlushEvery = 1000;     // rows per heap multi-insert
constexpr int kMaxCachedIndexes = 8;  // outbox indexes the fast path handles

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

struct FastRow {
    Datum values[kOutboxNatts];
    bool nulls[kOutboxNatts];
};

// One statement's outbox rows: fill `row` between sink_begin and
// sink_end for each.
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

// `estimated_rows` (an upper bound) chooses the fast path or multi-inserts.
void sink_open(Sink* s, const TableCapture* c, uint64 estimated_rows);
// Text values of the row are allocated from sink_begin to sink_end.
void sink_begin(Sink* s);
void sink_end(Sink* s);
// Flushes and closes; s->written is then the number of rows written.
void sink_close(Sink* s);

}  // namespace dionysus::capture
