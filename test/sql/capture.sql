-- Capture: the exact outbox rows each kind of change writes.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;

CREATE TABLE cap_accounts (id bigserial PRIMARY KEY, name text);
CREATE TABLE cap_rentals (id bigserial PRIMARY KEY, account_id bigint REFERENCES cap_accounts,
                          name text, price numeric(10,2), canceled_at timestamptz);
CREATE TABLE cap_notes (id uuid PRIMARY KEY, body text, data json);
SELECT dionysus.declare_topic('cap', 'rentals');
SELECT dionysus.publish('cap_rentals', 'cap_rentals', model_name => 'Rental');
SELECT dionysus.publish('cap_rentals', 'cap_accounts');
SELECT dionysus.declare_topic('cap', 'audit', partition_key => 'name');
SELECT dionysus.publish('cap_audit', 'cap_rentals', publish_updates_after_soft_delete => true);
SELECT dionysus.declare_topic('cap', 'notes');
SELECT dionysus.publish('cap_notes', 'cap_notes');

CREATE VIEW cap_outbox AS
  SELECT resource_class, resource_id, event_name, topic, partition_key,
         published_at IS NULL AS pending, attempts
    FROM dionysus.outbox ORDER BY id;

INSERT INTO cap_accounts (id, name) VALUES (1, 'Acme'), (2, 'Globex');
INSERT INTO cap_rentals (id, account_id, name, price) VALUES (1, 1, 'Villa', 100), (2, NULL, 'Flat', 50);
SELECT * FROM cap_outbox;
TRUNCATE dionysus.outbox;

-- no-op update: nothing
UPDATE cap_rentals SET name = name WHERE id = 1;
-- real update: updated on both topics
UPDATE cap_rentals SET price = 120 WHERE id = 1;
SELECT * FROM cap_outbox;
TRUNCATE dionysus.outbox;

-- soft delete → destroyed; update while soft-deleted → nothing (audit: updated);
-- changing canceled_at while set → destroyed; restore → created
UPDATE cap_rentals SET canceled_at = '2024-05-01 10:00:00+00' WHERE id = 1;
UPDATE cap_rentals SET name = 'Villa (closed)' WHERE id = 1;
UPDATE cap_rentals SET canceled_at = '2024-05-02 10:00:00+00' WHERE id = 1;
UPDATE cap_rentals SET canceled_at = NULL WHERE id = 1;
SELECT * FROM cap_outbox;
TRUNCATE dionysus.outbox;

-- multi-row statements, a primary key change (an update of the new id), and delete
UPDATE cap_rentals SET price = price + 1;
UPDATE cap_rentals SET id = 3 WHERE id = 2;
DELETE FROM cap_rentals WHERE id = 3;
SELECT * FROM cap_outbox;
TRUNCATE dionysus.outbox;

-- json columns (no equality operator) and uuid keys
INSERT INTO cap_notes VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'hi', '{"a": 1}');
UPDATE cap_notes SET data = '{"a": 1}';
UPDATE cap_notes SET data = '{"a": 2}';
SELECT * FROM cap_outbox;
TRUNCATE dionysus.outbox;

-- dionysus.capture = off writes nothing
SET dionysus.capture = off;
INSERT INTO cap_accounts (id, name) VALUES (3, 'Initech');
RESET dionysus.capture;
SELECT count(*) FROM dionysus.outbox;

-- TRUNCATE would drop the events of its rows: refused while capture is on
SELECT try($$TRUNCATE cap_accounts CASCADE$$);
CREATE TABLE cap_scratch (id int PRIMARY KEY);
SELECT dionysus.publish('cap_notes', 'cap_scratch');
INSERT INTO cap_scratch VALUES (1), (2);
SELECT try($$TRUNCATE cap_scratch$$);
SELECT count(*) FROM cap_scratch;
SET dionysus.capture = off;
TRUNCATE cap_scratch;
RESET dionysus.capture;
SELECT count(*) FROM cap_scratch;
SELECT try($$SELECT dionysus.unpublish('cap_notes', 'cap_scratch', discard_pending => NULL)$$);
SELECT dionysus.unpublish('cap_notes', 'cap_scratch', discard_pending => true);
DROP TABLE cap_scratch;
TRUNCATE dionysus.outbox;

-- the outbox must have the columns capture writes, with their types
ALTER TABLE dionysus.outbox ALTER COLUMN changeset TYPE text USING changeset::text;
SELECT try($$INSERT INTO cap_accounts (id, name) VALUES (500, 'Wrong')$$);
SELECT try($$INSERT INTO cap_accounts (id, name) SELECT g, 'bulk' FROM generate_series(1000, 1100) g$$);
ALTER TABLE dionysus.outbox ALTER COLUMN changeset TYPE jsonb USING changeset::jsonb;
SELECT count(*) FROM dionysus.outbox;

-- an outbox index being built (CREATE INDEX CONCURRENTLY: not ready for
-- inserts yet) takes no entries from capture, as Postgres' own inserts do;
-- simulated by marking an index not ready
CREATE INDEX outbox_by_resource ON dionysus.outbox (resource_id);
UPDATE pg_catalog.pg_index SET indisready = false WHERE indexrelid = 'dionysus.outbox_by_resource'::regclass;
INSERT INTO cap_accounts (id, name) VALUES (600, 'Building');
SELECT resource_class, resource_id, event_name FROM dionysus.outbox;  -- in the table
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) AS found_through_the_index FROM dionysus.outbox WHERE resource_id = '600';
RESET enable_seqscan;
RESET enable_bitmapscan;
DROP INDEX dionysus.outbox_by_resource;
DELETE FROM cap_accounts WHERE id = 600;
TRUNCATE dionysus.outbox;

-- a partition-key function is user code: capture runs it as its owner, with
-- search_path pg_catalog, whoever writes the table (here a superuser)
CREATE ROLE cap_key_owner;
CREATE TABLE cap_keyed (id int PRIMARY KEY);
CREATE FUNCTION cap_key(r cap_keyed) RETURNS text LANGUAGE sql
  AS $$ SELECT current_user::text || ' ' || current_setting('search_path') $$;
ALTER FUNCTION cap_key(cap_keyed) OWNER TO cap_key_owner;
SELECT dionysus.declare_topic('cap', 'keyed', partition_key => 'cap_key');
-- the function must be owned by the table's owner (the publisher reads the
-- table, and runs the function, as the table's owner)
SELECT try($$SELECT dionysus.publish('cap_keyed', 'cap_keyed')$$);
ALTER TABLE cap_keyed OWNER TO cap_key_owner;
SELECT dionysus.publish('cap_keyed', 'cap_keyed');
SET search_path = public, pg_catalog;
INSERT INTO cap_keyed VALUES (1);
RESET search_path;
SELECT current_user = 'cap_key_owner' AS writer_is_owner, partition_key FROM dionysus.outbox WHERE topic = 'cap_keyed';
SELECT dionysus.drop_topic('cap_keyed', discard_pending => true);
DROP TABLE cap_keyed CASCADE;
DROP ROLE cap_key_owner;

-- rolled back changes leave no outbox rows
BEGIN;
INSERT INTO cap_accounts (id, name) VALUES (4, 'Hooli');
ROLLBACK;
SELECT count(*) FROM dionysus.outbox;

-- capture follows declarations made in the same session
SELECT dionysus.unpublish('cap_rentals', 'cap_accounts');
INSERT INTO cap_accounts (id, name) VALUES (5, 'Umbrella');
SELECT count(*) FROM dionysus.outbox;

-- bulk statements: one outbox row per row per topic
INSERT INTO cap_rentals (id, account_id, name, price)
  SELECT g, 1 + g % 2, 'r' || g, g FROM generate_series(100, 10099) g;
SELECT topic, event_name, count(*), count(DISTINCT resource_id) FROM dionysus.outbox
 GROUP BY 1, 2 ORDER BY 1, 2;
UPDATE cap_rentals SET price = price * 2 WHERE id >= 100;
SELECT topic, event_name, count(*) FROM dionysus.outbox GROUP BY 1, 2 ORDER BY 1, 2;

-- the trigger refuses to be used any other way
CREATE TABLE cap_misuse (id int PRIMARY KEY);
CREATE TRIGGER misuse BEFORE INSERT ON cap_misuse FOR EACH ROW EXECUTE FUNCTION dionysus.capture();
SELECT try($$INSERT INTO cap_misuse VALUES (1)$$);
SELECT try($$SELECT dionysus.capture()$$);
