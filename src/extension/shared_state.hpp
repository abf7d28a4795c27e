// Shared memory of the extension: where backends find the publisher's latch
// to wake it at commit, and what the worker reports about itself. The
// struct is private to shared_state.cpp; everything goes through the
// accessors below, which take the spinlock.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>

namespace dionysus {

void request_shared_memory();  // from shmem_request_hook
void init_shared_memory();     // from shmem_startup_hook

// Wake the publisher (no-op when none runs). Only the first commit after the
// publisher started a cycle pays for SetLatch (a signal and a context switch).
void wake_publisher();
// Called by the publisher before it looks for work.
void publisher_clear_wake();
// Whether a commit woke the publisher since it last looked (and clears
// that): checked while a genesis streams, so live rows never wait for the
// end of a drain cycle.
bool publisher_take_wake();

// The publisher process: this one from attach (its pid and latch, state
// "starting") to detach (state "stopped").
void publisher_attach();
void publisher_detach();
// What the publisher is doing (idle, publishing, retrying, …; at most 31
// bytes), with the last error when one is given; also its heartbeat.
void publisher_report(const char* state, const std::string& error = {});
// Events acknowledged by the broker, and events whose delivery failed.
void publisher_count(uint64 published, uint64 failed);

}  // namespace dionysus
