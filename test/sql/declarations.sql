-- Declarations: declare_topic / publish / unpublish / drop_topic and their errors.
SET client_min_messages = warning;

CREATE TABLE accounts (id bigserial PRIMARY KEY, name text);
CREATE TABLE rentals (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts, name text,
                      canceled_at timestamptz);
CREATE TABLE bookings_fees (id serial PRIMARY KEY, amount numeric(10,2));
CREATE TABLE no_pk (id int, name text);
CREATE TABLE composite_pk (a int, b int, PRIMARY KEY (a, b));
CREATE VIEW rentals_view AS SELECT * FROM rentals;

SELECT dionysus.declare_topic('v3', 'rentals');
SELECT dionysus.declare_topic(namespace => 'v3', name => 'fees', partition_key => 'amount',
                              genesis_replica => true);
SELECT name, namespace, topic, partition_key, genesis_replica FROM dionysus.declared_topics ORDER BY name;

-- Bad topic declarations
SELECT try($$SELECT dionysus.declare_topic('v3', 'rentals')$$);
SELECT try($$SELECT dionysus.declare_topic('', 'rentals')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', '')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', 'rent als')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', 'rentals"; DROP TABLE accounts; --')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', 'rentals''); DROP TABLE accounts; --')$$);
SELECT try($$SELECT dionysus.declare_topic('v3"', 'x')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', repeat('x', 247))$$);
SELECT try($$SELECT dionysus.declare_topic('v3', repeat('x', 240), genesis_replica => true)$$);
SELECT try($$SELECT dionysus.declare_topic(NULL, 'rentals')$$);
SELECT try($$SELECT dionysus.declare_topic('v3', 'keyed', partition_key => '')$$);
-- The longest legal name is accepted: 2 + 1 + 246 = 249 characters.
SELECT length(dionysus.declare_topic('v3', repeat('y', 246)));
SELECT dionysus.drop_topic('v3_' || repeat('y', 246));

-- publish: model name inference, partition key resolution, soft delete detection
SELECT dionysus.publish('v3_rentals', 'rentals');
SELECT dionysus.publish('v3_rentals', 'accounts', model_name => 'Account');
SELECT dionysus.publish('v3_fees', 'bookings_fees');
SELECT topic, model::text, model_name, primary_key, partition_key, partition_key_kind,
       soft_delete_column, publish_updates_after_soft_delete
  FROM dionysus.published_models ORDER BY topic, model_name;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'rentals'::regclass AND NOT tgisinternal ORDER BY tgname;

-- Bad publish calls
SELECT try($$SELECT dionysus.publish('v3_rentals', 'rentals')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'bookings_fees', model_name => 'Account')$$);
SELECT try($$SELECT dionysus.publish('v3_missing', 'rentals')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'no_such_table')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'no_pk')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'composite_pk')$$);
-- partitioned tables and partitions: statement triggers would miss the rows written through the other
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'parted')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'parted_1')$$);
SELECT dionysus.declare_topic('v3', 'parts');
SELECT try($$SELECT dionysus.publish('v3_parts', 'rentals', dependencies => '{parted_1}')$$);
SELECT dionysus.drop_topic('v3_parts');
DROP TABLE parted;
-- keys whose text depends on the writer's settings (DateStyle, TimeZone, extra_float_digits, …)
CREATE TABLE date_pk (day date PRIMARY KEY);
CREATE TABLE ts_pk (at timestamptz PRIMARY KEY);
CREATE TABLE float_pk (x double precision PRIMARY KEY);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'date_pk')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'ts_pk')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'float_pk')$$);
DROP TABLE date_pk, ts_pk, float_pk;
SELECT try($$SELECT dionysus.publish('v3_rentals', 'rentals_view')$$);
SELECT try($$SELECT dionysus.publish('v3_fees', 'rentals')$$);   -- partition key "amount" is not a column of rentals
SELECT try($$SELECT dionysus.publish('v3_rentals', 'rentals"; DROP TABLE accounts; --')$$);
SELECT try($$SELECT dionysus.publish('v3_rentals''; DROP TABLE accounts; --', 'rentals')$$);
SELECT count(*) FROM accounts;  -- still there
SELECT try($$SELECT dionysus.publish('v3_rentals', NULL)$$);
SELECT try($$SELECT dionysus.publish('v3_rentals', 'bookings_fees', model_name => '')$$);

-- A partition key function f(row) -> text
CREATE FUNCTION rental_region(r rentals) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'region-' || r.account_id $$;
SELECT dionysus.declare_topic('v3', 'regional', partition_key => 'rental_region');
SELECT dionysus.publish('v3_regional', 'rentals');
SELECT partition_key, partition_key_kind FROM dionysus.published_models WHERE topic = 'v3_regional';

-- Declarations are transactional
BEGIN;
SELECT dionysus.declare_topic('v3', 'rolled_back');
SELECT dionysus.publish('v3_rolled_back', 'no_pk');
ROLLBACK;
BEGIN;
SELECT dionysus.declare_topic('v3', 'rolled_back');
SELECT dionysus.publish('v3_rolled_back', 'bookings_fees', model_name => 'Fee');
ROLLBACK;
SELECT count(*) FROM dionysus.declared_topics WHERE name = 'v3_rolled_back';
SELECT count(*) FROM dionysus.published_models WHERE topic = 'v3_rolled_back';

-- unpublish / drop_topic
SELECT try($$SELECT dionysus.unpublish('v3_fees', 'rentals')$$);
SELECT try($$SELECT dionysus.unpublish('v3_nope', 'rentals')$$);
SELECT try($$SELECT dionysus.drop_topic('v3_nope')$$);
SELECT dionysus.unpublish('v3_fees', 'bookings_fees');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bookings_fees'::regclass;
SELECT dionysus.drop_topic('v3_regional');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'rentals'::regclass AND NOT tgisinternal;  -- still published on v3_rentals
SELECT dionysus.drop_topic('v3_rentals');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'rentals'::regclass AND NOT tgisinternal;
SELECT name FROM dionysus.declared_topics ORDER BY name;

-- Catalog tables are dumped with the database
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'dionysus' ORDER BY 1;
