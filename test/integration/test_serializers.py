"""dionysus.serializer shapes the records the worker publishes (exact bytes)."""
import datetime

from conftest import sql, scalar, wait_drained, wait_until, consume, worker_settings


def test_declared_serializer_and_custom_function(cluster, db):
    topic = "it_ser_bookings"
    sql(db, "CREATE TABLE ser_accounts (id bigint PRIMARY KEY, name text)")
    sql(db, """CREATE TABLE ser_bookings (id bigint PRIMARY KEY, account_id bigint REFERENCES ser_accounts,
               rental_id bigint, start_at timestamptz, secret text, final_price numeric(10,2))""")
    sql(db, """CREATE TABLE ser_notes (id bigint PRIMARY KEY, body text, account_id bigint REFERENCES ser_accounts)""")
    sql(db, """CREATE FUNCTION ser_note_json(n ser_notes) RETURNS jsonb LANGUAGE sql
               AS $$ SELECT jsonb_build_object('id', n.id, 'text', upper(n.body), 'tags', '[1, 2.5]'::jsonb) $$""")
    sql(db, "SELECT dionysus.declare_topic('it_ser', 'bookings')")
    sql(db, "SELECT dionysus.publish('it_ser_bookings', 'ser_bookings', model_name => 'Booking')")
    sql(db, "SELECT dionysus.publish('it_ser_bookings', 'ser_notes', model_name => 'Note')")
    # chosen, ordered attributes; a secret excluded; has_one links declared
    # (rental_id has no foreign key: declared as a link anyway)
    sql(db, """SELECT dionysus.serializer('ser_bookings', attributes => ARRAY['final_price', 'id', 'start_at', 'secret'],
               "except" => ARRAY['secret'], has_one => '{"account": "account_id", "rental": "rental_id"}')""")
    sql(db, "SELECT dionysus.serializer('ser_notes', function => 'ser_note_json(ser_notes)')")
    sql(db, "INSERT INTO ser_accounts VALUES (1, 'Acme')")
    sql(db, """INSERT INTO ser_bookings VALUES (5, 1, 9, '2024-07-01 16:00:00+00', 'hunter2', 1088.25)""")
    sql(db, "INSERT INTO ser_notes VALUES (3, 'hello', 1)")
    wait_drained(db, timeout=30)

    msgs = {m.key: m for m in consume(cluster.bootstrap, topic, 2, timeout=30, idle=1.0)}
    assert msgs[b"Booking:5"].value == (
        b'{"message":[{"event":"booking_created","model_name":"Booking","data":[{"final_price":"1088.25",'
        b'"id":5,"start_at":"2024-07-01T16:00:00.000Z","links":{"rental":9,"account":1}}]}]}')
    # the custom function's jsonb is the whole record, re-encoded compactly
    # (jsonb orders keys: shorter first)
    assert msgs[b"Note:3"].value == (
        b'{"message":[{"event":"note_created","model_name":"Note","data":[{"id":3,"tags":[1,2.5],"text":"HELLO"}]}]}')


def test_serializer_error_is_recorded_with_backoff_then_retried(cluster, db):
    import time
    from conftest import scalar
    sql(db, "CREATE TABLE fail_notes (id bigint PRIMARY KEY, body text)")
    sql(db, """CREATE FUNCTION fail_note_json(n fail_notes) RETURNS jsonb LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'cannot render note %', n.id; END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_fail', 'notes')")
    sql(db, "SELECT dionysus.publish('it_fail_notes', 'fail_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('fail_notes', function => 'fail_note_json(fail_notes)')")
    sql(db, "INSERT INTO fail_notes VALUES (1, 'a'), (2, 'b')")
    deadline = time.time() + 20
    while time.time() < deadline and not scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_fail_notes' AND attempts > 0"):
        time.sleep(0.2)
    rows = sql(db, """SELECT attempts, error_class, error_message, retry_at - failed_at, published_at IS NULL
                      FROM dionysus.outbox WHERE topic = 'it_fail_notes' ORDER BY id""")
    # dionysus-rb's backoff counted after the increment: the first retry after 5·2^1 = 10 s
    assert rows[0] == (1, "Dionysus::SerializationError", "cannot render note 1",
                       datetime.timedelta(seconds=10), True), rows
    # fixed: the rows are published at their retry time, in order
    sql(db, """CREATE OR REPLACE FUNCTION fail_note_json(n fail_notes) RETURNS jsonb LANGUAGE sql
               AS $$ SELECT jsonb_build_object('id', n.id) $$""")
    wait_drained(db, timeout=30, topic="it_fail_notes")
    # success clears the error fields as dionysus-rb does; attempts stay. Each
    # row's failure was found on it alone (the batch read again row by row),
    # and row 2, of another key, was tried without waiting for row 1.
    assert sql(db, """SELECT resource_id, attempts >= 1, error_class, error_message, failed_at, retry_at
                      FROM dionysus.outbox WHERE topic = 'it_fail_notes' ORDER BY id""") == [
        ("1", True, None, None, None, None), ("2", True, None, None, None, None)]
    msgs = consume(cluster.bootstrap, "it_fail_notes", 2, timeout=30, idle=1.0)
    assert sorted(m.value for m in msgs) == [
        b'{"message":[{"event":"note_created","model_name":"Note","data":[{"id":1}]}]}',
        b'{"message":[{"event":"note_created","model_name":"Note","data":[{"id":2}]}]}']


def test_backoff_is_capped_by_max_retry_interval(cluster, db):
    """dionysus.max_retry_interval caps dionysus-rb's backoff (uncapped, a row
    failing for an hour would wait hours after the cause is fixed)."""
    import time
    sql(db, "CREATE TABLE cap_notes (id bigint PRIMARY KEY)")
    sql(db, """CREATE FUNCTION cap_note_json(n cap_notes) RETURNS jsonb LANGUAGE plpgsql
               AS $$ BEGIN RAISE EXCEPTION 'cannot render %', n.id; END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_cap', 'notes')")
    sql(db, "SELECT dionysus.publish('it_cap_notes', 'cap_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('cap_notes', function => 'cap_note_json(cap_notes)')")
    with worker_settings(db, max_retry_interval="3s"):
        try:
            # a row that already failed 8 times (next backoff 5·2^9 s) waits 3 s
            sql(db, "INSERT INTO cap_notes VALUES (1)")
            sql(db, "UPDATE dionysus.outbox SET attempts = 8 WHERE topic = 'it_cap_notes'")
            deadline = time.time() + 20
            while time.time() < deadline and not scalar(
                    db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_cap_notes' AND attempts > 8"):
                time.sleep(0.2)
            assert sql(db, "SELECT attempts, retry_at - failed_at FROM dionysus.outbox "
                           "WHERE topic = 'it_cap_notes'") == [(9, datetime.timedelta(seconds=3))]
        finally:
            sql(db, "SELECT dionysus.drop_topic('it_cap_notes', discard_pending => true)")


def test_user_functions_run_as_their_owner(cluster, db):
    """A serializer function runs as its owner (who owns the table), never as
    the worker's superuser: an owner who turns its body into ALTER ROLE …
    SUPERUSER gains nothing, and the row fails with the error recorded on
    it. A function given to another role since it was declared fails its
    rows (the worker runs it as the table's owner)."""
    import json
    import time
    sql(db, "CREATE ROLE it_fn_owner")
    sql(db, "GRANT CREATE ON SCHEMA public TO it_fn_owner")
    sql(db, "CREATE TABLE owned_notes (id bigint PRIMARY KEY, body text)")
    sql(db, "ALTER TABLE owned_notes OWNER TO it_fn_owner")
    sql(db, """CREATE FUNCTION owned_note_json(n owned_notes) RETURNS jsonb LANGUAGE sql
               AS $$ SELECT jsonb_build_object('id', n.id, 'who', current_user::text) $$""")
    sql(db, "ALTER FUNCTION owned_note_json(owned_notes) OWNER TO it_fn_owner")
    sql(db, "SELECT dionysus.declare_topic('it_own', 'notes')")
    sql(db, "SELECT dionysus.publish('it_own_notes', 'owned_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('owned_notes', function => 'owned_note_json(owned_notes)')")
    try:
        sql(db, "INSERT INTO owned_notes VALUES (1, 'a')")
        wait_drained(db, timeout=30, topic="it_own_notes")
        msgs = consume(cluster.bootstrap, "it_own_notes", 1, timeout=20)
        assert json.loads(msgs[0].value)["message"][0]["data"] == [{"id": 1, "who": "it_fn_owner"}]

        sql(db, "SET ROLE it_fn_owner")
        sql(db, """CREATE OR REPLACE FUNCTION owned_note_json(n owned_notes) RETURNS jsonb LANGUAGE plpgsql
                   AS $$ BEGIN EXECUTE 'ALTER ROLE it_fn_owner SUPERUSER'; RETURN '{}'; END $$""")
        sql(db, "RESET ROLE")
        sql(db, "INSERT INTO owned_notes VALUES (2, 'b')")
        deadline = time.time() + 20
        while time.time() < deadline and not scalar(
                db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_own_notes' AND attempts > 0"):
            time.sleep(0.2)
        error_class, error_message = sql(db, "SELECT error_class, error_message FROM dionysus.outbox "
                                             "WHERE topic = 'it_own_notes' AND published_at IS NULL")[0]
        assert error_class == "Dionysus::SerializationError"
        assert "must be superuser" in error_message, error_message
        assert scalar(db, "SELECT rolsuper FROM pg_roles WHERE rolname = 'it_fn_owner'") is False

        # the function given to the superuser: it would run as the table's owner
        sql(db, "UPDATE dionysus.outbox SET published_at = now() WHERE topic = 'it_own_notes'")
        sql(db, """CREATE OR REPLACE FUNCTION owned_note_json(n owned_notes) RETURNS jsonb LANGUAGE sql
                   AS $$ SELECT jsonb_build_object('id', n.id) $$""")
        sql(db, "ALTER FUNCTION owned_note_json(owned_notes) OWNER TO CURRENT_USER")
        sql(db, "INSERT INTO owned_notes VALUES (3, 'c')")
        wait_until(lambda: scalar(db, "SELECT error_message FROM dionysus.outbox WHERE topic = 'it_own_notes' "
                                      "AND published_at IS NULL AND attempts > 0"), 20, "the row failed")
        assert "is not owned by the owner of table" in scalar(
            db, "SELECT error_message FROM dionysus.outbox WHERE topic = 'it_own_notes' AND published_at IS NULL")
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_own_notes', discard_pending => true)")
        sql(db, "DROP FUNCTION IF EXISTS owned_note_json(owned_notes)")
        sql(db, "DROP TABLE owned_notes CASCADE")
        sql(db, "REVOKE CREATE ON SCHEMA public FROM it_fn_owner")
        sql(db, "DROP ROLE it_fn_owner")


def test_poison_row_is_parked_and_lets_its_topic_flow(cluster, db):
    """A row whose serializer always fails is parked after dionysus.max_attempts
    (found alone: the rest of its batch is not blamed), then no longer holds
    back its topic; dionysus.retry puts it back once the cause is fixed."""
    import json
    import time
    sql(db, "CREATE TABLE poison_notes (id bigint PRIMARY KEY, body text)")
    sql(db, """CREATE FUNCTION poison_note_json(n poison_notes) RETURNS jsonb LANGUAGE plpgsql AS $$
               BEGIN IF n.body = 'poison' THEN RAISE EXCEPTION 'cannot render note %', n.id; END IF;
                     RETURN jsonb_build_object('id', n.id); END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_poison', 'notes')")
    sql(db, "SELECT dionysus.publish('it_poison_notes', 'poison_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('poison_notes', function => 'poison_note_json(poison_notes)')")
    with worker_settings(db, max_attempts="2", max_retry_interval="1s"):
        try:
            sql(db, "INSERT INTO poison_notes VALUES (1, 'fine'), (2, 'poison'), (3, 'fine')")
            deadline = time.time() + 30
            while time.time() < deadline and not scalar(db, "SELECT count(*) FROM dionysus.parked "
                                                            "WHERE topic = 'it_poison_notes'"):
                time.sleep(0.2)
            assert sql(db, "SELECT resource_id, attempts, error_class, error_message FROM dionysus.parked "
                           "WHERE topic = 'it_poison_notes'") == [
                ("2", 2, "Dionysus::SerializationError", "cannot render note 2")]
            wait_drained_except_parked = time.time() + 20
            while time.time() < wait_drained_except_parked and scalar(
                    db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_poison_notes' "
                        "AND published_at IS NULL AND parked_at IS NULL"):
                time.sleep(0.2)
            # rows 1 and 3 were never blamed
            assert sql(db, "SELECT resource_id, attempts FROM dionysus.outbox WHERE topic = 'it_poison_notes' "
                           "AND published_at IS NOT NULL ORDER BY id") == [("1", 0), ("3", 0)]
            # the cause fixed, then retried
            sql(db, """CREATE OR REPLACE FUNCTION poison_note_json(n poison_notes) RETURNS jsonb LANGUAGE sql
                       AS $$ SELECT jsonb_build_object('id', n.id) $$""")
            assert scalar(db, "SELECT dionysus.retry(topic => 'it_poison_notes')") == 1
            wait_drained(db, timeout=20, topic="it_poison_notes")
            msgs = consume(cluster.bootstrap, "it_poison_notes", 3, timeout=20, idle=1.0)
            assert [(m.key, m.value) for m in msgs if m.key == b"Note:2"] == [
                (b"Note:2", b'{"message":[{"event":"note_created","model_name":"Note","data":[{"id":2}]}]}')]
            assert sorted(m.key for m in msgs) == [b"Note:1", b"Note:2", b"Note:3"]
        finally:
            sql(db, "SELECT dionysus.drop_topic('it_poison_notes', discard_pending => true)")


def test_a_serializer_returning_no_record_is_parked_at_once(cluster, db):
    """A custom serializer must return a JSON object (consumers read a
    record): NULL or another JSON value parks the row at its first failure
    (retrying the same row cannot fix it), found alone; the other rows flow."""
    sql(db, "CREATE TABLE norecord_notes (id bigint PRIMARY KEY, body text)")
    sql(db, """CREATE FUNCTION norecord_json(n norecord_notes) RETURNS jsonb LANGUAGE sql AS $$
               SELECT CASE n.body WHEN 'null' THEN NULL WHEN 'number' THEN '42'::jsonb
                                  WHEN 'array' THEN '[1]'::jsonb ELSE jsonb_build_object('id', n.id) END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_norecord', 'notes')")
    sql(db, "SELECT dionysus.publish('it_norecord_notes', 'norecord_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('norecord_notes', function => 'norecord_json(norecord_notes)')")
    try:
        sql(db, "INSERT INTO norecord_notes VALUES (1, 'fine'), (2, 'null'), (3, 'number'), (4, 'array'), (5, 'fine')")
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_norecord_notes' "
                                      "AND published_at IS NULL AND parked_at IS NULL") == 0,
                   10, "every row published or parked")
        assert sql(db, "SELECT resource_id, attempts, error_class, error_message FROM dionysus.parked "
                       "WHERE topic = 'it_norecord_notes' ORDER BY resource_id") == [
            ("2", 1, "Dionysus::InvalidRecord",
             "the serializer function of Note returned NULL for id 2: a record must be a JSON object"),
            ("3", 1, "Dionysus::InvalidRecord",
             'the serializer function of Note returned "42" for id 3: a record must be a JSON object'),
            ("4", 1, "Dionysus::InvalidRecord",
             'the serializer function of Note returned "[1]" for id 4: a record must be a JSON object')]
        msgs = consume(cluster.bootstrap, "it_norecord_notes", 2, timeout=20, idle=1.0)
        assert sorted(m.key for m in msgs) == [b"Note:1", b"Note:5"]
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_norecord_notes', discard_pending => true)")


def test_user_code_cannot_change_the_worker_session(cluster, db):
    """A serializer function that changes settings for the session (DateStyle,
    search_path) changes nothing for the worker: its settings are undone when
    the function's query ends, and later records render as before."""
    import json
    sql(db, "CREATE TABLE meddling_notes (id bigint PRIMARY KEY)")
    sql(db, """CREATE FUNCTION meddling_note_json(n meddling_notes) RETURNS jsonb LANGUAGE plpgsql AS $$
               BEGIN
                 PERFORM set_config('DateStyle', 'SQL, DMY', false);
                 PERFORM set_config('search_path', 'public', false);
                 RETURN jsonb_build_object('id', n.id);
               END $$""")
    sql(db, "CREATE TABLE dated_items (id bigint PRIMARY KEY, day date)")
    sql(db, "SELECT dionysus.declare_topic('it_meddle', 'notes')")
    sql(db, "SELECT dionysus.publish('it_meddle_notes', 'meddling_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('meddling_notes', function => 'meddling_note_json(meddling_notes)')")
    sql(db, "SELECT dionysus.declare_topic('it_meddle', 'items')")
    sql(db, "SELECT dionysus.publish('it_meddle_items', 'dated_items', model_name => 'Item')")
    sql(db, "INSERT INTO meddling_notes VALUES (1)")
    wait_drained(db, timeout=20, topic="it_meddle_notes")
    sql(db, "INSERT INTO dated_items VALUES (1, '2024-05-01')")
    wait_drained(db, timeout=20, topic="it_meddle_items")
    msgs = consume(cluster.bootstrap, "it_meddle_items", 1, timeout=20)
    assert json.loads(msgs[0].value)["message"][0]["data"][0]["day"] == "2024-05-01"
