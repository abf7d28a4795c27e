-- The consumer's declarations: dionysus.consume, dionysus.consume_model,
-- dionysus.consumer_target, dionysus.consumer_group_id; every error with
-- its SQLSTATE; transactional; superusers only.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
CREATE SCHEMA cs_sync;
CREATE TABLE cs_sync.rentals (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, name text, synced_data jsonb);
CREATE TABLE cs_sync.bookings_fees (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, amount numeric);
CREATE TABLE cs_sync.people (id bigserial PRIMARY KEY, synced_id bigint UNIQUE);
CREATE TABLE cs_sync.cs_categories (id bigserial PRIMARY KEY, synced_id bigint UNIQUE);
CREATE TABLE cs_bookings (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, title text, synced_canceled_at timestamptz);
CREATE TABLE cs_no_synced (id bigint PRIMARY KEY, name text);
CREATE VIEW cs_view AS SELECT * FROM cs_bookings;
CREATE FUNCTION cs_cancel(b cs_bookings) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION cs_cancel_other(b cs_sync.rentals) RETURNS void LANGUAGE sql AS $$ SELECT $$;

-- consume
SELECT dionysus.consume('billing', 'rentals');
SELECT dionysus.consume('billing', 'bookings', import => true, dedupe => false,
                        dead_letter_topic => 'billing_bookings_dead', max_retries => 5);
SELECT name, namespace, topic, import, dedupe, dead_letter_topic, max_retries
  FROM dionysus.consumed_topics ORDER BY name;
SELECT try($$SELECT dionysus.consume('billing', 'rentals')$$);
SELECT try($$SELECT dionysus.consume('', 'rentals')$$);
SELECT try($$SELECT dionysus.consume('billing', 'bad topic')$$);
SELECT try($$SELECT dionysus.consume(NULL, 'rentals')$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', max_retries => -1)$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', max_retries => NULL)$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', max_retries => 101)$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', import => NULL)$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', dead_letter_topic => 'dead letters')$$);
SELECT try($$SELECT dionysus.consume('billing', 'x', dead_letter_topic => 'billing_x')$$);

-- consume_model
SELECT dionysus.consume_model('Booking', 'cs_bookings', mapping => '{"title": "name"}',
                              soft_delete_strategy => 'cs_cancel');
SELECT model_name, target, mapping, soft_delete_strategy FROM dionysus.consumed_models ORDER BY model_name;
SELECT try($$SELECT dionysus.consume_model('Booking', 'cs_bookings')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_missing')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_view')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_no_synced')$$);
SELECT try($$SELECT dionysus.consume_model('', 'cs_bookings')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', NULL)$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', mapping => '{"nope": "name"}')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', mapping => '["title"]')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', mapping => '{"title": 1}')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', soft_delete_strategy => 'cs_missing_fn')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', soft_delete_strategy => 'cs_cancel_other')$$);
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', soft_delete_strategy => '')$$);
-- a strategy of another role would run with the target owner's privileges
CREATE ROLE cs_other;
CREATE FUNCTION cs_theirs(b cs_bookings) RETURNS void LANGUAGE sql AS $$ SELECT $$;
ALTER FUNCTION cs_theirs(cs_bookings) OWNER TO cs_other;
CREATE ROLE cs_owner;
ALTER TABLE cs_bookings OWNER TO cs_owner;
SELECT try($$SELECT dionysus.consume_model('Nope', 'cs_bookings', soft_delete_strategy => 'cs_theirs')$$);
ALTER TABLE cs_bookings OWNER TO CURRENT_USER;

-- where records go: declared, else by convention in dionysus.consumer_schema
SET dionysus.consumer_schema = 'cs_sync';
SELECT m, dionysus.consumer_target(m)
  FROM unnest(ARRAY['Booking', 'Rental', 'BookingsFee', 'Person', 'CsCategory', 'CsUnknown']) m;
RESET dionysus.consumer_schema;
SELECT dionysus.consumer_target('CsCategory');  -- not in public

-- the consumer group id of dionysus-rb's README
SELECT dionysus.consumer_group_id();
SET dionysus.consumer_group_prefix = 'group_for';
SELECT dionysus.consumer_group_id();
RESET dionysus.consumer_group_prefix;

-- transactional
BEGIN;
SELECT dionysus.consume('billing', 'rolled_back');
SELECT dionysus.consume_model('RolledBack', 'cs_sync.people');
ROLLBACK;
SELECT count(*) FROM dionysus.consumed_topics WHERE name = 'billing_rolled_back';
SELECT count(*) FROM dionysus.consumed_models WHERE model_name = 'RolledBack';

-- superusers only
CREATE ROLE cs_app;
-- dionysus.consumer_workers: 1..16, set in postgresql.conf only
ALTER SYSTEM SET dionysus.consumer_workers = 0;
ALTER SYSTEM SET dionysus.consumer_workers = 17;
SELECT try($$SET dionysus.consumer_workers = 2$$);
SET ROLE cs_app;
SELECT try($$SET dionysus.consumer_workers = 2$$);
SELECT try($$SELECT dionysus.consume('billing', 'evil')$$);
SELECT try($$SELECT dionysus.consume_model('Evil', 'cs_bookings')$$);
SELECT try($$SELECT * FROM dionysus.consumed_topics$$);
RESET ROLE;

DELETE FROM dionysus.consumed_models;
DELETE FROM dionysus.consumed_topics;
DROP TABLE cs_bookings, cs_no_synced CASCADE;
DROP FUNCTION cs_cancel_other(cs_sync.rentals);
DROP SCHEMA cs_sync CASCADE;
DROP ROLE cs_app;
DROP ROLE cs_other;
DROP ROLE cs_owner;
