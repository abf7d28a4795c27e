-- genesis(topic, model, "from", "to", duration, visible_only, condition):
-- validation (each error with its SQLSTATE, nothing written by a failed
-- call), the run it records, cancel_genesis, and who may see and call it.
-- Streaming itself is tested against the dev broker (test_genesis.py).
SET client_min_messages = warning;
CREATE TABLE gen_rentals (id bigint PRIMARY KEY, account_id bigint, name text,
                          updated_at timestamptz, canceled_at timestamptz);
CREATE TABLE gen_fees (id bigint PRIMARY KEY, gen_rental_id bigint REFERENCES gen_rentals);
CREATE TABLE gen_plain (id bigint PRIMARY KEY, n int);
CREATE TABLE gen_other (id bigint PRIMARY KEY);
CREATE ROLE gen_stranger;
CREATE FUNCTION gen_strangers_check(bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
ALTER FUNCTION gen_strangers_check(bigint) OWNER TO gen_stranger;
SELECT dionysus.declare_topic('gen', 'rentals', genesis_replica => true);
SELECT dionysus.declare_topic('gen', 'plain');
SELECT dionysus.publish('gen_rentals', 'gen_rentals', dependencies => ARRAY['gen_fees']::regclass[]);
SELECT dionysus.publish('gen_plain', 'gen_plain');

-- Errors
SELECT try($$SELECT dionysus.genesis('nope', 'gen_rentals')$$);
SELECT try($$SELECT dionysus.genesis(NULL, 'gen_rentals')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', NULL)$$);
SELECT try($$SELECT dionysus.genesis('gen_plain_genesis', 'gen_plain')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_fees')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_other')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_plain')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', duration => '-1 second')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', duration => NULL)$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', visible_only => NULL)$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', "from" => '2024-02-01', "to" => '2024-01-01')$$);
SELECT try($$SELECT dionysus.genesis('gen_plain', 'gen_plain', "from" => '2024-01-01')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => '  ')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'nope = 1')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'account_id =')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'name')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'count(*) > 1')$$);
-- a condition that closes the parenthesis to add clauses of its own
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'true) ORDER BY 1 LIMIT 1 --')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'true) UNION SELECT FROM gen_plain WHERE (true')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'true); DROP TABLE gen_plain; SELECT (1')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'true /*')$$);
-- no parameters: $1 would be whatever the worker binds
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'id > $1')$$);
-- names resolve with search_path pg_catalog only (qualify them); another
-- role's code would run as the table's owner
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'gen_strangers_check(id)')$$);
SELECT try($$SELECT dionysus.genesis('gen_rentals', 'gen_rentals', condition => 'public.gen_strangers_check(id)')$$);
SELECT count(*) AS runs_after_errors FROM dionysus.genesis_run;

-- Runs: on the main topic (and its replica), on the replica only, with every parameter
SELECT dionysus.genesis('gen_rentals', 'gen_rentals') > 0 AS started;
SELECT dionysus.genesis('gen_rentals_genesis', 'gen_rentals', "from" => '2024-01-01 00:00Z', "to" => '2024-02-01 00:00Z',
                        duration => '2 hours', visible_only => true,
                        condition => 'account_id IN (SELECT id FROM public.gen_plain) -- a comment ends with its line') > 0 AS started;
SELECT topic, destination, model, model_name, "from", "to", duration, visible_only, condition, state
  FROM dionysus.genesis_runs ORDER BY id;

-- cancel_genesis: a running run, then again, then an unknown one
SELECT dionysus.cancel_genesis(max(id)) FROM dionysus.genesis_run;
SELECT dionysus.cancel_genesis(max(id)) FROM dionysus.genesis_run;
SELECT state, finished_at IS NOT NULL AS ended FROM dionysus.genesis_runs ORDER BY id DESC LIMIT 1;
SELECT try($$SELECT dionysus.cancel_genesis(-1)$$);

-- A rolled-back call leaves nothing behind
BEGIN;
SELECT dionysus.genesis('gen_plain', 'gen_plain') > 0 AS started;
ROLLBACK;
SELECT count(*) AS runs FROM dionysus.genesis_run;

-- Application roles may neither start nor cancel runs, nor see them; pg_monitor members see them
CREATE ROLE gen_app;
CREATE ROLE gen_monitor IN ROLE pg_monitor;
SET ROLE gen_app;
SELECT try($$SELECT dionysus.genesis('gen_plain', 'gen_plain')$$);
SELECT try($$SELECT dionysus.cancel_genesis(1)$$);
SELECT try($$SELECT count(*) FROM dionysus.genesis_runs$$);
SET ROLE gen_monitor;
SELECT try($$SELECT count(*) FROM dionysus.genesis_runs$$);
SELECT try($$SELECT count(*) FROM dionysus.genesis_run$$);
RESET ROLE;

UPDATE dionysus.genesis_run SET state = 'canceled' WHERE state = 'running';
SELECT dionysus.drop_topic('gen_rentals');
SELECT dionysus.drop_topic('gen_plain');
DROP TABLE gen_fees, gen_rentals, gen_plain, gen_other;
DROP FUNCTION gen_strangers_check(bigint);
DROP ROLE gen_stranger, gen_app, gen_monitor;
TRUNCATE dionysus.genesis_run;
