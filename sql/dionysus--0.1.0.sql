-- dionysus: domain-model change data capture to Kafka.
-- The install script is built by the Makefile from the files of sql/install/,
-- concatenated in name order: 10_catalog, 20_outbox, 30_api, 40_status,
-- 90_privileges. These are the files people edit.
\echo Use "CREATE EXTENSION dionysus" to load this file. \quit
-- The declarations: topics, published models, their dependencies,
-- serializers and observers. Written by the SQL API (30_api.sql), read by capture and the
-- publisher; dumped and restored with the database.

CREATE TABLE dionysus.topics (
    name            text PRIMARY KEY,            -- Kafka topic: <namespace>_<topic>
    namespace       text NOT NULL,
    topic           text NOT NULL,
    partition_key   text,                        -- column or function f(row) -> text; NULL: default column
    genesis_replica boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dionysus.topics IS 'Declared topics (dionysus.declare_topic).';

CREATE TABLE dionysus.models (
    topic              text NOT NULL REFERENCES dionysus.topics (name) ON DELETE CASCADE,
    model              regclass NOT NULL,
    model_name         text NOT NULL,
    primary_key        name NOT NULL,
    partition_key      text,                     -- resolved column name or function (regprocedure text)
    partition_key_kind "char",                   -- 'c' column, 'f' function, NULL none
    soft_delete_column name,                     -- NULL: not soft-deletable
    publish_updates_after_soft_delete boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, model),
    UNIQUE (topic, model_name)
);
CREATE INDEX models_model ON dionysus.models (model);
COMMENT ON TABLE dionysus.models IS 'Published models (dionysus.publish).';

-- How a change of a dependency table reaches the model rows it belongs to,
-- found at publish time through a single-column foreign key:
--   kind 'm' (has_many): dependency.column references the model's primary key;
--   kind 'o' (has_one):  model.column references the dependency's primary key.
CREATE TABLE dionysus.dependencies (
    topic      text NOT NULL,
    model      regclass NOT NULL,
    dependency regclass NOT NULL,
    position   integer NOT NULL,        -- order in publish(dependencies => …): sideload order
    kind       "char" NOT NULL CHECK (kind IN ('m', 'o')),
    "column"   name NOT NULL,           -- the foreign-key column (of dependency for 'm', of model for 'o')
    relation   text NOT NULL,           -- links/sideload key: table name for 'm', column without _id for 'o'
    PRIMARY KEY (topic, model, dependency),
    FOREIGN KEY (topic, model) REFERENCES dionysus.models (topic, model) ON DELETE CASCADE
);
CREATE INDEX dependencies_dependency ON dionysus.dependencies (dependency);
COMMENT ON TABLE dionysus.dependencies IS 'Dependency tables of published models (publish(dependencies => …)).';

CREATE TABLE dionysus.serializers (
    model      regclass PRIMARY KEY,
    attributes text[],     -- rendered attributes in this order; NULL: every non-link column
    "except"   text[],     -- columns never rendered
    has_one    jsonb,      -- {"relation": "fk_column"}; NULL: inferred from foreign keys
    has_many   jsonb,      -- {"relation": "child_table.fk_column"}
    function   text,       -- regprocedure f(row) -> jsonb whose result is the whole record
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dionysus.serializers IS 'How models are rendered (dionysus.serializer).';

-- Observers (dionysus.observe): a change of any of `attributes` of an
-- `observed` row republishes, as <model>_updated on the topic, every model
-- row the association finds: the rows whose association_column equals the
-- observed row's observed_column (a foreign key of the model), or the ids
-- association_query returns for the observed row's primary key ($1), run
-- as the model table's owner.
CREATE TABLE dionysus.observers (
    id                 bigserial PRIMARY KEY,
    topic              text NOT NULL,
    model              regclass NOT NULL,
    observed           regclass NOT NULL,
    attributes         text[] NOT NULL,
    association_column name,          -- the model's foreign key referencing observed
    observed_column    name,          -- the observed column it references
    association_query  text,          -- or: SELECT model ids for $1 (the observed primary key)
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, model, observed),
    FOREIGN KEY (topic, model) REFERENCES dionysus.models (topic, model) ON DELETE CASCADE,
    CHECK ((association_column IS NULL) <> (association_query IS NULL))
);
CREATE INDEX observers_observed ON dionysus.observers (observed);
COMMENT ON TABLE dionysus.observers IS 'Observed attributes that republish models (dionysus.observe).';

-- Genesis runs (dionysus.genesis): a model's existing rows re-streamed on
-- its topic by the publisher worker, a chunk at a time in primary-key
-- order, with no outbox row per streamed row. `cursor` is the last key of
-- the rows acknowledged by the broker: a restart resumes after it.
CREATE TABLE dionysus.genesis_run (
    id           bigserial PRIMARY KEY,
    topic        text NOT NULL,             -- the declared topic (without _genesis)
    replica_only boolean NOT NULL,          -- called with <topic>_genesis: to the replica only
    model        regclass NOT NULL,
    model_name   text NOT NULL,
    "from"       timestamptz,               -- rows whose updated_at is in ["from", "to"]
    "to"         timestamptz,
    duration     interval NOT NULL,         -- the run is spread evenly over it
    visible_only boolean NOT NULL,          -- soft-deleted rows are skipped
    condition    text,                      -- a WHERE condition over the model's row t
    state        text NOT NULL DEFAULT 'running'
                 CHECK (state IN ('running', 'finished', 'canceled', 'failed')),
    rows_total   bigint,                    -- counted when the worker starts it
    rows_done    bigint NOT NULL DEFAULT 0, -- acknowledged by the broker
    cursor       text,                      -- primary key of the last acknowledged row
    error        text,                      -- why it failed
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX genesis_run_running ON dionysus.genesis_run (id) WHERE state = 'running';
COMMENT ON TABLE dionysus.genesis_run IS 'Genesis runs (dionysus.genesis); see the view dionysus.genesis_runs.';

SELECT pg_catalog.pg_extension_config_dump('dionysus.topics', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.observers', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.observers_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.models', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.serializers', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.dependencies', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.genesis_run', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.genesis_run_id_seq', '');
-- dionysus-rb's outbox columns. One partial index serves the worker; every
-- further index would tax each capture insert and each publish. No primary
-- key on purpose: ids come from the sequence, and without a unique index the
-- update that marks a row published inserts no index entry at all.
CREATE TABLE dionysus.outbox (
    id             bigserial NOT NULL,
    resource_class text NOT NULL,
    resource_id    text,
    event_name     text NOT NULL,
    topic          text NOT NULL,
    partition_key  text,
    changeset      jsonb,
    published_at   timestamptz,
    failed_at      timestamptz,
    retry_at       timestamptz,
    error_class    text,
    error_message  text,
    attempts       integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- hand-built messages (dionysus.enqueue, dionysus.tombstone): the Kafka
    -- key and value as given; message NULL is a tombstone (null value)
    message_key    text,
    message        jsonb,
    -- events of a dependency change: resource_id is a value of this column of
    -- the model's table, and the event goes to every row that has it (its
    -- primary key for has_many, the foreign key for has_one); the partition
    -- key is then taken from each of those rows at publish time
    resource_column name,
    -- a row that will not succeed by retrying (dionysus.max_attempts reached,
    -- or an error no retry fixes): kept with its error, no longer retried or
    -- blocking its topic; see dionysus.parked, dionysus.retry, dionysus.discard
    parked_at      timestamptz,
    -- an observed change (dionysus.observe): the dionysus.observers row whose
    -- association finds the model rows to republish; changeset holds the
    -- changed observed attributes
    observer       bigint
);
CREATE INDEX outbox_unpublished ON dionysus.outbox (topic, id) WHERE published_at IS NULL;
COMMENT ON TABLE dionysus.outbox IS 'Transactional outbox written by the capture triggers, drained by the publisher worker.';

-- Unpublished rows are dumped with the database: a restore publishes them.
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox', 'WHERE published_at IS NULL');
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox_id_seq', '');
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
          FROM dionysus.models m WHERE m.soft_delete_column IS NOT NULL
        UNION ALL
        SELECT m.model::oid, m.partition_key,
               format('model %s on topic %s: partition key column', m.model_name, m.topic)
          FROM dionysus.models m WHERE m.partition_key_kind = 'c'
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
      FROM dionysus.models m WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = m.model::oid)
    UNION ALL
    SELECT format('dependency of model %s on topic %s: its table was dropped', m.model_name, d.topic)
      FROM dionysus.dependencies d JOIN dionysus.models m ON m.topic = d.topic AND m.model = d.model
     WHERE NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = d.dependency::oid)
    UNION ALL
    SELECT format('observer of model %s on topic %s: the observed table was dropped', m.model_name, ob.topic)
      FROM dionysus.observers ob JOIN dionysus.models m ON m.topic = ob.topic AND m.model = ob.model
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
          FROM dionysus.models m WHERE m.partition_key_kind = 'f'
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
-- Views for people and monitoring (README "Operations"), readable by
-- pg_monitor members (granted in 90_privileges.sql), not by application roles.

-- Outbox rows that stopped being retried (dionysus.max_attempts reached, or an
-- error no retry fixes): they keep their error and no longer hold back their
-- topic. dionysus.retry(…) puts them back, dionysus.discard(…) drops them.
CREATE VIEW dionysus.parked AS
SELECT o.id, o.topic, o.resource_class, o.resource_id, o.event_name, o.message_key, o.attempts,
       o.error_class, o.error_message, o.failed_at, o.parked_at, o.created_at
  FROM dionysus.outbox o
 WHERE o.parked_at IS NOT NULL AND o.published_at IS NULL;
COMMENT ON VIEW dionysus.parked IS 'Parked (poison) outbox rows: kept with their error, no longer retried.';

-- Genesis runs and their progress. rate: rows acknowledged per second since
-- the run started (until it ended).
CREATE VIEW dionysus.genesis_runs AS
SELECT g.id, g.topic, CASE WHEN g.replica_only THEN g.topic || '_genesis' ELSE g.topic END AS destination,
       g.model, g.model_name, g."from", g."to", g.duration, g.visible_only, g.condition, g.state,
       g.rows_total, g.rows_done,
       round(g.rows_done / GREATEST(extract(epoch FROM COALESCE(g.finished_at, now()) - g.started_at), 0.001), 1)
           AS rate,
       g.error, g.created_at, g.started_at, g.finished_at
  FROM dionysus.genesis_run g;
COMMENT ON VIEW dionysus.genesis_runs IS 'Genesis runs (dionysus.genesis): rows total, done, rate, state.';
-- Privileges, last so that they cover every object created before.
-- Applications never touch this schema: capture reads the catalog as the
-- bootstrap superuser and writes the outbox with direct heap inserts, so an
-- application role needs no privilege here, and gets none.
REVOKE ALL ON SCHEMA dionysus FROM PUBLIC;
-- Declarations, hand-built messages and the capture trigger function are
-- for the extension owner (superuser) and whom it grants them to.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA dionysus FROM PUBLIC;
-- Monitoring roles read the status views, and nothing else of the schema.
GRANT USAGE ON SCHEMA dionysus TO pg_monitor;
GRANT SELECT ON dionysus.parked TO pg_monitor;
GRANT SELECT ON dionysus.genesis_runs TO pg_monitor;
