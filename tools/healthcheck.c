/*
 * dionysus-healthcheck: the probe for Kubernetes (liveness) and monitoring,
 * as dionysus-rb's outbox_worker_health_check. Asks the database
 * dionysus.health_problem(max_age) and exits
 *   0  healthy,
 *   1  unhealthy (the reason on stderr: no publisher, a stale heartbeat, a
 *      row waiting longer than max_age while the broker is reachable, or the
 *      check itself failed, e.g. the extension is missing),
 *   2  the database cannot be reached.
 * Usage: dionysus-healthcheck [--max-age INTERVAL] [CONNINFO]
 * CONNINFO is a libpq connection string or URI; without it the usual PG*
 * variables (PGHOST, PGPORT, PGDATABASE, PGUSER, …) apply.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE* out) {
    fprintf(out, "usage: dionysus-healthcheck [--max-age INTERVAL] [CONNINFO]\n"
                 "exit 0 healthy, 1 unhealthy (reason on stderr), 2 cannot connect\n");
}

int main(int argc, char** argv) {
    const char* max_age = "2 minutes";
    const char* conninfo = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--max-age") == 0 && i + 1 < argc) {
            max_age = argv[++i];
        } else if (strncmp(argv[i], "--max-age=", 10) == 0) {
            max_age = argv[i] + 10;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || conninfo[0] != '\0') {
            usage(stderr);
            return 2;
        } else {
            conninfo = argv[i];
        }
    }
    PGconn* conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "dionysus-healthcheck: cannot connect: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 2;
    }
    const char* params[1] = {max_age};
    PGresult* res = PQexecParams(conn, "SELECT dionysus.health_problem($1::pg_catalog.interval)", 1, NULL, params,
                                 NULL, NULL, 0);
    int rc;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "dionysus-healthcheck: unhealthy: the check failed: %s", PQerrorMessage(conn));
        rc = 1;
    } else if (PQgetisnull(res, 0, 0)) {
        rc = 0;
    } else {
        fprintf(stderr, "dionysus-healthcheck: unhealthy: %s\n", PQgetvalue(res, 0, 0));
        rc = 1;
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}
