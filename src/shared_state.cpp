#include "pg/boundary.hpp"
#include "shared_state.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

#include <cstring>

namespace dionysus {

static PublisherState* state = nullptr;

void request_shared_memory() { RequestAddinShmemSpace(MAXALIGN(sizeof(PublisherState))); }

void init_shared_memory() {
    bool found = false;
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    state = static_cast<PublisherState*>(
        ShmemInitStruct("dionysus publisher", sizeof(PublisherState), &found));
    if (!found) {
        std::memset(state, 0, sizeof(PublisherState));
        SpinLockInit(&state->mutex);
        pg_atomic_init_u32(&state->wake_pending, 0);
    }
    LWLockRelease(AddinShmemInitLock);
}

PublisherState* publisher_state() { return state; }

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

}  // namespace dionysus
