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
