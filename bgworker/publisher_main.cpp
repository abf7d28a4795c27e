// The publisher background worker's process: what the postmaster starts
// (registered by _PG_init in src/extension/extension.cpp). Sets up signals,
// connects to dionysus.database, announces itself in shared memory, and
// enters C++ (src/publisher/worker.cpp) through one crossing: no exception
// escapes into the worker's C frames.
#include "pg/boundary.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
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

volatile sig_atomic_t got_sigterm = false;

void handle_sigterm(SIGNAL_ARGS) {
    int save_errno = errno;
    got_sigterm = true;
    SetLatch(MyLatch);
    errno = save_errno;
}

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

void dionysus_publisher_main(Datum) {
    pqsignal(SIGTERM, handle_sigterm);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGQUIT, handle_sigquit);
    BackgroundWorkerUnblockSignals();
    BackgroundWorkerInitializeConnection(dionysus_database, nullptr, 0);
    pgstat_report_appname("dionysus publisher");

    dionysus::publisher_attach();
    before_shmem_exit(detach_from_shared_state, 0);
    elog(LOG, "dionysus publisher started on database \"%s\"", dionysus_database);

    // The message is copied into static space: nothing in a catch block may
    // raise a Postgres error (palloc could), and the FATAL comes after it.
    static char failure[1024];
    bool failed = false;
    try {
        dionysus::publisher::run(&got_sigterm);
    } catch (const std::exception& e) {
        strlcpy(failure, e.what(), sizeof failure);
        failed = true;
    } catch (...) {
        strlcpy(failure, "unknown C++ exception", sizeof failure);
        failed = true;
    }
    if (failed) ereport(FATAL, (errmsg("dionysus publisher: %s", failure)));
    elog(LOG, "dionysus publisher stopped");
    // Exit code 1: the postmaster restarts us after bgw_restart_time (exit 0
    // would unregister the worker for good after a stray SIGTERM); at server
    // shutdown nothing is restarted anyway.
    proc_exit(1);
}
