-- Privileges, last so that they cover every object created before.
-- Applications never touch this schema: capture reads the catalog as the
-- bootstrap superuser and writes the outbox with direct heap inserts, so an
-- application role needs no privilege here, and gets none.
REVOKE ALL ON SCHEMA dionysus FROM PUBLIC;
-- Declarations, hand-built messages and the capture trigger function are
-- for the extension owner (superuser) and whom it grants them to.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA dionysus FROM PUBLIC;
-- Monitoring roles read the status views, and nothing else of the schema.
GRANT USAGE ON SCHEMA dionysus TO pg_monitor;
GRANT SELECT ON dionysus.parked TO pg_monitor;
GRANT SELECT ON dionysus.genesis_runs TO pg_monitor;
GRANT SELECT ON dionysus.topics, dionysus.models, dionysus.outbox_status, dionysus.outbox_latency,
    dionysus.workers, dionysus.consumer_status, dionysus.dead_letters TO pg_monitor;
GRANT EXECUTE ON FUNCTION dionysus.worker_status(), dionysus.health_check(interval),
    dionysus.health_problem(interval) TO pg_monitor;
