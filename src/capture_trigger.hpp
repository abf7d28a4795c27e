// The capture trigger (dionysus.capture): statement-level AFTER triggers with
// transition tables write one outbox row per changed row per topic through a
// cached plan per (table, event).
#pragma once

namespace dionysus {

// The current transaction wrote outbox rows: wake the publisher at commit.
void note_outbox_write();

// Drop cached capture metadata in every backend (at commit of the caller).
void invalidate_captures_everywhere();

}  // namespace dionysus
