"""A topic declared with genesis_replica => true: every event also goes to
<topic>_genesis with the same key, partition, value and headers — a model's
own events, has_many and has_one dependency fan-out, observed changes,
hand-built messages and tombstones (README "Wire format")."""
import json

from conftest import sql, wait_drained, consume, crc32_partition, topic_partitions


def test_every_event_goes_to_the_replica_too(cluster, db):
    topic = "it_replica_bookings"
    sql(db, "CREATE TABLE replica_rentals (id bigint PRIMARY KEY, name text)")
    sql(db, "CREATE TABLE replica_accounts (id bigint PRIMARY KEY, name text)")
    sql(db, """CREATE TABLE replica_bookings (id bigint PRIMARY KEY, account_id bigint REFERENCES replica_accounts,
               rental_id bigint REFERENCES replica_rentals)""")
    sql(db, """CREATE TABLE replica_fees (id bigint PRIMARY KEY,
               replica_booking_id bigint REFERENCES replica_bookings, amount numeric)""")
    assert sql(db, "SELECT dionysus.declare_topic('it_replica', 'bookings', genesis_replica => true)") == [(topic,)]
    sql(db, """SELECT dionysus.publish('it_replica_bookings', 'replica_bookings', model_name => 'Booking',
               dependencies => ARRAY['replica_fees', 'replica_rentals']::regclass[])""")
    sql(db, "SELECT dionysus.observe('it_replica_bookings', 'replica_bookings', 'replica_accounts', ARRAY['name'], "
            "'account_id')")
    try:
        sql(db, "SET dionysus.capture = off")
        sql(db, "INSERT INTO replica_accounts VALUES (10, 'Acme'), (11, 'Hooli')")
        sql(db, "RESET dionysus.capture")
        sql(db, "INSERT INTO replica_rentals VALUES (7, 'Villa')")
        sql(db, "INSERT INTO replica_bookings VALUES (1, 10, 7), (2, 11, 7)")          # own events
        sql(db, "INSERT INTO replica_fees VALUES (1, 1, 50)")                         # has_many
        sql(db, "UPDATE replica_rentals SET name = 'Flat' WHERE id = 7")              # has_one fan-out
        sql(db, "UPDATE replica_accounts SET name = 'Acme Inc' WHERE id = 10")        # observed change
        sql(db, """SELECT dionysus.enqueue('it_replica_bookings', 'Booking:9', '12',
                   '{"message":[{"event":"booking_destroyed","model_name":"Booking","data":[{"id":9,"links":{}}]}]}')""")
        sql(db, "SELECT dionysus.tombstone('it_replica_bookings', 'replica_bookings', '2')")
        wait_drained(db, timeout=30, topic=topic)
        main = consume(cluster.bootstrap, topic, 8, timeout=30, idle=1.0)
        replica = consume(cluster.bootstrap, topic + "_genesis", 8, timeout=30, idle=1.0)

        def seen(msgs):
            return sorted(((m.key, m.partition, m.value or b"", m.value is None, sorted(m.headers)) for m in msgs),
                          key=repr)
        assert len(main) == 8
        assert seen(replica) == seen(main)
        # what the eight are: each kind of event once
        events = sorted(((m.key, json.loads(m.value)["message"][0]["event"] if m.value else None) for m in main),
                        key=repr)
        assert events == sorted([(b"Booking:1", "booking_created"), (b"Booking:1", "booking_updated"),
                                 (b"Booking:1", "booking_updated"), (b"Booking:1", "booking_updated"),
                                 (b"Booking:2", None),
                                 (b"Booking:2", "booking_created"), (b"Booking:2", "booking_updated"),
                                 (b"Booking:9", "booking_destroyed")], key=repr)
        n = topic_partitions(cluster.bootstrap, topic)
        assert topic_partitions(cluster.bootstrap, topic + "_genesis") == n
        for m in main:
            if m.key == b"Booking:1":
                assert m.partition == crc32_partition("10", n)
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_replica_bookings', discard_pending => true)")
        sql(db, "DROP TABLE replica_fees, replica_bookings, replica_rentals, replica_accounts")
