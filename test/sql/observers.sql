-- Observers: observe(topic, model, observed, attributes, association) — a
-- change of any of `attributes` of an `observed` row writes one outbox row
-- (its changeset: before/after of the changed attributes) that the publisher
-- fans out to the model rows the association finds.
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;

CREATE TABLE obs_accounts (id bigint PRIMARY KEY, name text, default_check_in time, secret text);
CREATE TABLE obs_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES obs_accounts,
                          check_in time, canceled_at timestamptz);
CREATE TABLE obs_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES obs_rentals);
CREATE TABLE obs_unpublished (id bigint PRIMARY KEY, account_id bigint REFERENCES obs_accounts);
CREATE TABLE obs_no_pk (id bigint);
CREATE VIEW obs_view AS SELECT * FROM obs_accounts;

SELECT dionysus.declare_topic('obs', 'rentals');
SELECT dionysus.publish('obs_rentals', 'obs_rentals');
SELECT dionysus.declare_topic('obs', 'bookings');
SELECT dionysus.publish('obs_bookings', 'obs_bookings');

-- Errors, each with its SQLSTATE; nothing is written by a failed call
SELECT try($$SELECT dionysus.observe('nope', 'obs_rentals', 'obs_accounts', ARRAY['name'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_unpublished', 'obs_accounts', ARRAY['name'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_missing', ARRAY['name'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_view', ARRAY['name'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_no_pk', ARRAY['id'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['name', 'nope'], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY[]::text[], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['name', NULL], 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', NULL, 'account_id')$$);
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['name'], NULL)$$);
-- a column that is no foreign key to the observed table
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['name'], 'check_in')$$);
-- queries: not one id column, not a SELECT, not SQL
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'SELECT b.id, b.rental_id FROM public.obs_bookings b WHERE b.rental_id = $1')$$);
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'DELETE FROM public.obs_bookings RETURNING id')$$);
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'], 'SELEC nothing')$$);
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'SELECT b.id FROM public.obs_bookings b FOR UPDATE')$$);
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'WITH d AS (DELETE FROM public.obs_bookings RETURNING id) SELECT d.id FROM d')$$);
-- ids of another type than the model's key
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'SELECT b.id::text FROM public.obs_bookings b')$$);
-- another role's table: its code (index expressions, a view's functions) would run as the model's owner
CREATE ROLE obs_other;
CREATE TABLE obs_others (id bigint, account_id bigint);
ALTER TABLE obs_others OWNER TO obs_other;
SELECT try($$SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'SELECT o.id FROM public.obs_others o WHERE o.account_id OPERATOR(pg_catalog.=) $1')$$);
DROP TABLE obs_others;
DROP ROLE obs_other;
SELECT count(*) FROM dionysus.observers;

-- A foreign-key association, and a query through a join (bookings of the account's rentals)
SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['default_check_in', 'name'], 'account_id');
SELECT dionysus.observe('obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
  'SELECT b.id FROM public.obs_bookings b JOIN public.obs_rentals r ON r.id OPERATOR(pg_catalog.=) b.rental_id
    WHERE r.account_id OPERATOR(pg_catalog.=) $1');
SELECT try($$SELECT dionysus.observe('obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['name'], 'account_id')$$);
SELECT topic, model, observed, attributes, association_column, observed_column, association_query IS NOT NULL AS query
  FROM dionysus.observers ORDER BY id;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'obs_accounts'::regclass AND tgname LIKE 'dionysus%' ORDER BY 1;

-- What capture writes: one row per observed change and observer, with the
-- changed observed attributes only (an insert: those set; a delete: those that were set)
INSERT INTO obs_accounts VALUES (1, 'Acme', '16:00', 's1'), (2, NULL, NULL, 's2');
UPDATE obs_accounts SET secret = 's3' WHERE id = 1;              -- not observed: nothing
UPDATE obs_accounts SET default_check_in = '15:00' WHERE id = 1; -- the rentals only
UPDATE obs_accounts SET name = 'Acme' WHERE id = 1;              -- same value: nothing
UPDATE obs_accounts SET name = 'Hooli', default_check_in = NULL WHERE id IN (1, 2);
SET dionysus.capture = off;
UPDATE obs_accounts SET name = 'Quiet' WHERE id = 2;
RESET dionysus.capture;
DELETE FROM obs_accounts WHERE id = 2;
-- a changed key names the rows of both keys
UPDATE obs_accounts SET id = 3, name = 'Moved' WHERE id = 1;
SELECT topic, resource_class, resource_id, event_name, resource_column, changeset, observer IS NOT NULL AS observer,
       partition_key
  FROM dionysus.outbox ORDER BY id;

-- unpublish drops the model's observers, and the triggers once nothing uses the table
SELECT dionysus.unpublish('obs_rentals', 'obs_rentals', discard_pending => true);
SELECT topic, model FROM dionysus.observers ORDER BY id;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'obs_accounts'::regclass AND tgname LIKE 'dionysus%' ORDER BY 1;
SELECT dionysus.drop_topic('obs_bookings', discard_pending => true);
SELECT count(*) FROM dionysus.observers;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'obs_accounts'::regclass AND tgname LIKE 'dionysus%' ORDER BY 1;

SELECT dionysus.drop_topic('obs_rentals', discard_pending => true);
DROP VIEW obs_view;
DROP TABLE obs_bookings, obs_rentals, obs_unpublished, obs_no_pk, obs_accounts;
TRUNCATE dionysus.outbox;
