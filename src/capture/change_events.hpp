// What one statement changed, and what an UPDATE becomes under dionysus-rb's
// soft-delete rules (README "What a change becomes"). Plain C data: call
// inside a pg::guard region.
#pragma once

extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
}

#include "capture/table_capture.hpp"

namespace dionysus::capture {

enum class CaptureEvent { Insert, Update, Delete };

// Calls visit(ctx, old_row, new_row) for every row the statement changed,
// in statement order: (NULL, new) for INSERT, (old, NULL) for DELETE,
// (old, new) for an UPDATE that changed something (bit for bit).
using RowFn = void (*)(void* ctx, TupleTableSlot* old_row, TupleTableSlot* new_row);
void for_each_changed_row(TriggerData* trigdata, CaptureEvent event, RowFn visit, void* ctx);

// dionysus-rb's event for an UPDATE on topic `t` (t->event_*); 0 for none.
Datum update_event(const TopicCapture* t, TupleTableSlot* before, TupleTableSlot* after);

}  // namespace dionysus::capture
