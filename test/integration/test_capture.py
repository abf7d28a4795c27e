"""Capture rules as seen on Kafka (README "What a change becomes"): soft delete, restore, no-op
updates, publish_updates_after_soft_delete, dionysus.capture = off."""
import json

from conftest import sql, scalar, wait_drained, consume, header


def events_of(msgs, key):
    return [json.loads(m.value)["message"][0]["event"] for m in msgs if m.key == key]


def record_of(msg):
    return json.loads(msg.value)["message"][0]["data"][0]


def test_soft_delete_restore_noop_sequence(cluster, db):
    sql(db, """CREATE TABLE soft_rentals (id bigserial PRIMARY KEY, account_id bigint,
                                         name text, canceled_at timestamptz)""")
    sql(db, "SELECT dionysus.declare_topic('it_soft', 'rentals')")
    sql(db, "SELECT dionysus.publish('it_soft_rentals', 'soft_rentals', model_name => 'Rental')")

    steps = [
        ("INSERT INTO soft_rentals VALUES (1, 3, 'a', NULL)", ["rental_created"]),
        ("UPDATE soft_rentals SET name = 'b' WHERE id = 1", ["rental_updated"]),
        ("UPDATE soft_rentals SET name = 'b' WHERE id = 1", []),                 # no-op
        ("UPDATE soft_rentals SET name = name, account_id = 3 WHERE id = 1", []),  # no-op
        ("UPDATE soft_rentals SET canceled_at = '2024-05-01 10:00:00+00' WHERE id = 1",
         ["rental_destroyed"]),                                                   # soft delete
        ("UPDATE soft_rentals SET name = 'c' WHERE id = 1", []),                 # while deleted
        ("UPDATE soft_rentals SET canceled_at = '2024-05-02 10:00:00+00' WHERE id = 1",
         ["rental_destroyed"]),                                                   # still deleted
        ("UPDATE soft_rentals SET canceled_at = NULL WHERE id = 1", ["rental_created"]),  # restore
        ("UPDATE soft_rentals SET name = 'd' WHERE id = 1", ["rental_updated"]),
        ("DELETE FROM soft_rentals WHERE id = 1", ["rental_destroyed"]),
    ]
    expected = []
    snapshots = []   # (event, canceled_at, name) expected per message, published step by step
    for stmt, evs in steps:
        sql(db, stmt)
        wait_drained(db)
        expected += evs
        row = sql(db, "SELECT name, to_char(canceled_at AT TIME ZONE 'UTC', "
                      "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM soft_rentals WHERE id = 1")
        for e in evs:
            snapshots.append((e, row[0] if row else None))

    outbox_events = [r[0] for r in sql(db, "SELECT event_name FROM dionysus.outbox "
                                           "WHERE topic = 'it_soft_rentals' ORDER BY id")]
    assert outbox_events == expected

    msgs = consume(cluster.bootstrap, "it_soft_rentals", len(expected), idle=1.0)
    assert events_of(msgs, b"Rental:1") == expected
    # Each message carries the row's state when it was published (we waited
    # for the drain after every step): soft-deleted rows render their full
    # snapshot with canceled_at set, a hard-deleted row the deleted-record form.
    for m, (event, row) in zip(msgs, snapshots):
        rec = record_of(m)
        assert header(m, "event") == event
        if row is None:
            assert rec == {"links": {}, "id": 1}
        else:
            assert rec["id"] == 1
            assert rec["name"] == row[0]
            assert rec["canceled_at"] == row[1]
            assert rec["account_id"] == 3


def test_publish_updates_after_soft_delete(cluster, db):
    sql(db, """CREATE TABLE softpub_rentals (id bigserial PRIMARY KEY, name text,
                                            canceled_at timestamptz)""")
    sql(db, "SELECT dionysus.declare_topic('it_softpub', 'rentals')")
    sql(db, "SELECT dionysus.publish('it_softpub_rentals', 'softpub_rentals', "
            "model_name => 'Rental', publish_updates_after_soft_delete => true)")
    sql(db, "INSERT INTO softpub_rentals VALUES (1, 'a', NULL)")
    sql(db, "UPDATE softpub_rentals SET canceled_at = now() WHERE id = 1")
    sql(db, "UPDATE softpub_rentals SET name = 'b' WHERE id = 1")
    sql(db, "UPDATE softpub_rentals SET name = 'b' WHERE id = 1")   # no-op
    wait_drained(db)
    expected = ["rental_created", "rental_destroyed", "rental_updated"]
    assert [r[0] for r in sql(db, "SELECT event_name FROM dionysus.outbox WHERE topic = "
                                  "'it_softpub_rentals' ORDER BY id")] == expected
    msgs = consume(cluster.bootstrap, "it_softpub_rentals", 3, idle=1.0)
    assert events_of(msgs, b"Rental:1") == expected
    # the update of the soft-deleted row renders its full snapshot
    last = record_of(msgs[-1])
    assert last["name"] == "b" and last["canceled_at"] is not None


def test_capture_off_writes_no_outbox_rows(cluster, db):
    sql(db, "CREATE TABLE capture_items (id bigserial PRIMARY KEY, v int)")
    sql(db, "SELECT dionysus.declare_topic('it_capture', 'items')")
    sql(db, "SELECT dionysus.publish('it_capture_items', 'capture_items', model_name => 'Item')")
    sql(db, "SET dionysus.capture = off")
    sql(db, "INSERT INTO capture_items SELECT g, g FROM generate_series(1, 10) g")
    sql(db, "UPDATE capture_items SET v = v + 1")
    sql(db, "DELETE FROM capture_items WHERE id > 5")
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_capture_items'") == 0
    sql(db, "RESET dionysus.capture")
    sql(db, "INSERT INTO capture_items VALUES (100, 1)")
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_capture_items'") == 1
    wait_drained(db)
    msgs = consume(cluster.bootstrap, "it_capture_items", 1, idle=1.0)
    assert [m.key for m in msgs] == [b"Item:100"]


def test_rolled_back_changes_are_not_published(cluster, db):
    sql(db, "CREATE TABLE wake_items (id bigserial PRIMARY KEY, v int)")
    sql(db, "SELECT dionysus.declare_topic('it_wake', 'items')")
    sql(db, "SELECT dionysus.publish('it_wake_items', 'wake_items', model_name => 'Item')")
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute("INSERT INTO wake_items VALUES (1, 1)")
    db.rollback()
    with db.cursor() as cur:
        cur.execute("INSERT INTO wake_items VALUES (2, 2)")
    db.commit()
    db.autocommit = True
    wait_drained(db)
    msgs = consume(cluster.bootstrap, "it_wake_items", 1, idle=1.0)
    assert [m.key for m in msgs] == [b"Item:2"]


def test_writers_cannot_switch_capture_off_at_connection(cluster, db):
    """dionysus.capture is superuser-only: an application role cannot turn it
    off through connection options (PGOPTIONS) any more than with SET; a
    superuser can, and so can a role granted SET ON PARAMETER."""
    import psycopg2
    import pytest
    sql(db, "CREATE ROLE it_capture_app LOGIN")
    sql(db, "CREATE TABLE switch_items (id bigint PRIMARY KEY)")
    sql(db, "GRANT INSERT ON switch_items TO it_capture_app")
    sql(db, "SELECT dionysus.declare_topic('it_switch', 'items')")
    sql(db, "SELECT dionysus.publish('it_switch_items', 'switch_items', model_name => 'Item')")
    connect = dict(host="127.0.0.1", port=cluster.port, dbname=db.info.dbname)

    with pytest.raises(psycopg2.Error, match="permission denied to set parameter"):
        psycopg2.connect(user="it_capture_app", options="-c dionysus.capture=off", **connect)

    app = psycopg2.connect(user="it_capture_app", **connect)
    app.autocommit = True
    with pytest.raises(psycopg2.Error, match="permission denied to set parameter"):
        sql(app, "SET dionysus.capture = off")
    sql(app, "INSERT INTO switch_items VALUES (1)")
    app.close()

    admin = psycopg2.connect(user="postgres", options="-c dionysus.capture=off", **connect)
    admin.autocommit = True
    sql(admin, "INSERT INTO switch_items VALUES (2)")
    admin.close()

    sql(db, "GRANT SET ON PARAMETER dionysus.capture TO it_capture_app")
    granted = psycopg2.connect(user="it_capture_app", options="-c dionysus.capture=off", **connect)
    granted.autocommit = True
    sql(granted, "INSERT INTO switch_items VALUES (3)")
    granted.close()

    captured = [r[0] for r in sql(db, "SELECT resource_id FROM dionysus.outbox WHERE topic = 'it_switch_items' "
                                      "ORDER BY id")]
    assert captured == ["1"]
    sql(db, "SELECT dionysus.drop_topic('it_switch_items')")
    sql(db, "DROP TABLE switch_items")
    sql(db, "REVOKE SET ON PARAMETER dionysus.capture FROM it_capture_app")
    sql(db, "DROP OWNED BY it_capture_app")
    sql(db, "DROP ROLE it_capture_app")
