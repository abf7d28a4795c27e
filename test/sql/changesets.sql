-- Changeset encryption: with dionysus.changeset_key set, capture stores the
-- changesets of observed changes encrypted (AES-256-GCM, bound to their
-- outbox row); dionysus.decrypt_changeset(id) reads them back, with the
-- current key or one of dionysus.changeset_previous_keys (rotation).
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
CREATE TABLE cs_accounts (id bigint PRIMARY KEY, email text);
CREATE TABLE cs_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES cs_accounts);
SELECT dionysus.declare_topic('cs', 'rentals');
SELECT dionysus.publish('cs_rentals', 'cs_rentals');
SELECT dionysus.observe('cs_rentals', 'cs_rentals', 'cs_accounts', ARRAY['email'], 'account_id');

-- bad keys are refused (nothing changes)
SELECT try($$SET dionysus.changeset_key = 'k1:0011'$$);
SELECT try($$SET dionysus.changeset_key = 'no colon'$$);
SELECT try($$SET dionysus.changeset_previous_keys = 'k1:zz'$$);
-- and never stored where every role can read them (pg_db_role_setting, pg_proc)
SELECT try($$ALTER ROLE CURRENT_USER SET dionysus.changeset_key = 'k9:$$ || pg_catalog.repeat('ab', 32) || $$'$$);

-- without a key: in clear
INSERT INTO cs_accounts VALUES (1, 'ann@example.com');
SET dionysus.changeset_key = 'k1:0993e913262aa881fcdc3ddf980428ed2b16813e989c4ce4c692adb01a786fea';
UPDATE cs_accounts SET email = 'bob@example.com' WHERE id = 1;
SELECT id AS clear_id FROM dionysus.outbox ORDER BY id LIMIT 1 \gset
SELECT id AS k1_id FROM dionysus.outbox ORDER BY id DESC LIMIT 1 \gset
SELECT changeset FROM dionysus.outbox WHERE id = :clear_id;
-- with a key: neither address is stored in clear
SELECT pg_catalog.jsonb_object_keys(changeset) AS field FROM dionysus.outbox WHERE id = :k1_id ORDER BY 1;
SELECT changeset->>'key' AS key, changeset::text LIKE '%example%' AS readable FROM dionysus.outbox WHERE id = :k1_id;
SELECT dionysus.decrypt_changeset(:clear_id), dionysus.decrypt_changeset(:k1_id);

-- rotation: a new key, the old one kept for reading
SET dionysus.changeset_key = 'k2:3fb9c4e1ecdc2982b85925ceb3243ac3e9546e1e766a0338b13f59264823a5ff';
SET dionysus.changeset_previous_keys = 'k1:0993e913262aa881fcdc3ddf980428ed2b16813e989c4ce4c692adb01a786fea';
UPDATE cs_accounts SET email = 'cy@example.com' WHERE id = 1;
SELECT id AS k2_id FROM dionysus.outbox ORDER BY id DESC LIMIT 1 \gset
SELECT changeset->>'key' AS key FROM dionysus.outbox WHERE id = :k2_id;
SELECT dionysus.decrypt_changeset(:k1_id), dionysus.decrypt_changeset(:k2_id);
RESET dionysus.changeset_previous_keys;
SELECT try('SELECT dionysus.decrypt_changeset(' || :k1_id || ')');
SET dionysus.changeset_previous_keys = 'k1:0993e913262aa881fcdc3ddf980428ed2b16813e989c4ce4c692adb01a786fea';

-- tampered, or moved to another row: refused
UPDATE dionysus.outbox SET changeset = (SELECT changeset FROM dionysus.outbox WHERE id = :k1_id) WHERE id = :clear_id;
SELECT pg_catalog.regexp_replace(try('SELECT dionysus.decrypt_changeset(' || :clear_id || ')'), 'row [0-9]+', 'row N');
UPDATE dionysus.outbox SET changeset = pg_catalog.jsonb_set(changeset, '{encrypted}',
  pg_catalog.to_jsonb(overlay(changeset->>'encrypted' PLACING 'AAAA' FROM 5 FOR 4))) WHERE id = :k2_id;
SELECT pg_catalog.regexp_replace(try('SELECT dionysus.decrypt_changeset(' || :k2_id || ')'), 'row [0-9]+', 'row N');
SELECT try('SELECT dionysus.decrypt_changeset(-1)');

-- application roles can neither read nor set the keys, nor decrypt
CREATE ROLE cs_app;
GRANT SELECT, INSERT, UPDATE ON cs_accounts TO cs_app;
SET ROLE cs_app;
SELECT try($$SELECT pg_catalog.current_setting('dionysus.changeset_key')$$);
SELECT try($$SET dionysus.changeset_key = ''$$);
SELECT try('SELECT dionysus.decrypt_changeset(1)');
-- its writes are encrypted all the same (the key is the session's, set by the superuser above)
UPDATE cs_accounts SET email = 'dee@example.com' WHERE id = 1;
RESET ROLE;
SELECT changeset->>'key' AS key FROM dionysus.outbox ORDER BY id DESC LIMIT 1;
DROP OWNED BY cs_app;
DROP ROLE cs_app;

RESET dionysus.changeset_key;
RESET dionysus.changeset_previous_keys;
SELECT dionysus.drop_topic('cs_rentals', discard_pending => true);
DROP TABLE cs_rentals, cs_accounts;
TRUNCATE dionysus.outbox;
