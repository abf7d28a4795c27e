// Waking the publisher when a transaction that wrote outbox rows commits:
// a transaction callback, so the worker is woken once the rows are visible
// (README "The publisher worker": latency).
#pragma once

namespace dionysus::capture {

// The current transaction wrote outbox rows: wake the publisher at commit.
void note_outbox_write();

}  // namespace dionysus::capture
