"""The consumer worker (README "Consumer"): dionysus events applied to local
tables. End to end (published by dionysus in one database, consumed in
another), hand-written dionysus-rb messages through the dev broker, poison
messages, exactly-once effect across kill -9 and a Postgres restart."""
import json
import os
import re
import select
import signal
import subprocess
import time

import psycopg2
import pytest
from confluent_kafka import Producer

from conftest import (sql, scalar, wait_until, worker_settings, consume, unique, TEST_DB)


def produce(bootstrap, topic, messages):
    """messages: [(key, value bytes or None)], in order, to partition 0."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for key, value in messages:
        p.produce(topic, key=key, value=value, partition=0)
    assert p.flush(30) == 0


def msg(event, model, *records):
    return json.dumps({"message": [{"event": event, "model_name": model, "data": list(records)}]},
                      separators=(",", ":")).encode()


def consumer_pid(conn, database=TEST_DB):
    return scalar(conn, "SELECT pid FROM dionysus.workers WHERE role = 'consumer' AND database = %s "
                        "AND pid IS NOT NULL", (database,))


def offset_of(conn, topic, partition=0):
    return scalar(conn, "SELECT \"offset\" FROM dionysus.consumer_status WHERE topic = %s AND partition = %s",
                  (topic, partition))


def wait_offset(conn, topic, offset, timeout=30, partition=0):
    wait_until(lambda: (offset_of(conn, topic, partition) or 0) >= offset, timeout,
               f"{topic}[{partition}] consumed up to {offset}",
               lambda: str(sql(conn, "SELECT * FROM dionysus.consumer_status")) +
               str(sql(conn, "SELECT state, last_error FROM dionysus.workers WHERE role = 'consumer'")))


def counting_target(db, table, model, column="value", column_type="bigint"):
    """Target `table` (synced_id, `column`) of `model`, with a trigger logging
    every row it writes into `table`_log: a change applied twice shows as a
    repeated (synced_id, value) there."""
    sql(db, f"CREATE TABLE {table} (synced_id bigint PRIMARY KEY, {column} {column_type}, synced_updated_at timestamptz)")
    sql(db, f"CREATE TABLE {table}_log (synced_id bigint, {column} {column_type})")
    sql(db, f"""CREATE FUNCTION {table}_count() RETURNS trigger LANGUAGE plpgsql AS
                $$ BEGIN INSERT INTO {table}_log VALUES (NEW.synced_id, NEW.{column}); RETURN NEW; END $$""")
    sql(db, f"CREATE TRIGGER c AFTER INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {table}_count()")
    sql(db, f"SELECT dionysus.consume_model('{model}', '{table}')")


def produce_counters(bootstrap, topic, model, event, n, ids, partitions):
    """n `event` messages of `model`, message i the value i for id i % ids,
    on partition id % partitions: a change applied twice shows as a repeated
    (id, value). Returns the final value of each id."""
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    expected = {}
    for i in range(n):
        k = i % ids
        p.produce(topic, key=f"{model}:{k}".encode(), partition=k % partitions,
                  value=msg(event, model, {"id": k, "value": i}))
        expected[k] = i
        if i % 10000 == 0:
            p.flush(30)
    assert p.flush(60) == 0
    return expected


# -- end to end: published in one database, consumed in another ----------------

@pytest.fixture(scope="module")
def replica(cluster):
    """A second database served by the workers (dionysus.database lists both)."""
    name = unique("replica")
    admin = cluster.connect("postgres")
    sql(admin, f"CREATE DATABASE {name}")
    conn = cluster.connect(name)
    sql(conn, "CREATE EXTENSION dionysus")
    sql(admin, "ALTER SYSTEM SET dionysus.database = %s", (f"{TEST_DB},{name}",))
    sql(admin, "SELECT pg_reload_conf()")
    admin.close()
    wait_until(lambda: consumer_pid(conn, name), 15, "a consumer for the replica database")
    yield conn
    conn.close()
    # (a later test of this module may have restarted the server: new connections)
    admin = cluster.connect("postgres")
    sql(admin, "ALTER SYSTEM RESET dionysus.database")
    sql(admin, "SELECT pg_reload_conf()")
    wait_until(lambda: not scalar(admin, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                         "AND backend_type LIKE 'dionysus%%'", (name,)), 30,
               "the replica's workers stopped")
    sql(admin, f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()


def test_end_to_end_bookings_with_fees(cluster, db, replica):
    sql(db, """CREATE TABLE cons_rentals (id bigint PRIMARY KEY, name text)""")
    sql(db, """CREATE TABLE cons_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES cons_rentals,
               final_price numeric(10,2), created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
               canceled_at timestamptz)""")
    sql(db, """CREATE TABLE cons_bookings_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES cons_bookings
               ON DELETE CASCADE, name text, amount numeric(10,2), updated_at timestamptz DEFAULT now())""")
    sql(db, "SELECT dionysus.declare_topic('it_cons', 'bookings')")
    sql(db, "SELECT dionysus.publish('it_cons_bookings', 'cons_bookings', model_name => 'Booking', "
            "dependencies => '{cons_bookings_fees}')")
    sql(db, """SELECT dionysus.serializer('cons_bookings', has_many => '{"bookings_fees": "cons_bookings_fees.booking_id"}')""")

    r = replica
    sql(r, """CREATE TABLE bookings (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_rental_id bigint,
              synced_bookings_fee_ids bigint[], final_price numeric(10,2), synced_data jsonb,
              synced_created_at timestamptz, synced_updated_at timestamptz, synced_canceled_at timestamptz,
              created_at timestamptz, updated_at timestamptz)""")
    sql(r, """CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_booking_id bigint,
              label text, amount numeric(10,2), synced_updated_at timestamptz)""")
    sql(r, """SELECT dionysus.consume_model('BookingsFee', 'bookings_fees', mapping => '{"label": "name"}')""")
    assert scalar(r, "SELECT dionysus.consume('it_cons', 'bookings')") == "it_cons_bookings"
    listener = psycopg2.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname=r.get_dsn_parameters()["dbname"])
    listener.autocommit = True
    sql(listener, "LISTEN dionysus_consume")

    sql(db, """BEGIN; INSERT INTO cons_rentals VALUES (7, 'Villa');
               INSERT INTO cons_bookings (id, rental_id, final_price) VALUES (1, 7, 1088.25);
               INSERT INTO cons_bookings_fees (id, booking_id, name, amount) VALUES (1, 1, 'Cleaning', 50), (2, 1, 'Linen', 25.5);
               COMMIT""")

    def booking():
        return sql(r, """SELECT synced_id, synced_rental_id, synced_bookings_fee_ids, final_price::text,
                         synced_canceled_at IS NOT NULL, created_at IS NOT NULL, updated_at IS NOT NULL
                         FROM bookings""")

    def fees():
        return sql(r, "SELECT synced_id, synced_booking_id, label, amount::text FROM bookings_fees ORDER BY synced_id")

    wait_until(lambda: len(fees()) == 2, 30, "the booking and its fees consumed",
               lambda: str(sql(r, "SELECT * FROM dionysus.consumer_status")))
    assert booking() == [(1, 7, [1, 2], "1088.25", False, True, True)]
    assert fees() == [(1, 1, "Cleaning", "50.00"), (2, 1, "Linen", "25.50")]
    data = scalar(r, "SELECT synced_data FROM bookings")
    assert data["synced_id"] == 1 and data["final_price"] == "1088.25" and data["synced_rental_id"] == 7
    # published ->  the remote timestamps in synced_*
    assert scalar(r, "SELECT synced_created_at = date_trunc('milliseconds', %s::timestamptz) FROM bookings",
                  (scalar(db, "SELECT created_at FROM cons_bookings"),))

    # NOTIFY after the commit: the booking and its fees, with their local changes
    deadline = time.time() + 10
    notes = []
    while time.time() < deadline and len(notes) < 3:
        if select.select([listener], [], [], 0.5)[0]:
            listener.poll()
            while listener.notifies:
                notes.append(json.loads(listener.notifies.pop(0).payload))
    assert {(n["model"], n["synced_id"], n["action"]) for n in notes} == {
        ("Booking", 1, "insert"), ("BookingsFee", 1, "insert"), ("BookingsFee", 2, "insert")}
    b = [n for n in notes if n["model"] == "Booking"][0]
    assert b["topic"] == "it_cons_bookings" and b["event"] == "booking_created"
    assert b["changes"]["final_price"] == [None, 1088.25]

    # a fee dropped and the price changed: the local fee goes too; with
    # consumer_notify = columns the notifications name the columns, no values
    with worker_settings(db, consumer_notify="columns"):
        sql(db, "BEGIN; DELETE FROM cons_bookings_fees WHERE id = 2; UPDATE cons_bookings SET final_price = 1000, "
                "updated_at = now() WHERE id = 1; COMMIT")
        wait_until(lambda: len(fees()) == 1 and booking()[0][3] == "1000.00", 30, "the update consumed")
        notes = []
        deadline = time.time() + 10
        while time.time() < deadline and len(notes) < 2:
            if select.select([listener], [], [], 0.5)[0]:
                listener.poll()
                while listener.notifies:
                    notes.append(json.loads(listener.notifies.pop(0).payload))
    assert booking()[0][2] == [1]
    b = [n for n in notes if n["model"] == "Booking"][0]
    assert b["action"] == "update" and "changes" not in b
    assert {"final_price", "synced_bookings_fee_ids", "synced_updated_at"} <= set(b["changed_columns"]), b
    assert {(n["model"], n["synced_id"], n["action"]) for n in notes if n["model"] == "BookingsFee"} == {("BookingsFee", 2, "delete")}

    # soft delete, then restore
    sql(db, "UPDATE cons_bookings SET canceled_at = now(), updated_at = now() WHERE id = 1")
    wait_until(lambda: booking()[0][4], 30, "soft-deleted through synced_canceled_at")
    sql(db, "UPDATE cons_bookings SET canceled_at = NULL, updated_at = now() WHERE id = 1")
    wait_until(lambda: not booking()[0][4], 30, "restored")

    # destroyed without canceled_at in the payload: deleted
    sql(db, "DELETE FROM cons_bookings WHERE id = 1")
    wait_until(lambda: not booking(), 30, "deleted")

    # operations: status, workers, health
    st = sql(r, "SELECT topic, lag, last_message_at IS NOT NULL, last_error FROM dionysus.consumer_status "
                "WHERE \"offset\" IS NOT NULL")
    assert st and all(row[1] == 0 and row[2] and row[3] is None for row in st), st
    w = sql(r, "SELECT state, published > 0, batches > 0 FROM dionysus.workers WHERE role = 'consumer' "
               "AND database = current_database()")
    assert w == [("consuming", True, True)], w
    assert scalar(r, "SELECT dionysus.health_check()") is True
    pid = consumer_pid(r, r.get_dsn_parameters()["dbname"])
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)
        assert "the heartbeat of dionysus consumer" in scalar(r, "SELECT dionysus.health_problem('2 s')")
    finally:
        os.kill(pid, signal.SIGCONT)
    listener.close()


# -- hand-written dionysus-rb messages ---------------------------------------------

def test_dionysus_rb_messages(cluster, db):
    sql(db, """CREATE TABLE cons_h_rentals (id bigserial PRIMARY KEY, synced_id bigint, name text, title text,
               synced_account_id bigint, synced_owner_id bigint, synced_owner_type text,
               synced_photo_ids bigint[], tags text[], details jsonb, rating numeric, starts_on date,
               synced_created_at timestamptz, synced_updated_at timestamptz, created_at timestamptz,
               updated_at timestamptz)""")
    sql(db, """SELECT dionysus.consume_model('Rental', 'cons_h_rentals', mapping => '{"title": "headline"}')""")
    # by convention: model ConsWidget -> table cons_widgets in dionysus.consumer_schema (public)
    sql(db, "CREATE TABLE cons_widgets (synced_id text, color text)")
    sql(db, "SELECT dionysus.consume('it_cons', 'hand')")
    t1, t2, t0 = "2024-05-01T10:00:00.000Z", "2024-05-02T10:00:00.000Z", "2024-04-01T10:00:00.000Z"
    rental = {"id": 1, "name": "Villa", "headline": "Sea view", "rating": "4.5", "starts_on": "2024-06-01",
              "tags": ["a", "b"], "details": {"rooms": 3}, "created_at": t1, "updated_at": t1,
              "links": {"account": 10, "owner": {"id": 5, "type": "User"}, "photos": [3, 4]}}
    produce(cluster.bootstrap, "it_cons_hand", [
        (b"Rental:1", msg("rental_created", "Rental", rental)),
        (b"Rental:1", b"null"),                        # dionysus-rb's text tombstone: no events
        (b"Rental:1", None),                           # a Kafka null value
        (b"Unknown:1", msg("unknown_created", "Unknown", {"id": 1})),   # maps to nothing: skipped
        # two events in one message, applied in order
        (b"ConsWidget:w", json.dumps({"message": [
            {"event": "cons_widget_created", "model_name": "ConsWidget", "data": [{"id": "w", "color": "red"}]},
            {"event": "cons_widget_updated", "model_name": "ConsWidget", "data": [{"id": "w", "color": "blue"}]}]}).encode()),
        # stale: older than the local synced_updated_at
        (b"Rental:1", msg("rental_updated", "Rental", dict(rental, name="Old", updated_at=t0))),
    ])
    wait_offset(db, "it_cons_hand", 6)
    rows = sql(db, """SELECT synced_id, name, title, synced_account_id, synced_owner_id, synced_owner_type,
                      synced_photo_ids, tags, details, rating::text, starts_on::text, synced_updated_at,
                      created_at IS NOT NULL, updated_at IS NOT NULL FROM cons_h_rentals""")
    assert len(rows) == 1
    row = rows[0]
    assert row[:11] == (1, "Villa", "Sea view", 10, 5, "User", [3, 4], ["a", "b"], {"rooms": 3}, "4.5", "2024-06-01")
    assert row[12] and row[13]
    assert sql(db, "SELECT synced_id, color FROM cons_widgets") == [("w", "blue")]
    # a newer update applies; a local updated_at moves
    before = scalar(db, "SELECT updated_at FROM cons_h_rentals")
    produce(cluster.bootstrap, "it_cons_hand", [(b"Rental:1", msg("rental_updated", "Rental",
                                                                 dict(rental, name="New", updated_at=t2)))])
    wait_offset(db, "it_cons_hand", 7)
    assert sql(db, "SELECT name, updated_at > %s FROM cons_h_rentals", (before,)) == [("New", True)]
    # dionysus-rb's deleted record: {"links":{},"id":1} -> deleted
    produce(cluster.bootstrap, "it_cons_hand", [(b"Rental:1", msg("rental_destroyed", "Rental", {"links": {}, "id": 1}))])
    wait_offset(db, "it_cons_hand", 8)
    assert scalar(db, "SELECT count(*) FROM cons_h_rentals") == 0
    assert scalar(db, "SELECT count(*) FROM dionysus.dead_letters WHERE topic = 'it_cons_hand'") == 0


# -- poison messages ----------------------------------------------------------------

def test_poison_messages_are_dead_lettered_and_consuming_goes_on(cluster, db):
    sql(db, """CREATE TABLE cons_p_items (synced_id bigint PRIMARY KEY, qty integer CHECK (qty >= 0),
               synced_canceled_at timestamptz)""")
    sql(db, """CREATE FUNCTION cons_p_refuse(cons_p_items) RETURNS void LANGUAGE plpgsql AS
               $$ BEGIN RAISE EXCEPTION 'refusing to remove %', $1.synced_id; END $$""")
    sql(db, "SELECT dionysus.consume_model('PItem', 'cons_p_items', soft_delete_strategy => 'cons_p_refuse')")
    sql(db, "SELECT dionysus.consume('it_cons', 'poison', dead_letter_topic => 'it_cons_poison_dlt', max_retries => 1)")
    sql(db, "SELECT dionysus.consume('it_cons', 'poison_plain', max_retries => 0)")
    produce(cluster.bootstrap, "it_cons_poison", [
        (b"PItem:1", msg("p_item_created", "PItem", {"id": 1, "qty": 1})),
        (b"bad", b"{not json"),
        (b"PItem:2", msg("p_item_created", "PItem", {"id": 2, "qty": "many"})),   # does not fit integer
        (b"PItem:3", msg("p_item_created", "PItem", {"id": 3, "qty": -1})),       # violates the CHECK
        (b"PItem:1", msg("p_item_destroyed", "PItem", {"id": 1, "qty": 1})),     # the strategy raises
        (b"PItem:4", msg("p_item_created", "PItem", {"id": 4, "qty": 4})),
    ])
    produce(cluster.bootstrap, "it_cons_poison_plain", [
        (b"x", b"[]"),
        (b"PItem:5", msg("p_item_created", "PItem", {"id": 5, "qty": 5})),
        (b"\xff\x00k", b"nope"),   # a key that is not text: kept as bytes
    ])
    wait_offset(db, "it_cons_poison", 6)
    wait_offset(db, "it_cons_poison_plain", 3)
    assert sql(db, "SELECT synced_id, qty FROM cons_p_items ORDER BY 1") == [(1, 1), (4, 4), (5, 5)]
    dead = sql(db, """SELECT topic, "offset", key, error_class, error_message, attempts, dead_letter_topic
                      FROM dionysus.dead_letters WHERE topic LIKE 'it_cons_poison%%' ORDER BY topic, "offset" """)
    assert [(d[0], d[1], d[2], d[3], d[5], d[6]) for d in dead] == [
        ("it_cons_poison", 1, "bad", "Dionysus::MalformedMessage", 2, "it_cons_poison_dlt"),
        ("it_cons_poison", 2, "PItem:2", "PG::22P02", 2, "it_cons_poison_dlt"),
        ("it_cons_poison", 3, "PItem:3", "PG::23514", 2, "it_cons_poison_dlt"),
        ("it_cons_poison", 4, "PItem:1", "PG::P0001", 2, "it_cons_poison_dlt"),
        ("it_cons_poison_plain", 0, "x", "Dionysus::MalformedMessage", 1, None),
        ("it_cons_poison_plain", 2, "\\377\\000k", "Dionysus::MalformedMessage", 1, None),
    ]
    assert scalar(db, "SELECT key_bytes FROM dionysus.dead_letters WHERE topic = 'it_cons_poison_plain' "
                      "AND \"offset\" = 2").tobytes() == b"\xff\x00k"
    assert "refusing to remove 1" in dead[3][4]
    assert scalar(db, "SELECT value FROM dionysus.dead_letters WHERE key = 'bad'").tobytes() == b"{not json"
    # sent to the dead-letter topic, with why and where from
    wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.dead_letters WHERE sent_at IS NOT NULL "
                                  "AND topic = 'it_cons_poison'") == 4, 20, "dead letters sent")
    out = consume(cluster.bootstrap, "it_cons_poison_dlt", 4, timeout=20, idle=0.5)
    out.sort(key=lambda m: int(dict(m.headers)["dionysus-source-offset"]))
    assert [m.key for m in out] == [b"bad", b"PItem:2", b"PItem:3", b"PItem:1"]
    assert out[0].value == b"{not json"
    h = dict(out[1].headers)
    assert h["dionysus-source-topic"] == b"it_cons_poison" and h["dionysus-source-offset"] == b"2"
    assert h["dionysus-error-class"] == b"PG::22P02" and h["dionysus-attempts"] == b"2"
    st = scalar(db, "SELECT last_error FROM dionysus.consumer_status WHERE topic = 'it_cons_poison'")
    assert st.startswith("PG::P0001") and "offset 4" in st


# -- assign_columns_from_synced_data --------------------------------------------------

def test_assign_columns_from_synced_data(db):
    sql(db, "CREATE TABLE cons_a (synced_id bigint, synced_data jsonb)")
    sql(db, """INSERT INTO cons_a SELECT g, jsonb_build_object('synced_id', g, 'price', (g * 1.5)::text,
               'tags', jsonb_build_array('t' || g), 'meta', jsonb_build_object('g', g)) FROM generate_series(1, 2500) g""")
    sql(db, "ALTER TABLE cons_a ADD COLUMN price numeric, ADD COLUMN tags text[], ADD COLUMN meta jsonb, ADD COLUMN missing text")
    assert scalar(db, "SELECT dionysus.assign_columns_from_synced_data('cons_a', '{price,tags,meta,missing}', 1000)") == 2500
    assert sql(db, "SELECT price::text, tags, meta, missing FROM cons_a WHERE synced_id = 3") == [("4.5", ["t3"], {"g": 3}, None)]
    # nothing left to change
    assert scalar(db, "SELECT dionysus.assign_columns_from_synced_data('cons_a', '{price}')") == 0
    for call, code in [("'cons_a', '{nope}'", "42703"), ("'cons_a', '{price}', 0", "22023"),
                       ("'cons_a', '{}'", "22023"), ("'cons_a', '{synced_id}'", "22023"),
                       ("'pg_class', '{relname}'", "42703")]:
        with pytest.raises(psycopg2.Error) as e:
            sql(db, f"SELECT dionysus.assign_columns_from_synced_data({call})")
        assert e.value.pgcode == code, (call, e.value.pgerror)
    # another role's table: its triggers would run with the superuser's rights
    role = unique("cons_owner")
    sql(db, f"CREATE ROLE {role}")
    sql(db, f"CREATE TABLE cons_a_owned (synced_id bigint, synced_data jsonb, price text)")
    sql(db, f"ALTER TABLE cons_a_owned OWNER TO {role}")
    with pytest.raises(psycopg2.Error) as e:
        sql(db, "SELECT dionysus.assign_columns_from_synced_data('cons_a_owned', '{price}')")
    assert e.value.pgcode == "42501", e.value.pgerror


# -- exactly once in effect ---------------------------------------------------------

@pytest.mark.disruptive
@pytest.mark.crashes_server
def test_kill9_and_restart_mid_topic_apply_each_change_once(cluster, db):
    counting_target(db, "cons_k_counters", "KCounter")
    n = 60000
    expected = produce_counters(cluster.bootstrap, "it_cons_kill", "KCounter", "k_counter_updated", n, ids=500, partitions=3)
    sql(db, "SELECT dionysus.consume('it_cons', 'kill', dedupe => false)")
    wait_until(lambda: scalar(db, "SELECT coalesce(sum(\"offset\"), 0) FROM dionysus.consumer_status "
                                  "WHERE topic = 'it_cons_kill'") > n // 5, 60, "consuming under way")
    os.kill(consumer_pid(db), signal.SIGKILL)  # the postmaster restarts every backend
    time.sleep(1)
    cluster.pg_ctl("-m", "immediate", "restart")
    db2 = cluster.connect()
    try:
        wait_until(lambda: scalar(db2, "SELECT coalesce(sum(\"offset\"), 0) FROM dionysus.consumer_status "
                                       "WHERE topic = 'it_cons_kill'") == n, 120, "the whole topic consumed",
                   lambda: str(sql(db2, "SELECT * FROM dionysus.consumer_status")))
        final = dict(sql(db2, "SELECT synced_id, value FROM cons_k_counters"))
        assert final == expected
        assert sql(db2, "SELECT synced_id, value FROM cons_k_counters_log GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5") == []
        assert scalar(db2, "SELECT count(*) FROM cons_k_counters_log") == n  # dedupe off: every message applied once
    finally:
        db2.close()


# -- batches: dedupe ------------------------------------------------------------------

def test_dedupe_collapses_a_batch_to_the_newest_update(cluster, db):
    counting_target(db, "cons_d_on", "DOn", "n", "int")
    counting_target(db, "cons_d_off", "DOff", "n", "int")
    updates = [(1, "2024-05-01T10:00:00.000Z"), (3, "2024-05-01T12:00:00.000Z"), (2, "2024-05-01T11:00:00.000Z")]
    for topic, model in (("it_cons_dedupe", "DOn"), ("it_cons_nodedupe", "DOff")):
        event = "d_on_updated" if model == "DOn" else "d_off_updated"
        produce(cluster.bootstrap, topic, [(f"{model}:1".encode(), msg(event, model, {"id": 1, "n": n, "updated_at": t}))
                                           for n, t in updates])
    # declared after the messages are there: each topic is one batch
    sql(db, "SELECT dionysus.consume('it_cons', 'dedupe')")
    sql(db, "SELECT dionysus.consume('it_cons', 'nodedupe', dedupe => false)")
    wait_offset(db, "it_cons_dedupe", 3)
    wait_offset(db, "it_cons_nodedupe", 3)
    # RemoveDuplicatesStrategy: one application, of the newest update
    assert sql(db, "SELECT synced_id, n FROM cons_d_on") == [(1, 3)]
    assert sql(db, "SELECT n FROM cons_d_on_log") == [(3,)]
    # without it: every message in order; the last one is older than the row, so skipped as stale
    assert sql(db, "SELECT synced_id, n FROM cons_d_off") == [(1, 3)]
    assert sql(db, "SELECT n FROM cons_d_off_log") == [(1,), (3,)]


# -- sideload options -------------------------------------------------------------------

def test_sideloaded_children_kept_or_removed_as_declared(cluster, db):
    sql(db, "CREATE TABLE cons_f_parents (synced_id bigint PRIMARY KEY, name text)")
    sql(db, "CREATE TABLE cons_f_kids (synced_id bigint PRIMARY KEY, synced_cons_f_parent_id bigint, name text)")
    sql(db, "CREATE TABLE cons_f_pets (synced_id bigint PRIMARY KEY, synced_cons_f_parent_id bigint, name text)")
    sql(db, "SELECT dionysus.consume_model('ConsFParent', 'cons_f_parents')")
    sql(db, "SELECT dionysus.consume_model('Kid', 'cons_f_kids', remove_unlisted => false, destroy_with_parent => false)")
    sql(db, "SELECT dionysus.consume_model('Pet', 'cons_f_pets')")   # the defaults: removed
    sql(db, "SELECT dionysus.consume('it_cons', 'family')")

    def parent(event, kids, pets):
        return msg(event, "ConsFParent", {"id": 1, "name": "p",
                   "links": {"kids": [k for k in kids], "pets": [p for p in pets]},
                   "kids": [{"id": k, "name": f"kid {k}", "links": {"cons_f_parent": 1}} for k in kids],
                   "pets": [{"id": p, "name": f"pet {p}", "links": {"cons_f_parent": 1}} for p in pets]})
    produce(cluster.bootstrap, "it_cons_family", [(b"ConsFParent:1", parent("cons_f_parent_created", [1, 2], [1, 2]))])
    wait_offset(db, "it_cons_family", 1)
    assert sql(db, "SELECT synced_id FROM cons_f_kids ORDER BY 1") == [(1,), (2,)]
    assert sql(db, "SELECT synced_id, synced_cons_f_parent_id FROM cons_f_pets ORDER BY 1") == [(1, 1), (2, 1)]
    produce(cluster.bootstrap, "it_cons_family", [(b"ConsFParent:1", parent("cons_f_parent_updated", [1], [1]))])
    wait_offset(db, "it_cons_family", 2)
    assert sql(db, "SELECT synced_id FROM cons_f_kids ORDER BY 1") == [(1,), (2,)]   # remove_unlisted => false
    assert sql(db, "SELECT synced_id FROM cons_f_pets ORDER BY 1") == [(1,)]
    # destroyed with its children in the payload (no canceled_at: deleted)
    produce(cluster.bootstrap, "it_cons_family", [(b"ConsFParent:1", parent("cons_f_parent_destroyed", [1], [1]))])
    wait_offset(db, "it_cons_family", 3)
    assert sql(db, "SELECT count(*) FROM cons_f_parents") == [(0,)]
    assert sql(db, "SELECT synced_id FROM cons_f_kids ORDER BY 1") == [(1,), (2,)]   # destroy_with_parent => false
    assert sql(db, "SELECT count(*) FROM cons_f_pets") == [(0,)]


# -- security: a target's code runs as its owner -------------------------------------------

def test_target_triggers_run_as_the_targets_owner(cluster, db):
    role = unique("cons_app")
    sql(db, f"CREATE ROLE {role}")
    sql(db, f"GRANT CREATE ON SCHEMA public TO {role}")
    sql(db, f"SET ROLE {role}")
    sql(db, "CREATE TABLE cons_o_items (synced_id bigint PRIMARY KEY, name text)")
    sql(db, "CREATE TABLE cons_o_seen (who text, superuser boolean)")
    sql(db, """CREATE FUNCTION cons_o_spy() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN
                 INSERT INTO cons_o_seen SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;
                 IF NEW.name = 'escalate' THEN EXECUTE format('ALTER ROLE %I SUPERUSER', current_user); END IF;
                 RETURN NEW;
               END $$""")
    sql(db, "CREATE TRIGGER spy BEFORE INSERT OR UPDATE ON cons_o_items FOR EACH ROW EXECUTE FUNCTION cons_o_spy()")
    # a deferred constraint trigger would fire at commit, outside the owner's context: it may not wait
    sql(db, "CREATE TABLE cons_o_later (synced_id bigint PRIMARY KEY, name text)")
    sql(db, "CREATE CONSTRAINT TRIGGER later AFTER INSERT ON cons_o_later DEFERRABLE INITIALLY DEFERRED "
            "FOR EACH ROW EXECUTE FUNCTION cons_o_spy()")
    sql(db, "RESET ROLE")
    sql(db, "SELECT dionysus.consume_model('OItem', 'cons_o_items')")
    sql(db, "SELECT dionysus.consume_model('OLater', 'cons_o_later')")
    sql(db, "SELECT dionysus.consume('it_cons', 'owner', max_retries => 0)")
    produce(cluster.bootstrap, "it_cons_owner", [
        (b"OItem:1", msg("o_item_created", "OItem", {"id": 1, "name": "plain"})),
        (b"OItem:2", msg("o_item_created", "OItem", {"id": 2, "name": "escalate"})),
        (b"OLater:1", msg("o_later_created", "OLater", {"id": 1, "name": "escalate"})),
        (b"OLater:2", msg("o_later_created", "OLater", {"id": 2, "name": "plain"})),
    ])
    wait_offset(db, "it_cons_owner", 4)
    # the deferred trigger fired at once, as the owner: its escalation failed, the plain row is in
    assert sql(db, "SELECT synced_id FROM cons_o_later") == [(2,)]
    assert sql(db, "SELECT synced_id FROM cons_o_items") == [(1,)]
    assert set(sql(db, "SELECT who, superuser FROM cons_o_seen")) == {(role, False)}
    assert scalar(db, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,)) is False
    errs = [r[0] for r in sql(db, "SELECT error_class || ': ' || error_message FROM dionysus.dead_letters "
                                  "WHERE topic = 'it_cons_owner' ORDER BY \"offset\"")]
    assert len(errs) == 2 and all(e.startswith("PG::42501") for e in errs), errs


# -- lifecycle: SIGTERM, broker outage ------------------------------------------------------

@pytest.mark.disruptive
def test_sigterm_finishes_the_batch_nothing_lost_or_applied_twice(cluster, db):
    counting_target(db, "cons_t_counters", "TCounter")
    n = 30000
    produce_counters(cluster.bootstrap, "it_cons_term", "TCounter", "t_counter_updated", n, ids=300, partitions=3)
    start = len(cluster.log_text())
    sql(db, "SELECT dionysus.consume('it_cons', 'term', dedupe => false)")
    total = lambda: scalar(db, "SELECT coalesce(sum(\"offset\"), 0) FROM dionysus.consumer_status WHERE topic = 'it_cons_term'")
    terminated = 0
    for _ in range(3):
        before = total()
        wait_until(lambda: total() > before, 30, "consuming under way")
        pid = consumer_pid(db)
        if pid and total() < n:
            sql(db, "SELECT pg_terminate_backend(%s)", (pid,))
            terminated += 1
            wait_until(lambda: consumer_pid(db) not in (None, pid), 15, "the consumer started again")
    wait_until(lambda: total() == n, 120, "the whole topic consumed")
    assert terminated >= 1
    assert scalar(db, "SELECT count(*) FROM cons_t_counters_log") == n
    assert sql(db, "SELECT synced_id, value FROM cons_t_counters_log GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5") == []
    log = cluster.log_text()[start:]
    assert log.count("dionysus consumer stopped") >= terminated, log[-3000:]
    assert "FATAL" not in "\n".join(l for l in log.splitlines() if "dionysus consumer" in l)


@pytest.mark.disruptive
def test_broker_outage_is_waited_out_without_a_transaction(cluster, db):
    sql(db, "CREATE TABLE cons_b_items (synced_id bigint PRIMARY KEY, n int)")
    sql(db, "SELECT dionysus.consume_model('BItem', 'cons_b_items')")
    sql(db, "SELECT dionysus.consume('it_cons', 'outage')")
    produce(cluster.bootstrap, "it_cons_outage", [(b"BItem:1", msg("b_item_created", "BItem", {"id": 1, "n": 1}))])
    wait_offset(db, "it_cons_outage", 1)
    cluster.broker_down()
    try:
        time.sleep(4)
        pid = consumer_pid(db)
        # polling the broker: no transaction open, no lock held
        assert scalar(db, "SELECT backend_xid IS NULL AND xact_start IS NULL FROM pg_stat_activity WHERE pid = %s",
                      (pid,)) is True
        assert scalar(db, "SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'relation'", (pid,)) == 0
        assert scalar(db, "SELECT dionysus.consumer_health_problem('2 minutes')") is None
    finally:
        cluster.broker_up()
    produce(cluster.bootstrap, "it_cons_outage", [(b"BItem:2", msg("b_item_created", "BItem", {"id": 2, "n": 2}))])
    wait_offset(db, "it_cons_outage", 2, timeout=60)
    assert sql(db, "SELECT synced_id, n FROM cons_b_items ORDER BY 1") == [(1, 1), (2, 2)]


def test_health_check_reports_a_partition_behind_with_nothing_applied(cluster, db):
    # a declared topic the broker does not have: never assigned, so the row below stays as written
    sql(db, "SELECT dionysus.consume('it_cons', 'ghost')")
    try:
        wait_until(lambda: consumer_pid(db), 15, "a consumer")
        assert scalar(db, "SELECT dionysus.consumer_health_problem('1 minute')") is None
        sql(db, "INSERT INTO dionysus.consumer_offsets (topic, partition, next_offset, high_watermark, applied_at) "
                "VALUES ('it_cons_ghost', 0, 5, 12, now() - interval '1 hour')")
        problem = scalar(db, "SELECT dionysus.health_problem('1 minute')")
        assert problem.startswith("partition 0 of consumed topic it_cons_ghost is 7 messages behind"), problem
        assert scalar(db, "SELECT dionysus.health_check('1 minute')") is False
        assert sql(db, "SELECT \"offset\", high_watermark, lag FROM dionysus.consumer_status WHERE topic = 'it_cons_ghost'") == [(5, 12, 7)]
    finally:
        sql(db, "DELETE FROM dionysus.consumer_offsets WHERE topic = 'it_cons_ghost'")
        sql(db, "DELETE FROM dionysus.consumed_topics WHERE name = 'it_cons_ghost'")


@pytest.mark.disruptive
def test_a_lock_timeout_is_retried_not_dead_lettered(cluster, db):
    sql(db, "CREATE TABLE cons_l_items (synced_id bigint PRIMARY KEY, n int)")
    sql(db, "INSERT INTO cons_l_items VALUES (1, 0)")
    sql(db, "SELECT dionysus.consume_model('LItem', 'cons_l_items')")
    sql(db, f"ALTER DATABASE {TEST_DB} SET lock_timeout = '300ms'")
    holder = cluster.connect()
    try:
        # the consumer reads the database's settings when it starts
        old = consumer_pid(db)
        sql(db, "SELECT pg_terminate_backend(%s)", (old,))
        wait_until(lambda: consumer_pid(db) not in (None, old), 15, "the consumer started again")
        sql(db, "SELECT dionysus.consume('it_cons', 'locked')")
        holder.autocommit = False
        sql(holder, "SELECT * FROM cons_l_items WHERE synced_id = 1 FOR UPDATE")
        produce(cluster.bootstrap, "it_cons_locked", [(b"LItem:1", msg("l_item_updated", "LItem", {"id": 1, "n": 1}))])
        time.sleep(3)  # several lock timeouts: each rolls the batch back
        assert scalar(db, "SELECT count(*) FROM dionysus.dead_letters WHERE topic = 'it_cons_locked'") == 0
        assert not offset_of(db, "it_cons_locked")
        assert "lock" in (scalar(db, "SELECT last_error FROM dionysus.workers WHERE role = 'consumer' "
                                     "AND database = current_database()") or "")
        holder.rollback()
        wait_offset(db, "it_cons_locked", 1)
        assert sql(db, "SELECT n FROM cons_l_items") == [(1,)]
        assert scalar(db, "SELECT count(*) FROM dionysus.dead_letters WHERE topic = 'it_cons_locked'") == 0
    finally:
        holder.close()
        sql(db, f"ALTER DATABASE {TEST_DB} RESET lock_timeout")
        old = consumer_pid(db)
        if old:
            sql(db, "SELECT pg_terminate_backend(%s)", (old,))


def test_set_wise_one_statement_per_model_and_batch_and_a_soft_delete_strategy(cluster, db):
    sql(db, """CREATE TABLE cons_s_items (synced_id bigint PRIMARY KEY, n int, synced_updated_at timestamptz,
               archived boolean NOT NULL DEFAULT false)""")
    sql(db, "CREATE TABLE cons_s_statements (op text)")
    sql(db, """CREATE FUNCTION cons_s_count() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO cons_s_statements VALUES (TG_OP); RETURN NULL; END $$""")
    sql(db, "CREATE TRIGGER s AFTER INSERT OR UPDATE OR DELETE ON cons_s_items FOR EACH STATEMENT "
            "EXECUTE FUNCTION cons_s_count()")
    sql(db, """CREATE FUNCTION cons_s_archive(cons_s_items) RETURNS void LANGUAGE sql AS
               $$ UPDATE cons_s_items SET archived = true WHERE synced_id = $1.synced_id $$""")
    sql(db, "SELECT dionysus.consume_model('SItem', 'cons_s_items', soft_delete_strategy => 'cons_s_archive')")
    # 300 created messages, then one message holding two records, produced before consuming: one batch
    messages = [(f"SItem:{i}".encode(), msg("s_item_created", "SItem", {"id": i, "n": i})) for i in range(1, 301)]
    messages.append((b"SItem:1", msg("s_item_updated", "SItem", {"id": 1, "n": 10, "updated_at": "2024-05-01T10:00:00.000Z"},
                                     {"id": 2, "n": 20, "updated_at": "2024-05-01T10:00:00.000Z"})))
    produce(cluster.bootstrap, "it_cons_setwise", messages)
    sql(db, "SELECT dionysus.consume('it_cons', 'setwise')")
    wait_offset(db, "it_cons_setwise", 301)
    assert scalar(db, "SELECT count(*) FROM cons_s_items") == 300
    assert sql(db, "SELECT synced_id, n FROM cons_s_items WHERE synced_id <= 3 ORDER BY 1") == [(1, 10), (2, 20), (3, 3)]
    # statements, not rows: the 300 creations are one statement (two if the fetch split them),
    # the two-record message another (each statement has its UPDATE and INSERT parts)
    counts = dict(sql(db, "SELECT op, count(*) FROM cons_s_statements GROUP BY op"))
    assert 2 <= counts["INSERT"] <= 3, counts
    # destroyed without canceled_at, with a strategy: the strategy runs, the row stays
    produce(cluster.bootstrap, "it_cons_setwise", [(b"SItem:3", msg("s_item_destroyed", "SItem", {"id": 3, "n": 3}))])
    wait_offset(db, "it_cons_setwise", 302)
    assert sql(db, "SELECT synced_id, archived FROM cons_s_items WHERE synced_id IN (3, 4) ORDER BY 1") == [(3, True), (4, False)]


@pytest.mark.disruptive
def test_a_shadowing_operator_in_the_default_search_path_changes_nothing(cluster, db):
    # The target's owner puts its own text = (always true: every update would look
    # unchanged and be skipped) first in the database's default search_path.
    role = unique("cons_shadow")
    sql(db, f"CREATE ROLE {role}")
    sql(db, f"GRANT CREATE ON DATABASE {TEST_DB} TO {role}")
    sql(db, f"GRANT CREATE ON SCHEMA public TO {role}")
    sql(db, f"SET ROLE {role}")
    sql(db, "CREATE SCHEMA cons_evil")
    sql(db, "CREATE FUNCTION cons_evil.always(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true'")
    sql(db, "CREATE OPERATOR cons_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = cons_evil.always)")
    sql(db, "CREATE TABLE cons_sh_items (synced_id bigint PRIMARY KEY, name text)")
    sql(db, "RESET ROLE")
    sql(db, "SELECT dionysus.consume_model('ShItem', 'cons_sh_items')")
    # (pg_catalog named after it: otherwise PostgreSQL searches pg_catalog first anyway)
    sql(db, f"ALTER DATABASE {TEST_DB} SET search_path = cons_evil, pg_catalog, public")
    try:
        old = consumer_pid(db)
        sql(db, "SELECT pg_terminate_backend(%s)", (old,))
        wait_until(lambda: consumer_pid(db) not in (None, old), 15, "the consumer started again")
        sql(db, "SELECT dionysus.consume('it_cons', 'shadow')")
        produce(cluster.bootstrap, "it_cons_shadow", [
            (b"ShItem:1", msg("sh_item_created", "ShItem", {"id": 1, "name": "first"})),
            (b"ShItem:1", msg("sh_item_updated", "ShItem", {"id": 1, "name": "second"})),
        ])
        wait_offset(db, "it_cons_shadow", 2)
        assert sql(db, "SELECT name FROM cons_sh_items") == [("second",)]
    finally:
        sql(db, f"ALTER DATABASE {TEST_DB} RESET search_path")
        old = consumer_pid(db)
        if old:
            sql(db, "SELECT pg_terminate_backend(%s)", (old,))


# -- dionysus.consumer_workers: partitions spread across consumers -------------------

def consumer_pids(conn, database=TEST_DB):
    return [r[0] for r in sql(conn, "SELECT pid FROM dionysus.workers WHERE role = 'consumer' AND database = %s "
                                    "AND pid IS NOT NULL ORDER BY worker", (database,))]


@pytest.mark.disruptive
def test_consumer_workers_share_the_partitions_each_change_applied_once(cluster, db):
    counting_target(db, "cons_w_counters", "WCounter")
    n = 20000
    expected = produce_counters(cluster.bootstrap, "it_cons_spread", "WCounter", "w_counter_updated", n, ids=400, partitions=4)
    with worker_settings(db, consumer_workers="2"):
        wait_until(lambda: len(consumer_pids(db)) == 2, 15, "two consumers",
                   lambda: str(sql(db, "SELECT * FROM dionysus.workers")))
        assert sql(db, "SELECT worker, workers FROM dionysus.workers WHERE role = 'consumer' AND database = %s "
                       "ORDER BY worker", (TEST_DB,)) == [(0, 2), (1, 2)]
        before = dict(sql(db, "SELECT pid, published FROM dionysus.workers WHERE role = 'consumer'"))
        sql(db, "SELECT dionysus.consume('it_cons', 'spread', dedupe => false)")
        total = lambda: scalar(db, "SELECT coalesce(sum(\"offset\"), 0) FROM dionysus.consumer_status "
                                   "WHERE topic = 'it_cons_spread'")
        wait_until(lambda: total() > n // 4, 60, "consuming under way")
        # one of them stopped mid-topic: started again, it goes on from its partitions' stored offsets
        victim = consumer_pids(db)[1]
        sql(db, "SELECT pg_terminate_backend(%s)", (victim,))
        wait_until(lambda: len(consumer_pids(db)) == 2 and victim not in consumer_pids(db), 15,
                   "the consumer started again")
        wait_until(lambda: total() == n, 120, "the whole topic consumed",
                   lambda: str(sql(db, "SELECT * FROM dionysus.consumer_status WHERE topic = 'it_cons_spread'")))
        assert dict(sql(db, "SELECT synced_id, value FROM cons_w_counters")) == expected
        assert sql(db, "SELECT synced_id, value FROM cons_w_counters_log GROUP BY 1, 2 HAVING count(*) > 1 LIMIT 5") == []
        assert scalar(db, "SELECT count(*) FROM cons_w_counters_log") == n
        # both applied messages: two partitions each
        applied = sql(db, "SELECT pid, published FROM dionysus.workers WHERE role = 'consumer' AND database = %s",
                      (TEST_DB,))
        assert all(published > before.get(pid, 0) for pid, published in applied if pid != victim), applied
        assert scalar(db, "SELECT dionysus.consumer_health_problem('2 minutes')") is None
    # back to one consumer, which takes every partition
    wait_until(lambda: len(consumer_pids(db)) == 1, 30, "one consumer again")
    sql(db, "UPDATE cons_w_counters SET value = -1")
    sql(db, "TRUNCATE cons_w_counters_log")
    produce(cluster.bootstrap, "it_cons_spread",
            [(f"WCounter:{k}".encode(), msg("w_counter_updated", "WCounter", {"id": k, "value": n + k}))
             for k in range(4)])
    wait_until(lambda: scalar(db, "SELECT count(*) FROM cons_w_counters_log") == 4, 30,
               "the new messages consumed by the one consumer")
    assert sql(db, "SELECT synced_id, value FROM cons_w_counters WHERE value >= 0 ORDER BY 1") == [
        (k, n + k) for k in range(4)]


def test_a_partition_stored_further_by_another_consumer_is_not_applied_again(cluster, db):
    # As if another consumer applied offsets 10..14 meanwhile: this one's
    # batch from offset 10 rolls back, and it reads on from 15.
    counting_target(db, "cons_f_counters", "FCounter")
    sql(db, "SELECT dionysus.consume('it_cons', 'fence', dedupe => false)")
    produce(cluster.bootstrap, "it_cons_fence",
            [(b"FCounter:1", msg("f_counter_updated", "FCounter", {"id": i, "value": i})) for i in range(10)])
    wait_offset(db, "it_cons_fence", 10)
    start = len(cluster.log_text())
    sql(db, "UPDATE dionysus.consumer_offsets SET next_offset = 15 WHERE topic = 'it_cons_fence'")
    produce(cluster.bootstrap, "it_cons_fence",
            [(b"FCounter:1", msg("f_counter_updated", "FCounter", {"id": i, "value": i})) for i in range(10, 20)])
    wait_until(lambda: scalar(db, "SELECT count(*) FROM cons_f_counters") == 15, 30, "offsets 15..19 applied",
               lambda: str(sql(db, "SELECT * FROM dionysus.consumer_status WHERE topic = 'it_cons_fence'")))
    wait_offset(db, "it_cons_fence", 20)
    assert [r[0] for r in sql(db, "SELECT synced_id FROM cons_f_counters_log ORDER BY 1")] == \
        list(range(10)) + list(range(15, 20))
    assert "stored at offset 15, past this batch's first message 10: another consumer applied it" in \
        cluster.log_text()[start:]
    # A partition that now ends below its stored offset restarted (a topic
    # deleted and created again): applied from where it stands, not held.
    sql(db, "UPDATE dionysus.consumer_offsets SET next_offset = 1000 WHERE topic = 'it_cons_fence'")
    produce(cluster.bootstrap, "it_cons_fence",
            [(b"FCounter:1", msg("f_counter_updated", "FCounter", {"id": i, "value": i})) for i in range(20, 25)])
    wait_until(lambda: offset_of(db, "it_cons_fence") == 25, 30, "the restarted partition applied",
               lambda: str(sql(db, "SELECT * FROM dionysus.consumer_status WHERE topic = 'it_cons_fence'")))
    assert scalar(db, "SELECT count(*) FROM cons_f_counters") == 20
    assert "the partition now ends at 25 (restarted): applied from there" in cluster.log_text()[start:]


# -- value conversion: what the columns get is what jsonb_to_recordset gives -------

def test_values_convert_as_jsonb_to_recordset_converts_them(cluster, db):
    # A run of records reaches SQL as one text array per column when every
    # value reads as text, else as JSON through jsonb_to_recordset; both
    # must give each column what jsonb_to_recordset gives it.
    sql(db, "CREATE TYPE cons_v_color AS ENUM ('red', 'green')")
    sql(db, "CREATE DOMAIN cons_v_positive AS integer CHECK (VALUE > 0)")
    sql(db, "CREATE DOMAIN cons_v_doc AS jsonb")
    sql(db, "CREATE TYPE cons_v_point AS (x integer, y text)")
    columns = """t text, v varchar(5), c char(3), n numeric(10,2), nn numeric, i integer, ia bigint[], ta text[],
                 na numeric(6,1)[], m integer[], ts timestamptz, tp timestamp(0), d date, b boolean, jb jsonb, j json,
                 u uuid, e cons_v_color, dom cons_v_positive, djb cons_v_doc, iv interval, r int4range, mx text[],
                 vs varchar(5)"""
    sql(db, f"CREATE TABLE cons_v_values (synced_id bigint PRIMARY KEY, {columns})")
    sql(db, "CREATE TABLE cons_v_updates (synced_id bigint)")
    sql(db, """CREATE FUNCTION cons_v_log() RETURNS trigger LANGUAGE plpgsql AS
               $$ BEGIN INSERT INTO cons_v_updates VALUES (NEW.synced_id); RETURN NEW; END $$""")
    sql(db, "CREATE TRIGGER l AFTER UPDATE ON cons_v_values FOR EACH ROW EXECUTE FUNCTION cons_v_log()")
    # types only jsonb_to_recordset reads: a cast from text would cut bit(3),
    # read interval day's "3" as seconds, refuse regclass's oid; a composite
    # is an object; box[] separates elements with ';'
    odd = "t text, bt bit(3), pt cons_v_point, iv2 interval day, iv3 interval minute to second, rc regclass, bx box[]"
    sql(db, f"CREATE TABLE cons_v_odd (synced_id bigint PRIMARY KEY, {odd})")
    sql(db, "SELECT dionysus.consume_model('VValue', 'cons_v_values')")
    sql(db, "SELECT dionysus.consume_model('VOdd', 'cons_v_odd')")
    sql(db, "SELECT dionysus.consume('it_cons', 'values', max_retries => 0)")
    full = {"t": "a\"b\\c\n\u00e9\U0001F600 {x,y}", "v": "abc  ", "c": "ab", "n": "12.345", "nn": 1.25, "i": 42,
            "ia": [1, 2, 3], "ta": ["x", "y,z", "NULL", None, "q\"uote", "back\\slash", ""], "na": ["1.25", 2],
            "m": [[1, 2], [3, 4]], "ts": "2024-05-01T10:00:00.123Z", "tp": "2024-05-01 10:00:00.6", "d": "2024-06-01",
            "b": True, "jb": {"k": [1, {"x": None}], "s": "\u00e9"}, "j": {"b": 1, "a": 2},
            "u": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "e": "green", "dom": 5, "djb": "str", "iv": "1 day 02:00",
            "r": "[1,5)", "mx": [["a", "b"], [None, "c"]], "vs": "ab"}
    records = [
        dict(full, id=1),
        dict({k: None for k in full}, id=2),                    # nulls everywhere
        dict(full, id=3, t={"a": 1}, ta="{p,q}", b=False),      # an object into text: jsonb_to_recordset's way
        dict(full, id=4, t=[1, "two"], ia=[], na=None, jb=[1, 2], j="plain", djb={"n": None}),
        dict(full, id=5, n=7, nn="-12345678901234567890.123456789", i="17", dom="6", b="t"),
        dict(full, id=11, mx=["a", ["b"]]),                    # mixed depths: jsonb_to_recordset's way
        dict(full, id=12, vs="abc   "),                        # longer than 5: cut to "abc  " by the assignment
    ]
    poison = [
        (dict(full, id=6, v="toolong"), "value too long for type character varying(5)"),
        (dict(full, id=7, i="1.5"), "invalid input syntax for type integer"),
        (dict(full, id=8, dom=-1), "violates check constraint"),
        (dict(full, id=9, t="nul\u0000"), "unsupported Unicode escape sequence"),
        (dict(full, id=10, ia=[[1], [2, 3]]), "multidimensional arrays must have"),
    ]
    odd_records = [{"id": 1, "t": "x", "bt": "101", "pt": {"x": 1, "y": "a"}, "iv2": "3", "iv3": "1:30",
                    "rc": "1259", "bx": ["(1,1),(0,0)", "(2,2),(1,1)"]},
                   {"id": 2, "t": None, "bt": None, "pt": None, "iv2": None, "iv3": None, "rc": None, "bx": None}]
    messages = []
    # created and updated alternate: each record is a run of its own, which
    # takes the text arrays or jsonb_to_recordset by its own values
    for n, rec in enumerate(records + [p for p, _ in poison]):
        event = "v_value_created" if n % 2 == 0 else "v_value_updated"
        messages.append((f"VValue:{rec['id']}".encode(), msg(event, "VValue", rec)))
    for rec in odd_records:
        messages.append((f"VOdd:{rec['id']}".encode(), msg("v_odd_created", "VOdd", rec)))
    produce(cluster.bootstrap, "it_cons_values", messages)
    wait_offset(db, "it_cons_values", len(messages))
    sql(db, "SET TimeZone = 'UTC'")
    sql(db, "SET DateStyle = 'ISO, YMD'")

    def as_text(table, cols, recs):
        names = [c.split()[0] for c in re.split(r",(?![^(]*\))", cols)]
        expr = ", ".join(f"{n}::text" for n in names)
        got = sql(db, f"SELECT synced_id, {expr} FROM {table} ORDER BY synced_id")
        want = sql(db, f"SELECT id, {expr} FROM jsonb_to_recordset(%s::jsonb) AS r(id bigint, {cols}) ORDER BY id",
                   (json.dumps(recs),))
        return got, want

    got, want = as_text("cons_v_values", columns, records)
    assert got == want
    assert got[0][1] == "a\"b\\c\n\u00e9\U0001F600 {x,y}" and got[0][4] == "12.35" and got[0][9] == "{1.3,2.0}"
    got, want = as_text("cons_v_odd", odd, odd_records)
    assert got == want and got[0][2:] == ("101", "(1,a)", "3 days", "00:01:30", "pg_class",
                                          "{(1,1),(0,0);(2,2),(1,1)}")
    dead = dict(sql(db, "SELECT \"offset\", error_message FROM dionysus.dead_letters WHERE topic = 'it_cons_values'"))
    assert len(dead) == len(poison), dead
    for k, (_, why) in enumerate(poison):
        assert why.lower() in dead[len(records) + k].lower(), (k, dead)
    # the same records again: nothing changes, so no row is written (on either path)
    assert sql(db, "SELECT count(*) FROM cons_v_updates") == [(0,)]
    again = [(f"VValue:{rec['id']}".encode(), msg("v_value_updated" if n % 2 else "v_value_created", "VValue", rec))
             for n, rec in enumerate(records)]
    produce(cluster.bootstrap, "it_cons_values", again)
    wait_offset(db, "it_cons_values", len(messages) + len(again))
    assert sql(db, "SELECT count(*) FROM cons_v_updates") == [(0,)]
