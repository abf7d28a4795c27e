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
