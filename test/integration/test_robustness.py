"""Publisher worker guarantees (README "The publisher worker"): broker outages, kill -9, late
commits, Postgres restarts, SIGTERM. These tests disturb the shared cluster,
so conftest.py runs them after the others."""
import datetime
import json
import os
import signal
import time

import pytest

from conftest import (declare_items, sql, scalar, wait_drained, pending_count, consume, header,
                      wait_until, worker_settings, Cluster)

pytestmark = pytest.mark.disruptive


def outbox_ids(conn, topic):
    return {r[0] for r in sql(conn, "SELECT id FROM dionysus.outbox WHERE topic = %s", (topic,))}


def test_broker_outage_failures_recorded_then_delivered_in_order(cluster, db):
    sql(db, "CREATE TABLE fault_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_fault", "fault_items")
    sql(db, "INSERT INTO fault_items SELECT g, g % 3, 0 FROM generate_series(1, 10) g")
    wait_drained(db)

    cluster.broker_down()
    try:
        for c in range(1, 6):
            t0 = time.time()
            sql(db, "UPDATE fault_items SET counter = %s", (c,))
            # a broker outage never holds a transaction open
            assert time.time() - t0 < 2.0
        # deliveries time out after message.timeout.ms=3000 and are recorded as failures
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s "
                                      "AND failed_at IS NOT NULL", (topic,)),
                   40, "failed outbox rows while the broker is down")
        assert pending_count(db, topic) == 50   # nothing is marked published while down
        rows = sql(db, "SELECT attempts, failed_at, retry_at, error_class, error_message "
                       "FROM dionysus.outbox WHERE topic = %s AND failed_at IS NOT NULL", (topic,))
        for attempts, failed_at, retry_at, error_class, error_message in rows:
            assert attempts >= 1
            assert retry_at is not None and retry_at > failed_at
            assert error_class and error_message
    finally:
        cluster.broker_up()

    wait_drained(db, timeout=90, topic=topic)
    ids = outbox_ids(db, topic)
    assert len(ids) == 60
    msgs = consume(cluster.bootstrap, topic, 60, timeout=30, idle=1.0)
    assert ids <= {int(header(m, "outbox_id")) for m in msgs}
    per_key = {}
    for m in msgs:   # consume() keeps per-partition order, and a key has one partition
        per_key.setdefault(m.key, []).append(json.loads(m.value)["message"][0]["data"][0]["counter"])
    assert set(per_key) == {f"Item:{i}".encode() for i in range(1, 11)}
    for key, counters in per_key.items():
        assert counters == sorted(counters), (key, counters)
        assert counters[0] == 0 and counters[-1] == 5, (key, counters)


def test_kill9_worker_mid_drain_loses_nothing(cluster, db):
    total = 20000
    sql(db, "CREATE TABLE kill_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_kill", "kill_items")
    pid = cluster.wait_worker()
    sql(db, "INSERT INTO kill_items SELECT g, g %% 101, g FROM generate_series(1, %s) g", (total,))
    ids = outbox_ids(db, topic)
    assert len(ids) == total
    # let the drain get under way, then kill the worker in the middle of it
    wait_until(lambda: pending_count(db, topic) < total, 30, "the drain to start")
    pending_at_kill = pending_count(db, topic)
    os.kill(pid, signal.SIGKILL)
    assert 0 < pending_at_kill < total, "drain finished before the kill; test premise not met"
    db.close()   # the postmaster resets every backend after a crashed child

    # a new worker means the postmaster finished its crash-restart cycle
    cluster.wait_worker(timeout=60, not_pid=pid)
    conn = cluster.connect(timeout=60)
    try:
        wait_drained(conn, timeout=120, topic=topic)
        assert pending_count(conn, topic) == 0
        msgs = consume(cluster.bootstrap, topic, total, timeout=60)
        delivered = {int(header(m, "outbox_id")) for m in msgs}
        missing = ids - delivered
        assert not missing, f"{len(missing)} outbox ids never delivered, e.g. {sorted(missing)[:5]}"
    finally:
        conn.close()


def test_late_committing_transaction_is_delivered(cluster, db):
    sql(db, "CREATE TABLE late_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_late", "late_items")
    a = cluster.connect()
    try:
        a.autocommit = False
        with a.cursor() as cur:   # txn A: gets the lower outbox id, stays open
            cur.execute("INSERT INTO late_items VALUES (1, 1, 1)")
            cur.execute("SELECT id FROM dionysus.outbox WHERE topic = %s", (topic,))
            a_id = cur.fetchone()[0]
        sql(db, "INSERT INTO late_items VALUES (2, 2, 2)")   # txn B commits
        b_id = scalar(db, "SELECT id FROM dionysus.outbox WHERE topic = %s", (topic,))
        assert a_id < b_id
        wait_until(lambda: scalar(db, "SELECT published_at IS NOT NULL FROM dionysus.outbox "
                                      "WHERE id = %s", (b_id,)), 20, "B's row to be published")
        time.sleep(1.0)   # let the worker move on past B
        a.commit()
    finally:
        a.close()
    wait_drained(db, topic=topic)
    msgs = consume(cluster.bootstrap, topic, 2, idle=1.0)
    assert sorted(m.key for m in msgs) == [b"Item:1", b"Item:2"]
    assert {int(header(m, "outbox_id")) for m in msgs} == {a_id, b_id}


def test_pending_rows_delivered_after_postgres_restart(cluster, db):
    sql(db, "CREATE TABLE restart_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_restart", "restart_items")
    cluster.broker_down()
    try:
        sql(db, "INSERT INTO restart_items SELECT g, g % 7, g FROM generate_series(1, 500) g")
        time.sleep(0.5)
        assert pending_count(db, topic) == 500
        db.close()
        cluster.restart()
    finally:
        cluster.broker_up()
    conn = cluster.connect()
    try:
        cluster.wait_worker(timeout=30)
        wait_drained(conn, timeout=90, topic=topic)
        ids = outbox_ids(conn, topic)
        assert len(ids) == 500
        msgs = consume(cluster.bootstrap, topic, 500, timeout=30)
        assert ids <= {int(header(m, "outbox_id")) for m in msgs}
    finally:
        conn.close()


def test_sigterm_worker_exits_cleanly_and_restarts(cluster, db):
    sql(db, "CREATE TABLE term_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_term", "term_items")
    pid = cluster.wait_worker()
    log_start = len(cluster.log_text())
    os.kill(pid, signal.SIGTERM)
    new_pid = cluster.wait_worker(timeout=60, not_pid=pid)
    assert new_pid != pid
    log = cluster.log_text()[log_start:]
    assert f"({pid}) was terminated by signal" not in log
    assert not Cluster.crash_lines(log), Cluster.crash_lines(log)
    # a clean exit does not make the postmaster reset the other backends
    assert scalar(db, "SELECT 1") == 1
    # and the new worker publishes
    sql(db, "INSERT INTO term_items VALUES (1, 1, 1)")
    wait_drained(db, topic=topic)
    msgs = consume(cluster.bootstrap, topic, 1, idle=0.5)
    assert [m.key for m in msgs] == [b"Item:1"]


def test_dependency_events_survive_a_broker_outage(cluster, db):
    """Dependency changes (has_many and a has_one fan-out to many bookings)
    made while the broker is down: the first ones are recorded as failures
    (the rest of the topic waits: the cluster is unreachable), then every
    booking they belong to is delivered, in per-key order, ending in its last
    state."""
    sql(db, "CREATE TABLE depf_rentals (id bigint PRIMARY KEY, name text)")
    sql(db, """CREATE TABLE depf_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES depf_rentals,
               account_id bigint)""")
    sql(db, """CREATE TABLE depf_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES depf_bookings,
               amount int NOT NULL)""")
    topic = scalar(db, "SELECT dionysus.declare_topic('it_depfault', 'bookings', partition_key => 'account_id')")
    sql(db, """SELECT dionysus.publish(%s, 'depf_bookings', model_name => 'Booking',
               dependencies => ARRAY['depf_fees', 'depf_rentals']::regclass[])""", (topic,))
    sql(db, "INSERT INTO depf_rentals VALUES (1, 'v0')")
    sql(db, "INSERT INTO depf_bookings SELECT g, 1, g % 7 FROM generate_series(1, 40) g")
    sql(db, "INSERT INTO depf_fees SELECT g, g, 0 FROM generate_series(1, 40) g")
    wait_drained(db, timeout=30, topic=topic)

    cluster.broker_down()
    try:
        for c in range(1, 4):
            sql(db, "UPDATE depf_fees SET amount = %s", (c,))               # has_many: 40 rows per statement
            sql(db, "UPDATE depf_rentals SET name = %s", (f"v{c}",))        # has_one: one row, 40 bookings
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s "
                                      "AND failed_at IS NOT NULL", (topic,)),
                   40, "failed outbox rows while the broker is down")
        # nothing was sent: every captured change is still pending, or was
        # split by key (a has_one change whose bookings all wait behind their
        # failed rows) into rows that are
        splits, split_rows = sql(db, """SELECT count(*), COALESCE(sum(substring(error_message
                                            FROM 'into ([0-9]+) outbox row')::int), 0)
                                        FROM dionysus.outbox WHERE topic = %s AND published_at IS NOT NULL
                                        AND error_class = 'Dionysus::FanOutSplit'""", (topic,))[0]
        assert pending_count(db, topic) == 3 * 40 + 3 - splits + split_rows
    finally:
        cluster.broker_up()

    wait_drained(db, timeout=90, topic=topic)
    msgs = consume(cluster.bootstrap, topic, 40 * 2 + 3 * 40 * 2, timeout=30, idle=1.0)
    # a failed has_many row whose booking's later event was delivered first
    # is superseded (never sent after it)
    superseded = dict(sql(db, "SELECT 'Booking:' || resource_id, count(*)::int FROM dionysus.outbox "
                              "WHERE topic = %s AND error_class = 'Dionysus::Superseded' GROUP BY 1", (topic,)))
    per_key = {}
    for m in msgs:   # per-partition order; a key has one partition
        record = json.loads(m.value)["message"][0]["data"][0]
        fees = record["depf_fees"]   # empty when the booking was published before its fee existed
        per_key.setdefault(m.key, []).append((fees[0]["amount"] if fees else -1, record["rental"]["name"]))
    assert set(per_key) == {f"Booking:{i}".encode() for i in range(1, 41)}
    for key, states in per_key.items():
        # snapshots at publish time: never going back, ending in the last state
        assert states == sorted(states), (key, states)
        assert states[-1] == (3, "v3"), (key, states)
        # each of the 6 failed outbox rows reached this booking, or was
        # superseded by a later event of it
        assert len([s for s in states if s[0] > 0]) + superseded.get(key.decode(), 0) >= 6, (key, states)


def test_lock_on_one_table_delays_only_its_topic(cluster, db):
    """A long lock on one rendered table (an ALTER TABLE, a LOCK) fails that
    topic's batch after the worker's lock_timeout, recorded with backoff;
    other topics keep flowing, and the locked one follows once it is free."""
    sql(db, "CREATE TABLE lock_a (id bigint PRIMARY KEY)")
    sql(db, "CREATE TABLE lock_b (id bigint PRIMARY KEY)")
    declare_items(db, "it_lock", "lock_a")    # topic it_lock_items, read first
    declare_items(db, "it_lockz", "lock_b")   # it_lockz_items
    locker = cluster.connect()
    with worker_settings(db, publishing_delay="2s"):  # time to take the lock first
        try:
            sql(db, "INSERT INTO lock_a VALUES (1)")
            sql(db, "INSERT INTO lock_b VALUES (1)")
            locker.autocommit = False
            locker.cursor().execute("LOCK TABLE lock_a IN ACCESS EXCLUSIVE MODE")
            wait_drained(db, timeout=15, topic="it_lockz_items")
            assert pending_count(db, "it_lock_items") == 1
            wait_until(lambda: scalar(db, "SELECT error_message FROM dionysus.outbox WHERE topic = 'it_lock_items'"),
                       15, "the lock timeout recorded on the row")
            assert "lock timeout" in scalar(db, "SELECT error_message FROM dionysus.outbox "
                                                "WHERE topic = 'it_lock_items'")
            locker.rollback()
            wait_drained(db, timeout=30, topic="it_lock_items")
        finally:
            locker.rollback()
            locker.close()


def test_long_outage_backlog_drains_within_seconds_of_recovery(cluster, db):
    """An outage lasting many message.timeout.ms periods (3 s here) fails the
    same rows again and again; cluster-wide failures do not push their
    backoff up, so once the broker is back the backlog drains within seconds.
    Meanwhile the worker holds no snapshot (vacuum of the outbox goes on)."""
    sql(db, "CREATE TABLE outage_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_outage", "outage_items")
    cluster.broker_down()
    try:
        sql(db, "INSERT INTO outage_items SELECT g, g % 3, 0 FROM generate_series(1, 20) g")
        # five timeouts in a row: with dionysus-rb's backoff the next retry would be 160 s away
        wait_until(lambda: scalar(db, "SELECT min(attempts) FROM dionysus.outbox WHERE topic = %s", (topic,)) >= 5,
                   60, "five failed attempts while the broker is down")
        assert scalar(db, "SELECT max(retry_at - failed_at) FROM dionysus.outbox WHERE topic = %s",
                      (topic,)) <= datetime.timedelta(seconds=1)
        # waiting for the broker, the worker holds no snapshot (it would hold
        # back vacuum of the outbox for the whole outage): a transaction is
        # open only to read, render and mark a batch
        pid = cluster.wait_worker()
        samples = []
        for _ in range(30):
            samples.append(scalar(db, "SELECT backend_xmin IS NULL AND backend_xid IS NULL FROM pg_stat_activity "
                                      "WHERE pid = %s", (pid,)))
            time.sleep(0.1)
        assert samples.count(True) >= 27, samples
    finally:
        cluster.broker_up()
    t0 = time.time()
    wait_drained(db, timeout=10, topic=topic)
    print(f"drained {time.time() - t0:.1f} s after the broker came back")
    msgs = consume(cluster.bootstrap, topic, 20, timeout=20, idle=1.0)
    assert {m.key for m in msgs} == {f"Item:{i}".encode() for i in range(1, 21)}


def test_sigterm_with_the_broker_down_exits_in_time_and_loses_nothing(cluster, db):
    """SIGTERM while deliveries hang on a down broker: the worker gives up
    after its drain deadline, exits cleanly (no crash, no message freed under
    librdkafka), and the rows it could not deliver stay pending for the next."""
    sql(db, "CREATE TABLE termdown_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_termdown", "termdown_items")
    pid = cluster.wait_worker()
    log_start = len(cluster.log_text())
    cluster.broker_down()
    try:
        sql(db, "INSERT INTO termdown_items SELECT g, g % 3, 0 FROM generate_series(1, 30) g")
        time.sleep(1.0)   # produced, in flight, unacknowledged
        t0 = time.time()
        os.kill(pid, signal.SIGTERM)
        new_pid = cluster.wait_worker(timeout=60, not_pid=pid)
        assert time.time() - t0 < 30, "the worker did not stop within its drain deadline"
        assert new_pid != pid
        log = cluster.log_text()[log_start:]
        assert not Cluster.crash_lines(log), Cluster.crash_lines(log)
        assert pending_count(db, topic) == 30
    finally:
        cluster.broker_up()
    wait_drained(db, timeout=60, topic=topic)
    msgs = consume(cluster.bootstrap, topic, 30, timeout=30, idle=1.0)
    assert {m.key for m in msgs} == {f"Item:{i}".encode() for i in range(1, 31)}


def test_query_cancel_of_the_worker_is_survived(cluster, db):
    """pg_cancel_backend on the worker raises an error inside it: it is
    recorded in the log, the worker keeps its process and keeps publishing."""
    sql(db, "CREATE TABLE cancel_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_cancel", "cancel_items")
    pid = cluster.wait_worker()
    for _ in range(5):
        assert scalar(db, "SELECT pg_cancel_backend(%s)", (pid,)) is True
        time.sleep(0.3)
    sql(db, "INSERT INTO cancel_items SELECT g, g % 3, 0 FROM generate_series(1, 10) g")
    wait_drained(db, timeout=20, topic=topic)
    assert cluster.wait_worker() == pid
    msgs = consume(cluster.bootstrap, topic, 10, timeout=20, idle=1.0)
    assert len({m.key for m in msgs}) == 10


def test_failing_published_mark_resends_and_loses_nothing(cluster, db):
    """The UPDATE that marks rows published fails (here: the rows are locked
    by another session past the worker's lock_timeout): the worker recovers,
    the rows stay pending and are sent again (at least once), nothing is lost."""
    sql(db, "CREATE TABLE mark_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_mark", "mark_items")
    pid = cluster.wait_worker()
    locker = cluster.connect()
    with worker_settings(db, publishing_delay="2s"):  # time to lock the rows first
        try:
            sql(db, "INSERT INTO mark_items SELECT g, g % 3, 0 FROM generate_series(1, 10) g")
            locker.autocommit = False
            locker.cursor().execute("SELECT id FROM dionysus.outbox WHERE topic = %s FOR UPDATE", (topic,))
            time.sleep(6)     # published to Kafka, marks blocked past lock_timeout, at least once
            assert pending_count(db, topic) == 10
            locker.rollback()
            wait_drained(db, timeout=30, topic=topic)
        finally:
            locker.rollback()
            locker.close()
    assert cluster.wait_worker() == pid
    msgs = consume(cluster.bootstrap, topic, 10, timeout=20, idle=1.0)
    assert {m.key for m in msgs} == {f"Item:{i}".encode() for i in range(1, 11)}


def test_a_persistent_worker_error_is_logged_once_and_retried_each_second(cluster, db):
    """A setting that breaks every drain cycle (librdkafka refuses an unknown
    property) is logged once, not at every cycle or commit, and retried
    about once a second: the fix is picked up at once."""
    sql(db, "CREATE TABLE badconf_items (id bigint PRIMARY KEY, account_id bigint, counter int NOT NULL)")
    topic = declare_items(db, "it_badconf", "badconf_items")
    start = len(cluster.log_text())
    with worker_settings(db, kafka_properties="no.such.property=1"):
        # commits keep waking the worker meanwhile
        for i in range(40):
            sql(db, "INSERT INTO badconf_items VALUES (%s, 1, 0)", (i,))
            time.sleep(0.1)
        assert pending_count(db, topic) == 40
        log = cluster.log_text()[start:]
        errors = [line for line in log.splitlines() if "no.such.property" in line and "WARNING" in line]
        assert len(errors) == 1, errors
    wait_drained(db, timeout=10, topic=topic)
