// The launcher background worker (registered by _PG_init): connected to no
// database, it reads pg_database once a second and keeps dionysus.workers
// publishers and dionysus.consumer_workers consumers running for each
// database of dionysus.database that exists,
// as pg_cron's and TimescaleDB's launchers do. A database that does not
// exist yet is waited for quietly (a publisher starts within a second of
// CREATE DATABASE); a publisher that stops is started again within a
// second; publishers of databases no longer listed are stopped.
#include "pg/boundary.hpp"
#include "extension/guc.hpp"
#include "extension/shared_state.hpp"
#include "extension/worker_process.hpp"
#include "util/name_list.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"

PGDLLEXPORT void dionysus_launcher_main(Datum arg);
}

#include <csignal>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using dionysus::got_sigterm;
using dionysus::pg::guard;

struct Publisher {
    Oid database = InvalidOid;
    int count = 0;  // dionysus.workers when it was started
    int slot = -1;
    uint32 generation = 0;
    BackgroundWorkerHandle* handle = nullptr;
    bool stopping = false;
};

// Key indexes of a database's consumer workers: -1 .. -dionysus.consumer_workers
// (publishers: 0 .. dionysus.workers-1).
int consumer_key(int k) { return -1 - k; }
bool is_consumer_key(int index) { return index < 0; }
int consumer_number(int key) { return -1 - key; }  // consumer_key's inverse

// (database name, index) -> its publisher (or consumer). A new one for a key starts only
// once the previous one stopped (a change of dionysus.workers, a database
// dropped and created again): one process per database and index, hence
// one crash marker file each.
using Key = std::pair<std::string, int>;

// The databases that exist, by name. A heap scan of pg_database, as the
// autovacuum launcher does: without a database, an index of pg_database
// cannot be opened before some backend has written the shared relcache
// init file (after initdb or a crash, it reads pg_class and fails).
std::map<std::string, Oid> existing_databases() {
    std::map<std::string, Oid> out;
    static char names[1024][NAMEDATALEN];  // C frames only below: no C++ object is longjmp'ed over
    static Oid oids[1024];
    int n = guard([] {
        int count = 0;
        StartTransactionCommand();
        (void)GetTransactionSnapshot();
        Relation rel = table_open(DatabaseRelationId, AccessShareLock);
        TableScanDesc scan = table_beginscan_catalog(rel, 0, NULL);
        HeapTuple tup;
        while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL && count < 1024) {
            Form_pg_database d = (Form_pg_database)GETSTRUCT(tup);
            if (!d->datallowconn) continue;
            strlcpy(names[count], NameStr(d->datname), NAMEDATALEN);
            oids[count++] = d->oid;
        }
        table_endscan(scan);
        table_close(rel, AccessShareLock);
        CommitTransactionCommand();
        return count;
    });
    for (int i = 0; i < n; i++) out.emplace(names[i], oids[i]);
    return out;
}

bool start_publisher(const Key& key, int count, Oid database, Publisher& p) {
    const auto& [name, index] = key;
    const bool consumer = is_consumer_key(index);
    p.database = database;
    p.count = count;
    p.slot = dionysus::reserve_publisher_slot(database, name.c_str(), consumer ? consumer_number(index) : index, count,
                                              &p.generation, consumer);
    if (p.slot < 0) return false;
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;  // the launcher starts it again
    snprintf(worker.bgw_library_name, BGW_MAXLEN, "dionysus");
    if (consumer) {
        snprintf(worker.bgw_function_name, BGW_MAXLEN, "dionysus_consumer_main");
        snprintf(worker.bgw_name, BGW_MAXLEN, "dionysus consumer %d for %s", consumer_number(index), name.c_str());
        snprintf(worker.bgw_type, BGW_MAXLEN, "dionysus consumer");
    } else {
        snprintf(worker.bgw_function_name, BGW_MAXLEN, "dionysus_publisher_main");
        snprintf(worker.bgw_name, BGW_MAXLEN, "dionysus publisher %d for %s", index, name.c_str());
        snprintf(worker.bgw_type, BGW_MAXLEN, "dionysus publisher");
    }
    worker.bgw_main_arg = Int32GetDatum(p.slot);
    memcpy(worker.bgw_extra, &p.generation, sizeof p.generation);
    worker.bgw_notify_pid = MyProcPid;  // our latch is set when it starts or stops
    const bool ok = guard([&] { return RegisterDynamicBackgroundWorker(&worker, &p.handle); });
    if (!ok) {
        dionysus::release_publisher_slot(p.slot, p.generation);
        p.slot = -1;
    }
    return ok;
}

// Publishers a previous launcher started (it died; the postmaster restarted
// us, not them): stopped, so that each (database, index) has one publisher.
// One registered but not started yet finds its reservation gone when it
// starts (another generation, or none) and exits without attaching.
void stop_orphans() {
    const auto orphans = dionysus::reserved_publisher_slots();
    for (const auto& o : orphans)
        if (o.pid > 0) kill(o.pid, SIGTERM);
    for (int waited = 0; waited < 300 && !got_sigterm; waited++) {  // up to 30 s: they finish in-flight deliveries
        bool alive = false;
        for (const auto& o : dionysus::reserved_publisher_slots())
            if (o.pid > 0 && kill(o.pid, 0) == 0) alive = true;
        if (!alive) break;
        guard([] { pg_usleep(100000L); });
    }
    for (const auto& o : orphans) dionysus::release_publisher_slot(o.slot, o.generation);
}

void run() {
    stop_orphans();
    std::map<Key, Publisher> running;
    std::set<std::string> waiting_logged;  // databases we said we wait for
    std::string full_logged;
    while (!got_sigterm) {
        guard([] { CHECK_FOR_INTERRUPTS(); });
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            guard([] { ProcessConfigFile(PGC_SIGHUP); });
        }
        const auto names = dionysus::util::split_name_list(dionysus_database ? dionysus_database : "");
        const int count = dionysus_workers;
        const int consumers = dionysus_consumer_workers;
        std::set<Key> wanted;  // publishers with `count`, consumers with `consumers`
        std::map<std::string, Oid> oids;
        const std::map<std::string, Oid> existing = existing_databases();
        for (const auto& name : names) {
            const auto found = existing.find(name);
            const Oid oid = found == existing.end() ? InvalidOid : found->second;
            if (!OidIsValid(oid)) {
                if (waiting_logged.insert(name).second)
                    guard([&] { elog(LOG, "dionysus launcher: waiting for database \"%s\"", name.c_str()); });
                continue;
            }
            waiting_logged.erase(name);
            oids[name] = oid;
            for (int i = 0; i < count; i++) wanted.insert({name, i});
            for (int k = 0; k < consumers; k++) wanted.insert({name, consumer_key(k)});
        }
        // Reap publishers that stopped; stop those no longer wanted (or of a
        // database dropped and created again).
        for (auto it = running.begin(); it != running.end();) {
            Publisher& p = it->second;
            pid_t pid = 0;
            const BgwHandleStatus status = guard([&] { return GetBackgroundWorkerPid(p.handle, &pid); });
            if (status == BGWH_STOPPED) {
                dionysus::release_publisher_slot(p.slot, p.generation);
                guard([&] { pfree(p.handle); });
                it = running.erase(it);
                continue;
            }
            const auto oid = oids.find(it->first.first);
            const bool resized = p.count != (is_consumer_key(it->first.second) ? consumers : count);
            if (!p.stopping && (!wanted.count(it->first) || resized || oid == oids.end() ||
                                oid->second != p.database)) {
                guard([&] { TerminateBackgroundWorker(p.handle); });
                p.stopping = true;
            }
            ++it;
        }
        // A database's consumers of a new dionysus.consumer_workers start once
        // all of the old ones stopped: two would otherwise read the same
        // partition for a while (the offsets check of each batch would make
        // one of them give way, but it need not come to that).
        std::set<std::string> consumers_resizing;
        for (const auto& [key, p] : running)
            if (is_consumer_key(key.second) && p.count != consumers) consumers_resizing.insert(key.first);
        bool full = false;
        for (const auto& key : wanted) {
            if (running.count(key)) continue;
            const bool consumer = is_consumer_key(key.second);
            if (consumer && consumers_resizing.count(key.first)) continue;
            Publisher p;
            if (start_publisher(key, consumer ? consumers : count, oids[key.first], p)) running.emplace(key, p);
            else full = true;
        }
        if (full && full_logged != dionysus_database) {
            full_logged = dionysus_database ? dionysus_database : "";
            guard([] {
                elog(WARNING, "dionysus launcher: cannot start every publisher (at most %d, and "
                              "max_worker_processes bounds them too)", dionysus::kMaxPublishers);
            });
        }
        dionysus::launcher_report(running.empty() ? "waiting" : "running");
        guard([] {
            (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000L, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
        });
    }
    // At SIGTERM (server shutdown) the postmaster stops the publishers itself.
}

}  // namespace

void dionysus_launcher_main(Datum) {
    pqsignal(SIGTERM, dionysus::handle_sigterm);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    BackgroundWorkerUnblockSignals();
    // No database: the shared catalogs (pg_database) only.
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    pgstat_report_appname("dionysus launcher");
    dionysus::launcher_attach();

    dionysus::run_or_fatal("dionysus launcher", run);
    // Exit code 1: the postmaster starts the launcher again after
    // bgw_restart_time (0 would unregister it for good after a stray
    // SIGTERM); at server shutdown nothing is restarted anyway.
    proc_exit(1);
}
