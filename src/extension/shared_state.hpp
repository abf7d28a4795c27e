// Shared memory of the extension: one slot per worker process (the
// launcher's and each publisher's), where backends find the publishers of
// their database to wake them at commit, where the launcher hands a
// publisher its database and index, and what every worker reports about
// itself (the dionysus.workers view). The struct is private to
// shared_state.cpp; everything goes through the accessors below, which take
// the spinlock.
#pragma once

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
}

#include <cstdint>
#include <string>
#include <vector>

namespace dionysus {

// Publishers of all databases together (dionysus.database × dionysus.workers).
constexpr int kMaxPublishers = 64;

void request_shared_memory();  // from shmem_request_hook
void init_shared_memory();     // from shmem_startup_hook

// ---- backends ---------------------------------------------------------------
// Wake the publishers of this backend's database (no-op when none runs).
// Only the first commit after a publisher started a cycle pays for its
// SetLatch (a signal and a context switch).
void wake_publisher();

// ---- the launcher -----------------------------------------------------------
// Reserves a free publisher slot for `database`, worker `index` of `count`:
// its number (bgw_main_arg of the publisher to start), or -1 when all are
// taken; *generation identifies this reservation (bgw_extra): a publisher
// started for an earlier one of the slot finds it changed and exits.
// `consumer`: for the database's consumer worker (src/consumer/), which
// uses the publisher_* calls below for its own slot too (not woken at commit).
int reserve_publisher_slot(Oid database, const char* dbname, int index, int count, uint32* generation,
                           bool consumer = false);
// Frees a slot whose publisher stopped (or never started), unless it was
// reserved again since (another generation).
void release_publisher_slot(int slot, uint32 generation);
// Slots reserved by a previous launcher process (it died, its publishers
// may still run): slot and pid (0: not started).
struct ReservedSlot {
    int slot = 0, pid = 0;
    uint32 generation = 0;
};
std::vector<ReservedSlot> reserved_publisher_slots();
void launcher_attach();
void launcher_report(const char* state, const std::string& error = {});

// ---- a publisher ------------------------------------------------------------
struct PublisherAssignment {
    bool valid = false;  // the slot is reserved for this generation
    Oid database = InvalidOid;
    std::string dbname;
    int index = 0;  // 0 .. count-1: which share of the database's topics it prefers
    int count = 1;
    bool consumer = false;  // a consumer's slot
};
// What the launcher reserved slot `slot` for, in reservation `generation`.
PublisherAssignment publisher_assignment(int slot, uint32 generation);
// This process is the publisher of `slot` from attach (its pid and latch,
// state "starting") to detach (state "stopped"); false (not attached) when
// the slot is no longer reserved for `generation`.
bool publisher_attach(int slot, uint32 generation);
void publisher_detach();
// Called by the publisher before it looks for work.
void publisher_clear_wake();
// Whether a commit woke the publisher since it last looked (and clears
// that): checked while a genesis streams, so live rows never wait for the
// end of a drain cycle.
bool publisher_take_wake();
// What the publisher is doing (idle, publishing, retrying, …; at most 31
// bytes), with the last error when one is given; also its heartbeat.
void publisher_report(const char* state, const std::string& error = {});
// Events acknowledged by the broker (and their key and value bytes), events
// whose delivery failed, batches recorded.
void publisher_count(uint64 published, uint64 failed, uint64 bytes = 0, uint64 batches = 1);
struct PublisherCounters {
    uint64 published = 0, failed = 0;
};
PublisherCounters publisher_counters();  // this publisher's, since it started
// What the last deliveries said of the brokers: reachable (a message was
// acknowledged) or not (every broker down, or the transport failing).
void publisher_broker_reachable(bool reachable);
// Only the heartbeat (a publisher waiting long for work).
void publisher_heartbeat();
// Whether publisher `index` of this database runs and reported within
// `max_age_ms`: topics it prefers are left to it.
bool peer_alive(int index, int64_t max_age_ms);

// ---- readers (the dionysus.workers view) ---------------------------------------
struct WorkerSnapshot {
    int pid = 0;
    std::string role;  // "launcher", "publisher" or "consumer"
    std::string database;
    int index = 0, count = 0;
    std::string state, last_error;
    TimestampTz started_at = 0, heartbeat = 0, last_error_at = 0;  // 0: never
    uint64 published = 0, failed = 0, bytes = 0, batches = 0;
    int broker = 0;  // 0 unknown, 1 reachable, 2 unreachable
};
std::vector<WorkerSnapshot> worker_snapshots();

}  // namespace dionysus
