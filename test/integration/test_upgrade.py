"""Upgrades and dumps (README "Upgrades, dumps and failover"): a database
created at the previous release keeps capturing with the new library,
ALTER EXTENSION dionysus UPDATE keeps its declarations and pending rows and
ends with the catalog a fresh install has; a pg_dump/pg_restore round trip
keeps declarations and pending outbox rows, and publishing resumes there."""
import json
import subprocess

import pytest

from conftest import sql, scalar, wait_drained, consume, wait_until, worker_settings, unique, TEST_DB

pytestmark = pytest.mark.disruptive

PREVIOUS = "0.1.0"

# The extension's objects as a fresh install makes them, described so that two
# databases compare equal: members, columns, constraints, indexes, views,
# function sources and privileges.
SHAPE = """
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'dionysus')
SELECT 'member ' || pg_describe_object(d.classid, d.objid, 0)
  FROM pg_depend d, ext WHERE d.refobjid = ext.oid AND d.deptype = 'e'
UNION ALL
SELECT format('column %s.%s %s %s %s', c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
              a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'dionysus'
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
UNION ALL
SELECT format('constraint %s %s %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'dionysus'
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'dionysus'
UNION ALL
SELECT format('view %s %s', c.relname, pg_get_viewdef(c.oid))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'dionysus' WHERE c.relkind = 'v'
UNION ALL
SELECT format('acl %s %s', c.relname, c.relacl)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'dionysus'
UNION ALL
SELECT format('function %s %s %s %s %s', p.oid::regprocedure, md5(p.prosrc), p.prosecdef, p.proconfig, p.proacl)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'dionysus'
UNION ALL
SELECT format('comment %s %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
  FROM pg_description d JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'dionysus'
UNION ALL
SELECT 'config ' || c::regclass::text || ' ' || COALESCE(x.cond, '')
  FROM pg_extension e, unnest(e.extconfig, e.extcondition) x(c, cond) WHERE e.extname = 'dionysus'
ORDER BY 1
"""


def new_database(cluster, db, name):
    sql(db, f"CREATE DATABASE {name}")
    conn = cluster.connect(name)
    conn.autocommit = True
    return conn


def declare_bookings(conn, namespace):
    sql(conn, "CREATE TABLE bookings (id bigint PRIMARY KEY, account_id bigint, price numeric)")
    sql(conn, "CREATE TABLE bookings_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES bookings, "
              "amount numeric)")
    topic = scalar(conn, "SELECT dionysus.declare_topic(%s, 'bookings')", (namespace,))
    sql(conn, "SELECT dionysus.publish(%s, 'bookings', dependencies => '{bookings_fees}')", (topic,))
    return topic


def test_update_from_the_previous_release_keeps_everything_working(cluster, db):
    name = unique("it_up")
    fresh_name = unique("it_fresh")
    conn = new_database(cluster, db, name)
    fresh = new_database(cluster, db, fresh_name)
    try:
        sql(conn, f"CREATE EXTENSION dionysus VERSION '{PREVIOUS}'")
        assert scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'dionysus'") == PREVIOUS
        # 0.1.0's catalog: dionysus.topics is the table of declared topics
        assert scalar(conn, "SELECT relkind FROM pg_class WHERE oid = 'dionysus.topics'::regclass") == "r"
        topic = declare_bookings(conn, name)
        # the new library captures into the old catalog
        sql(conn, "INSERT INTO bookings SELECT g, g % 3, 10 * g FROM generate_series(1, 20) g")
        sql(conn, "INSERT INTO bookings_fees SELECT g, g, 1 FROM generate_series(1, 20) g")
        assert scalar(conn, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 40
        # ... and publishes from it
        with worker_settings(db, database=f"{TEST_DB},{name}"):
            wait_drained(conn, timeout=20)
        no_publisher = lambda: scalar(db, "SELECT count(*) FROM dionysus.workers WHERE database = %s "
                                          "AND pid IS NOT NULL", (name,)) == 0
        wait_until(no_publisher, 10, "its publisher stopped")
        sql(conn, "UPDATE bookings SET price = price + 1 WHERE id <= 5")  # pending across the update

        sql(conn, "ALTER EXTENSION dionysus UPDATE")
        assert scalar(conn, "SELECT extversion FROM pg_extension WHERE extname = 'dionysus'") != PREVIOUS
        assert scalar(conn, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 5
        assert sql(conn, "SELECT name, models FROM dionysus.topics") == [(topic, ["Booking"])]
        assert sql(conn, "SELECT model_name, dependencies::text[] FROM dionysus.models") == \
            [("Booking", ["bookings_fees"])]
        assert sql(conn, "SELECT * FROM dionysus.validate()") == []

        # the same catalog as a fresh install
        sql(fresh, "CREATE EXTENSION dionysus")
        shape_updated = [r[0] for r in sql(conn, SHAPE)]
        shape_fresh = [r[0] for r in sql(fresh, SHAPE)]
        missing = sorted(set(shape_fresh) - set(shape_updated))
        extra = sorted(set(shape_updated) - set(shape_fresh))
        assert not missing and not extra, f"fresh only: {missing}\nupdated only: {extra}"

        # capture and publishing go on, with the data in place
        sql(conn, "UPDATE bookings_fees SET amount = 2 WHERE id = 7")
        with worker_settings(db, database=f"{TEST_DB},{name}"):
            wait_drained(conn, timeout=20)
        msgs = consume(cluster.bootstrap, topic, 46)
        last = {}
        for m in msgs:
            last[m.key.decode()] = json.loads(m.value)["message"][0]
        assert len(last) == 20
        assert last["Booking:3"]["data"][0]["price"] == "31.0"
        assert last["Booking:7"]["event"] == "booking_updated"
        assert last["Booking:7"]["data"][0]["bookings_fees"][0]["amount"] == "2.0"
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.workers WHERE database = %s "
                                      "AND pid IS NOT NULL", (name,)) == 0, 10, "its publisher stopped")
    finally:
        conn.close()
        fresh.close()
        sql(db, f"DROP DATABASE {name} WITH (FORCE)")
        sql(db, f"DROP DATABASE {fresh_name} WITH (FORCE)")


def test_dump_and_restore_keeps_declarations_and_pending_rows(cluster, db):
    src_name, dst_name = unique("it_dump"), unique("it_restore")
    src = new_database(cluster, db, src_name)
    dump = cluster.root / f"{src_name}.dump"
    dst = None
    try:
        sql(src, "CREATE EXTENSION dionysus")
        topic = declare_bookings(src, src_name)
        sql(src, "SELECT dionysus.serializer('bookings', \"except\" => '{account_id}')")
        # the consumer's declarations too
        sql(src, "CREATE TABLE synced_rentals (id bigserial PRIMARY KEY, synced_id bigint UNIQUE)")
        sql(src, "SELECT dionysus.consume('billing', 'rentals', max_retries => 4)")
        sql(src, "SELECT dionysus.consume_model('Rental', 'synced_rentals')")
        sql(src, "INSERT INTO bookings SELECT g, 1, 10 FROM generate_series(1, 30) g")
        # published rows are not dumped, pending ones are
        sql(src, "UPDATE dionysus.outbox SET published_at = now() WHERE resource_id::int <= 10")
        assert scalar(src, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 20
        src.close()
        src = None
        pg_dump = [str(cluster.pgbin / "pg_dump"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                   "-Fc", "-f", str(dump), src_name]
        cluster.as_pg(pg_dump)
        sql(db, f"CREATE DATABASE {dst_name}")
        cluster.as_pg([str(cluster.pgbin / "pg_restore"), "-h", "127.0.0.1", "-p", str(cluster.port),
                       "-U", "postgres", "-d", dst_name, "--exit-on-error", str(dump)])
        dst = cluster.connect(dst_name)
        dst.autocommit = True
        assert sql(dst, "SELECT name, models FROM dionysus.topics") == [(topic, ["Booking"])]
        assert scalar(dst, "SELECT \"except\" FROM dionysus.serializers") == ["account_id"]
        assert sql(dst, "SELECT name, max_retries FROM dionysus.consumed_topics") == [("billing_rentals", 4)]
        assert sql(dst, "SELECT model_name, target::text FROM dionysus.consumed_models") == [("Rental", "synced_rentals")]
        assert scalar(dst, "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL") == 20
        assert scalar(dst, "SELECT count(*) FROM dionysus.outbox") == 20
        assert sql(dst, "SELECT * FROM dionysus.validate()") == []
        # capture works in the restored database (the triggers came along),
        # and new outbox ids continue after the restored ones
        sql(dst, "INSERT INTO bookings VALUES (31, 1, 10)")
        assert scalar(dst, "SELECT count(DISTINCT id) FROM dionysus.outbox") == 21
        with worker_settings(db, database=f"{TEST_DB},{dst_name}"):
            wait_drained(dst, timeout=20)
        msgs = consume(cluster.bootstrap, topic, 21)
        keys = {m.key.decode() for m in msgs}
        assert keys == {f"Booking:{i}" for i in range(11, 32)}, sorted(keys)
        assert all("account_id" not in json.loads(m.value)["message"][0]["data"][0] for m in msgs)
        wait_until(lambda: scalar(db, "SELECT count(*) FROM dionysus.workers WHERE database = %s "
                                      "AND pid IS NOT NULL", (dst_name,)) == 0, 10, "its publisher stopped")
    finally:
        for c in (src, dst):
            if c is not None:
                c.close()
        sql(db, f"DROP DATABASE IF EXISTS {src_name} WITH (FORCE)")
        sql(db, f"DROP DATABASE IF EXISTS {dst_name} WITH (FORCE)")
