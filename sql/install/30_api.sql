-- The SQL API (README "SQL API"): one C function per call, each with its
-- volatility, parallel safety and a COMMENT. Privileges in 90_privileges.sql.

CREATE FUNCTION dionysus.declare_topic(namespace text, name text, partition_key text DEFAULT NULL,
                                       genesis_replica boolean DEFAULT false)
RETURNS text AS 'MODULE_PATHNAME', 'dionysus_declare_topic' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.declare_topic(text, text, text, boolean) IS
    'Declare the Kafka topic <namespace>_<name>; returns its name.';

CREATE FUNCTION dionysus.publish(topic text, model regclass, model_name text DEFAULT NULL,
                                 dependencies regclass[] DEFAULT '{}',
                                 publish_updates_after_soft_delete boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_publish' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.publish(text, regclass, text, regclass[], boolean) IS
    'Publish a table as a model on a topic: installs capture triggers.';

CREATE FUNCTION dionysus.observe(topic text, model regclass, observed regclass, attributes text[],
                                 association text)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_observe' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.observe(text, regclass, regclass, text[], text) IS
    'Republish a model''s rows as <model>_updated when attributes of an observed table change.';

CREATE FUNCTION dionysus.decrypt_changeset(outbox_id bigint)
RETURNS jsonb AS 'MODULE_PATHNAME', 'dionysus_decrypt_changeset' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION dionysus.decrypt_changeset(bigint) IS
    'The changeset of an outbox row in clear (encrypted at rest with dionysus.changeset_key).';

CREATE FUNCTION dionysus.serializer(model regclass, attributes text[] DEFAULT NULL,
                                    "except" text[] DEFAULT NULL, has_one jsonb DEFAULT NULL,
                                    has_many jsonb DEFAULT NULL, function regprocedure DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_serializer' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.serializer(regclass, text[], text[], jsonb, jsonb, regprocedure) IS
    'Declare how a model is rendered: attributes, exclusions, has_one/has_many links, or a custom function.';

CREATE FUNCTION dionysus.unpublish(topic text, model regclass, discard_pending boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_unpublish' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.unpublish(text, regclass, boolean) IS
    'Stop publishing a model on a topic (refused while its events are pending, unless discard_pending); drops capture when no topic is left.';

CREATE FUNCTION dionysus.drop_topic(name text, discard_pending boolean DEFAULT false)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_drop_topic' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.drop_topic(text, boolean) IS
    'Unpublish every model of a topic and forget the topic (refused while model events are pending, unless discard_pending); pending hand-built messages are still delivered unless discard_pending.';

CREATE FUNCTION dionysus.enqueue(topic text, key text, partition_key text, message jsonb)
RETURNS bigint AS 'MODULE_PATHNAME', 'dionysus_enqueue' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.enqueue(text, text, text, jsonb) IS
    'Publish a hand-built message {"message":[…]} through the outbox (NULL message: tombstone); returns the outbox id.';

CREATE FUNCTION dionysus.tombstone(topic text, model regclass, id text, key text DEFAULT NULL,
                                   partition_key text DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'dionysus_tombstone' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.tombstone(text, regclass, text, text, text) IS
    'Publish a Kafka tombstone (null value) under a model''s key and partition through the outbox; returns the outbox id.';

CREATE FUNCTION dionysus.genesis(topic text, model regclass, "from" timestamptz DEFAULT NULL,
                                 "to" timestamptz DEFAULT NULL, duration interval DEFAULT '0',
                                 visible_only boolean DEFAULT false, condition text DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'dionysus_genesis' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.genesis(text, regclass, timestamptz, timestamptz, interval, boolean, text) IS
    'Re-stream every row of a published model on its topic (or its _genesis replica only); returns the run id.';

CREATE FUNCTION dionysus.cancel_genesis(id bigint)
RETURNS boolean AS 'MODULE_PATHNAME', 'dionysus_cancel_genesis' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.cancel_genesis(bigint) IS
    'Stop a running genesis run; false when it had already ended.';

CREATE FUNCTION dionysus.check_observer_query(observer bigint)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_check_observer_query' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.check_observer_query(bigint) IS
    'Raise what is wrong with an observer''s association query now (used by dionysus.validate).';

-- Every problem with the declarations, one line each (README "validate"):
-- tables, columns and functions they name that were dropped, renamed or
-- changed since. Names are looked up in pg_catalog only.
CREATE FUNCTION dionysus.validate()
RETURNS SETOF text LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    o record;
    problem text;
BEGIN
    -- a column of a table, by name
    RETURN QUERY
    WITH cols(relid, col, what) AS (
        SELECT m.model::oid, m.soft_delete_column::text,
               format('model %s on topic %s: soft-delete column', m.model_name, m.topic)
          FROM dionysus.published_models m WHERE m.soft_delete_column IS NOT NULL
        UNION ALL
        SELECT m.model::oid, m.partition_key,
               format('model %s on topic %s: partition key column', m.model_name, m.topic)
          FROM dionysus.published_models m WHERE m.partition_key_kind = 'c'
        UNION ALL
        SELECT CASE d.kind WHEN 'm' THEN d.dependency::oid ELSE d.model::oid END, d."column"::text,
               format('dependency %s of %s on topic %s: foreign-key column', d.dependency::oid::regclass,
                      d.model::oid::regclass, d.topic)
          FROM dionysus.dependencies d
        UNION ALL
        SELECT s.model::oid, a, format('serializer of %s: attribute', s.model::oid::regclass)
          FROM dionysus.serializers s, unnest(s.attributes) a
        UNION ALL
        SELECT s.model::oid, a, format('serializer of %s: except', s.model::oid::regclass)
          FROM dionysus.serializers s, unnest(s."except") a
        UNION ALL
        SELECT s.model::oid, e.value, format('serializer of %s: has_one %s', s.model::oid::regclass, e.key)
          FROM dionysus.serializers s, jsonb_each_text(s.has_one) e
        UNION ALL
        SELECT ob.observed::oid, a, format('observer of %s by %s on topic %s: attribute', ob.observed::oid::regclass,
                                           ob.model::oid::regclass, ob.topic)
          FROM dionysus.observers ob, unnest(ob.attributes) a
        UNION ALL
        SELECT ob.model::oid, ob.association_column::text,
               format('observer of %s by %s on topic %s: association column', ob.observed::oid::regclass,
                      ob.model::oid::regclass, ob.topic)
          FROM dionysus.observers ob WHERE ob.association_column IS NOT NULL
    )
    SELECT format('%s "%s" does not exist in table %s', c.what, c.col, c.relid::regclass)
      FROM cols c
     WHERE EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = c.relid)
       AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.relid AND a.attname = c.col
                                                     AND a.attnum > 0 AND NOT a.attisdropped);
    -- tables that were dropped
    RETURN QUERY
    SELECT format('model %s on topic %s: its table was dropped', m.model_name, m.topic)
      FROM dionysus.published_models m WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = m.model::oid)
    UNION ALL
    SELECT format('dependency of model %s on topic %s: its table was dropped', m.model_name, d.topic)
      FROM dionysus.dependencies d JOIN dionysus.published_models m ON m.topic = d.topic AND m.model = d.model
     WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = d.dependency::oid)
    UNION ALL
    SELECT format('observer of model %s on topic %s: the observed table was dropped', m.model_name, ob.topic)
      FROM dionysus.observers ob JOIN dionysus.published_models m ON m.topic = ob.topic AND m.model = ob.model
     WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = ob.observed::oid);
    -- a dependency whose foreign key was dropped
    RETURN QUERY
    SELECT format('dependency %s of %s on topic %s: no foreign key %s references %s any more',
                  d.dependency::oid::regclass, d.model::oid::regclass, d.topic,
                  CASE d.kind WHEN 'm' THEN d.dependency::oid::regclass ELSE d.model::oid::regclass END
                      || '.' || quote_ident(d."column"),
                  CASE d.kind WHEN 'm' THEN d.model::oid::regclass ELSE d.dependency::oid::regclass END)
      FROM dionysus.dependencies d
     WHERE EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = d.dependency::oid)
       AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = d.model::oid)
       AND NOT EXISTS (
           SELECT 1 FROM pg_constraint k
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
            WHERE k.contype = 'f' AND cardinality(k.conkey) = 1 AND a.attname = d."column"
              AND k.conrelid = CASE d.kind WHEN 'm' THEN d.dependency::oid ELSE d.model::oid END
              AND k.confrelid = CASE d.kind WHEN 'm' THEN d.model::oid ELSE d.dependency::oid END);
    -- has_many declared by the serializer: "child_table.fk_column"
    RETURN QUERY
    SELECT format('serializer of %s: has_many %s names %s, %s', s.model::oid::regclass, e.key, e.value,
                  CASE WHEN to_regclass(substring(e.value, '^(.*)\.[^.]*$')) IS NULL THEN 'a table that does not exist'
                       ELSE 'a column that does not exist' END)
      FROM dionysus.serializers s, jsonb_each_text(s.has_many) e
     WHERE EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = s.model::oid)
       AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = to_regclass(substring(e.value, '^(.*)\.[^.]*$'))
                          AND a.attname = substring(e.value, '\.([^.]*)$') AND a.attnum > 0 AND NOT a.attisdropped);
    -- functions: gone, or no longer f(the table's row) -> the right type
    RETURN QUERY
    WITH fns(relid, fn, returns, what) AS (
        SELECT m.model::oid, m.partition_key, 'text'::regtype::oid,
               format('model %s on topic %s: partition key function', m.model_name, m.topic)
          FROM dionysus.published_models m WHERE m.partition_key_kind = 'f'
        UNION ALL
        SELECT s.model::oid, s.function, 'jsonb'::regtype::oid, format('serializer of %s: function', s.model::oid::regclass)
          FROM dionysus.serializers s WHERE s.function IS NOT NULL
    )
    SELECT CASE WHEN p.oid IS NULL THEN format('%s %s does not exist', f.what, f.fn)
                ELSE format('%s %s no longer takes the row of %s and returns %s', f.what, f.fn, f.relid::regclass,
                            f.returns::regtype) END
      FROM fns f
      LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f.fn)
     WHERE EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = f.relid)
       AND (p.oid IS NULL OR p.pronargs <> 1 OR p.prorettype <> f.returns
            OR p.proargtypes[0] <> (SELECT r.reltype FROM pg_class r WHERE r.oid = f.relid));
    -- observer queries: still one SELECT of ids, of the table owner's objects
    FOR o IN SELECT ob.id, ob.topic, ob.model::oid AS model, ob.observed::oid AS observed
               FROM dionysus.observers ob
              WHERE ob.association_query IS NOT NULL
                AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = ob.observed::oid)
                AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = ob.model::oid)
              ORDER BY ob.id LOOP
        BEGIN
            PERFORM dionysus.check_observer_query(o.id);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS problem = MESSAGE_TEXT;
            RETURN NEXT format('observer of %s by %s on topic %s: the association query no longer runs: %s',
                               o.observed::regclass, o.model::regclass, o.topic, problem);
        END;
    END LOOP;
END
$$;
COMMENT ON FUNCTION dionysus.validate() IS
    'Every problem with the declarations (dropped or renamed tables, columns, functions, foreign keys; broken observer queries), one line each; empty when all is well.';

-- The capture trigger needs no privilege from application roles: it writes
-- the outbox with direct heap inserts and reads the (private) catalog as the
-- bootstrap superuser; no SECURITY DEFINER switch on every statement.
CREATE FUNCTION dionysus.capture()
RETURNS trigger AS 'MODULE_PATHNAME', 'dionysus_capture' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.capture() IS
    'Statement-level capture trigger writing outbox rows (installed by dionysus.publish).';

-- Parked rows (dionysus.parked) back into the queue, or dropped. NULL
-- arguments mean "every parked row"; both return how many rows they touched.
CREATE FUNCTION dionysus.retry(ids bigint[] DEFAULT NULL, topic text DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
    WITH retried AS (
        UPDATE dionysus.outbox o SET parked_at = NULL, retry_at = NULL, updated_at = now()
         WHERE o.parked_at IS NOT NULL AND o.published_at IS NULL
           AND ($1 IS NULL OR o.id = ANY ($1)) AND ($2 IS NULL OR o.topic = $2)
        RETURNING 1)
    SELECT count(*) FROM retried
$$;
COMMENT ON FUNCTION dionysus.retry(bigint[], text) IS
    'Put parked outbox rows back into the queue (one more attempt each); returns how many.';

CREATE FUNCTION dionysus.discard(ids bigint[] DEFAULT NULL, topic text DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
    WITH discarded AS (
        DELETE FROM dionysus.outbox o
         WHERE o.parked_at IS NOT NULL AND o.published_at IS NULL
           AND ($1 IS NULL OR o.id = ANY ($1)) AND ($2 IS NULL OR o.topic = $2)
        RETURNING 1)
    SELECT count(*) FROM discarded
$$;
COMMENT ON FUNCTION dionysus.discard(bigint[], text) IS
    'Delete parked outbox rows (their events are not delivered); returns how many.';

-- The consumer's declarations (README "Consumer").
CREATE FUNCTION dionysus.consume(namespace text, topic text, import boolean DEFAULT false,
                                 dedupe boolean DEFAULT true, dead_letter_topic text DEFAULT NULL,
                                 max_retries integer DEFAULT 2)
RETURNS text AS 'MODULE_PATHNAME', 'dionysus_consume' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.consume(text, text, boolean, boolean, text, integer) IS
    'Consume the Kafka topic <namespace>_<topic> into local tables; returns its name.';

CREATE FUNCTION dionysus.consume_model(model_name text, target regclass, mapping jsonb DEFAULT NULL,
                                       soft_delete_strategy text DEFAULT NULL,
                                       remove_unlisted boolean DEFAULT true,
                                       destroy_with_parent boolean DEFAULT true)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_consume_model' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.consume_model(text, regclass, jsonb, text, boolean, boolean) IS
    'Where the records of a consumed model go: a table with synced_id, columns renamed by mapping.';

CREATE FUNCTION dionysus.consumer_target(model_name text)
RETURNS regclass AS 'MODULE_PATHNAME', 'dionysus_consumer_target' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dionysus.consumer_target(text) IS
    'The table a consumed model''s records go to (declared, else by convention in dionysus.consumer_schema), or NULL.';

CREATE FUNCTION dionysus.consumer_group_id()
RETURNS text AS 'MODULE_PATHNAME', 'dionysus_consumer_group_id' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION dionysus.consumer_group_id() IS
    'The consumer group id: <client_id>_<consumer_group_prefix>_<client_id>, as dionysus-rb''s.';
