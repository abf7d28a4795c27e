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

struct WorkerSlot {
    // Every field but wake_pending is guarded by SharedState::mutex.
    bool reserved;                  // the launcher gave it to a publisher or consumer (running or starting)
    bool consumer;                  // a consumer's slot (else a publisher's)
    uint32 generation;              // of the reservation
    pid_t pid;                      // 0 when no process runs in it
    Latch* latch;                   // the process latch, SetLatch at commit
    pg_atomic_uint32 wake_pending;  // 1: a commit already set the latch this cycle
    Oid database;
    char dbname[NAMEDATALEN];
    int index, count;
    TimestampTz started_at, heartbeat, last_error_at;
    uint64 published, failed, bytes, batches;
    int broker;  // WorkerSnapshot::broker
    char state[32];
    char last_error[512];
};

struct SharedState {
    slock_t mutex;
    WorkerSlot launcher;
    WorkerSlot publishers[kMaxPublishers];
    uint32 generations;  // reservations so far
};

SharedState* shared = nullptr;  // nullptr when not preloaded
WorkerSlot* mine = nullptr;     // this process's slot (a worker's)
uint32 my_generation = 0;

void set_text(char* dst, size_t size, const char* src) { strlcpy(dst, src ? src : "", size); }

void report(WorkerSlot* slot, const char* what, const std::string& error) {
    if (shared == nullptr || slot == nullptr) return;
    const TimestampTz now = GetCurrentTimestamp();  // not under the spinlock
    SpinLockAcquire(&shared->mutex);
    set_text(slot->state, sizeof slot->state, what);
    if (!error.empty()) {
        set_text(slot->last_error, sizeof slot->last_error, error.c_str());
        slot->last_error_at = now;
    }
    slot->heartbeat = now;
    SpinLockRelease(&shared->mutex);
}

// The slot now describes this process (called with the spinlock held).
void take_slot(WorkerSlot* slot, TimestampTz now) {
    slot->pid = MyProcPid;
    slot->latch = MyLatch;
    slot->started_at = now;
    slot->heartbeat = now;
    slot->last_error_at = 0;
    slot->last_error[0] = '\0';
    slot->published = slot->failed = slot->bytes = slot->batches = 0;
    slot->broker = 0;
    set_text(slot->state, sizeof slot->state, "starting");
}

}  // namespace

void request_shared_memory() { RequestAddinShmemSpace(MAXALIGN(sizeof(SharedState))); }

void init_shared_memory() {
    bool found = false;
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    shared = static_cast<SharedState*>(ShmemInitStruct("dionysus workers", sizeof(SharedState), &found));
    if (!found) {
        std::memset(shared, 0, sizeof(SharedState));
        SpinLockInit(&shared->mutex);
        pg_atomic_init_u32(&shared->launcher.wake_pending, 0);
        for (auto& s : shared->publishers) pg_atomic_init_u32(&s.wake_pending, 0);
    }
    LWLockRelease(AddinShmemInitLock);
}

void wake_publisher() {
    if (shared == nullptr) return;
    // Read without the spinlock (commits must not contend on it): a stale
    // latch of an exited worker lives in shared memory, and a spurious
    // SetLatch is harmless; a publisher that starts now looks anyway.
    for (auto& s : shared->publishers) {
        if (s.database != MyDatabaseId || s.consumer) continue;
        Latch* latch = s.latch;
        if (latch != nullptr && pg_atomic_exchange_u32(&s.wake_pending, 1) == 0) SetLatch(latch);
    }
}

int reserve_publisher_slot(Oid database, const char* dbname, int index, int count, uint32* generation, bool consumer) {
    if (shared == nullptr) return -1;
    int found = -1;
    SpinLockAcquire(&shared->mutex);
    for (int i = 0; i < kMaxPublishers; i++) {
        WorkerSlot& s = shared->publishers[i];
        if (s.reserved) continue;
        s.reserved = true;
        s.consumer = consumer;
        s.generation = ++shared->generations;
        *generation = s.generation;
        s.pid = 0;
        s.latch = nullptr;
        s.database = database;
        set_text(s.dbname, sizeof s.dbname, dbname);
        s.index = index;
        s.count = count;
        set_text(s.state, sizeof s.state, "starting");
        found = i;
        break;
    }
    SpinLockRelease(&shared->mutex);
    return found;
}

void release_publisher_slot(int slot, uint32 generation) {
    if (shared == nullptr || slot < 0 || slot >= kMaxPublishers) return;
    SpinLockAcquire(&shared->mutex);
    WorkerSlot& s = shared->publishers[slot];
    if (s.generation != generation) {
        SpinLockRelease(&shared->mutex);
        return;
    }
    s.reserved = false;
    s.pid = 0;
    s.latch = nullptr;
    s.database = InvalidOid;
    SpinLockRelease(&shared->mutex);
}

std::vector<ReservedSlot> reserved_publisher_slots() {
    std::vector<ReservedSlot> out;
    if (shared == nullptr) return out;
    ReservedSlot found[kMaxPublishers];
    int n = 0;
    SpinLockAcquire(&shared->mutex);
    for (int i = 0; i < kMaxPublishers; i++)
        if (shared->publishers[i].reserved) {
            found[n].slot = i;
            found[n].pid = shared->publishers[i].pid;
            found[n++].generation = shared->publishers[i].generation;
        }
    SpinLockRelease(&shared->mutex);
    out.assign(found, found + n);
    return out;
}

void launcher_attach() {
    if (shared == nullptr) return;
    const TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&shared->mutex);
    take_slot(&shared->launcher, now);
    SpinLockRelease(&shared->mutex);
    mine = &shared->launcher;
}

void launcher_report(const char* state, const std::string& error) {
    if (shared != nullptr) report(&shared->launcher, state, error);
}

PublisherAssignment publisher_assignment(int slot, uint32 generation) {
    PublisherAssignment a;
    if (shared == nullptr || slot < 0 || slot >= kMaxPublishers) return a;
    char dbname[NAMEDATALEN];  // copied under the lock, made a string after it
    SpinLockAcquire(&shared->mutex);
    const WorkerSlot& s = shared->publishers[slot];
    a.valid = s.reserved && s.generation == generation;
    a.database = s.database;
    strlcpy(dbname, s.dbname, sizeof dbname);
    a.index = s.index;
    a.count = s.count;
    a.consumer = s.consumer;
    SpinLockRelease(&shared->mutex);
    a.dbname = dbname;
    return a;
}

bool publisher_attach(int slot, uint32 generation) {
    if (shared == nullptr || slot < 0 || slot >= kMaxPublishers) return false;
    WorkerSlot* s = &shared->publishers[slot];
    const TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&shared->mutex);
    const bool ok = s->reserved && s->generation == generation && s->pid == 0;
    if (ok) {
        take_slot(s, now);
        s->database = MyDatabaseId;
    }
    SpinLockRelease(&shared->mutex);
    if (ok) {
        mine = s;
        my_generation = generation;
    }
    return ok;
}

void publisher_detach() {
    if (shared == nullptr || mine == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    if (mine->generation == my_generation && mine->pid == MyProcPid) {
        mine->pid = 0;
        mine->latch = nullptr;
        set_text(mine->state, sizeof mine->state, "stopped");
    }
    SpinLockRelease(&shared->mutex);
}

void publisher_clear_wake() {
    // A full barrier: commits after this point see 0 and set the latch again.
    if (mine != nullptr) pg_atomic_exchange_u32(&mine->wake_pending, 0);
}

bool publisher_take_wake() { return mine != nullptr && pg_atomic_exchange_u32(&mine->wake_pending, 0) != 0; }

void publisher_report(const char* what, const std::string& error) { report(mine, what, error); }

void publisher_count(uint64 published, uint64 failed, uint64 bytes, uint64 batches) {
    if (shared == nullptr || mine == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    mine->published += published;
    mine->failed += failed;
    mine->bytes += bytes;
    mine->batches += batches;
    SpinLockRelease(&shared->mutex);
}

PublisherCounters publisher_counters() {
    PublisherCounters c;
    if (shared == nullptr || mine == nullptr) return c;
    SpinLockAcquire(&shared->mutex);
    c.published = mine->published;
    c.failed = mine->failed;
    SpinLockRelease(&shared->mutex);
    return c;
}

void publisher_broker_reachable(bool reachable) {
    if (shared == nullptr || mine == nullptr) return;
    SpinLockAcquire(&shared->mutex);
    mine->broker = reachable ? 1 : 2;
    SpinLockRelease(&shared->mutex);
}

void publisher_heartbeat() {
    if (shared == nullptr || mine == nullptr) return;
    const TimestampTz now = GetCurrentTimestamp();
    SpinLockAcquire(&shared->mutex);
    mine->heartbeat = now;
    SpinLockRelease(&shared->mutex);
}

bool peer_alive(int index, int64_t max_age_ms) {
    if (shared == nullptr) return false;
    const TimestampTz now = GetCurrentTimestamp();
    bool alive = false;
    SpinLockAcquire(&shared->mutex);
    for (const auto& s : shared->publishers)
        if (s.reserved && !s.consumer && s.pid != 0 && s.database == MyDatabaseId && s.index == index &&
            now - s.heartbeat <= max_age_ms * 1000)
            alive = true;
    SpinLockRelease(&shared->mutex);
    return alive;
}

std::vector<WorkerSnapshot> worker_snapshots() {
    std::vector<WorkerSnapshot> out;
    if (shared == nullptr) return out;
    // Copied under the spinlock, converted after it (no allocation while held).
    SharedState copy;
    SpinLockAcquire(&shared->mutex);
    std::memcpy(&copy.launcher, &shared->launcher, sizeof copy.launcher);
    std::memcpy(copy.publishers, shared->publishers, sizeof copy.publishers);
    SpinLockRelease(&shared->mutex);
    auto add = [&out](const WorkerSlot& s, const char* role) {
        WorkerSnapshot w;
        w.pid = s.pid;
        w.role = role;
        w.database = s.dbname;
        w.index = s.index;
        w.count = s.count;
        w.state = s.state;
        w.last_error = s.last_error;
        w.started_at = s.started_at;
        w.heartbeat = s.heartbeat;
        w.last_error_at = s.last_error_at;
        w.published = s.published;
        w.failed = s.failed;
        w.bytes = s.bytes;
        w.batches = s.batches;
        w.broker = s.broker;
        out.push_back(std::move(w));
    };
    if (copy.launcher.pid != 0) add(copy.launcher, "launcher");
    for (const auto& s : copy.publishers)
        if (s.reserved) add(s, s.consumer ? "consumer" : "publisher");
    return out;
}

}  // namespace dionysus
