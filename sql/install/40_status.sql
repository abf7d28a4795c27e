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
