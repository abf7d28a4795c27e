"""dionysus.observe: a change of an observed attribute republishes the
related model rows as <model>_updated, each with its own key, partition and
current snapshot (soft-deleted rows included), through a foreign key or an
association query; other changes of the observed table publish nothing."""
import json

from conftest import sql, wait_drained, consume, crc32_partition, header, topic_partitions


def test_observed_attribute_republishes_the_related_rows(cluster, db):
    sql(db, "CREATE TABLE obs_accounts (id bigint PRIMARY KEY, name text, default_check_in text)")
    sql(db, """CREATE TABLE obs_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES obs_accounts,
               check_in text, canceled_at timestamptz)""")
    sql(db, "CREATE TABLE obs_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES obs_rentals)")
    # a Rental's check-in time falls back to its Account's (dionysus-rb's observer example)
    sql(db, """CREATE FUNCTION obs_rental_json(r obs_rentals) RETURNS jsonb LANGUAGE sql AS $$
               SELECT pg_catalog.jsonb_build_object('id', r.id, 'canceled', r.canceled_at IS NOT NULL,
                 'check_in', COALESCE(r.check_in, (SELECT a.default_check_in FROM public.obs_accounts a
                                                   WHERE a.id OPERATOR(pg_catalog.=) r.account_id))) $$""")
    sql(db, "SELECT dionysus.declare_topic('it_obs', 'rentals', partition_key => 'account_id')")
    sql(db, "SELECT dionysus.publish('it_obs_rentals', 'obs_rentals', model_name => 'Rental')")
    sql(db, "SELECT dionysus.serializer('obs_rentals', function => 'obs_rental_json(obs_rentals)')")
    sql(db, "SELECT dionysus.observe('it_obs_rentals', 'obs_rentals', 'obs_accounts', ARRAY['default_check_in'], "
            "'account_id')")
    sql(db, "SELECT dionysus.declare_topic('it_obs', 'bookings')")
    sql(db, "SELECT dionysus.publish('it_obs_bookings', 'obs_bookings', model_name => 'Booking')")
    sql(db, """SELECT dionysus.observe('it_obs_bookings', 'obs_bookings', 'obs_accounts', ARRAY['name'],
               'SELECT b.id FROM public.obs_bookings b JOIN public.obs_rentals r
                  ON r.id OPERATOR(pg_catalog.=) b.rental_id WHERE r.account_id OPERATOR(pg_catalog.=) $1')""")
    try:
        sql(db, "SET dionysus.capture = off")  # the rows as they are: only the changes below publish
        sql(db, "INSERT INTO obs_accounts VALUES (1, 'Acme', '16:00'), (2, 'Hooli', '17:00')")
        sql(db, """INSERT INTO obs_rentals VALUES (1, 1, NULL, NULL), (2, 1, '12:00', NULL),
                   (3, 1, NULL, now()), (4, 2, NULL, NULL)""")
        sql(db, "INSERT INTO obs_bookings VALUES (10, 1), (11, 3), (12, 4)")
        sql(db, "RESET dionysus.capture")

        sql(db, "UPDATE obs_accounts SET default_check_in = '15:00' WHERE id = 1")  # rentals of account 1
        sql(db, "UPDATE obs_accounts SET name = 'Acme Inc' WHERE id = 1")           # bookings of account 1
        sql(db, "UPDATE obs_accounts SET default_check_in = '17:00' WHERE id = 2")  # same value: nothing
        assert sql(db, "SELECT count(*) FROM dionysus.outbox WHERE observer IS NOT NULL "
                       "AND topic IN ('it_obs_rentals', 'it_obs_bookings')") == [(2,)]
        wait_drained(db, timeout=30)

        rentals = consume(cluster.bootstrap, "it_obs_rentals", 3, timeout=20, idle=1.0)
        n = topic_partitions(cluster.bootstrap, "it_obs_rentals")
        assert sorted((m.key, m.value) for m in rentals) == [
            (b"Rental:1", b'{"message":[{"event":"rental_updated","model_name":"Rental","data":'
                          b'[{"id":1,"canceled":false,"check_in":"15:00"}]}]}'),
            (b"Rental:2", b'{"message":[{"event":"rental_updated","model_name":"Rental","data":'
                          b'[{"id":2,"canceled":false,"check_in":"12:00"}]}]}'),
            # soft-deleted rows are republished too
            (b"Rental:3", b'{"message":[{"event":"rental_updated","model_name":"Rental","data":'
                          b'[{"id":3,"canceled":true,"check_in":"15:00"}]}]}')]
        assert all(m.partition == crc32_partition("1", n) for m in rentals)
        assert {header(m, "event") for m in rentals} == {"rental_updated"}

        bookings = consume(cluster.bootstrap, "it_obs_bookings", 2, timeout=20, idle=1.0)
        assert sorted(m.key for m in bookings) == [b"Booking:10", b"Booking:11"]
        assert {json.loads(m.value)["message"][0]["event"] for m in bookings} == {"booking_updated"}
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_obs_rentals', discard_pending => true)")
        sql(db, "SELECT dionysus.drop_topic('it_obs_bookings', discard_pending => true)")
        sql(db, "DROP FUNCTION obs_rental_json(obs_rentals)")
        sql(db, "DROP TABLE obs_bookings, obs_rentals, obs_accounts")


def test_a_large_fan_out_is_streamed_as_rows_of_its_own(cluster, db):
    """Above dionysus.observers_inline_maximum_size related rows, an observed
    change is not rendered in one batch: it is replaced by one keyed outbox
    row per related row, drained a batch at a time like any rows."""
    from conftest import worker_settings
    sql(db, "CREATE TABLE big_accounts (id bigint PRIMARY KEY, plan text)")
    sql(db, "CREATE TABLE big_rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES big_accounts)")
    sql(db, "SELECT dionysus.declare_topic('it_big', 'rentals', partition_key => 'account_id')")
    sql(db, "SELECT dionysus.publish('it_big_rentals', 'big_rentals', model_name => 'Rental')")
    sql(db, "SELECT dionysus.observe('it_big_rentals', 'big_rentals', 'big_accounts', ARRAY['plan'], 'account_id')")
    try:
        sql(db, "SET dionysus.capture = off")
        sql(db, "INSERT INTO big_accounts VALUES (1, 'basic'), (2, 'basic')")
        sql(db, "INSERT INTO big_rentals SELECT g, 1 FROM generate_series(1, 1500) g")
        sql(db, "INSERT INTO big_rentals SELECT g, 2 FROM generate_series(1501, 1550) g")
        sql(db, "RESET dionysus.capture")
        with worker_settings(db, observers_inline_maximum_size="100"):
            sql(db, "UPDATE big_accounts SET plan = 'pro'")  # 1500 rentals of account 1, 50 of account 2
            wait_drained(db, timeout=60, topic="it_big_rentals")
        # account 1's change streamed: 1500 keyed rows; account 2's (50) rendered inline
        assert sql(db, """SELECT r.account_id, count(*) FROM dionysus.outbox s
                          JOIN big_rentals r ON r.id::text = s.resource_id
                          WHERE s.topic = 'it_big_rentals' AND s.observer IS NOT NULL AND s.resource_column = 'id'
                          GROUP BY 1 ORDER BY 1""") == [(1, 1500)]
        assert sql(db, """SELECT resource_id, published_at IS NOT NULL FROM dionysus.outbox
                          WHERE topic = 'it_big_rentals' AND resource_column = 'account_id' ORDER BY 1""") == [
            ("1", True), ("2", True)]
        msgs = consume(cluster.bootstrap, "it_big_rentals", 1550, timeout=60, idle=1.0)
        assert len({m.key for m in msgs}) == 1550
        assert {json.loads(m.value)["message"][0]["event"] for m in msgs} == {"rental_updated"}
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_big_rentals', discard_pending => true)")
        sql(db, "DROP TABLE big_rentals, big_accounts")
