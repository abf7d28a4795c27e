"""Failover without logical slots (README "Upgrades, dumps and failover"): the
outbox is an ordinary table, so physical replication carries it to a
standby. On the standby no dionysus worker runs (nothing talks to Kafka);
promoted, it publishes every row the old primary committed but never
published, per key in order."""
import json
import subprocess
import time

import pytest

from conftest import Cluster, sql, scalar, consume, wait_until, connect_port, _free_port, TEST_DB

pytestmark = pytest.mark.disruptive


class Standby:
    def __init__(self, primary):
        self.primary = primary
        self.data = primary.root / "standby"
        self.log = primary.root / "standby.log"
        self.port = _free_port()

    def create(self):
        p = self.primary
        p.as_pg([str(p.pgbin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(p.port), "-U", "postgres",
                 "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(f"\nport = {self.port}\n")
        p.as_pg(["touch", str(self.log)])
        self.pg_ctl("start")

    def pg_ctl(self, *args):
        return self.primary.as_pg([str(self.primary.pgbin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                                   "-w", "-t", "60"] + list(args))

    def connect(self, dbname=TEST_DB):
        return connect_port(self.port, dbname)

    def log_text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self):
        if (self.data / "postmaster.pid").exists():
            try:
                self.pg_ctl("-m", "immediate", "stop")
            except subprocess.CalledProcessError:
                pass


def dionysus_backends(conn):
    return sql(conn, "SELECT backend_type FROM pg_stat_activity WHERE backend_type LIKE 'dionysus%'")


def test_promoted_standby_publishes_what_the_primary_left(tmp_path):
    primary = Cluster()
    standby = None
    try:
        primary.start()
        db = primary.connect()
        sql(db, "CREATE TABLE fo_items (id bigint PRIMARY KEY, account_id bigint, n int NOT NULL)")
        topic = scalar(db, "SELECT dionysus.declare_topic('it_failover', 'items')")
        sql(db, "SELECT dionysus.publish(%s, 'fo_items', model_name => 'Item')", (topic,))
        sql(db, "INSERT INTO fo_items SELECT g, g % 4, 0 FROM generate_series(1, 40) g")
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 0,
                   20, "the primary published")

        standby = Standby(primary)
        standby.create()
        sb = standby.connect()
        assert scalar(sb, "SELECT pg_is_in_recovery()") is True

        # The broker goes down; the primary commits rows it cannot publish.
        primary.broker_down()
        for n in range(1, 6):
            sql(db, "UPDATE fo_items SET n = %s", (n,))
        sql(db, "INSERT INTO fo_items SELECT g, g % 4, 5 FROM generate_series(41, 60) g")
        pending = scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")
        assert pending == 5 * 40 + 20
        lsn = scalar(db, "SELECT pg_current_wal_lsn()::text")
        wait_until(lambda: scalar(sb, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)), 20,
                   "the standby replayed the primary's rows")
        assert scalar(sb, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == pending
        # On the standby no dionysus worker runs and nothing is logged.
        time.sleep(2)
        assert dionysus_backends(sb) == []
        assert " dionysus " not in standby.log_text(), standby.log_text()[-2000:]

        # The primary dies; the broker returns; the standby is promoted.
        db.close()
        primary.pg_ctl("-m", "immediate", "stop")
        primary.broker_up()
        t0 = time.time()
        standby.pg_ctl("promote")
        wait_until(lambda: ("dionysus publisher",) in dionysus_backends(sb), 10, "a publisher on the new primary")
        started = time.time() - t0
        wait_until(lambda: scalar(sb, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 0,
                   30, "the new primary published every row")
        assert started < 5, f"publisher started {started:.1f}s after promotion"

        msgs = consume(primary.bootstrap, topic, 40 + pending)
        last = {}
        for m in msgs:
            n = json.loads(m.value)["message"][0]["data"][0]["n"]
            key = m.key.decode()
            assert n >= last.get(key, -1), f"{key}: {n} after {last[key]}"
            last[key] = n
        assert len(last) == 60 and set(last.values()) == {5}
        log = standby.log_text()
        assert "FATAL" not in log.split("database system is ready to accept connections")[-1], log[-3000:]
        sb.close()
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()
