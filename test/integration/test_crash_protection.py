"""A row that crashes the worker is parked after a few crashes: the cluster
never crash-loops. The crash comes from a test-only fault injection point
(dionysus.fault_injection = 'crash_rendering=<key>': the worker raises
SIGSEGV when it renders that key, as a segfaulting serializer would;
'crash_producing=<key>': once it handed that key's batch to librdkafka)."""
import time

import psycopg2
import pytest

from conftest import Cluster, consume, sql


def query(cluster, q, params=None, timeout=60):
    """Runs q on a fresh connection, riding out the server's crash recoveries."""
    deadline = time.time() + timeout
    while True:
        try:
            conn = cluster.connect(timeout=timeout)
            try:
                return sql(conn, q, params)
            finally:
                conn.close()
        except psycopg2.Error:
            if time.time() > deadline:
                raise
            time.sleep(0.5)


def wait_for(cluster, q, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if query(cluster, q)[0][0]:
            return
        time.sleep(0.5)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.mark.disruptive
@pytest.mark.crashes_server
@pytest.mark.parametrize("point", ["crash_rendering", "crash_producing"])
def test_a_row_that_crashes_the_worker_is_parked(cluster, point):
    name = f"crash_{point.split('_')[1]}"
    topic = f"it_{name}_notes"
    table = f"{name}_notes"
    query(cluster, f"CREATE TABLE {table} (id bigint PRIMARY KEY, v int)")
    query(cluster, f"SELECT dionysus.declare_topic('it_{name}', 'notes')")
    query(cluster, f"SELECT dionysus.publish('{topic}', '{table}', model_name => 'Note')")
    query(cluster, f"INSERT INTO {table} SELECT g, 0 FROM generate_series(1, 10) g")
    wait_for(cluster, f"SELECT count(*) = 0 FROM dionysus.outbox WHERE topic = '{topic}' AND published_at IS NULL",
             30, "first rows published")
    log_start = len(cluster.log_text())
    # the suite's log check leaves out the crashes between these lines (counted here)
    query(cluster, "DO $$ BEGIN RAISE LOG 'dionysus-test: expected crashes begin'; END $$")
    try:
        query(cluster, f"ALTER SYSTEM SET dionysus.fault_injection = '{point}=Note:7'")
        query(cluster, "SELECT pg_reload_conf()")
        time.sleep(0.5)
        # one batch of 10 rows, Note:7 among them: the first crash has the
        # batch read one row at a time, the next ones single out Note:7
        query(cluster, f"UPDATE {table} SET v = 1")
        wait_for(cluster, f"SELECT count(*) > 0 FROM dionysus.parked WHERE topic = '{topic}'", 120,
                 "the crashing row parked")
        assert query(cluster, f"""SELECT resource_id, event_name, error_class FROM dionysus.parked
                                  WHERE topic = '{topic}'""") == [("7", "note_updated", "Dionysus::WorkerCrash")]
        # the other rows flow; the worker runs and stays up
        wait_for(cluster, f"""SELECT count(*) = 0 FROM dionysus.outbox WHERE topic = '{topic}'
                              AND published_at IS NULL AND parked_at IS NULL""", 30, "the other rows published")
        query(cluster, f"INSERT INTO {table} VALUES (11, 1)")
        wait_for(cluster, f"SELECT count(*) = 0 FROM dionysus.outbox WHERE topic = '{topic}' "
                          "AND published_at IS NULL AND parked_at IS NULL", 30, "a later row published")
        crashes = Cluster.crash_lines(cluster.log_text()[log_start:])
        assert len(crashes) == 3, crashes
        assert all('"dionysus publisher"' in line and "signal 11" in line for line in crashes), crashes
    finally:
        query(cluster, "ALTER SYSTEM RESET dionysus.fault_injection")
        query(cluster, "SELECT pg_reload_conf()")
        query(cluster, "DO $$ BEGIN RAISE LOG 'dionysus-test: expected crashes end'; END $$")
    msgs = consume(cluster.bootstrap, topic, 20, timeout=20, idle=1.0)
    # (rows sent by a worker that died before marking them are sent again: at least once)
    updated = sorted({int(m.key.split(b":")[1]) for m in msgs if b"note_updated" in m.value})
    if point == "crash_rendering":
        assert updated == [1, 2, 3, 4, 5, 6, 8, 9, 10]
    else:  # librdkafka's thread may have sent Note:7's update before the worker died
        assert set(updated) - {7} == {1, 2, 3, 4, 5, 6, 8, 9, 10}
    # back in the queue, with the fault gone, the parked row is delivered
    assert query(cluster, f"SELECT dionysus.retry(topic => '{topic}')") == [(1,)]
    wait_for(cluster, f"SELECT count(*) = 0 FROM dionysus.outbox WHERE topic = '{topic}' AND published_at IS NULL",
             30, "the retried row published")
