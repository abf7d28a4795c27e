-- dionysus.serializer: declarations and their errors.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;

CREATE TABLE ser_accounts (id bigserial PRIMARY KEY, name text);
CREATE TABLE ser_bookings (id bigserial PRIMARY KEY, account_id bigint REFERENCES ser_accounts,
                           rental_id bigint, start_at timestamptz, secret text);
CREATE TABLE ser_fees (id serial PRIMARY KEY, booking_id bigint REFERENCES ser_bookings, amount numeric);
CREATE FUNCTION ser_booking_json(b ser_bookings) RETURNS jsonb LANGUAGE sql AS $$ SELECT jsonb_build_object('id', b.id) $$;
CREATE FUNCTION ser_wrong_arg(a ser_accounts) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
CREATE FUNCTION ser_wrong_ret(b ser_bookings) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;

SELECT dionysus.serializer('ser_bookings', attributes => ARRAY['id', 'start_at'], "except" => ARRAY['secret'],
                           has_one => '{"rental": "rental_id", "account": "account_id"}',
                           has_many => '{"fees": "ser_fees.booking_id"}');
SELECT model, attributes, "except", has_one, has_many, function FROM dionysus.serializers;
-- a second call replaces the declaration
SELECT dionysus.serializer('ser_bookings', function => 'ser_booking_json(ser_bookings)');
SELECT model, attributes, "except", has_one, has_many, function FROM dionysus.serializers;

SELECT try($$SELECT dionysus.serializer('ser_bookings', attributes => ARRAY['id', 'nope', 'nada'])$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', "except" => ARRAY['nope'])$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_one => '{"rental": "rental"}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_one => '{"rental": 1}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_one => '["rental_id"]')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_many => '{"fees": "ser_nope.booking_id"}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_many => '{"fees": "ser_fees.nope"}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_many => '{"fees": "ser_fees"}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_many => '[1]')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', function => 'ser_wrong_arg(ser_accounts)')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', function => 'ser_wrong_ret(ser_bookings)')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', function => 'ser_missing(ser_bookings)')$$);
-- a serializer function must be owned by the table's owner
CREATE ROLE ser_other_owner;
CREATE FUNCTION ser_others_json(b ser_bookings) RETURNS jsonb LANGUAGE sql AS $$ SELECT '{}'::jsonb $$;
ALTER FUNCTION ser_others_json(ser_bookings) OWNER TO ser_other_owner;
SELECT try($$SELECT dionysus.serializer('ser_bookings', function => 'ser_others_json(ser_bookings)')$$);
DROP FUNCTION ser_others_json(ser_bookings);
DROP ROLE ser_other_owner;
SELECT try($$SELECT dionysus.serializer('ser_nope')$$);
SELECT try($$SELECT dionysus.serializer(NULL)$$);
-- only tables: the same check (and message) as publish
CREATE VIEW ser_view AS SELECT * FROM ser_accounts;
SELECT try($$SELECT dionysus.serializer('ser_view')$$);
SELECT try($$SELECT dionysus.serializer(4294967295::oid::regclass)$$);
-- every missing column named, in order, quoted as identifiers; odd names stay names
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_one => '{"a": "No Such", "b": "id", "c": "x\"y"}')$$);
SELECT try($$SELECT dionysus.serializer('ser_bookings', has_many => '{"fees": "ser_fees.x\"y"}')$$);
-- failed calls leave the previous declaration
SELECT model, function FROM dionysus.serializers;

-- has_many children are grouped by the text of their key: types must print alike
CREATE TABLE ser_amounts (id numeric PRIMARY KEY);
CREATE TABLE ser_amount_parts (id bigint PRIMARY KEY, amount_id numeric(10,2));
SELECT try($$SELECT dionysus.serializer('ser_amounts', has_many => '{"parts": "ser_amount_parts.amount_id"}')$$);
