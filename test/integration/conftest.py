"""Integration-test fixtures: a throwaway PostgreSQL 15 cluster with the dionysus
extension preloaded, and the project's dev Kafka broker (librdkafka mock cluster).

PostgreSQL refuses to run as root, so when the tests run as root the cluster is
created and run as the `postgres` OS user (runuser), in a temporary directory
owned by it.

Environment:
  DIONYSUS_PGBIN       PostgreSQL 15 bin directory (default: pg_config --bindir)
  DIONYSUS_DEVBROKER   dev broker binary (default: $PGBIN/dionysus-devbroker,
                       else tools/dionysus-devbroker of the repo)
  DIONYSUS_LOG_DIR     where to copy the server/broker logs at the end
  DIONYSUS_KEEP_CLUSTER=1  leave the cluster directory behind for debugging
"""
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import zlib
from collections import namedtuple
from pathlib import Path

import psycopg2
import pytest
from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING, KafkaError

REPO = Path(__file__).resolve().parents[2]
TEST_DB = "dionysus_test"
WORKER_BACKEND_TYPE = "dionysus publisher"

# Topics the tests use, pre-created in the dev broker with a partition count that
# differs from the mock's auto-create default (4): librdkafka 2.0.2's mock
# cluster does not implement CreateTopics, so they must exist at broker start.
PARTITIONS = 6
TEST_TOPICS = [
    "it_exact_rentals", "it_exact_accounts",
    "it_soft_rentals", "it_softpub_rentals",
    "it_bulk_items", "it_fault_items", "it_kill_items", "it_late_items",
    "it_restart_items", "it_term_items", "it_naming_fees", "it_capture_items",
    "it_schema_rentals", "it_wake_items", "it_hand_rentals", "it_ser_bookings", "it_agg_bookings", "it_fail_notes", "it_big_bookings",
    "it_corpus_types", "it_dep_design", "it_dep_bookings", "it_dep_shared", "it_dep_rentals", "it_depfault_bookings", "it_dep_schema", "it_dep_drop",
    # 100,000-row genesis runs: under the mock cluster's 5 MiB per partition
    "it_gen_items:16", "it_gen_crash_items:12",
    # the consumer's (test_consumer.py)
    "it_cons_bookings", "it_cons_hand", "it_cons_poison", "it_cons_poison_dlt", "it_cons_poison_plain",
    "it_cons_kill:3", "it_cons_term:3", "it_cons_outage", "it_cons_dedupe", "it_cons_nodedupe", "it_cons_family",
    "it_cons_owner", "it_cons_locked", "it_cons_setwise", "it_cons_shadow", "it_cons_spread:4", "it_cons_fence", "it_cons_values",
]


def _pgbin():
    env = os.environ.get("DIONYSUS_PGBIN")
    if env:
        return Path(env)
    for cfg in ("/usr/lib/postgresql/15/bin/pg_config", shutil.which("pg_config")):
        if cfg and os.path.exists(cfg):
            return Path(subprocess.check_output([cfg, "--bindir"], text=True).strip())
    return Path("/usr/lib/postgresql/15/bin")


def _devbroker(pgbin):
    env = os.environ.get("DIONYSUS_DEVBROKER")
    if env:
        return env
    for cand in (pgbin / "dionysus-devbroker", REPO / "tools" / "dionysus-devbroker"):
        if os.access(cand, os.X_OK):
            return str(cand)
    raise RuntimeError("dionysus-devbroker not found: run `make install` first")


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def crc32_partition(partition_key, partition_count):
    """librdkafka's consistent_random partitioner for a non-empty key."""
    return zlib.crc32(partition_key.encode()) % partition_count


Message = namedtuple("Message", "topic partition key value headers offset")


def header(msg, name):
    """Value of a header (str), or None."""
    for k, v in msg.headers or []:
        if k == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


class Cluster:
    def __init__(self):
        self.pgbin = _pgbin()
        self.devbroker = _devbroker(self.pgbin)
        self.root = Path(tempfile.mkdtemp(prefix="dionysus-it-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.broker_dir = self.root / "broker"
        self.is_root = os.geteuid() == 0
        self.port = None
        self.bootstrap = None
        self.broker_proc = None

    # -- process helpers ---------------------------------------------------
    def as_pg(self, argv, **kw):
        if self.is_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, **kw)

    def pg_ctl(self, *args):
        return self.as_pg([str(self.pgbin / "pg_ctl"), "-D", str(self.data), "-l",
                           str(self.log), "-w", "-t", "60"] + list(args))

    # -- lifecycle -----------------------------------------------------------
    def start(self):
        if self.is_root:
            shutil.chown(self.root, "postgres", "postgres")
        os.chmod(self.root, 0o700)
        self.broker_dir.mkdir()
        self._start_broker()
        self.as_pg([str(self.pgbin / "initdb"), "-D", str(self.data), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                    "--no-instructions"])
        self.port = _free_port()
        conf = f"""
# --- dionysus integration tests (test/integration/conftest.py) ---
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.root}'
fsync = off
full_page_writes = off
log_line_prefix = '%m [%p] %b '
lc_messages = 'C'
shared_preload_libraries = 'dionysus'
dionysus.brokers = '{self.bootstrap}'
dionysus.database = '{TEST_DB}'
dionysus.kafka_properties = 'message.timeout.ms=3000'
"""
        with open(self.data / "postgresql.conf", "a") as f:
            f.write(conf)
        self.log.touch()
        if self.is_root:
            shutil.chown(self.log, "postgres", "postgres")
        try:
            self.pg_ctl("start")
        except subprocess.CalledProcessError:
            raise RuntimeError("postgres did not start:\n" + self.log_text()[-4000:])
        conn = self.connect("postgres")
        conn.cursor().execute(f"CREATE DATABASE {TEST_DB}")
        conn.close()
        with self.connect() as c:
            c.cursor().execute("CREATE EXTENSION dionysus")

    def _start_broker(self):
        args = [self.devbroker, "--brokers", "1",
                "--bootstrap-file", str(self.broker_dir / "bootstrap"),
                "--pid-file", str(self.broker_dir / "pid")]
        for t in TEST_TOPICS:
            args += ["--topic", t if ":" in t else f"{t}:{PARTITIONS}"]
        self.broker_out = open(self.broker_dir / "stdout", "w")
        self.broker_err = open(self.broker_dir / "stderr", "w")
        self.broker_proc = subprocess.Popen(args, stdout=self.broker_out,
                                            stderr=self.broker_err,
                                            stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        boot = self.broker_dir / "bootstrap"
        while time.time() < deadline:
            if boot.exists() and boot.read_text().strip():
                self.bootstrap = boot.read_text().strip()
                return
            if self.broker_proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("dev broker did not start: " +
                           (self.broker_dir / "stderr").read_text())

    def stop(self):
        if self.data.joinpath("postmaster.pid").exists():
            try:
                self.pg_ctl("-m", "fast", "stop")
            except subprocess.CalledProcessError:
                try:
                    self.pg_ctl("-m", "immediate", "stop")
                except subprocess.CalledProcessError:
                    pass
        if self.broker_proc and self.broker_proc.poll() is None:
            self.broker_proc.terminate()
            try:
                self.broker_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.broker_proc.kill()
                self.broker_proc.wait()
        log_dir = os.environ.get("DIONYSUS_LOG_DIR")
        if log_dir:
            os.makedirs(log_dir, exist_ok=True)
            tag = f"pytest-{os.getpid()}"
            for src, name in ((self.log, "postgres.log"),
                              (self.broker_dir / "stderr", "broker.log")):
                if src.exists():
                    shutil.copy(src, os.path.join(log_dir, f"{tag}.{name}"))
        if os.environ.get("DIONYSUS_KEEP_CLUSTER") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def restart(self):
        self.pg_ctl("-m", "fast", "restart")

    # -- SQL -----------------------------------------------------------------
    def connect(self, dbname=TEST_DB, timeout=30):
        return connect_port(self.port, dbname, timeout)

    # -- logs ----------------------------------------------------------------
    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    @staticmethod
    def crash_lines(text):
        """Server crashes: a process killed by a signal other than SIGKILL (which
        the tests send on purpose), or a PANIC."""
        out = []
        for line in text.splitlines():
            if "PANIC:" in line:
                out.append(line)
            m = re.search(r"terminated by signal (\d+)", line)
            if m and m.group(1) != "9":
                out.append(line)
        return out

    # -- broker faults ---------------------------------------------------------
    def broker_pid(self):
        try:
            return int((self.broker_dir / "pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return self.broker_proc.pid

    def _broker_state(self):
        states = [l for l in (self.broker_dir / "stdout").read_text().splitlines()
                  if l.startswith("STATE=")]
        return states[-1][len("STATE="):] if states else "up"

    def _broker_signal(self, sig, state):
        os.kill(self.broker_pid(), sig)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self._broker_state() == state:
                return
            time.sleep(0.05)
        raise RuntimeError(f"dev broker did not report STATE={state}")

    def broker_down(self):
        self._broker_signal(signal.SIGUSR1, "down")

    def broker_up(self):
        self._broker_signal(signal.SIGUSR2, "up")

    # -- the publisher worker ------------------------------------------------
    def worker_pids(self):
        conn = self.connect("postgres")
        try:
            cur = conn.cursor()
            cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = %s",
                        (WORKER_BACKEND_TYPE,))
            return [r[0] for r in cur.fetchall()]
        finally:
            conn.close()

    def wait_worker(self, timeout=30, not_pid=None):
        """Pid of a running publisher worker (other than not_pid)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                pids = [p for p in self.worker_pids() if p != not_pid]
            except psycopg2.Error:
                pids = []
            if pids:
                return pids[0]
            time.sleep(0.2)
        raise AssertionError(f"no '{WORKER_BACKEND_TYPE}' worker within {timeout}s")


class FaultBroker:
    """A dev broker of its own for one test: several brokers, partition
    leaders placed on command and Produce errors injected per broker (the
    control-file commands of dionysus-devbroker). Point the worker at it
    with worker_settings(brokers=broker.bootstrap)."""

    def __init__(self, devbroker, topics, brokers=3):
        self.dir = Path(tempfile.mkdtemp(prefix="dionysus-faultbroker-"))
        self.control = self.dir / "control"
        args = [devbroker, "--brokers", str(brokers), "--control-file", str(self.control),
                "--bootstrap-file", str(self.dir / "bootstrap")]
        for t in topics:
            args += ["--topic", t]
        self.out = open(self.dir / "stdout", "w")
        self.err = open(self.dir / "stderr", "w")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        deadline = time.time() + 15
        boot = self.dir / "bootstrap"
        while not (boot.exists() and boot.read_text().strip()):
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("fault broker did not start: " + (self.dir / "stderr").read_text())
            time.sleep(0.05)
        self.bootstrap = boot.read_text().strip()

    def command(self, cmd):
        """Apply one control command; raises unless the broker applied it."""
        self.control.write_text(cmd + "\n")
        deadline = time.time() + 10
        while time.time() < deadline:
            if f"APPLIED={cmd}" in (self.dir / "stdout").read_text():
                return
            if not self.control.exists():
                break
            time.sleep(0.05)
        raise RuntimeError(f"fault broker did not apply '{cmd}': " + (self.dir / "stderr").read_text())

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def pytest_configure(config):
    config.addinivalue_line("markers", "disruptive: kills/restarts processes; runs last")
    config.addinivalue_line("markers", "crashes_server: crashes the server on purpose and checks "
                                       "the crashes itself")


def pytest_collection_modifyitems(session, config, items):
    # Tests that kill, restart or cut things off run after the others.
    items.sort(key=lambda it: it.get_closest_marker("disruptive") is not None)


@pytest.fixture(scope="session")
def cluster():
    c = Cluster()
    try:
        c.start()
    except Exception:
        c.stop()
        raise
    yield c
    c.stop()


@pytest.fixture(autouse=True)
def _no_server_crash(request):
    """Fail any test during which the server log shows a crash."""
    if "cluster" not in request.fixturenames or request.node.get_closest_marker("crashes_server"):
        yield
        return
    c = request.getfixturevalue("cluster")
    start = len(c.log_text())
    yield
    crashes = Cluster.crash_lines(c.log_text()[start:])
    if crashes:
        pytest.fail("server crash in postgres log:\n" + "\n".join(crashes), pytrace=False)


@pytest.fixture
def db(cluster):
    """An autocommit psycopg2 connection to the test database."""
    conn = cluster.connect()
    yield conn
    try:
        conn.close()
    except Exception:
        pass


def connect_port(port, dbname=TEST_DB, timeout=30):
    """An autocommit connection to the server on 127.0.0.1:port, retried
    until `timeout` (e.g. "the database system is in recovery mode" after a
    crash, or a server still starting)."""
    deadline = time.time() + timeout
    while True:
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                                    dbname=dbname, connect_timeout=5)
            conn.autocommit = True
            return conn
        except psycopg2.OperationalError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)


def declare_items(conn, namespace, table, name="items"):
    """Topic <namespace>_<name> publishing `table` as model Item; its name."""
    topic = scalar(conn, "SELECT dionysus.declare_topic(%s, %s)", (namespace, name))
    sql(conn, "SELECT dionysus.publish(%s, %s, model_name => 'Item')", (topic, table))
    return topic


def sql(conn, query, params=None):
    """Run one statement; return all rows (or [] when it returns none)."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


@contextlib.contextmanager
def worker_settings(conn, **settings):
    """dionysus.<name> = value for the body (ALTER SYSTEM, reloaded; the worker
    rereads its configuration within the pause), reset afterwards."""
    for name, value in settings.items():
        sql(conn, f"ALTER SYSTEM SET dionysus.{name} = %s", (value,))
    sql(conn, "SELECT pg_reload_conf()")
    time.sleep(0.5)
    try:
        yield
    finally:
        for name in settings:
            sql(conn, f"ALTER SYSTEM RESET dionysus.{name}")
        sql(conn, "SELECT pg_reload_conf()")


def scalar(conn, query, params=None):
    rows = sql(conn, query, params)
    return rows[0][0] if rows else None


def wait_until(predicate, timeout, what, detail=lambda: ""):
    """Poll predicate until it returns something true (returned), or fail
    after timeout seconds, saying what was awaited (and detail())."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {what} {detail()}")


def pending_count(conn, topic=None):
    if topic is None:
        return scalar(conn, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")
    return scalar(conn, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL"
                        " AND topic = %s", (topic,))


def wait_drained(conn, timeout=20, topic=None):
    """Poll until no outbox row is unpublished (optionally: of one topic)."""
    deadline = time.time() + timeout
    n = None
    while time.time() < deadline:
        n = pending_count(conn, topic)
        if n == 0:
            return
        time.sleep(0.1)
    detail = sql(conn, "SELECT id, topic, event_name, attempts, error_class, error_message,"
                       " retry_at FROM dionysus.outbox WHERE published_at IS NULL"
                       " ORDER BY id LIMIT 5")
    raise AssertionError(f"outbox not drained after {timeout}s: {n} pending; first: {detail}")


def topic_partitions(bootstrap, topic, timeout=10):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "meta-" + uuid.uuid4().hex})
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            md = c.list_topics(topic, timeout=5)
            t = md.topics.get(topic)
            if t is not None and t.error is None and t.partitions:
                return len(t.partitions)
            time.sleep(0.2)
        raise AssertionError(f"topic {topic} not in broker metadata")
    finally:
        c.close()


def consume(bootstrap, topic, n, timeout=20, idle=None):
    """Read topic from the beginning of every partition until at least n
    messages were read AND every partition was read to its end (so duplicates
    from at-least-once redelivery do not hide later messages), or until timeout.
    Then keep reading for `idle` seconds more (to catch unexpected extra
    messages). Returns [Message] in per-partition order."""
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": "it-" + uuid.uuid4().hex,
                  "enable.auto.commit": False,
                  "enable.partition.eof": True,
                  "auto.offset.reset": "earliest"})
    try:
        parts = topic_partitions(bootstrap, topic)
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(parts)])
        out = []
        at_end = set()
        deadline = time.time() + timeout
        extra_until = None
        while True:
            now = time.time()
            if extra_until is None:
                done = len(out) >= n and len(at_end) == parts
                if done and idle:
                    extra_until = now + idle
                elif done or now > deadline:
                    break
            elif now > extra_until:
                break
            for m in c.consume(num_messages=1000, timeout=0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        at_end.add(m.partition())
                        continue
                    raise AssertionError(f"consumer error: {m.error()}")
                at_end.discard(m.partition())
                out.append(Message(m.topic(), m.partition(), m.key(), m.value(),
                                   m.headers() or [], m.offset()))
        return out
    finally:
        c.close()


def unique(prefix="t"):
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
