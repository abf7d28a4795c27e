-- The declarations: topics, published models, their dependencies,
-- serializers and observers. Written by the SQL API (30_api.sql), read by capture and the
-- publisher; dumped and restored with the database.

CREATE TABLE dionysus.declared_topics (
    name            text PRIMARY KEY,            -- Kafka topic: <namespace>_<topic>
    namespace       text NOT NULL,
    topic           text NOT NULL,
    partition_key   text,                        -- column or function f(row) -> text; NULL: default column
    genesis_replica boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE dionysus.declared_topics IS 'Declared topics (dionysus.declare_topic).';

CREATE TABLE dionysus.published_models (
    topic              text NOT NULL REFERENCES dionysus.declared_topics (name) ON DELETE CASCADE,
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
CREATE INDEX models_model ON dionysus.published_models (model);
COMMENT ON TABLE dionysus.published_models IS 'Published models (dionysus.publish).';

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
    FOREIGN KEY (topic, model) REFERENCES dionysus.published_models (topic, model) ON DELETE CASCADE
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
    FOREIGN KEY (topic, model) REFERENCES dionysus.published_models (topic, model) ON DELETE CASCADE,
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

SELECT pg_catalog.pg_extension_config_dump('dionysus.declared_topics', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.observers', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.observers_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.published_models', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.serializers', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.dependencies', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.genesis_run', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.genesis_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumed_topics', '');
SELECT pg_catalog.pg_extension_config_dump('dionysus.consumed_models', '');
