-- Privileged code never resolves names through the caller's search_path.
-- An application role with DML on one published table and a schema of its
-- own shadows operators, functions and types that internal queries could
-- pick up, then writes the table: capture (which reads the catalog as the
-- bootstrap superuser) must call none of them and still write correct rows.
CREATE EXTENSION IF NOT EXISTS dionysus;
SET client_min_messages = warning;
TRUNCATE dionysus.outbox;
CREATE ROLE dionysus_attacker LOGIN;
CREATE SCHEMA evil AUTHORIZATION dionysus_attacker;
CREATE TABLE sp_items (id serial PRIMARY KEY, account_id int, name text);
GRANT SELECT, INSERT, UPDATE, DELETE ON sp_items TO dionysus_attacker;
GRANT USAGE ON SEQUENCE sp_items_id_seq TO dionysus_attacker;
SELECT dionysus.declare_topic('sp', 'items');
SELECT dionysus.publish('sp_items', 'sp_items');
-- an observed table (dionysus.observe): its capture writes observer rows with changesets
CREATE TABLE sp_accounts (id int PRIMARY KEY, plan text);
SET dionysus.capture = off;
INSERT INTO sp_accounts VALUES (7, 'basic'), (8, 'basic');
RESET dionysus.capture;
ALTER TABLE sp_items ADD FOREIGN KEY (account_id) REFERENCES sp_accounts;
SELECT dionysus.observe('sp_items', 'sp_items', 'sp_accounts', ARRAY['plan'], 'account_id');
GRANT SELECT, UPDATE ON sp_accounts TO dionysus_attacker;

SET ROLE dionysus_attacker;
-- Every trap records who called it (and tries to become superuser).
CREATE TABLE evil.calls (who text, what text);
GRANT INSERT ON evil.calls TO PUBLIC;
CREATE FUNCTION evil.trap(what text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO evil.calls VALUES (current_user, what);
  BEGIN
    EXECUTE 'ALTER ROLE dionysus_attacker SUPERUSER';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
END $$;
-- the operator of the catalog queries (regclass = oid has no exact match in pg_catalog)
CREATE FUNCTION evil.eq(regclass, oid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('regclass = oid'); RETURN $1::oid OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR evil.= (LEFTARG = regclass, RIGHTARG = oid, FUNCTION = evil.eq);
CREATE FUNCTION evil.eq_text(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('text = text'); RETURN $1 OPERATOR(pg_catalog.=) $2; END $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.eq_text);
-- functions internal queries call
CREATE FUNCTION evil.quote_ident(text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('quote_ident'); RETURN pg_catalog.quote_ident($1); END $$;
CREATE FUNCTION evil.format(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('format'); RETURN ''; END $$;
CREATE FUNCTION evil.string_agg(text, text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('string_agg'); RETURN ''; END $$;
-- a shadowing type (a cast to "text" would check its domain), and a temp-schema object
CREATE FUNCTION evil.tripwire(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM evil.trap('text domain'); RETURN true; END $$;
CREATE DOMAIN evil.text AS pg_catalog.text CHECK (evil.tripwire(VALUE));
CREATE FUNCTION pg_temp.quote_ident(text) RETURNS text LANGUAGE sql AS $$ SELECT 'temp'::pg_catalog.text $$;
SET search_path = evil, pg_temp, public, pg_catalog;
INSERT INTO sp_items (account_id, name) VALUES (7, 'a'), (8, 'b');
UPDATE sp_items SET name = 'c' WHERE id = 1;
DELETE FROM sp_items WHERE id = 2;
UPDATE sp_accounts SET plan = 'pro' WHERE id = 7;
RESET search_path;
SELECT who, what FROM evil.calls;
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'dionysus_attacker';
SELECT resource_class, resource_id, event_name, partition_key, resource_column, changeset FROM dionysus.outbox ORDER BY id;

-- The SQL API called by a superuser whose search_path an attacker chose
-- resolves nothing through it either.
SET search_path = evil, public, pg_catalog;
SELECT dionysus.declare_topic('sp', 'more');
SELECT dionysus.publish('sp_more', 'sp_items', model_name => 'Item');
SELECT dionysus.serializer('sp_items', attributes => ARRAY['id', 'name']);
SELECT dionysus.enqueue('sp_more', 'Item:1', '1', '{"message":[{"event":"item_updated","model_name":"Item","data":[{"id":1}]}]}') > 0;
SELECT dionysus.tombstone('sp_more', 'sp_items', '1') > 0;
SELECT dionysus.observe('sp_more', 'sp_items', 'sp_accounts', ARRAY['plan'],
  'SELECT i.id FROM public.sp_items i WHERE i.account_id = $1');
SELECT dionysus.decrypt_changeset(max(id)) FROM dionysus.outbox WHERE observer IS NOT NULL;
SELECT dionysus.unpublish('sp_more', 'sp_items');
SELECT dionysus.drop_topic('sp_more');
RESET search_path;
SELECT who, what FROM evil.calls;
SELECT rolsuper FROM pg_roles WHERE rolname = 'dionysus_attacker';

SELECT dionysus.drop_topic('sp_items', discard_pending => true);
DROP TABLE sp_items, sp_accounts;
DROP FUNCTION pg_temp.quote_ident(text);
DROP SCHEMA evil CASCADE;
DROP ROLE dionysus_attacker;
