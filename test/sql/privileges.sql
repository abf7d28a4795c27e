-- An application role with privileges only on its own tables can write to
-- published tables but can neither read nor change anything in schema dionysus.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
CREATE ROLE dionysus_app LOGIN;
CREATE TABLE app_orders (id serial PRIMARY KEY, total numeric);
GRANT ALL ON app_orders TO dionysus_app;
GRANT ALL ON SEQUENCE app_orders_id_seq TO dionysus_app;
SELECT dionysus.declare_topic('app', 'orders');
SELECT dionysus.publish('app_orders', 'app_orders');

SET ROLE dionysus_app;
INSERT INTO app_orders (total) VALUES (10), (20);
UPDATE app_orders SET total = 11 WHERE id = 1;
DELETE FROM app_orders WHERE id = 2;
\set ON_ERROR_STOP 0
SELECT count(*) FROM dionysus.outbox;
SELECT * FROM dionysus.topics;
INSERT INTO dionysus.outbox (resource_class, event_name, topic) VALUES ('X', 'x_created', 'app_orders');
SELECT dionysus.declare_topic('app', 'evil');
SELECT dionysus.capture();
SET dionysus.kafka_properties = 'sasl.password=x';
SHOW dionysus.kafka_properties;
RESET ROLE;
SELECT resource_class, resource_id, event_name FROM dionysus.outbox ORDER BY id;
DROP TABLE app_orders;
DROP ROLE dionysus_app;
