"""Operations (README "Operations"): the health check and its probe, StatsD
metrics, outbox retention, several publishers per database, several
databases, and a quiet start while the database does not exist yet. These
tests change the cluster's settings, so conftest.py runs them after the
others."""
import json
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import (declare_items, sql, scalar, wait_drained, consume, wait_until, worker_settings, unique, TEST_DB)

pytestmark = pytest.mark.disruptive


def probe(cluster, *args, dbname=TEST_DB, port=None):
    binary = cluster.pgbin / "dionysus-healthcheck"
    conninfo = f"host=127.0.0.1 port={port or cluster.port} dbname={dbname} user=postgres connect_timeout=3"
    r = subprocess.run([str(binary), *args, conninfo], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    return r.returncode, r.stderr


def publisher_pids(conn, database=TEST_DB):
    return [r[0] for r in sql(conn, "SELECT pid FROM dionysus.workers WHERE role = 'publisher' "
                                    "AND database = %s AND pid IS NOT NULL ORDER BY worker", (database,))]


# -- health ---------------------------------------------------------------------

def test_health_check_healthy_then_stuck_worker_then_no_worker(cluster, db):
    sql(db, "CREATE TABLE health_items (id bigint PRIMARY KEY, n int)")
    declare_items(db, "it_health", "health_items")
    sql(db, "INSERT INTO health_items VALUES (1, 0)")
    wait_drained(db)
    assert scalar(db, "SELECT dionysus.health_check()") is True
    assert probe(cluster) == (0, "")

    # A hung worker (SIGSTOP): its heartbeat ages past max_age.
    pid = publisher_pids(db)[0]
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(2.5)
        assert scalar(db, "SELECT dionysus.health_check('2 s')") is False
        rc, err = probe(cluster, "--max-age", "2 s")
        assert rc == 1
        assert f"the heartbeat of dionysus publisher {pid} is" in err, err
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: scalar(db, "SELECT dionysus.health_check('2 s')"), 10, "healthy again after SIGCONT")

    # No publisher for this database (it is no longer listed).
    with worker_settings(db, database="postgres"):
        wait_until(lambda: not publisher_pids(db), 10, "the publisher of the test database stopped")
        assert scalar(db, "SELECT dionysus.health_check()") is False
        rc, err = probe(cluster)
        assert rc == 1
        assert f'no dionysus publisher runs for database {TEST_DB}' in err, err
    wait_until(lambda: publisher_pids(db), 10, "the publisher started again")
    wait_until(lambda: scalar(db, "SELECT dionysus.health_check()"), 10, "healthy again")


def test_health_check_tolerates_a_broker_outage_but_not_a_stuck_backlog(cluster, db):
    sql(db, "CREATE TABLE health_out_items (id bigint PRIMARY KEY, n int)")
    topic = declare_items(db, "it_health_out", "health_out_items")
    sql(db, "INSERT INTO health_out_items VALUES (1, 0)")
    wait_drained(db)
    cluster.broker_down()
    try:
        sql(db, "INSERT INTO health_out_items SELECT g, 0 FROM generate_series(2, 20) g")
        # the rows age past max_age while the broker is unreachable
        wait_until(lambda: scalar(db, "SELECT broker FROM dionysus.workers WHERE role = 'publisher' "
                                      "AND database = %s", (TEST_DB,)) == "unreachable", 20,
                   "the worker saw the broker down")
        time.sleep(2.5)
        assert scalar(db, "SELECT pending FROM dionysus.outbox_status WHERE topic = %s", (topic,)) == 19
        assert scalar(db, "SELECT dionysus.health_check('2 s')") is True
        assert probe(cluster, "--max-age=2 s") == (0, "")
    finally:
        cluster.broker_up()
    wait_drained(db, timeout=30)
    assert scalar(db, "SELECT dionysus.health_check('2 s')") is True


def test_health_check_fails_when_rows_wait_while_the_broker_is_reachable(cluster, db):
    sql(db, "CREATE TABLE health_wait_items (id bigint PRIMARY KEY, n int)")
    topic = declare_items(db, "it_health_wait", "health_wait_items")
    sql(db, "INSERT INTO health_wait_items VALUES (1, 0)")
    wait_drained(db)
    pid = publisher_pids(db)[0]
    # A publisher that is alive (heartbeat fresh) but does not publish: a
    # long publishing delay holds the row, as a stuck drain would.
    with worker_settings(db, publishing_delay="60s"):
        sql(db, "INSERT INTO health_wait_items VALUES (2, 0)")
        time.sleep(2.5)
        assert publisher_pids(db) == [pid]
        assert scalar(db, "SELECT dionysus.health_check('2 s')") is False
        rc, err = probe(cluster, "--max-age", "2 s")
        assert rc == 1 and f"of topic {topic} has waited" in err and "while the broker is reachable" in err, err
    wait_drained(db)


def test_healthcheck_probe_exits_2_when_it_cannot_connect(cluster):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    rc, err = probe(cluster, port=port)
    assert rc == 2
    assert "cannot connect" in err


# -- metrics ---------------------------------------------------------------------

def test_statsd_gauges_and_counters_over_udp(cluster, db):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    sql(db, "CREATE TABLE statsd_items (id bigint PRIMARY KEY, n int)")
    topic = declare_items(db, "it_statsd", "statsd_items")
    try:
        with worker_settings(db, statsd_address=f"127.0.0.1:{port}"):
            sql(db, "INSERT INTO statsd_items SELECT g, 0 FROM generate_series(1, 25) g")
            wait_drained(db)
            lines, deadline = [], time.time() + 25
            tag = f"|#topic:{topic},database:{TEST_DB}"
            published = 0
            while time.time() < deadline:
                try:
                    data = listener.recv(65536).decode()
                except socket.timeout:
                    continue
                lines += data.split("\n")
                published = sum(int(l.split(":")[1].split("|")[0]) for l in lines
                                if l.startswith("dionysus.producer.published:"))
                if published >= 25 and any(l.endswith(tag) and "latency.maximum" in l for l in lines):
                    break
            mine = [l for l in lines if l.endswith(tag)]
            names = {l.split(":")[0] for l in mine}
            assert {"dionysus.producer.outbox.latency.minimum", "dionysus.producer.outbox.latency.maximum",
                    "dionysus.producer.outbox.latency.average",
                    "dionysus.producer.outbox.latency.highest_since_creation_date",
                    "dionysus.producer.outbox.pending", "dionysus.producer.outbox.failed",
                    "dionysus.producer.outbox.parked", "dionysus.producer.outbox.published_last_minute"} <= names, lines
            assert all(l.split("|")[1] == "g" for l in mine)
            assert f"dionysus.producer.outbox.published_last_minute:25|g{tag}" in mine, mine
            assert f"dionysus.producer.outbox.pending:0|g{tag}" in mine
            maximum = [float(l.split(":")[1].split("|")[0]) for l in mine if "latency.maximum:" in l]
            assert maximum and all(0 <= m < 10 for m in maximum)
            # counters: deltas whose sum is what this publisher delivered (at least our 25)
            assert published >= 25
            assert any(l.startswith("dionysus.producer.failed:") and l.endswith(f"|c|#database:{TEST_DB},worker:0")
                       for l in lines)
    finally:
        listener.close()


# -- retention ---------------------------------------------------------------------

def test_retention_deletes_old_published_rows_only(cluster, db):
    sql(db, "CREATE TABLE ret_items (id bigint PRIMARY KEY, n int)")
    topic = declare_items(db, "it_ret", "ret_items")
    sql(db, "INSERT INTO ret_items SELECT g, 0 FROM generate_series(1, 5000) g")
    wait_drained(db)
    published = "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND published_at IS NOT NULL"
    assert scalar(db, published, (topic,)) == 5000
    # parked rows are kept, whatever their age
    sql(db, "INSERT INTO dionysus.outbox (resource_class, resource_id, event_name, topic, parked_at, failed_at, "
            "created_at) VALUES ('Item', '0', 'item_created', %s, now(), now(), now() - interval '1 day')", (topic,))
    with worker_settings(db, outbox_retention="2s"):
        # 5,000 rows: more than one batch of 2,000
        wait_until(lambda: scalar(db, published, (topic,)) == 0, 20, "published rows deleted")
        assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s", (topic,)) == 1
        # new rows live at least the retention
        sql(db, "UPDATE ret_items SET n = 1 WHERE id <= 10")
        wait_until(lambda: scalar(db, published, (topic,)) == 10, 10, "the new rows published")
        time.sleep(0.5)
        assert scalar(db, published, (topic,)) == 10
        wait_until(lambda: scalar(db, published, (topic,)) == 0, 10, "then deleted")
    with worker_settings(db, outbox_retention="0"):
        sql(db, "UPDATE ret_items SET n = 2 WHERE id <= 10")
        wait_until(lambda: scalar(db, published, (topic,)) == 10, 10, "published")
        time.sleep(3)
        assert scalar(db, published, (topic,)) == 10  # 0 keeps everything
    sql(db, "DELETE FROM dionysus.outbox WHERE topic = %s", (topic,))


# -- several publishers --------------------------------------------------------------

def advisory_holders(conn):
    return {r[0] for r in sql(conn, "SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory' "
                                    "AND l.objsubid = 7 AND l.granted")}


def test_two_publishers_share_topics_and_take_over(cluster, db):
    sql(db, "CREATE TABLE duo_a (id bigint PRIMARY KEY, n int)")
    sql(db, "CREATE TABLE duo_b (id bigint PRIMARY KEY, n int)")
    topic_a = declare_items(db, "it_duo_a", "duo_a")
    topic_b = declare_items(db, "it_duo_b", "duo_b")
    with worker_settings(db, workers="2"):
        wait_until(lambda: len(publisher_pids(db)) == 2, 10, "two publishers")
        sql(db, "INSERT INTO duo_a SELECT g, 0 FROM generate_series(1, 50) g")
        sql(db, "INSERT INTO duo_b SELECT g, 0 FROM generate_series(1, 50) g")
        wait_drained(db)
        # each topic is held by one publisher; both publishers hold one (dealt in name order)
        pids = publisher_pids(db)
        wait_until(lambda: advisory_holders(db) == set(pids), 10, "both publishers hold a topic",
                   lambda: str((advisory_holders(db), pids)))
        rows = sql(db, "SELECT worker, published FROM dionysus.workers WHERE role = 'publisher' "
                       "AND database = %s ORDER BY worker", (TEST_DB,))
        assert [r[0] for r in rows] == [0, 1] and all(r[1] >= 50 for r in rows), rows

        # A publisher stops: its topic goes on being published (taken over,
        # or by its successor), per key in order.
        victim = pids[1]
        sql(db, "SELECT pg_terminate_backend(%s)", (victim,))
        for n in range(1, 6):
            sql(db, "UPDATE duo_a SET n = %s", (n,))
            sql(db, "UPDATE duo_b SET n = %s", (n,))
            time.sleep(0.3)
        wait_drained(db, timeout=20)
        assert victim not in publisher_pids(db)
        for topic in (topic_a, topic_b):
            msgs = consume(cluster.bootstrap, topic, 50 * 6)
            last = {}
            for m in msgs:
                body = json.loads(m.value)["message"][0]
                n = body["data"][0]["n"]
                assert n >= last.get(m.key, -1), f"{topic} {m.key}: {n} after {last.get(m.key)}"
                last[m.key] = n
            assert len(last) == 50 and set(last.values()) == {5}
    wait_until(lambda: len(publisher_pids(db)) == 1, 10, "back to one publisher")


# -- several databases and a quiet start -----------------------------------------------

def test_two_databases_publish_and_a_missing_one_is_awaited_quietly(cluster, db):
    other = unique("it_db")
    log_start = len(cluster.log_text())
    with worker_settings(db, database=f"{TEST_DB}, {other}"):
        # the second database does not exist: waited for, without a FATAL
        time.sleep(6)
        log = cluster.log_text()[log_start:]
        assert "FATAL" not in log, log
        assert f'waiting for database "{other}"' in log
        assert publisher_pids(db) != []
        sql(db, f"CREATE DATABASE {other}")
        try:
            odb = cluster.connect(other)
            odb.autocommit = True
            wait_until(lambda: publisher_pids(db, other), 5, f"a publisher for {other}")
            time.sleep(0.5)  # (the publisher has connected and waits for the extension)
            t0 = time.time()
            sql(odb, "CREATE EXTENSION dionysus")
            sql(odb, "CREATE TABLE multi_items (id bigint PRIMARY KEY, n int)")
            topic_other = declare_items(odb, "it_multi_other", "multi_items")
            sql(odb, "INSERT INTO multi_items SELECT g, 0 FROM generate_series(1, 20) g")
            sql(db, "CREATE TABLE multi_items (id bigint PRIMARY KEY, n int)")
            topic_main = declare_items(db, "it_multi_main", "multi_items")
            sql(db, "INSERT INTO multi_items SELECT g, 1 FROM generate_series(1, 20) g")
            wait_drained(odb, timeout=10)
            elapsed = time.time() - t0
            assert elapsed < 3, f"published {elapsed:.1f}s after CREATE EXTENSION"
            wait_drained(db)
            got_other = consume(cluster.bootstrap, topic_other, 20)
            got_main = consume(cluster.bootstrap, topic_main, 20)
            assert len({m.key for m in got_other}) == 20 and len({m.key for m in got_main}) == 20
            assert {json.loads(m.value)["message"][0]["data"][0]["n"] for m in got_other} == {0}
            assert {json.loads(m.value)["message"][0]["data"][0]["n"] for m in got_main} == {1}
            dbs = {r[0] for r in sql(db, "SELECT database FROM dionysus.workers WHERE role = 'publisher' "
                                         "AND pid IS NOT NULL")}
            assert {TEST_DB, other} <= dbs
            odb.close()
        finally:
            # the publisher of `other` is stopped when the setting is reset;
            # drop the database once it is gone
            pass
    wait_until(lambda: not publisher_pids(db, other), 10, f"the publisher of {other} stopped")
    sql(db, f"DROP DATABASE {other} WITH (FORCE)")
