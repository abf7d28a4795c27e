// _PG_init: GUCs, shared memory and the launcher worker registration (the
// launcher starts the publishers: bgworker/launcher_main.cpp).
// Nothing here starts threads or talks to Kafka: the worker does that after
// fork (librdkafka threads must not exist in the postmaster).
#include "pg/boundary.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"

extern "C" {
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

PG_MODULE_MAGIC;
void _PG_init(void);
}

static shmem_request_hook_type prev_shmem_request_hook = nullptr;
static shmem_startup_hook_type prev_shmem_startup_hook = nullptr;

static void dionysus_shmem_request() {
    if (prev_shmem_request_hook) prev_shmem_request_hook();
    dionysus::request_shared_memory();
}

static void dionysus_shmem_startup() {
    if (prev_shmem_startup_hook) prev_shmem_startup_hook();
    dionysus::init_shared_memory();
}

static void register_launcher() {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    // A database connection of none (shared catalogs only): the flag is
    // needed to read pg_database.
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    // Not on a standby: publishers start within a second of promotion.
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = 1;  // seconds, after a crash
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "dionysus");
    snprintf(worker.bgw_function_name, BGW_MAXLEN, "dionysus_launcher_main");
    snprintf(worker.bgw_name, BGW_MAXLEN, "dionysus launcher");
    snprintf(worker.bgw_type, BGW_MAXLEN, "dionysus launcher");
    RegisterBackgroundWorker(&worker);
}

void _PG_init(void) {
    dionysus::define_gucs();
    // Capture works in any backend; the worker and the commit wake-up need
    // shared_preload_libraries.
    if (!process_shared_preload_libraries_in_progress) return;
    prev_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = dionysus_shmem_request;
    prev_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = dionysus_shmem_startup;
    register_launcher();
}
