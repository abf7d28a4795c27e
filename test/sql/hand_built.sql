-- dionysus.enqueue and dionysus.tombstone: hand-built messages through the outbox.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
CREATE TABLE hb_rentals (id bigserial PRIMARY KEY, account_id bigint, name text);
CREATE TABLE hb_notes (id int PRIMARY KEY, body text);
SELECT dionysus.declare_topic('hb', 'rentals');
SELECT dionysus.publish('hb_rentals', 'hb_rentals', model_name => 'Rental');
SELECT dionysus.publish('hb_rentals', 'hb_notes');
INSERT INTO hb_rentals (id, account_id, name) VALUES (1, 7, 'Villa'), (2, NULL, 'Flat');
TRUNCATE dionysus.outbox;

-- a batch of ids in one _destroyed event, and a tombstone by hand
SELECT dionysus.enqueue('hb_rentals', 'Rental:1', '7',
  '{"message":[{"event":"rental_destroyed","model_name":"Rental","data":[{"links":{},"id":1},{"links":{},"id":2}]}]}') > 0 AS enqueued;
SELECT dionysus.enqueue(topic => 'hb_rentals', key => 'Rental:9', partition_key => NULL, message => NULL) > 0 AS enqueued;
-- tombstones under the model's key and partition key
SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '1') > 0 AS tombstoned;             -- partition key from the row: 7
SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '2') > 0 AS tombstoned;             -- NULL account_id: "0"
SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '42', partition_key => '5') > 0 AS tombstoned;
SELECT dionysus.tombstone('hb_rentals', 'hb_notes', '3', key => 'Note:3') > 0 AS tombstoned; -- no partition key
SELECT resource_class, resource_id, event_name, topic, partition_key, message_key, message
  FROM dionysus.outbox ORDER BY id;

-- same transaction, same fate
BEGIN;
SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '1') > 0 AS tombstoned;
ROLLBACK;
SELECT count(*) FROM dionysus.outbox;

-- errors
SELECT try($$SELECT dionysus.enqueue('hb_nope', 'Rental:1', '1', NULL)$$);
SELECT try($$SELECT dionysus.enqueue('hb_rentals', '', '1', NULL)$$);
SELECT try($$SELECT dionysus.enqueue('hb_rentals', NULL, '1', NULL)$$);
SELECT try($$SELECT dionysus.enqueue('hb_rentals', 'Rental:1', '1', '[1,2]')$$);
SELECT try($$SELECT dionysus.enqueue('hb_rentals', 'Rental:1', '1', '{"message":[]}')$$);
SELECT try($$SELECT dionysus.enqueue('hb_rentals', 'Rental:1', '1', '{"message":[{"event":"x"}]}')$$);
SELECT try($$SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '99')$$);
SELECT try($$SELECT dionysus.tombstone('hb_nope', 'hb_rentals', '1')$$);
CREATE TABLE hb_other (id int PRIMARY KEY);
SELECT try($$SELECT dionysus.tombstone('hb_rentals', 'hb_other', '1')$$);
SELECT try($$SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', NULL)$$);
SELECT try($$SELECT dionysus.tombstone('hb_rentals', 'hb_rentals', '1', key => '')$$);
SELECT count(*) FROM dionysus.outbox;

-- unpublish and drop_topic drop nothing pending unasked: model events could no
-- longer be rendered (refused), hand-built messages are still delivered
TRUNCATE dionysus.outbox;
INSERT INTO hb_rentals (id, account_id) VALUES (50, 5);
SELECT dionysus.enqueue('hb_rentals', 'Rental:50', '5', '{"message":[{"event":"rental_updated","model_name":"Rental","data":[{"id":50}]}]}') > 0;
SELECT try($$SELECT dionysus.unpublish('hb_rentals', 'hb_rentals')$$);
SELECT try($$SELECT dionysus.drop_topic('hb_rentals')$$);
DELETE FROM dionysus.outbox WHERE message_key IS NULL;  -- as if published
SELECT dionysus.unpublish('hb_rentals', 'hb_rentals');
SELECT dionysus.drop_topic('hb_rentals');
SELECT resource_class, event_name, message_key, published_at IS NULL AS pending FROM dionysus.outbox;
SELECT dionysus.declare_topic('hb', 'rentals');
SELECT dionysus.enqueue('hb_rentals', 'Rental:51', '5', NULL) > 0;
SELECT dionysus.drop_topic('hb_rentals', discard_pending => true);
SELECT count(*) FROM dionysus.outbox;

-- a partition-key function is user code: tombstone runs it (and reads the
-- table) as the table's owner, who owns the function
CREATE ROLE hb_fn_owner;
CREATE TABLE hb_keyed (id int PRIMARY KEY);
ALTER TABLE hb_keyed OWNER TO hb_fn_owner;
CREATE FUNCTION hb_key(r hb_keyed) RETURNS text LANGUAGE sql AS $$ SELECT current_user::text $$;
ALTER FUNCTION hb_key(hb_keyed) OWNER TO hb_fn_owner;
SELECT dionysus.declare_topic('hb', 'keyed', partition_key => 'hb_key');
SELECT dionysus.publish('hb_keyed', 'hb_keyed');
SET dionysus.capture = off;
INSERT INTO hb_keyed VALUES (1);
RESET dionysus.capture;
SELECT dionysus.tombstone('hb_keyed', 'hb_keyed', '1') > 0;
SELECT message_key, partition_key FROM dionysus.outbox WHERE topic = 'hb_keyed';
SELECT dionysus.drop_topic('hb_keyed', discard_pending => true);
DROP TABLE hb_keyed CASCADE;
DROP ROLE hb_fn_owner;
