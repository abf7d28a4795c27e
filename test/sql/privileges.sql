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
-- the writers capture audits cannot switch it off
SET dionysus.capture = off;
SELECT set_config('dionysus.capture', 'off', true);
ALTER ROLE dionysus_app SET dionysus.capture = off;
INSERT INTO app_orders (total) VALUES (30);
RESET ROLE;
-- unless a superuser gives them the switch
GRANT SET ON PARAMETER dionysus.capture TO dionysus_app;
SET ROLE dionysus_app;
SET dionysus.capture = off;
INSERT INTO app_orders (total) VALUES (40);
RESET dionysus.capture;
RESET ROLE;
REVOKE SET ON PARAMETER dionysus.capture FROM dionysus_app;
SELECT resource_class, resource_id, event_name FROM dionysus.outbox ORDER BY id;
DROP TABLE app_orders;
DROP OWNED BY dionysus_app;
DROP ROLE dionysus_app;
