-- dionysus 0.1.0 -> 0.2.0 (ALTER EXTENSION dionysus UPDATE)
\echo Use "ALTER EXTENSION dionysus UPDATE TO '0.2.0'" to load this file. \quit

-- The catalog tables give their names to the monitoring views. Renaming
-- keeps their OIDs, so their rows, pg_extension_config_dump registrations,
-- foreign keys and the capture triggers' caches are untouched; constraints
-- and indexes get the names a fresh install gives them.
ALTER TABLE dionysus.topics RENAME TO declared_topics;
ALTER TABLE dionysus.declared_topics RENAME CONSTRAINT topics_pkey TO declared_topics_pkey;
ALTER TABLE dionysus.models RENAME TO published_models;
ALTER TABLE dionysus.published_models RENAME CONSTRAINT models_pkey TO published_models_pkey;
ALTER TABLE dionysus.published_models RENAME CONSTRAINT models_topic_model_name_key TO published_models_topic_model_name_key;
ALTER TABLE dionysus.published_models RENAME CONSTRAINT models_topic_fkey TO published_models_topic_fkey;
COMMENT ON TABLE dionysus.declared_topics IS 'Declared topics (dionysus.declare_topic).';
COMMENT ON TABLE dionysus.published_models IS 'Published models (dionysus.publish).';

-- Published rows by publish time (retention, status views). Built here
-- with the outbox locked against writes: on a large outbox, run the update
-- when writes can wait for the build (or delete old published rows first).
CREATE INDEX outbox_published ON dionysus.outbox (published_at) WHERE published_at IS NOT NULL;

-- validate() reads the renamed tables.
CREATE OR REPLACE FUNCTION dionysus.validate()
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

-- Declared topics, with the Kafka topics they write and their models.
CREATE VIEW dionysus.topics AS
SELECT t.name, t.namespace, t.topic, t.partition_key, t.genesis_replica,
       CASE WHEN t.genesis_replica THEN t.name || '_genesis' END AS genesis_topic,
       ARRAY(SELECT m.model_name FROM dionysus.published_models m WHERE m.topic = t.name
              ORDER BY m.model_name) AS models,
       t.created_at
  FROM dionysus.declared_topics t;
COMMENT ON VIEW dionysus.topics IS 'Declared topics (dionysus.declare_topic) and their models.';

-- dionysus-rb's topics_models_mapping: topic -> model -> dependencies (in
-- sideload order) -> observers.
CREATE VIEW dionysus.models AS
SELECT m.topic, m.model_name, m.model, m.primary_key, m.partition_key, m.soft_delete_column,
       m.publish_updates_after_soft_delete,
       ARRAY(SELECT d.dependency FROM dionysus.dependencies d
              WHERE d.topic = m.topic AND d.model = m.model ORDER BY d.position) AS dependencies,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                         'observed', o.observed::text, 'attributes', to_jsonb(o.attributes),
                         'association', COALESCE(o.association_column::text, o.association_query)) ORDER BY o.id)
                   FROM dionysus.observers o WHERE o.topic = m.topic AND o.model = m.model), '[]') AS observers,
       m.created_at
  FROM dionysus.published_models m;
COMMENT ON VIEW dionysus.models IS 'Published models with their dependencies and observers (dionysus-rb topics_models_mapping).';

-- Per topic: rows waiting (pending: not published, not parked; failed: of
-- those, the ones that failed at least once), parked, the age of the oldest
-- pending row, rows published in the last minute. Reads the unpublished rows
-- and the last minute of published ones through the partial indexes: cheap
-- whatever the size of the outbox.
CREATE VIEW dionysus.outbox_status AS
WITH u AS (
    SELECT o.topic,
           count(*) FILTER (WHERE o.parked_at IS NULL) AS pending,
           count(*) FILTER (WHERE o.parked_at IS NULL AND o.failed_at IS NOT NULL) AS failed,
           count(*) FILTER (WHERE o.parked_at IS NOT NULL) AS parked,
           min(o.created_at) FILTER (WHERE o.parked_at IS NULL) AS oldest
      FROM dionysus.outbox o WHERE o.published_at IS NULL GROUP BY o.topic),
p AS (
    SELECT o.topic, count(*) AS published
      FROM dionysus.outbox o
     WHERE o.published_at > now() - interval '1 minute' AND o.error_class IS NULL
     GROUP BY o.topic),
t AS (SELECT d.name AS topic FROM dionysus.declared_topics d UNION SELECT u.topic FROM u UNION SELECT p.topic FROM p)
SELECT t.topic, COALESCE(u.pending, 0) AS pending, COALESCE(u.failed, 0) AS failed,
       COALESCE(u.parked, 0) AS parked, now() - u.oldest AS oldest_pending_age,
       COALESCE(p.published, 0) AS published_last_minute
  FROM t LEFT JOIN u ON u.topic = t.topic LEFT JOIN p ON p.topic = t.topic;
COMMENT ON VIEW dionysus.outbox_status IS 'Per topic: pending, failed, parked, oldest pending age, published in the last minute.';

-- dionysus-rb's LatencyTracker, per topic: published_at - created_at of the
-- rows published in the last minute (rows marked done without being sent,
-- superseded or split, are left out), and highest_since_creation_date: the
-- age of the oldest pending row.
CREATE VIEW dionysus.outbox_latency AS
WITH p AS (
    SELECT o.topic, count(*) AS published, min(o.published_at - o.created_at) AS minimum,
           max(o.published_at - o.created_at) AS maximum, avg(o.published_at - o.created_at) AS average
      FROM dionysus.outbox o
     WHERE o.published_at > now() - interval '1 minute' AND o.error_class IS NULL
     GROUP BY o.topic),
u AS (
    SELECT o.topic, now() - min(o.created_at) AS highest_since_creation_date
      FROM dionysus.outbox o WHERE o.published_at IS NULL AND o.parked_at IS NULL GROUP BY o.topic)
SELECT COALESCE(p.topic, u.topic) AS topic, COALESCE(p.published, 0) AS published, p.minimum, p.maximum,
       p.average, u.highest_since_creation_date
  FROM p FULL JOIN u ON u.topic = p.topic;
COMMENT ON VIEW dionysus.outbox_latency IS 'Per topic: latency of the last minute''s publishes, age of the oldest pending row.';

-- Every dionysus worker of the cluster, from shared memory (empty unless
-- shared_preload_libraries has dionysus): the launcher and each publisher
-- (worker: its index among the database's `workers`), its state, heartbeat,
-- last error, and counters since it started.
CREATE FUNCTION dionysus.worker_status(
    OUT pid integer, OUT role text, OUT database text, OUT worker integer, OUT workers integer,
    OUT state text, OUT started_at timestamptz, OUT last_heartbeat timestamptz, OUT last_error text,
    OUT last_error_at timestamptz, OUT published bigint, OUT failed bigint, OUT bytes bigint,
    OUT batches bigint, OUT broker text)
RETURNS SETOF record AS 'MODULE_PATHNAME', 'dionysus_worker_status' LANGUAGE C VOLATILE;
CREATE VIEW dionysus.workers AS SELECT * FROM dionysus.worker_status();
COMMENT ON VIEW dionysus.workers IS 'dionysus workers: pid, role, database, state, heartbeat, last error, counters.';

-- Why the publishing of this database is unhealthy, or NULL when it is
-- healthy: no publisher runs (or fewer than dionysus.workers), a
-- publisher's heartbeat is older than max_age, or a pending row never tried
-- yet is older than max_age while the broker is reachable (a broker outage
-- is not the worker's fault: restarting it would not help). A standby is
-- healthy (its publishers start at promotion). Then consuming: see
-- dionysus.consumer_health_problem.
CREATE FUNCTION dionysus.health_problem(max_age interval DEFAULT '2 minutes') RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    running integer;
    wanted integer := COALESCE(current_setting('dionysus.workers', true)::integer, 1);
    stale record;
    reachable boolean;
    oldest record;
BEGIN
    IF max_age IS NULL OR max_age <= interval '0' THEN
        RAISE EXCEPTION 'max_age must be a positive interval' USING ERRCODE = '22023';
    END IF;
    IF pg_is_in_recovery() THEN
        RETURN NULL;
    END IF;
    SELECT count(*), NOT COALESCE(bool_or(w.broker = 'unreachable'), false) INTO running, reachable
      FROM dionysus.worker_status() w
     WHERE w.role = 'publisher' AND w.database = current_database() AND w.pid IS NOT NULL;
    IF running = 0 THEN
        RETURN format('no dionysus publisher runs for database %I', current_database());
    END IF;
    IF running < wanted THEN
        RETURN format('%s of %s dionysus publishers run for database %I', running, wanted, current_database());
    END IF;
    SELECT w.pid, now() - w.last_heartbeat AS age INTO stale
      FROM dionysus.worker_status() w
     WHERE w.role = 'publisher' AND w.database = current_database() AND w.pid IS NOT NULL
       AND w.last_heartbeat < now() - max_age
     ORDER BY w.last_heartbeat LIMIT 1;
    IF FOUND THEN
        RETURN format('the heartbeat of dionysus publisher %s is %s old (max_age %s)', stale.pid,
                      date_trunc('second', stale.age), max_age);
    END IF;
    IF reachable THEN
        SELECT o.topic, o.id, now() - o.created_at AS age INTO oldest
          FROM dionysus.outbox o
         WHERE o.published_at IS NULL AND o.parked_at IS NULL AND o.failed_at IS NULL
           AND o.created_at < now() - max_age
         ORDER BY o.created_at LIMIT 1;
        IF FOUND THEN
            RETURN format('outbox row %s of topic %s has waited %s (max_age %s) while the broker is reachable',
                          oldest.id, oldest.topic, date_trunc('second', oldest.age), max_age);
        END IF;
    END IF;
    RETURN dionysus.consumer_health_problem(max_age);
END
$$;

-- true when dionysus.health_problem(max_age) finds nothing (for probes:
-- dionysus-healthcheck prints the problem).
CREATE FUNCTION dionysus.health_check(max_age interval DEFAULT '2 minutes') RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ SELECT dionysus.health_problem(max_age) IS NULL $$;

REVOKE ALL ON FUNCTION dionysus.worker_status(), dionysus.health_check(interval),
    dionysus.health_problem(interval) FROM PUBLIC;
GRANT SELECT ON dionysus.topics, dionysus.models, dionysus.outbox_status, dionysus.outbox_latency,
    dionysus.workers TO pg_monitor;
GRANT EXECUTE ON FUNCTION dionysus.worker_status(), dionysus.health_check(interval),
    dionysus.health_problem(interval) TO pg_monitor;

-- The consumer's declarations.
-- The consumer's declarations (dionysus.consume, dionysus.consume_model):
-- the topics this database consumes and where the records of each model
-- go. Read by the consumer worker; dumped and restored with the database.
CREATE TABLE dionysus.consumed_topics (
    name              text PRIMARY KEY,     -- Kafka topic: <namespace>_<topic>
    namespace         text NOT NULL,
    topic             text NOT NULL,
    import            boolean NOT NULL,     -- created/destroyed batches applied set-wise
    dedupe            boolean NOT NULL,     -- duplicates of a batch collapse to the newest
    dead_letter_topic text,                 -- where a message goes after max_retries failures
    max_retries       integer NOT NULL CHECK (max_retries BETWEEN 0 AND 100),
    created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dionysus.consumed_topics IS 'Consumed topics (dionysus.consume).';

CREATE TABLE dionysus.consumed_models (
    model_name           text PRIMARY KEY,  -- the remote model name (e.g. Rental)
    target               regclass NOT NULL, -- the local table (has synced_id)
    mapping              jsonb,             -- {"local column": "remote attribute"}
    soft_delete_strategy text,              -- regprocedure f(target row), run as the target's owner
    remove_unlisted      boolean NOT NULL DEFAULT true,  -- as a sideloaded to-many child: rows its parent no longer lists are deleted
    destroy_with_parent  boolean NOT NULL DEFAULT true,  -- as a sideloaded child: removed with a destroyed parent
    created_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dionysus.consumed_models IS 'Where consumed models go (dionysus.consume_model).';
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumed_topics', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumed_models', '');

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
REVOKE ALL ON FUNCTION dionysus.consume(text, text, boolean, boolean, text, integer),
    dionysus.consume_model(text, regclass, jsonb, text, boolean, boolean), dionysus.consumer_target(text),
    dionysus.consumer_group_id() FROM PUBLIC;

-- The consumer worker's state (README "Consumer"): where each consumed
-- partition stands, and the messages that could not be applied. Both are
-- written by the consumer worker in the transaction that applies a batch,
-- so a crash never separates the changes from the offsets they cover.

-- Per consumed partition: the offset of the next message to apply (the
-- worker seeks there when it starts; Kafka's committed offsets are only a
-- copy for monitoring tools), the partition's end when last seen, the
-- Kafka timestamp of the last applied message, and the last error of a
-- message of that partition.
CREATE TABLE dionysus.consumer_offsets (
    topic           text NOT NULL,
    "partition"     integer NOT NULL,
    next_offset     bigint NOT NULL,
    high_watermark  bigint,
    last_message_at timestamptz,
    applied_at      timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    PRIMARY KEY (topic, "partition")
);
COMMENT ON TABLE dionysus.consumer_offsets IS 'Consumed partitions: next offset to apply (the consumer seeks there), lag figures.';

-- Messages that failed max_retries + 1 times (bad JSON, a value that does
-- not fit, a constraint violation, a raising soft-delete strategy): skipped,
-- kept here with why, and sent to the topic's dead_letter_topic when it has
-- one (sent_at: when the broker acknowledged it).
CREATE TABLE dionysus.consumer_dead_letters (
    id                bigserial PRIMARY KEY,
    topic             text NOT NULL,
    "partition"       integer NOT NULL,
    "offset"          bigint NOT NULL,
    key               bytea,                -- as received: a poison message's key may be any bytes
    value             bytea,
    error_class       text NOT NULL,
    error_message     text NOT NULL,
    attempts          integer NOT NULL,
    dead_letter_topic text,
    sent_at           timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX consumer_dead_letters_unsent ON dionysus.consumer_dead_letters (id)
    WHERE sent_at IS NULL AND dead_letter_topic IS NOT NULL;
COMMENT ON TABLE dionysus.consumer_dead_letters IS 'Messages the consumer could not apply; see the view dionysus.dead_letters.';

SELECT pg_catalog.pg_extension_config_dump('dionysus.consumer_offsets', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumer_dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumer_dead_letters_id_seq', '');

CREATE VIEW dionysus.consumer_status AS
SELECT t.name AS topic, o."partition", o.next_offset AS "offset", o.high_watermark,
       GREATEST(o.high_watermark - o.next_offset, 0) AS lag, o.last_message_at, o.applied_at,
       o.last_error, o.last_error_at
  FROM dionysus.consumed_topics t LEFT JOIN dionysus.consumer_offsets o ON o.topic = t.name;
COMMENT ON VIEW dionysus.consumer_status IS 'Per consumed topic and partition: offset, high watermark, lag, last message, last error.';

CREATE VIEW dionysus.dead_letters AS
SELECT d.id, d.topic, d."partition", d."offset", pg_catalog.encode(d.key, 'escape') AS key, d.key AS key_bytes,
       d.value, d.error_class, d.error_message, d.attempts,
       d.dead_letter_topic, d.sent_at, d.created_at
  FROM dionysus.consumer_dead_letters d;
COMMENT ON VIEW dionysus.dead_letters IS 'Messages the consumer skipped after max_retries, with why (and whether sent to the dead-letter topic).';

-- Why consuming in this database is unhealthy, or NULL (part of
-- dionysus.health_problem): a database with consume() declarations and no
-- consumer worker (or fewer than dionysus.consumer_workers), a stale
-- consumer heartbeat, or a partition with lag on
-- which nothing was applied for max_age while the broker is reachable.
CREATE FUNCTION dionysus.consumer_health_problem(max_age interval) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    running integer;
    wanted integer := COALESCE(current_setting('dionysus.consumer_workers', true)::integer, 1);
    reachable boolean;
    stale record;
    stuck record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM dionysus.consumed_topics) THEN
        RETURN NULL;
    END IF;
    SELECT count(*), NOT COALESCE(bool_or(s.broker = 'unreachable'), false) INTO running, reachable
      FROM dionysus.worker_status() s
     WHERE s.role = 'consumer' AND s.database = current_database() AND s.pid IS NOT NULL;
    IF running = 0 THEN
        RETURN format('no dionysus consumer runs for database %I', current_database());
    END IF;
    IF running < wanted THEN
        RETURN format('%s of %s dionysus consumers run for database %I', running, wanted, current_database());
    END IF;
    SELECT s.pid, s.last_heartbeat INTO stale
      FROM dionysus.worker_status() s
     WHERE s.role = 'consumer' AND s.database = current_database() AND s.pid IS NOT NULL
       AND s.last_heartbeat < now() - max_age
     ORDER BY s.last_heartbeat LIMIT 1;
    IF FOUND THEN
        RETURN format('the heartbeat of dionysus consumer %s is %s old (max_age %s)', stale.pid,
                      date_trunc('second', now() - stale.last_heartbeat), max_age);
    END IF;
    IF reachable THEN
        SELECT o.topic, o."partition", o.high_watermark - o.next_offset AS lag, o.applied_at INTO stuck
          FROM dionysus.consumer_offsets o JOIN dionysus.consumed_topics t ON t.name = o.topic
         WHERE o.high_watermark > o.next_offset AND COALESCE(o.applied_at, '-infinity') < now() - max_age
         ORDER BY o.applied_at NULLS FIRST LIMIT 1;
        IF FOUND THEN
            RETURN format('partition %s of consumed topic %s is %s messages behind and nothing was applied for %s (max_age %s)',
                          stuck."partition", stuck.topic, stuck.lag,
                          COALESCE(date_trunc('second', now() - stuck.applied_at)::text, 'ever'), max_age);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- dionysus-rb's AssignColumnsFromSyncedDataJob: columns added to a target
-- after its rows were consumed are filled from synced_data (the attributes
-- as consumed), batch_size rows per statement; only rows whose value
-- differs are written. Returns the number of rows updated. Runs with the
-- caller's privileges (it needs UPDATE on the target).
CREATE FUNCTION dionysus.assign_columns_from_synced_data(target regclass, columns text[], batch_size integer DEFAULT 1000)
RETURNS bigint LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col text;
    typ text;
    category "char";
    expr text;
    assignments text[] := '{}';
    differs text[] := '{}';
    done bigint := 0;
    n bigint;
    batches bigint := 0;
BEGIN
    IF target IS NULL THEN
        RAISE EXCEPTION 'target must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF columns IS NULL OR cardinality(columns) = 0 THEN
        RAISE EXCEPTION 'columns must name at least one column' USING ERRCODE = '22023';
    END IF;
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive number of rows' USING ERRCODE = '22023';
    END IF;
    -- The UPDATE fires the table's triggers as the caller: a superuser
    -- would run another role's code with superuser rights.
    IF (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname = current_user)
       AND (SELECT c.relowner FROM pg_class c WHERE c.oid = target)
           IS DISTINCT FROM (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
       AND NOT (SELECT o.rolsuper FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner WHERE c.oid = target) THEN
        RAISE EXCEPTION 'a superuser does not run assign_columns_from_synced_data on %, owned by another role', target
            USING ERRCODE = '42501',
                  HINT = 'Grant the table''s owner USAGE on schema dionysus and EXECUTE on this function, and call it as that role.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = target AND a.attname = 'synced_data' AND a.attnum > 0 AND NOT a.attisdropped
                      AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)) THEN
        RAISE EXCEPTION 'table % has no synced_data column of type jsonb or json', target USING ERRCODE = '42703';
    END IF;
    FOREACH col IN ARRAY columns LOOP
        IF col IS NULL OR col IN ('synced_data', 'synced_id') THEN
            RAISE EXCEPTION 'column % cannot be assigned from synced_data', COALESCE(quote_ident(col), 'NULL')
                USING ERRCODE = '22023';
        END IF;
        SELECT format_type(a.atttypid, a.atttypmod), t.typcategory INTO typ, category
          FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
         WHERE a.attrelid = target AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'table % has no column %', target, quote_ident(col) USING ERRCODE = '42703';
        END IF;
        IF typ IN ('json', 'jsonb') THEN
            expr := format('(synced_data::jsonb -> %L)::%s', col, typ);
        ELSIF category = 'A' THEN
            expr := format('(CASE WHEN jsonb_typeof(synced_data::jsonb -> %L) = ''array'' THEN '
                           'ARRAY(SELECT jsonb_array_elements_text(synced_data::jsonb -> %L)) END)::%s', col, col, typ);
        ELSE
            expr := format('(synced_data::jsonb ->> %L)::%s', col, typ);
        END IF;
        assignments := assignments || format('%I = %s', col, expr);
        -- as text: json, point, xml… have no equality operator
        differs := differs || format('%I::text IS DISTINCT FROM (%s)::text', col, expr);
    END LOOP;
    LOOP
        EXECUTE format('UPDATE %s SET %s WHERE ctid = ANY (ARRAY(SELECT ctid FROM %s WHERE %s LIMIT %s))',
                       target, array_to_string(assignments, ', '), target, array_to_string(differs, ' OR '),
                       batch_size);
        GET DIAGNOSTICS n = ROW_COUNT;
        done := done + n;
        batches := batches + 1;
        EXIT WHEN n = 0;
        IF batches % 100 = 0 THEN
            RAISE NOTICE 'assign_columns_from_synced_data: % rows of % updated so far', done, target;
        END IF;
    END LOOP;
    RETURN done;
END
$$;
COMMENT ON FUNCTION dionysus.assign_columns_from_synced_data(regclass, text[], integer) IS
    'Fill columns of a consumer target from synced_data, batch_size rows at a time; returns the rows updated.';
REVOKE ALL ON FUNCTION dionysus.consumer_health_problem(interval),
    dionysus.assign_columns_from_synced_data(regclass, text[], integer) FROM PUBLIC;
GRANT SELECT ON dionysus.consumer_status, dionysus.dead_letters TO pg_monitor;
