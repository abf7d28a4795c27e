// A unit of a worker's work in its own transaction, as pg_cron's worker
// does: start a transaction with a snapshot, open SPI, run the body,
// commit; on any exception abort and rethrow. Every Postgres call guarded.
#pragma once

#include "pg/boundary.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace dionysus::pg {

template <typename Body>
void in_transaction(Body&& body) {
    guard([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
    try {
        {
            SpiConnection spi;
            body();
        }
        guard([] {
            PopActiveSnapshot();
            CommitTransactionCommand();
            // Background workers report their table statistics themselves:
            // without this autovacuum never sees the outbox's dead rows.
            pgstat_report_stat(false);
        });
    } catch (...) {
        guard([] { AbortCurrentTransaction(); });
        throw;
    }
}

}  // namespace dionysus::pg
