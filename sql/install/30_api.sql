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
