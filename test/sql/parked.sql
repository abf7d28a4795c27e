-- Parked (poison) outbox rows: listed by dionysus.parked, put back with
-- dionysus.retry, dropped with dionysus.discard; superusers only, the view
-- also for pg_monitor.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
SHOW dionysus.max_attempts;
INSERT INTO dionysus.outbox (id, resource_class, resource_id, event_name, topic, attempts, error_class,
                             error_message, failed_at, retry_at, parked_at)
VALUES (1, 'Rental', '1', 'rental_created', 'pk_rentals', 10, 'Kafka::MSG_SIZE_TOO_LARGE', 'too large', now(), now(), now()),
       (2, 'Rental', '2', 'rental_created', 'pk_rentals', 10, 'Dionysus::SerializationError', 'boom', now(), now(), now()),
       (3, 'Rental', '3', 'rental_created', 'pk_rentals', 1, 'Dionysus::SerializationError', 'boom', now(), now(), NULL),
       (4, 'Note', '1', 'note_created', 'pk_notes', 10, 'Dionysus::SerializationError', 'boom', now(), now(), now());
SELECT id, topic, resource_class, resource_id, event_name, attempts, error_class, error_message FROM dionysus.parked ORDER BY id;
SELECT dionysus.retry(ids => ARRAY[2, 3]);              -- 3 is not parked
SELECT id, parked_at IS NULL AS unparked, retry_at IS NULL AS due, attempts FROM dionysus.outbox ORDER BY id;
SELECT dionysus.discard(topic => 'pk_notes');
SELECT dionysus.retry(topic => 'pk_nope');
SELECT dionysus.discard();                              -- every parked row
SELECT id FROM dionysus.outbox ORDER BY id;

CREATE ROLE pk_app;
CREATE ROLE pk_watcher IN ROLE pg_monitor;
SET ROLE pk_app;
SELECT try($$SELECT * FROM dionysus.parked$$);
SELECT try($$SELECT dionysus.retry()$$);
SELECT try($$SELECT dionysus.discard()$$);
SET ROLE pk_watcher;
SELECT count(*) FROM dionysus.parked;
SELECT try($$SELECT dionysus.retry()$$);
SELECT try($$SELECT count(*) FROM dionysus.outbox$$);
RESET ROLE;
DROP ROLE pk_app;
DROP ROLE pk_watcher;
TRUNCATE dionysus.outbox;
