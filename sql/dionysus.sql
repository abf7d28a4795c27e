-- dionysus: domain-model change data capture to Kafka.
-- This is the one file people edit; the Makefile builds dionysus--<version>.sql from it.
\echo Use "CREATE EXTENSION dionysus" to load this file. \quit

-- Applications never touch this schema: capture runs as the extension owner.
REVOKE ALL ON SCHEMA dionysus FROM PUBLIC;

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
    dependencies       regclass[] NOT NULL DEFAULT '{}',
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
    resource_column name
);
CREATE INDEX outbox_unpublished ON dionysus.outbox (topic, id) WHERE published_at IS NULL;
COMMENT ON TABLE dionysus.outbox IS 'Transactional outbox written by the capture triggers, drained by the publisher worker.';

SELECT pg_catalog.pg_extension_config_dump('dionysus.topics', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.models', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.serializers', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.dependencies', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox', 'WHERE published_at IS NULL');
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox_id_seq', '');

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

CREATE FUNCTION dionysus.serializer(model regclass, attributes text[] DEFAULT NULL,
                                    "except" text[] DEFAULT NULL, has_one jsonb DEFAULT NULL,
                                    has_many jsonb DEFAULT NULL, function regprocedure DEFAULT NULL)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_serializer' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.serializer(regclass, text[], text[], jsonb, jsonb, regprocedure) IS
    'Declare how a model is rendered: attributes, exclusions, has_one/has_many links, or a custom function.';

CREATE FUNCTION dionysus.unpublish(topic text, model regclass)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_unpublish' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.unpublish(text, regclass) IS
    'Stop publishing a model on a topic; drops capture when no topic is left.';

CREATE FUNCTION dionysus.drop_topic(name text)
RETURNS void AS 'MODULE_PATHNAME', 'dionysus_drop_topic' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.drop_topic(text) IS
    'Unpublish every model of a topic and forget the topic and its unpublished outbox rows.';

CREATE FUNCTION dionysus.enqueue(topic text, key text, partition_key text, message jsonb)
RETURNS bigint AS 'MODULE_PATHNAME', 'dionysus_enqueue' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.enqueue(text, text, text, jsonb) IS
    'Publish a hand-built message {"message":[…]} through the outbox (NULL message: tombstone); returns the outbox id.';

CREATE FUNCTION dionysus.tombstone(topic text, model regclass, id text, key text DEFAULT NULL,
                                   partition_key text DEFAULT NULL)
RETURNS bigint AS 'MODULE_PATHNAME', 'dionysus_tombstone' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION dionysus.tombstone(text, regclass, text, text, text) IS
    'Publish a Kafka tombstone (null value) under a model''s key and partition through the outbox; returns the outbox id.';

-- The capture trigger needs no privilege from application roles: it writes
-- the outbox with direct heap inserts and reads the (private) catalog as the
-- bootstrap superuser; no SECURITY DEFINER switch on every statement.
CREATE FUNCTION dionysus.capture()
RETURNS trigger AS 'MODULE_PATHNAME', 'dionysus_capture' LANGUAGE C;
COMMENT ON FUNCTION dionysus.capture() IS
    'Statement-level capture trigger writing outbox rows (installed by dionysus.publish).';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA dionysus FROM PUBLIC;
