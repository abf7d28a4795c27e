#include "pg/boundary.hpp"
#include "extension/shared_state.hpp"

extern "C" {
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"
}

#include <cstring>

namespace dionysus {

namespace {

struct PublisherState {
    slock_t mutex;                  // guards every field but wake_pending
    pid_t pid;                      // 0 when no publisher runs
    Latch* latch;                   // publisher's process latch, SetLatch at commit
    pg_atomic_uint32 wake_pending;  // 1: a commit already set the latch this cycle
    TimestampTz heartbeat;          // last report
    uint64 published;               // events acknowledged by the broker
    uint64 failed;                  // events whose delivery failed
    char state[32];                 // idle, publishing, waiting for extension, …
    char last_error[512];
};

PublisherState* state = nullptr;  // nullptr when not preloaded

}  // namespace

void request_shared_memory() { RequestAddinShmemSpace(MAXALIGN(sizeof(PublisherState))); }

void init_shared_memory() {
    bool found = false;
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    state = static_cast<PublisherState*>(ShmemInitStruct("dionysus publisher", sizeof(PublisherState), &found));
    if (!found) {
        std::memset(state, 0, sizeof(PublisherState));
        SpinLockInit(&state->mutex);
        pg_atomic_init_u32(&state->wake_pending, 0);
    }
    LWLockRelease(AddinShmemInitLock);
}

void wake_publisher() {
    if (state == nullptr) return;
    // Reading the pointer without the spinlock is fine: a stale latch of an
    // exited worker lives in shared memory and a spurious SetLatch is harmless.
    Latch* latch = state->latch;
    if (latch == nullptr) return;
    if (pg_atomic_exchange_u32(&state->wake_pending, 1) == 0) SetLatch(latch);
}

void publisher_clear_wake() {
    // A full barrier: commits after this point see 0 and set the latch again.
    if (state != nullptr) pg_atomic_exchange_u32(&state->wake_pending, 0);
}

bool publisher_take_wake() {
    return state != nullptr && pg_atomic_exchange_u32(&state->wake_pending, 0) != 0;
}

void publisher_attach() {
    if (state == nullptr) return;
    SpinLockAcquire(&state->mutex);
    state->pid = MyProcPid;
    state->latch = MyLatch;
    strlcpy(state->state, "starting", sizeof state->state);
    state->heartbeat = GetCurrentTimestamp();
    SpinLockRelease(&state->mutex);
}

void publisher_detach() {
    if (state == nullptr) return;
    SpinLockAcquire(&state->mutex);
    state->pid = 0;
    state->latch = nullptr;
    strlcpy(state->state, "stopped", sizeof state->state);
    SpinLockRelease(&state->mutex);
}

void publisher_report(const char* what, const std::string& error) {
    if (state == nullptr) return;
    const TimestampTz now = GetCurrentTimestamp();  // not under the spinlock
    SpinLockAcquire(&state->mutex);
    strlcpy(state->state, what, sizeof state->state);
    if (!error.empty()) strlcpy(state->last_error, error.c_str(), sizeof state->last_error);
    state->heartbeat = now;
    SpinLockRelease(&state->mutex);
}

void publisher_count(uint64 published, uint64 failed) {
    if (state == nullptr) return;
    SpinLockAcquire(&state->mutex);
    state->published += published;
    state->failed += failed;
    SpinLockRelease(&state->mutex);
}

}  // namespace dionysus
