-- Dependencies: publish(..., dependencies => …) finds the foreign-key path of
-- each dependency, installs capture on it, and a change of a dependency row
-- writes <model>_updated of the model rows it belongs to.
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;

CREATE TABLE dep_rentals (id bigint PRIMARY KEY, name text);
CREATE TABLE dep_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES dep_rentals,
                           account_id bigint, canceled_at timestamptz);
CREATE TABLE dep_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES dep_bookings ON DELETE CASCADE,
                       name text);
CREATE TABLE dep_invoices (id bigint PRIMARY KEY, account_id bigint);
-- one dependency table shared by two models
CREATE TABLE dep_notes (id uuid PRIMARY KEY, booking_id bigint REFERENCES dep_bookings,
                        invoice_id bigint REFERENCES dep_invoices, body text);
-- bad dependencies
CREATE TABLE dep_unrelated (id bigint PRIMARY KEY);
CREATE TABLE dep_no_pk (booking_id bigint REFERENCES dep_bookings);
CREATE TABLE dep_two_paths (id bigint PRIMARY KEY, booking_id bigint REFERENCES dep_bookings,
                            previous_booking_id bigint REFERENCES dep_bookings);
CREATE TABLE dep_composite_fk (id bigint PRIMARY KEY, a bigint, b bigint);
CREATE VIEW dep_view AS SELECT * FROM dep_fees;

SELECT dionysus.declare_topic('dep', 'bookings', partition_key => 'account_id');

-- Errors, each with its SQLSTATE; nothing is written by a failed call
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_unrelated']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_two_paths']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_no_pk']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_bookings']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_fees', 'dep_fees']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_fees', NULL]::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_view']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_missing']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_composite_fk']::regclass[])$$);
SELECT count(*) AS models, (SELECT count(*) FROM dionysus.dependencies) AS dependencies FROM dionysus.published_models WHERE topic = 'dep_bookings';

-- has_many (the fee references the booking) and has_one (the booking references the rental)
SELECT dionysus.publish('dep_bookings', 'dep_bookings', model_name => 'Booking',
                        dependencies => ARRAY['dep_fees', 'dep_rentals', 'dep_notes']::regclass[]);
SELECT dionysus.publish('dep_bookings', 'dep_invoices', dependencies => ARRAY['dep_notes']::regclass[]);
SELECT model, dependency, position, kind, "column", relation FROM dionysus.dependencies ORDER BY model::text, position;
SELECT model, pg_catalog.array_agg(dependency ORDER BY position) AS dependencies FROM dionysus.dependencies
  WHERE topic = 'dep_bookings' GROUP BY model ORDER BY model::text;
SELECT tgrelid::regclass, tgname FROM pg_trigger WHERE tgrelid IN ('dep_fees'::regclass, 'dep_rentals'::regclass)
  AND NOT tgisinternal ORDER BY 1, 2;

CREATE VIEW dep_outbox AS
  SELECT resource_class, resource_id, event_name, topic, partition_key, resource_column
    FROM dionysus.outbox ORDER BY id;

INSERT INTO dep_rentals VALUES (7, 'Villa'), (8, 'Flat');
INSERT INTO dep_bookings VALUES (1, 7, 10), (2, 7, 20), (3, NULL, 30);
INSERT INTO dep_invoices VALUES (1, 10);
TRUNCATE dionysus.outbox;

-- several fees of one booking in one statement: one event for the booking
INSERT INTO dep_fees VALUES (1, 1, 'Cleaning'), (2, 1, 'Linen'), (3, 2, 'Towels'), (4, NULL, 'Orphan');
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- a fee moved from booking 1 to booking 2: both; a no-op update: nothing
UPDATE dep_fees SET booking_id = 2 WHERE id = 2;
UPDATE dep_fees SET name = name;
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- a fee deleted on its own
DELETE FROM dep_fees WHERE id = 3;
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- has_one: a change of the rental names the bookings through their rental_id (fanned out at publish time)
UPDATE dep_rentals SET name = 'Villa 2' WHERE id = 7;
-- a rental inserted or deleted: no booking can reference it (foreign key), nothing
INSERT INTO dep_rentals VALUES (9, 'New');
DELETE FROM dep_rentals WHERE id = 9;
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- a dependency shared by two models: each model that a note belongs to
INSERT INTO dep_notes VALUES ('00000000-0000-0000-0000-000000000001', 1, 1, 'both'),
                             ('00000000-0000-0000-0000-000000000002', NULL, 1, 'invoice only');
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- the booking deleted with its fees (cascade): the fee deletion names booking 1, the publisher skips it
DELETE FROM dep_notes;
TRUNCATE dionysus.outbox;
DELETE FROM dep_bookings WHERE id = 1;
SELECT * FROM dep_outbox;
TRUNCATE dionysus.outbox;

-- dionysus.capture = off: nothing for dependencies either
SET dionysus.capture = off;
INSERT INTO dep_fees VALUES (5, 2, 'Quiet');
RESET dionysus.capture;
SELECT count(*) FROM dionysus.outbox;

-- unpublish drops the dependency declarations, and the capture of tables no longer used
SELECT dionysus.unpublish('dep_bookings', 'dep_bookings');
SELECT model, dependency FROM dionysus.dependencies ORDER BY 1, 2;
SELECT tgrelid::regclass, count(*) FROM pg_trigger
  WHERE tgrelid IN ('dep_fees'::regclass, 'dep_rentals'::regclass, 'dep_notes'::regclass) AND NOT tgisinternal
  GROUP BY 1 ORDER BY 1;

-- declarations are transactional
BEGIN;
SELECT dionysus.publish('dep_bookings', 'dep_bookings', dependencies => ARRAY['dep_fees']::regclass[]);
ROLLBACK;
SELECT count(*) FROM dionysus.dependencies WHERE model = 'dep_bookings'::regclass;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'dep_fees'::regclass AND NOT tgisinternal;

SELECT dionysus.drop_topic('dep_bookings');
SELECT count(*) FROM dionysus.dependencies;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'dep_notes'::regclass AND NOT tgisinternal;

-- a foreign key whose values print differently from the key it references
CREATE TABLE dep_amounts (id numeric PRIMARY KEY);
CREATE TABLE dep_amount_notes (id bigint PRIMARY KEY, amount_id numeric(10,2) REFERENCES dep_amounts);
CREATE TABLE dep_codes (code char(4) PRIMARY KEY);
CREATE TABLE dep_code_notes (id bigint PRIMARY KEY, code char(6) REFERENCES dep_codes);
SELECT dionysus.declare_topic('dep', 'types');
SELECT try($$SELECT dionysus.publish('dep_types', 'dep_amounts', dependencies => ARRAY['dep_amount_notes']::regclass[])$$);
SELECT try($$SELECT dionysus.publish('dep_types', 'dep_codes', dependencies => ARRAY['dep_code_notes']::regclass[])$$);
-- integer types of different sizes go together
CREATE TABLE dep_big (id bigint PRIMARY KEY);
CREATE TABLE dep_small_notes (id integer PRIMARY KEY, dep_big_id integer REFERENCES dep_big);
SELECT dionysus.publish('dep_types', 'dep_big', dependencies => ARRAY['dep_small_notes']::regclass[]);
-- partition key functions and serializer functions are stored schema-qualified
CREATE FUNCTION dep_big_key(b dep_big) RETURNS text LANGUAGE sql AS $$ SELECT b.id::text $$;
SELECT dionysus.declare_topic('dep', 'keyed', partition_key => 'dep_big_key');
SELECT dionysus.publish('dep_keyed', 'dep_big');
SELECT partition_key, partition_key_kind FROM dionysus.published_models WHERE topic = 'dep_keyed';
SELECT dionysus.drop_topic('dep_keyed');
SELECT dionysus.drop_topic('dep_types');
