// The publisher background worker's process: what the launcher starts
// (bgworker/launcher_main.cpp), one per database and worker index, its
// shared-memory slot the argument. Sets up signals, connects to the
// slot's database, announces itself in shared memory, and
// enters C++ (src/publisher/worker.cpp) through one crossing: no exception
// escapes into the worker's C frames.
#include "pg/boundary.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
#include "extension/worker_process.hpp"
#include "publisher/worker.hpp"

#include <unistd.h>

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"

PGDLLEXPORT void dionysus_publisher_main(Datum arg);
}

namespace {

// SIGQUIT: the postmaster tells us to quit at once (another process
// crashed, or an immediate shutdown). Not a death the rows being rendered
// caused: clear the crash marker (async-signal-safe), then exit as
// Postgres' own handler does.
void handle_sigquit(SIGNAL_ARGS) {
    const int fd = dionysus::publisher::rendering_marker_fd();
    if (fd >= 0 && ftruncate(fd, 0) != 0) {
        // nothing to do about it in a signal handler
    }
    SignalHandlerForCrashExit(postgres_signal_arg);
}

void detach_from_shared_state(int, Datum) { dionysus::publisher_detach(); }

}  // namespace

void dionysus_publisher_main(Datum arg) {
    const int slot = DatumGetInt32(arg);
    pqsignal(SIGTERM, dionysus::handle_sigterm);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGQUIT, handle_sigquit);
    BackgroundWorkerUnblockSignals();
    // Copied out of the slot before anything can fail: static space, no
    // C++ object lives across the Postgres calls below.
    static char database[NAMEDATALEN];
    static int index = 0, count = 1;
    static Oid database_oid = InvalidOid;
    uint32 generation = 0;
    memcpy(&generation, MyBgworkerEntry->bgw_extra, sizeof generation);
    bool valid = false;
    {
        const dionysus::PublisherAssignment a = dionysus::publisher_assignment(slot, generation);
        valid = a.valid;
        strlcpy(database, a.dbname.c_str(), sizeof database);
        database_oid = a.database;
        index = a.index;
        count = a.count;
    }
    // Started for a reservation that is gone (a launcher died meanwhile): not ours.
    if (!valid) proc_exit(0);
    // By OID: a database dropped and created again under its name is not ours either.
    BackgroundWorkerInitializeConnectionByOid(database_oid, InvalidOid, 0);
    pgstat_report_appname("dionysus publisher");

    if (!dionysus::publisher_attach(slot, generation)) proc_exit(0);
    before_shmem_exit(detach_from_shared_state, 0);
    if (count > 1)
        elog(LOG, "dionysus publisher %d of %d started on database \"%s\"", index, count, database);
    else
        elog(LOG, "dionysus publisher started on database \"%s\"", database);

    dionysus::run_or_fatal("dionysus publisher",
                           [] { dionysus::publisher::run(&dionysus::got_sigterm, index, count); });
    elog(LOG, "dionysus publisher stopped");
    // The launcher starts a publisher again if its database still wants one.
    proc_exit(0);
}
