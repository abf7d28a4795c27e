// The consumer background worker's process: what the launcher starts
// (bgworker/launcher_main.cpp), dionysus.consumer_workers of them per
// database of dionysus.database, its shared-memory slot the argument (which
// also says which share of the partitions it reads). Sets up signals, connects to the slot's
// database, announces itself in shared memory, and enters C++
// (src/consumer/consumer_worker.cpp) through one crossing. A database without
// consume() declarations keeps an idle consumer (one cheap query a second).
#include "pg/boundary.hpp"
#include "extension/shared_state.hpp"
#include "extension/worker_process.hpp"
#include "consumer/consumer_worker.hpp"

extern "C" {
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"

PGDLLEXPORT void dionysus_consumer_main(Datum arg);
}

namespace {

void detach_from_shared_state(int, Datum) { dionysus::publisher_detach(); }

}  // namespace

void dionysus_consumer_main(Datum arg) {
    const int slot = DatumGetInt32(arg);
    pqsignal(SIGTERM, dionysus::handle_sigterm);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    BackgroundWorkerUnblockSignals();
    static char database[NAMEDATALEN];
    static Oid database_oid = InvalidOid;
    uint32 generation = 0;
    memcpy(&generation, MyBgworkerEntry->bgw_extra, sizeof generation);
    bool valid = false;
    static int index = 0, count = 1;
    {
        const dionysus::PublisherAssignment a = dionysus::publisher_assignment(slot, generation);
        valid = a.valid && a.consumer;
        strlcpy(database, a.dbname.c_str(), sizeof database);
        database_oid = a.database;
        index = a.index;
        count = a.count;
    }
    if (!valid) proc_exit(0);
    BackgroundWorkerInitializeConnectionByOid(database_oid, InvalidOid, 0);
    pgstat_report_appname("dionysus consumer");
    if (!dionysus::publisher_attach(slot, generation)) proc_exit(0);
    before_shmem_exit(detach_from_shared_state, 0);
    elog(LOG, "dionysus consumer %d of %d started on database \"%s\"", index, count, database);

    dionysus::run_or_fatal("dionysus consumer", [] { dionysus::consumer::run(&dionysus::got_sigterm, index, count); });
    elog(LOG, "dionysus consumer stopped");
    proc_exit(0);
}
