-- The status views, the workers view and the health check (README
-- "Operations"): exact columns and values under a known outbox.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
CREATE FUNCTION dionysus_explain(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;
CREATE TABLE st_accounts (id bigint PRIMARY KEY, name text);
CREATE TABLE st_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES st_accounts, name text);
CREATE TABLE st_fees (id bigint PRIMARY KEY, rental_id bigint REFERENCES st_rentals, amount numeric);
SELECT dionysus.declare_topic('st', 'rentals', partition_key => 'account_id', genesis_replica => true);
SELECT dionysus.declare_topic('st', 'accounts');
SELECT dionysus.publish('st_rentals', 'st_rentals', dependencies => '{st_fees}');
SELECT dionysus.publish('st_accounts', 'st_accounts');
SELECT dionysus.observe('st_rentals', 'st_rentals', 'st_accounts', '{name}', 'account_id');

SELECT name, namespace, topic, partition_key, genesis_replica, genesis_topic, models
  FROM dionysus.topics WHERE name LIKE 'st\_%' ORDER BY name;
SELECT topic, model_name, model, primary_key, partition_key, soft_delete_column,
       publish_updates_after_soft_delete, dependencies, observers
  FROM dionysus.models WHERE topic LIKE 'st\_%' ORDER BY topic, model_name;

-- now() is fixed within the transaction: the ages below are exact.
BEGIN;
INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, created_at, published_at,
                             failed_at, parked_at, error_class)
VALUES ('Rental', '1', 'rental_created', 'st_rentals', now() - interval '70 s', NULL, NULL, NULL, NULL),
       ('Rental', '2', 'rental_created', 'st_rentals', now() - interval '30 s', NULL, now(), NULL, 'X'),
       ('Rental', '3', 'rental_created', 'st_rentals', now() - interval '20 s', NULL, now(), now(), 'X'),
       ('Rental', '4', 'rental_created', 'st_rentals', now() - interval '12 s', now() - interval '10 s', NULL, NULL, NULL),
       ('Rental', '5', 'rental_created', 'st_rentals', now() - interval '9 s', now() - interval '5 s', NULL, NULL, NULL),
       -- published more than a minute ago: in neither figure
       ('Rental', '6', 'rental_created', 'st_rentals', now() - interval '5 min', now() - interval '2 min', NULL, NULL, NULL),
       -- superseded (marked done, never sent): not a publish
       ('Rental', '7', 'rental_created', 'st_rentals', now() - interval '50 s', now() - interval '40 s', NULL, NULL,
        'Dionysus::Superseded'),
       ('Account', '1', 'account_created', 'st_accounts', now() - interval '3 s', now() - interval '2 s', NULL, NULL, NULL),
       -- a topic dropped with rows pending
       ('Gone', '1', 'gone_created', 'st_dropped', now() - interval '1 s', NULL, NULL, NULL, NULL);
SELECT * FROM dionysus.outbox_status WHERE topic LIKE 'st\_%' ORDER BY topic;
SELECT * FROM dionysus.outbox_latency WHERE topic LIKE 'st\_%' ORDER BY topic;
ROLLBACK;

-- On a large outbox of published rows the views read only the partial
-- indexes (no scan of published rows).
BEGIN;
INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, created_at, published_at)
SELECT 'Rental', g::text, 'rental_updated', 'st_rentals', now() - interval '2 hours', now() - interval '2 hours'
  FROM generate_series(1, 200000) g;
ANALYZE dionysus.outbox;
SELECT count(*) AS seq_scans FROM (
    SELECT line FROM (SELECT dionysus_explain('SELECT * FROM dionysus.outbox_status') AS line
                      UNION ALL SELECT dionysus_explain('SELECT * FROM dionysus.outbox_latency')) e
     WHERE line LIKE '%Seq Scan on outbox%') s;
ROLLBACK;

-- The workers: the launcher, and the publisher of dionysus.database
-- ('postgres' here: the extension is not installed there).
SELECT role, database, worker, workers, state, pid IS NOT NULL AS running,
       last_heartbeat > now() - interval '1 minute' AS fresh, published, failed, bytes, batches
  FROM dionysus.workers ORDER BY role;

-- No publisher serves this database: unhealthy, and why.
SELECT dionysus.health_check();
SELECT dionysus.health_problem();
SELECT try($$SELECT dionysus.health_check(NULL)$$);
SELECT try($$SELECT dionysus.health_check('-5 s')$$);

-- Monitoring roles read the views and run the check; application roles
-- do neither.
CREATE ROLE st_app;
CREATE ROLE st_watcher IN ROLE pg_monitor;
SET ROLE st_watcher;
SELECT count(*) FROM dionysus.topics WHERE name LIKE 'st\_%';
SELECT count(*) FROM dionysus.models WHERE topic LIKE 'st\_%';
SELECT count(*) >= 0 AS readable FROM dionysus.outbox_status;
SELECT count(*) >= 0 AS readable FROM dionysus.outbox_latency;
SELECT count(*) AS workers FROM dionysus.workers;
SELECT dionysus.health_check();
SELECT try($$SELECT count(*) FROM dionysus.outbox$$);
SELECT count(*) >= 0 AS readable FROM dionysus.consumer_status;
SELECT count(*) >= 0 AS readable FROM dionysus.dead_letters;
SELECT try($$SELECT count(*) FROM dionysus.consumer_offsets$$);
SELECT try($$SELECT count(*) FROM dionysus.consumer_dead_letters$$);
SET ROLE st_app;
SELECT try($$SELECT * FROM dionysus.topics$$);
SELECT try($$SELECT * FROM dionysus.outbox_status$$);
SELECT try($$SELECT * FROM dionysus.workers$$);
SELECT try($$SELECT dionysus.health_check()$$);
SELECT try($$SELECT * FROM dionysus.worker_status()$$);
SELECT try($$SELECT * FROM dionysus.consumer_status$$);
SELECT try($$SELECT * FROM dionysus.dead_letters$$);
SELECT try($$SELECT dionysus.assign_columns_from_synced_data('st_rentals', '{name}')$$);
RESET ROLE;
DROP ROLE st_app;
DROP ROLE st_watcher;
SELECT dionysus.drop_topic('st_rentals');
SELECT dionysus.drop_topic('st_accounts');
DROP TABLE st_fees, st_rentals, st_accounts;
DROP FUNCTION dionysus_explain(text);
