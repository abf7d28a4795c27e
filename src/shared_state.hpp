// Shared memory of the extension: where backends find the publisher's latch
// to wake it at commit, and what the worker reports about itself.
#pragma once

extern "C" {
#include "postgres.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "datatype/timestamp.h"
}

namespace dionysus {

struct PublisherState {
    slock_t mutex;
    pid_t pid;               // 0 when no publisher runs
    Latch* latch;            // publisher's process latch, SetLatch at commit
    pg_atomic_uint32 wake_pending;  // 1: a commit already set the latch this cycle
    TimestampTz heartbeat;   // end of the last loop iteration
    uint64 published;        // events acknowledged by the broker
    uint64 failed;           // events whose delivery failed
    char state[32];          // idle, publishing, waiting-for-extension, …
    char last_error[512];
};

void request_shared_memory();   // from shmem_request_hook
void init_shared_memory();      // from shmem_startup_hook
PublisherState* publisher_state();  // nullptr when not preloaded

// Wake the publisher (no-op when none runs). Only the first commit after the
// publisher started a cycle pays for SetLatch (a signal and a context switch).
void wake_publisher();
// Called by the publisher before it looks for work.
void publisher_clear_wake();

}  // namespace dionysus
