#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "publisher/session.hpp"

extern "C" {
#include "commands/extension.h"
}

namespace dionysus::publisher {

bool extension_installed() {
    return pg::guard([] { return OidIsValid(get_extension_oid("dionysus", true)); });
}

void set_session_formats() {
    pg::execute(
        "SELECT pg_catalog.set_config('DateStyle', 'ISO, YMD', false), "
        "pg_catalog.set_config('TimeZone', 'UTC', false), "
        "pg_catalog.set_config('IntervalStyle', 'iso_8601', false), "
        "pg_catalog.set_config('extra_float_digits', '1', false), "
        "pg_catalog.set_config('bytea_output', 'hex', false), "
        // A lock held on one rendered table (a long ALTER TABLE) fails that
        // table's batch after lock_timeout (recorded, retried with backoff)
        // instead of stalling every topic; no statement runs unbounded.
        "pg_catalog.set_config('lock_timeout', '2s', false), "
        "pg_catalog.set_config('statement_timeout', '60s', false), "
        // Losing the last published marks in a crash only re-sends those
        // rows (at least once); waiting for each mark's WAL flush would
        // halve the drain rate.
        "pg_catalog.set_config('synchronous_commit', 'off', false)");
}

}  // namespace dionysus::publisher
