// Native capture: turns a statement's transition tables into outbox rows
// (change_events.hpp: which rows changed and how; outbox_sink.hpp: where the
// rows go) instead of one SQL INSERT per row. Plain C data inside, so the
// whole loop runs in one pg::guard region without C++ objects to unwind.
#pragma once

extern "C" {
#include "postgres.h"
#include "commands/trigger.h"
#include "fmgr.h"
}

#include "capture/change_events.hpp"
#include "capture/table_capture.hpp"

namespace dionysus::capture {

// Writes the outbox rows for one statement; returns how many. Raises
// Postgres errors (call it inside pg::guard).
uint64 write_outbox_rows(const TableCapture* capture, TriggerData* trigdata, CaptureEvent event);

}  // namespace dionysus::capture
