-- Views for people and monitoring (README "Operations"), readable by
-- pg_monitor members (granted in 90_privileges.sql), not by application roles.

-- Outbox rows that stopped being retried (dionysus.max_attempts reached, or an
-- error no retry fixes): they keep their error and no longer hold back their
-- topic. dionysus.retry(…) puts them back, dionysus.discard(…) drops them.
CREATE VIEW dionysus.parked AS
SELECT o.id, o.topic, o.resource_class, o.resource_id, o.event_name, o.message_key, o.attempts,
       o.error_class, o.error_message, o.failed_at, o.parked_at, o.created_at
  FROM dionysus.outbox o
 WHERE o.parked_at IS NOT NULL AND o.published_at IS NULL;
COMMENT ON VIEW dionysus.parked IS 'Parked (poison) outbox rows: kept with their error, no longer retried.';

-- Genesis runs and their progress. rate: rows acknowledged per second since
-- the run started (until it ended).
CREATE VIEW dionysus.genesis_runs AS
SELECT g.id, g.topic, CASE WHEN g.replica_only THEN g.topic || '_genesis' ELSE g.topic END AS destination,
       g.model, g.model_name, g."from", g."to", g.duration, g.visible_only, g.condition, g.state,
       g.rows_total, g.rows_done,
       round(g.rows_done / GREATEST(extract(epoch FROM COALESCE(g.finished_at, now()) - g.started_at), 0.001), 1)
           AS rate,
       g.error, g.created_at, g.started_at, g.finished_at
  FROM dionysus.genesis_run g;
COMMENT ON VIEW dionysus.genesis_runs IS 'Genesis runs (dionysus.genesis): rows total, done, rate, state.';

-- Declared topics, with the Kafka topics they write and their models.
CREATE VIEW dionysus.topics AS
SELECT t.name, t.namespace, t.topic, t.partition_key, t.genesis_replica,
       CASE WHEN t.genesis_replica THEN t.name || '_genesis' END AS genesis_topic,
       ARRAY(SELECT m.model_name FROM dionysus.published_models m WHERE m.topic = t.name
              ORDER BY m.model_name) AS models,
       t.created_at
  FROM dionysus.declared_topics t;
COMMENT ON VIEW dionysus.topics IS 'Declared topics (dionysus.declare_topic) and their models.';

-- dionysus-rb's topics_models_mapping: topic -> model -> dependencies (in
-- sideload order) -> observers.
CREATE VIEW dionysus.models AS
SELECT m.topic, m.model_name, m.model, m.primary_key, m.partition_key, m.soft_delete_column,
       m.publish_updates_after_soft_delete,
       ARRAY(SELECT d.dependency FROM dionysus.dependencies d
              WHERE d.topic = m.topic AND d.model = m.model ORDER BY d.position) AS dependencies,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                         'observed', o.observed::text, 'attributes', to_jsonb(o.attributes),
                         'association', COALESCE(o.association_column::text, o.association_query)) ORDER BY o.id)
                   FROM dionysus.observers o WHERE o.topic = m.topic AND o.model = m.model), '[]') AS observers,
       m.created_at
  FROM dionysus.published_models m;
COMMENT ON VIEW dionysus.models IS 'Published models with their dependencies and observers (dionysus-rb topics_models_mapping).';

-- Per topic: rows waiting (pending: not published, not parked; failed: of
-- those, the ones that failed at least once), parked, the age of the oldest
-- pending row, rows published in the last minute. Reads the unpublished rows
-- and the last minute of published ones through the partial indexes: cheap
-- whatever the size of the outbox.
CREATE VIEW dionysus.outbox_status AS
WITH u AS (
    SELECT o.topic,
           count(*) FILTER (WHERE o.parked_at IS NULL) AS pending,
           count(*) FILTER (WHERE o.parked_at IS NULL AND o.failed_at IS NOT NULL) AS failed,
           count(*) FILTER (WHERE o.parked_at IS NOT NULL) AS parked,
           min(o.created_at) FILTER (WHERE o.parked_at IS NULL) AS oldest
      FROM dionysus.outbox o WHERE o.published_at IS NULL GROUP BY o.topic),
p AS (
    SELECT o.topic, count(*) AS published
      FROM dionysus.outbox o
     WHERE o.published_at > now() - interval '1 minute' AND o.error_class IS NULL
     GROUP BY o.topic),
t AS (SELECT d.name AS topic FROM dionysus.declared_topics d UNION SELECT u.topic FROM u UNION SELECT p.topic FROM p)
SELECT t.topic, COALESCE(u.pending, 0) AS pending, COALESCE(u.failed, 0) AS failed,
       COALESCE(u.parked, 0) AS parked, now() - u.oldest AS oldest_pending_age,
       COALESCE(p.published, 0) AS published_last_minute
  FROM t LEFT JOIN u ON u.topic = t.topic LEFT JOIN p ON p.topic = t.topic;
COMMENT ON VIEW dionysus.outbox_status IS 'Per topic: pending, failed, parked, oldest pending age, published in the last minute.';

-- dionysus-rb's LatencyTracker, per topic: published_at - created_at of the
-- rows published in the last minute (rows marked done without being sent,
-- superseded or split, are left out), and highest_since_creation_date: the
-- age of the oldest pending row.
CREATE VIEW dionysus.outbox_latency AS
WITH p AS (
    SELECT o.topic, count(*) AS published, min(o.published_at - o.created_at) AS minimum,
           max(o.published_at - o.created_at) AS maximum, avg(o.published_at - o.created_at) AS average
      FROM dionysus.outbox o
     WHERE o.published_at > now() - interval '1 minute' AND o.error_class IS NULL
     GROUP BY o.topic),
u AS (
    SELECT o.topic, now() - min(o.created_at) AS highest_since_creation_date
      FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.parked_at IS NULL GROUP BY o.topic)
SELECT COALESCE(p.topic, u.topic) AS topic, COALESCE(p.published, 0) AS published, p.minimum, p.maximum,
       p.average, u.highest_since_creation_date
  FROM p FULL JOIN u ON u.topic = p.topic;
COMMENT ON VIEW dionysus.outbox_latency IS 'Per topic: latency of the last minute''s publishes, age of the oldest pending row.';

-- Every dionysus worker of the cluster, from shared memory (empty unless
-- shared_preload_libraries has dionysus): the launcher and each publisher
-- (worker: its index among the database's `workers`), its state, heartbeat,
-- last error, and counters since it started.
CREATE FUNCTION dionysus.worker_status(
    OUT pid integer, OUT role text, OUT database text, OUT worker integer, OUT workers integer,
    OUT state text, OUT started_at timestamptz, OUT last_heartbeat timestamptz, OUT last_error text,
    OUT last_error_at timestamptz, OUT published bigint, OUT failed bigint, OUT bytes bigint,
    OUT batches bigint, OUT broker text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'dionysus_worker_status' LANGUAGE C VOLATILE;
CREATE VIEW dionysus.workers AS SELECT * FROM dionysus.worker_status();
COMMENT ON VIEW dionysus.workers IS 'dionysus workers: pid, role, database, state, heartbeat, last error, counters.';

-- Why the publishing of this database is unhealthy, or NULL when it is
-- healthy: no publisher runs (or fewer than dionysus.workers), a
-- publisher's heartbeat is older than max_age, or a pending row never tried
-- yet is older than max_age while the broker is reachable (a broker outage
-- is not the worker's fault: restarting it would not help). A standby is
-- healthy (its publishers start at promotion). Then consuming: see
-- dionysus.consumer_health_problem.
CREATE FUNCTION dionysus.health_problem(max_age interval DEFAULT '2 minutes') RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    running integer;
    wanted integer := COALESCE(current_setting('dionysus.workers', true)::integer, 1);
    stale record;
    reachable boolean;
    oldest record;
BEGIN
    IF max_age IS NULL OR max_age <= interval '0' THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = '22023';
    END IF;
    IF pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    SELECT count(*), NOT COALESCE(bool_or(w.broker = 'unreachable'), false) INTO running, reachable
      FROM dionysus.worker_status() w
     WHERE w.role = 'publisher' AND w.database = current_database() AND w.pid IS NOT NULL;
    IF running = 0 THEN
        RETURN format('no dionysus publisher runs for database %I', current_database());
    END IF;
    IF running < wanted THEN
        RETURN format('%s of %s dionysus publishers run for database %I', running, wanted, current_database());
    END IF;
    SELECT w.pid, now() - w.last_heartbeat AS age INTO stale
      FROM dionysus.worker_status() w
     WHERE w.role = 'publisher' AND w.database = current_database() AND w.pid IS NOT NULL
       AND w.last_heartbeat < now() - max_age
     ORDER BY w.last_heartbeat LIMIT 1;
    IF FOUND THEN
        RETURN format('the heartbeat of dionysus publisher %s is %s old (max_age %s)', stale.pid,
                      date_trunc('second', stale.age), max_age);
    END IF;
    IF reachable THEN
        SELECT o.topic, o.id, now() - o.created_at AS age INTO oldest
          FROM dionysus.outbox o
         WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.failed_at IS NULL
           AND o.created_at < now() - max_age
         ORDER BY o.created_at LIMIT 1;
        IF FOUND THEN
            RETURN format('outbox row %s of topic %s has waited %s (max_age %s) while the broker is reachable',
                          oldest.id, oldest.topic, date_trunc('second', oldest.age), max_age);
        END IF;
    END IF;
    RETURN dionysus.consumer_health_problem(max_age);
END
$$;

-- true when dionysus.health_problem(max_age) finds nothing (for probes:
-- dionysus-healthcheck prints the problem).
CREATE FUNCTION dionysus.health_check(max_age interval DEFAULT '2 minutes') RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT dionysus.health_problem(max_age) IS NULL $$;
