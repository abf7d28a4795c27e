-- dionysus-rb's outbox columns. Two partial indexes: unpublished rows (the
-- worker's queue; capture inserts enter only this one) and published rows by
-- publish time (retention, status views); every further index would tax
-- each capture insert and each publish. No primary key on purpose: ids come
-- from the sequence, and without a unique index the update that marks a row
-- published enters only the publish-time index.
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
-- Published rows by age: the retention deletes the oldest (dionysus.outbox_retention)
-- and the status views read the last minute, neither scanning the table.
-- Publish times only grow: each entry lands on the rightmost leaf.
CREATE INDEX outbox_published ON dionysus.outbox (published_at) WHERE published_at IS NOT NULL;
COMMENT ON TABLE dionysus.outbox IS 'Transactional outbox written by the capture triggers, drained by the publisher worker.';

-- Unpublished rows are dumped with the database: a restore publishes them.
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox', 'WHERE published_at IS NULL');
SELECT pg_catalog.pg_extension_config_dump('dionysus.outbox_id_seq', '');
