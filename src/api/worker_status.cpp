// dionysus.worker_status(): what every dionysus worker of the cluster
// reports in shared memory (extension/shared_state.hpp), the rows of the
// dionysus.workers view. Empty when the library is not preloaded.
#include "pg/boundary.hpp"
#include "extension/shared_state.hpp"

extern "C" {
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
}

#include <vector>

using namespace dionysus;

DIONYSUS_PG_FUNCTION(dionysus_worker_status) {
    const std::vector<WorkerSnapshot> workers = worker_snapshots();
    pg::guard([&] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    constexpr int kColumns = 15;
    for (const auto& w : workers) {
        pg::guard([&] {
            Datum values[kColumns];
            bool nulls[kColumns] = {};
            int i = 0;
            values[i] = Int32GetDatum(w.pid), nulls[i] = w.pid == 0, i++;
            values[i++] = CStringGetTextDatum(w.role.c_str());
            values[i] = CStringGetTextDatum(w.database.c_str()), nulls[i] = w.database.empty(), i++;
            values[i] = Int32GetDatum(w.index), nulls[i] = w.role == "launcher", i++;
            values[i] = Int32GetDatum(w.count), nulls[i] = w.role == "launcher", i++;
            values[i++] = CStringGetTextDatum(w.state.c_str());
            values[i] = TimestampTzGetDatum(w.started_at), nulls[i] = w.started_at == 0, i++;
            values[i] = TimestampTzGetDatum(w.heartbeat), nulls[i] = w.heartbeat == 0, i++;
            values[i] = CStringGetTextDatum(w.last_error.c_str()), nulls[i] = w.last_error.empty(), i++;
            values[i] = TimestampTzGetDatum(w.last_error_at), nulls[i] = w.last_error_at == 0, i++;
            values[i++] = Int64GetDatum(static_cast<int64>(w.published));
            values[i++] = Int64GetDatum(static_cast<int64>(w.failed));
            values[i++] = Int64GetDatum(static_cast<int64>(w.bytes));
            values[i++] = Int64GetDatum(static_cast<int64>(w.batches));
            values[i] = CStringGetTextDatum(w.broker == 1 ? "reachable" : "unreachable"), nulls[i] = w.broker == 0, i++;
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }
    return (Datum)0;
}
