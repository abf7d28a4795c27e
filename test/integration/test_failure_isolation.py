"""A failure holds back only its own key: other keys of the topic keep
flowing, and per key Kafka never receives an event after a later event of
the same key, whatever fails (rendering, delivery), with several batches in
flight (batch_size 5: the worker keeps 4 batches in flight)."""
import json
import time

import pytest

from conftest import (FaultBroker, consume, crc32_partition, header, scalar, sql, wait_drained, wait_until,
                      worker_settings)


def assert_per_key_order(msgs):
    """Per key, outbox ids never go back (a redelivered duplicate may repeat one)."""
    last = {}
    for m in msgs:
        outbox_id = int(header(m, "outbox_id"))
        assert outbox_id >= last.get(m.key, 0), (
            f"{m.key}: outbox row {outbox_id} delivered after row {last[m.key]}")
        last[m.key] = outbox_id


def accounts_by_partition(partitions):
    """One account id (as the partition key renders it) per partition."""
    found = {}
    account = 1
    while len(found) < partitions:
        found.setdefault(crc32_partition(str(account), partitions), account)
        account += 1
    return found


def test_produce_errors_on_one_partition_hold_back_only_its_keys(cluster, db):
    topic = "it_iso_items"
    broker = FaultBroker(cluster.devbroker, [f"{topic}:3"])
    try:
        # partition p led by broker p+1: errors of broker 3 hit partition 2 alone
        for p in range(3):
            broker.command(f"leader {topic} {p} {p + 1}")
        account = accounts_by_partition(3)
        sql(db, "CREATE TABLE iso_items (id bigint PRIMARY KEY, account_id bigint, v int)")
        sql(db, "SELECT dionysus.declare_topic('it_iso', 'items')")
        sql(db, "SELECT dionysus.publish('it_iso_items', 'iso_items', model_name => 'Item')")
        with worker_settings(db, brokers=broker.bootstrap, batch_size="5"):
            # the worker's producer now talks to the fault broker
            sql(db, "INSERT INTO iso_items VALUES (1000, %s, 0)", (account[0],))
            wait_drained(db, timeout=20, topic=topic)
            # 1. Order under failures with 4 batches in flight: the first two
            # Produce requests of partition 2 fail, with later events of the
            # same keys in the batches in flight. One transaction,
            # 15 rows (5 per partition), then three updates of each: 60 outbox
            # rows, every batch of 5 holding rows of each partition.
            with worker_settings(db, max_retry_interval="2s"):  # quick retries for this part
                broker.command("produce-errors 3 2 POLICY_VIOLATION")
                cur = db.cursor()
                cur.execute("BEGIN")
                for i in range(15):
                    cur.execute("INSERT INTO iso_items VALUES (%s, %s, 0)", (i, account[i % 3]))
                for v in (1, 2, 3):
                    cur.execute("UPDATE iso_items SET v = %s WHERE id < 1000", (v,))
                cur.execute("COMMIT")
                wait_drained(db, timeout=30, topic=topic)
                # rows failed (then delivered at their retry, or superseded by a
                # later event of their key delivered first)
                assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND attempts > 0",
                              (topic,)) > 0

            time.sleep(0.5)  # the worker reloaded: retries after 10 s again

            # 2. Other keys flow while one waits: partition 2's keys change
            # first and fail (retry in 10 s), then the other keys change and
            # are delivered at once, before that retry.
            broker.command("produce-errors 3 1 POLICY_VIOLATION")
            sql(db, "UPDATE iso_items SET v = 4 WHERE account_id = %s", (account[2],))

            def waiting():
                return scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND published_at IS NULL "
                                  "AND error_class = 'Kafka::POLICY_VIOLATION'", (topic,))
            wait_until(lambda: waiting() > 0, 10, "partition 2's rows failed")
            sql(db, "UPDATE iso_items SET v = 4 WHERE account_id <> %s AND id < 1000", (account[2],))
            wait_until(lambda: scalar(db, """SELECT count(*) FROM dionysus.outbox o JOIN iso_items i
                                             ON i.id::text = o.resource_id WHERE o.topic = %s
                                             AND o.published_at IS NULL AND i.account_id <> %s""",
                                      (topic, account[2])) == 0,
                       5, "rows of partitions 0 and 1 delivered",
                       lambda: sql(db, """SELECT o.id, i.account_id, o.attempts, o.error_class, o.retry_at
                                          FROM dionysus.outbox o JOIN iso_items i ON i.id::text = o.resource_id
                                          WHERE o.topic = %s AND o.published_at IS NULL ORDER BY o.id""", (topic,)))
            assert waiting() > 0, "partition 2's rows no longer wait: the check proves nothing"

            wait_drained(db, timeout=30, topic=topic)
            msgs = consume(broker.bootstrap, topic, 16, timeout=20, idle=1.0)
        assert_per_key_order(msgs)
        # every key arrived, in its account's partition, with its last state
        # (snapshot at publish time)
        latest = {}
        for m in msgs:
            record = json.loads(m.value)["message"][0]["data"][0]
            assert m.partition == crc32_partition(str(record["account_id"]), 3)
            latest[m.key] = record["v"]
        assert latest == {**{f"Item:{i}".encode(): 4 for i in range(15)}, b"Item:1000": 0}
        # a row that failed was delivered later or superseded by its key's
        # later event: none is lost, none parked
        assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s "
                          "AND (published_at IS NULL OR parked_at IS NOT NULL)", (topic,)) == 0
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_iso_items', discard_pending => true)")
        broker.close()


def test_a_row_failing_to_render_holds_back_only_its_key(cluster, db):
    topic = "it_isorender_notes"
    sql(db, "CREATE TABLE isorender_notes (id bigint PRIMARY KEY, v int)")
    # (user functions run with search_path pg_catalog, pg_temp: names qualified)
    sql(db, "CREATE TABLE isorender_broken (id bigint PRIMARY KEY)")
    sql(db, """CREATE FUNCTION isorender_json(n isorender_notes) RETURNS jsonb LANGUAGE plpgsql AS $$
               BEGIN IF EXISTS (SELECT FROM public.isorender_broken b WHERE b.id = n.id) THEN
                       RAISE EXCEPTION 'cannot render note %', n.id; END IF;
                     RETURN jsonb_build_object('id', n.id, 'v', n.v); END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_isorender', 'notes')")
    sql(db, "SELECT dionysus.publish('it_isorender_notes', 'isorender_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('isorender_notes', function => 'isorender_json(isorender_notes)')")
    try:
        with worker_settings(db, batch_size="5"):
            sql(db, "INSERT INTO isorender_broken VALUES (7)")
            cur = db.cursor()
            cur.execute("BEGIN")
            for i in range(20):
                cur.execute("INSERT INTO isorender_notes VALUES (%s, 0)", (i,))
            for v in (1, 2):
                cur.execute("UPDATE isorender_notes SET v = %s", (v,))
            cur.execute("COMMIT")
            # every key but 7 delivered while 7 waits for its retry (10 s)
            wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s "
                                          "AND published_at IS NULL AND resource_id <> '7'", (topic,)) == 0,
                       8, "keys other than Note:7 delivered")
            assert sql(db, "SELECT count(*), min(attempts), max(error_class) FROM dionysus.outbox "
                           "WHERE topic = %s AND published_at IS NULL", (topic,)) == [
                (3, 0, "Dionysus::SerializationError")]
            sql(db, "DELETE FROM isorender_broken")
            wait_drained(db, timeout=30, topic=topic)
        msgs = consume(cluster.bootstrap, topic, 60, timeout=20, idle=1.0)
        assert_per_key_order(msgs)
        sevens = [(json.loads(m.value)["message"][0]["event"], header(m, "outbox_id"))
                  for m in msgs if m.key == b"Note:7"]
        assert [event for event, _ in sevens] == ["note_created", "note_updated", "note_updated"]
        assert len({m.key for m in msgs}) == 20
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_isorender_notes', discard_pending => true)")


def outbox_rows(db, topic, after_id, columns):
    return sql(db, f"SELECT {columns} FROM dionysus.outbox WHERE topic = %s AND id > %s ORDER BY id",
               (topic, after_id))


def test_a_has_one_fan_out_failing_to_render_is_split_by_key(cluster, db):
    """A has_one dependency change has no key of its own (its keys are those
    of the rows it fans out to). When one target fails to render, the change
    is split into a row per target: only the failing target's key waits.
    And a fan-out reaching a key that waits sends that key's message later,
    as a row queued behind the waiting one, and the others at once."""
    topic = "it_isofan_bookings"
    sql(db, "CREATE TABLE isofan_rentals (id bigint PRIMARY KEY, name text)")
    sql(db, "CREATE TABLE isofan_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES isofan_rentals)")
    sql(db, "CREATE TABLE isofan_broken (id bigint PRIMARY KEY)")
    sql(db, """CREATE FUNCTION isofan_json(b isofan_bookings) RETURNS jsonb LANGUAGE plpgsql AS $$
               BEGIN IF EXISTS (SELECT FROM public.isofan_broken x WHERE x.id = b.id) THEN
                       RAISE EXCEPTION 'cannot render booking %', b.id; END IF;
                     RETURN jsonb_build_object('id', b.id, 'rental',
                            (SELECT r.name FROM public.isofan_rentals r WHERE r.id = b.rental_id)); END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_isofan', 'bookings')")
    sql(db, """SELECT dionysus.publish('it_isofan_bookings', 'isofan_bookings', model_name => 'Booking',
               dependencies => ARRAY['isofan_rentals']::regclass[])""")
    sql(db, "SELECT dionysus.serializer('isofan_bookings', function => 'isofan_json(isofan_bookings)')")

    def fan_out_row():
        return scalar(db, "SELECT max(id) FROM dionysus.outbox WHERE topic = %s AND resource_column = 'rental_id'",
                      (topic,))

    def published(outbox_id):
        return scalar(db, "SELECT published_at IS NOT NULL FROM dionysus.outbox WHERE id = %s", (outbox_id,))

    try:
        sql(db, "INSERT INTO isofan_rentals VALUES (7, 'Villa'), (8, 'Flat')")
        sql(db, "INSERT INTO isofan_bookings VALUES (1, 7), (2, 7), (3, 8)")
        wait_drained(db, timeout=30, topic=topic)

        # 1. booking 2 fails to render: the rental's change is split by key
        sql(db, "INSERT INTO isofan_broken VALUES (2)")
        sql(db, "UPDATE isofan_rentals SET name = 'Villa 2' WHERE id = 7")
        first = fan_out_row()
        wait_until(lambda: published(first), 8, "the failed fan-out split")
        error_class, error_message = sql(db, "SELECT error_class, error_message FROM dionysus.outbox WHERE id = %s",
                                         (first,))[0]
        assert error_class == "Dionysus::FanOutSplit"
        assert "cannot render booking 2" in error_message and "split by key into 2 outbox rows" in error_message
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND id > %s "
                                      "AND published_at IS NOT NULL", (topic, first)) == 1,
                   5, "Booking:1's row delivered")
        assert outbox_rows(db, topic, first, "resource_id, resource_column::text, event_name, attempts, error_class, "
                                             "published_at IS NOT NULL") == [
            ("1", "id", "booking_updated", 0, None, True),
            ("2", "id", "booking_updated", 1, "Dionysus::SerializationError", False)]
        # the other keys of the topic flow while Booking:2 waits for its retry (10 s)
        sql(db, "INSERT INTO isofan_bookings VALUES (4, 8)")
        wait_until(lambda: scalar(db, "SELECT bool_and(published_at IS NOT NULL) FROM dionysus.outbox "
                                      "WHERE topic = %s AND resource_id = '4'", (topic,)), 5, "Booking:4 delivered")

        # 2. booking 2 renders again but its row still waits: a new fan-out
        # delivers Booking:1 at once and queues Booking:2 behind its row
        sql(db, "DELETE FROM isofan_broken")
        sql(db, "UPDATE isofan_rentals SET name = 'Villa 3' WHERE id = 7")
        second = fan_out_row()
        assert second > first
        wait_until(lambda: published(second), 5, "the second fan-out done")
        assert outbox_rows(db, topic, second, "resource_id, resource_column::text, attempts, "
                                              "published_at IS NOT NULL") == [("2", "id", 0, False)]
        assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND published_at IS NULL "
                          "AND error_class = 'Dionysus::SerializationError'", (topic,)) == 1, (
            "Booking:2's failed row no longer waits: the check proves nothing")

        wait_drained(db, timeout=30, topic=topic)
        msgs = consume(cluster.bootstrap, topic, 10, timeout=20, idle=1.0)
        assert_per_key_order(msgs)
        rentals = {}
        for m in msgs:
            rentals.setdefault(m.key.decode(), []).append(json.loads(m.value)["message"][0]["data"][0]["rental"])
        assert rentals == {"Booking:1": ["Villa", "Villa 2", "Villa 3"],
                           # its split rows, sent at its retry: snapshots of then
                           "Booking:2": ["Villa", "Villa 3", "Villa 3"],
                           "Booking:3": ["Flat"], "Booking:4": ["Flat"]}
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_isofan_bookings', discard_pending => true)")


def test_a_has_one_fan_out_failing_delivery_is_split_by_key(cluster, db):
    """The messages of a has_one fan-out whose delivery failed for some keys
    become rows of their own for those keys, carrying the failure: only
    those keys wait, the rest of the topic flows."""
    topic = "it_isofand_bookings"
    broker = FaultBroker(cluster.devbroker, [f"{topic}:3"])
    try:
        for p in range(3):
            broker.command(f"leader {topic} {p} {p + 1}")
        account = accounts_by_partition(3)
        sql(db, "CREATE TABLE isofand_rentals (id bigint PRIMARY KEY, name text)")
        sql(db, """CREATE TABLE isofand_bookings (id bigint PRIMARY KEY, account_id bigint,
                   rental_id bigint REFERENCES isofand_rentals, v int DEFAULT 0)""")
        sql(db, "SELECT dionysus.declare_topic('it_isofand', 'bookings')")
        sql(db, """SELECT dionysus.publish('it_isofand_bookings', 'isofand_bookings', model_name => 'Booking',
                   dependencies => ARRAY['isofand_rentals']::regclass[])""")
        with worker_settings(db, brokers=broker.bootstrap):
            sql(db, "INSERT INTO isofand_rentals VALUES (7, 'Villa')")
            # booking p in partition p
            sql(db, "INSERT INTO isofand_bookings (id, account_id, rental_id) VALUES (0, %s, 7), (1, %s, 7), "
                    "(2, %s, 7)", (account[0], account[1], account[2]))
            wait_drained(db, timeout=20, topic=topic)
            broker.command("produce-errors 3 1 POLICY_VIOLATION")  # partition 2's next Produce fails
            sql(db, "UPDATE isofand_rentals SET name = 'Villa 2' WHERE id = 7")
            fan_out = scalar(db, "SELECT max(id) FROM dionysus.outbox WHERE topic = %s AND resource_column IS NOT NULL",
                             (topic,))
            wait_until(lambda: scalar(db, "SELECT published_at IS NOT NULL FROM dionysus.outbox WHERE id = %s",
                                      (fan_out,)), 8, "the fan-out done")
            assert sql(db, "SELECT error_class, error_message FROM dionysus.outbox WHERE id = %s", (fan_out,)) == [
                ("Dionysus::FanOutSplit",
                 f"failed (Kafka::POLICY_VIOLATION): split by key into 1 outbox row {fan_out + 1}")]
            assert outbox_rows(db, topic, fan_out, "resource_id, resource_column::text, attempts, error_class, "
                                                   "published_at IS NULL") == [
                ("2", "id", 1, "Kafka::POLICY_VIOLATION", True)]
            # the other keys flow while Booking:2 waits for its retry (10 s)
            sql(db, "UPDATE isofand_bookings SET v = 1 WHERE id IN (0, 1)")
            wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s "
                                          "AND published_at IS NULL", (topic,)) == 1, 5, "Booking:0 and 1 delivered")
            wait_drained(db, timeout=30, topic=topic)
            msgs = consume(broker.bootstrap, topic, 8, timeout=20, idle=1.0)
        assert_per_key_order(msgs)
        names = {}
        for m in msgs:
            record = json.loads(m.value)["message"][0]["data"][0]
            assert m.partition == int(m.key.decode().split(":")[1])
            names.setdefault(m.key.decode(), []).append((record["rental"]["name"], record["v"]))
        assert names == {"Booking:0": [("Villa", 0), ("Villa 2", 0), ("Villa 2", 1)],
                         "Booking:1": [("Villa", 0), ("Villa 2", 0), ("Villa 2", 1)],
                         "Booking:2": [("Villa", 0), ("Villa 2", 0)]}
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_isofand_bookings', discard_pending => true)")
        broker.close()


def test_other_keys_flow_behind_a_large_backlog_of_a_waiting_key(cluster, db):
    """A key that waits for its retry with a large backlog of later rows
    (here 150,000) does not starve the rows of other keys behind them: the
    worker skips the waiting rows and delivers the others at once."""
    topic = "it_isobig_notes"
    sql(db, "CREATE TABLE isobig_notes (id bigint PRIMARY KEY, v int)")
    sql(db, """CREATE FUNCTION isobig_json(n isobig_notes) RETURNS jsonb LANGUAGE plpgsql AS $$
               BEGIN IF n.v < 0 THEN RAISE EXCEPTION 'cannot render note %', n.id; END IF;
                     RETURN jsonb_build_object('id', n.id, 'v', n.v); END $$""")
    sql(db, "SELECT dionysus.declare_topic('it_isobig', 'notes')")
    sql(db, "SELECT dionysus.publish('it_isobig_notes', 'isobig_notes', model_name => 'Note')")
    sql(db, "SELECT dionysus.serializer('isobig_notes', function => 'isobig_json(isobig_notes)')")
    try:
        sql(db, "INSERT INTO isobig_notes VALUES (1, -1)")
        wait_until(lambda: scalar(db, "SELECT attempts FROM dionysus.outbox WHERE topic = %s", (topic,)) == 1,
                   10, "Note:1 failed")
        # later events of Note:1 (hand-built: cheap to write), all waiting behind it
        sql(db, """SELECT count(dionysus.enqueue('it_isobig_notes', 'Note:1', NULL,
                   '{"message":[{"event":"note_updated","model_name":"Note","data":[{"id":1}]}]}'))
                   FROM generate_series(1, 150000)""")
        sql(db, "INSERT INTO isobig_notes VALUES (2, 0)")
        wait_until(lambda: scalar(db, "SELECT published_at IS NOT NULL FROM dionysus.outbox "
                                      "WHERE topic = %s AND resource_id = '2'", (topic,)),
                   6, "Note:2 delivered while Note:1 waits")
        assert scalar(db, "SELECT published_at IS NULL FROM dionysus.outbox WHERE topic = %s "
                          "AND resource_id = '1' AND message_key IS NULL", (topic,)), "Note:1 no longer waits"
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_isobig_notes', discard_pending => true)")
