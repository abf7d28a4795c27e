-- validate(): every problem with the declarations, one line each, empty
-- when all is well. Each problem is made on purpose below.
SET client_min_messages = warning;
CREATE TABLE val_accounts (id bigint PRIMARY KEY, plan text, region text);
CREATE TABLE val_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES val_accounts, name text,
                          canceled_at timestamptz);
CREATE TABLE val_fees (id bigint PRIMARY KEY, val_rental_id bigint REFERENCES val_rentals, amount numeric);
CREATE TABLE val_taxes (id bigint PRIMARY KEY, val_rental_id bigint REFERENCES val_rentals);
CREATE TABLE val_items (id bigint PRIMARY KEY, label text);
CREATE TABLE val_gone (id bigint PRIMARY KEY);
CREATE TABLE val_notes (id bigint PRIMARY KEY, val_rental_id bigint REFERENCES val_rentals);
CREATE FUNCTION val_item_key(r val_items) RETURNS text LANGUAGE sql AS $$ SELECT r.label $$;
CREATE FUNCTION val_item_json(r val_items) RETURNS jsonb LANGUAGE sql AS $$ SELECT to_jsonb(r) $$;
SELECT dionysus.declare_topic('val', 'rentals');
SELECT dionysus.declare_topic('val', 'items', partition_key => 'val_item_key');
SELECT dionysus.declare_topic('val', 'gone');
SELECT dionysus.publish('val_rentals', 'val_rentals', dependencies => ARRAY['val_fees', 'val_taxes']::regclass[]);
SELECT dionysus.serializer('val_rentals', attributes => ARRAY['id', 'name', 'canceled_at'],
                           has_many => '{"notes": "val_notes.val_rental_id"}');
SELECT dionysus.observe('val_rentals', 'val_rentals', 'val_accounts', ARRAY['plan', 'region'], 'account_id');
SELECT dionysus.publish('val_items', 'val_items');
SELECT dionysus.serializer('val_items', function => 'val_item_json(val_items)');
SELECT dionysus.publish('val_gone', 'val_gone');
CREATE TABLE val_members (account_id bigint, rental_id bigint);
SELECT dionysus.declare_topic('val', 'observed');
CREATE TABLE val_observed_rentals (id bigint PRIMARY KEY);
SELECT dionysus.publish('val_observed', 'val_observed_rentals');
SELECT dionysus.observe('val_observed', 'val_observed_rentals', 'val_accounts', ARRAY['plan'],
                        'SELECT m.rental_id FROM public.val_members m WHERE m.account_id = $1');

-- all is well (with what this file declares: earlier files leave their own)
SELECT * FROM dionysus.validate() WHERE validate ~ 'val_|Val';

-- break each on purpose
ALTER TABLE val_rentals RENAME COLUMN canceled_at TO cancelled_at;   -- soft delete and a serializer attribute
ALTER TABLE val_fees RENAME COLUMN val_rental_id TO rental_id;       -- a dependency's foreign-key column
ALTER TABLE val_taxes DROP CONSTRAINT val_taxes_val_rental_id_fkey;  -- a dependency's foreign key
ALTER TABLE val_notes RENAME TO val_comments;                        -- a serializer's has_many table
ALTER TABLE val_accounts RENAME COLUMN region TO area;               -- an observed attribute
DROP FUNCTION val_item_json(val_items);                              -- a serializer function
DROP FUNCTION val_item_key(val_items);                               -- a partition key function ...
CREATE FUNCTION val_item_key(r val_items) RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;  -- ... wrong type now
DROP TABLE val_members;                                              -- an observer query's table
DROP TABLE val_gone;                                                 -- a model's table
SELECT * FROM dionysus.validate() WHERE validate ~ 'val_|Val' ORDER BY 1;

-- an association column dropped (the observer's foreign key)
ALTER TABLE val_rentals DROP COLUMN account_id;
SELECT * FROM dionysus.validate() WHERE position('association' IN validate) > 0 ORDER BY 1;

-- superusers only
CREATE ROLE val_app;
SET ROLE val_app;
SELECT try($$SELECT * FROM dionysus.validate()$$);
RESET ROLE;
DROP ROLE val_app;

-- clean up (the catalog rows of dropped tables go with their topic)
SELECT dionysus.drop_topic(t, discard_pending => true) FROM unnest(ARRAY['val_rentals', 'val_items', 'val_gone', 'val_observed']) t;
DROP FUNCTION val_item_key(val_items);
DROP TABLE val_fees, val_taxes, val_comments, val_rentals, val_items, val_observed_rentals, val_accounts;
DELETE FROM dionysus.serializers WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = model);
SELECT * FROM dionysus.validate() WHERE validate ~ 'val_|Val';
