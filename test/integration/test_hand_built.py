"""dionysus.enqueue and dionysus.tombstone reach Kafka: exact bytes, real null values, partitions."""
from conftest import sql, wait_drained, consume, topic_partitions, crc32_partition, header, worker_settings


def test_enqueue_and_tombstone_delivered(cluster, db):
    topic = "it_hand_rentals"
    sql(db, "CREATE TABLE hand_rentals (id bigint PRIMARY KEY, account_id bigint, name text)")
    sql(db, "SELECT dionysus.declare_topic('it_hand', 'rentals')")
    sql(db, "SELECT dionysus.publish('it_hand_rentals', 'hand_rentals', model_name => 'Rental')")
    sql(db, "SET dionysus.capture = off")  # only the hand-built messages below
    sql(db, "INSERT INTO hand_rentals VALUES (1, 7, 'Villa')")
    sql(db, "RESET dionysus.capture")
    # several ids in one _destroyed event, as dionysus-rb's "bypassing serializers"
    sql(db, """SELECT dionysus.enqueue('it_hand_rentals', 'Rental:1', '7',
               '{"message":[{"event":"rental_destroyed","model_name":"Rental",
                 "data":[{"links":{},"id":1},{"links":{},"id":2}]}]}')""")
    sql(db, "SELECT dionysus.tombstone('it_hand_rentals', 'hand_rentals', '1')")       # partition key 7 from the row
    sql(db, "SELECT dionysus.tombstone('it_hand_rentals', 'hand_rentals', '2', partition_key => '3')")
    wait_drained(db, timeout=30)

    n = topic_partitions(cluster.bootstrap, topic)
    msgs = consume(cluster.bootstrap, topic, 3, timeout=30, idle=1.0)
    assert len(msgs) == 3
    by_id = sorted(msgs, key=lambda m: int(header(m, "outbox_id")))
    enq, tomb1, tomb2 = by_id

    assert enq.key == b"Rental:1"
    # The envelope in dionysus-rb's key order; the records keep jsonb's key
    # order (jsonb sorts keys, shorter first).
    assert enq.value == (b'{"message":[{"event":"rental_destroyed","model_name":"Rental",'
                         b'"data":[{"id":1,"links":{}},{"id":2,"links":{}}]}]}')
    assert enq.partition == crc32_partition("7", n)
    assert header(enq, "event") == "rental_destroyed"

    assert tomb1.key == b"Rental:1"
    assert tomb1.value is None              # a real Kafka null: compaction removes the key
    assert tomb1.partition == crc32_partition("7", n)
    assert header(tomb1, "event") == "tombstone"

    assert tomb2.key == b"Rental:2"
    assert tomb2.value is None
    assert tomb2.partition == crc32_partition("3", n)


def test_hand_built_message_survives_drop_topic(cluster, db):
    """drop_topic does not throw pending hand-built messages away: they are
    delivered after the topic's declarations are gone."""
    with worker_settings(db, publishing_delay="3s"):  # hold it while we drop the topic
        sql(db, "SELECT dionysus.declare_topic('it_keep', 'notes')")
        sql(db, """SELECT dionysus.enqueue('it_keep_notes', 'Note:1', '1',
                   '{"message":[{"event":"note_destroyed","model_name":"Note","data":[{"links":{},"id":1}]}]}')""")
        sql(db, "SELECT dionysus.drop_topic('it_keep_notes')")
        wait_drained(db, timeout=30, topic="it_keep_notes")
    msgs = consume(cluster.bootstrap, "it_keep_notes", 1, timeout=20)
    assert [(m.key, m.value) for m in msgs] == [
        # records of hand-built messages keep jsonb's key order (README "enqueue")
        (b"Note:1", b'{"message":[{"event":"note_destroyed","model_name":"Note","data":[{"id":1,"links":{}}]}]}')]


def test_message_larger_than_the_broker_accepts_is_parked_at_once(cluster, db):
    """No retry makes a message smaller: MSG_SIZE_TOO_LARGE parks the row on
    its first failure, and the rows after it are delivered."""
    import time
    from conftest import scalar
    with worker_settings(db, kafka_properties="message.timeout.ms=3000;message.max.bytes=20000"):
        try:
            sql(db, "SELECT dionysus.declare_topic('it_big', 'notes')")
            big = '{"message":[{"event":"note_updated","model_name":"Note","data":[{"id":1,"body":"%s"}]}]}' % ("x" * 30000)
            sql(db, "SELECT dionysus.enqueue('it_big_notes', 'Note:1', '1', %s)", (big,))
            sql(db, """SELECT dionysus.enqueue('it_big_notes', 'Note:2', '2',
                       '{"message":[{"event":"note_updated","model_name":"Note","data":[{"id":2}]}]}')""")
            deadline = time.time() + 20
            while time.time() < deadline and not scalar(db, "SELECT count(*) FROM dionysus.parked WHERE topic = 'it_big_notes'"):
                time.sleep(0.2)
            assert sql(db, "SELECT message_key, attempts, error_class FROM dionysus.parked WHERE topic = 'it_big_notes'") == [
                ("Note:1", 1, "Kafka::MSG_SIZE_TOO_LARGE")]
            msgs = consume(cluster.bootstrap, "it_big_notes", 1, timeout=20)
            assert [m.key for m in msgs] == [b"Note:2"]
        finally:
            sql(db, "SELECT dionysus.drop_topic('it_big_notes', discard_pending => true)")


def test_failed_event_is_superseded_by_a_later_event_of_its_key(cluster, db):
    """Per key, Kafka never receives an event after a later one: when a later
    event of the same key is delivered while an earlier one failed (here: too
    large, parked at once), the earlier one is never sent; it is marked
    published as Dionysus::Superseded instead of waiting to be retried."""
    from conftest import scalar
    with worker_settings(db, kafka_properties="message.timeout.ms=3000;message.max.bytes=20000"):
        try:
            sql(db, "SELECT dionysus.declare_topic('it_later', 'notes')")
            big = '{"message":[{"event":"note_updated","model_name":"Note","data":[{"id":7,"body":"%s"}]}]}' % ("x" * 30000)
            small = '{"message":[{"event":"note_updated","model_name":"Note","data":[{"id":7}]}]}'
            # one transaction: both rows in the same batch
            sql(db, "SELECT dionysus.enqueue('it_later_notes', 'Note:7', '7', %s), "
                    "dionysus.enqueue('it_later_notes', 'Note:7', '7', %s)", (big, small))
            wait_drained(db, timeout=20, topic="it_later_notes")
            assert sql(db, "SELECT length(message::text) > 20000, error_class, parked_at IS NULL "
                           "FROM dionysus.outbox WHERE topic = 'it_later_notes' ORDER BY id") == [
                (True, "Dionysus::Superseded", True), (False, None, True)]
            assert scalar(db, "SELECT count(*) FROM dionysus.parked WHERE topic = 'it_later_notes'") == 0
            msgs = consume(cluster.bootstrap, "it_later_notes", 1, timeout=20, idle=1.0)
            assert [m.value for m in msgs] == [small.replace(" ", "").encode()]
        finally:
            sql(db, "SELECT dionysus.drop_topic('it_later_notes', discard_pending => true)")
