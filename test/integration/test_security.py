"""Trust boundaries of the worker (README "Security model"): what a role
without privileges on schema dionysus can make the superuser worker run."""
import pytest

from conftest import sql, scalar, wait_drained, wait_until, consume


def test_worker_compares_keys_with_the_types_own_operator(cluster, db):
    """An operator a role creates for a key's type (varchar has none of its
    own in pg_catalog: it compares as text) is never picked by the worker's
    fetches, which would run it as superuser."""
    sql(db, "CREATE ROLE it_sneaky")
    sql(db, "CREATE SCHEMA sneaky AUTHORIZATION it_sneaky")
    sql(db, "CREATE TABLE sneaky_calls (who text)")
    sql(db, "GRANT INSERT ON sneaky_calls TO PUBLIC")
    sql(db, "SET ROLE it_sneaky")
    sql(db, """CREATE FUNCTION sneaky.eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS $$
               BEGIN INSERT INTO public.sneaky_calls VALUES (current_user);
                     RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END $$""")
    sql(db, "CREATE OPERATOR sneaky.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = sneaky.eq)")
    sql(db, "RESET ROLE")
    try:
        sql(db, "CREATE TABLE coded_items (code varchar(8) PRIMARY KEY, name text)")
        sql(db, "SELECT dionysus.declare_topic('it_sneaky', 'items')")
        sql(db, "SELECT dionysus.publish('it_sneaky_items', 'coded_items', model_name => 'Item')")
        sql(db, "INSERT INTO coded_items VALUES ('A1', 'a')")
        wait_drained(db, timeout=20, topic="it_sneaky_items")
        msgs = consume(cluster.bootstrap, "it_sneaky_items", 1, timeout=20)
        assert msgs[0].key == b"Item:A1"
        assert scalar(db, "SELECT count(*) FROM sneaky_calls") == 0
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_sneaky_items', discard_pending => true)")
        sql(db, "DROP SCHEMA sneaky CASCADE")
        sql(db, "DROP ROLE it_sneaky")


@pytest.fixture
def caster(db):
    """A role owning an enum type with casts to and from text that make it
    superuser when they run as one: any privileged code that casts a value
    of the type gives it away."""
    sql(db, "CREATE ROLE it_caster")
    sql(db, "CREATE SCHEMA caster AUTHORIZATION it_caster")
    sql(db, "GRANT USAGE ON SCHEMA caster TO PUBLIC")
    sql(db, "SET ROLE it_caster")
    sql(db, "CREATE TYPE caster.code AS ENUM ('alpha', 'beta')")
    sql(db, """CREATE FUNCTION caster.code_text(c caster.code) RETURNS text LANGUAGE plpgsql AS $$
               BEGIN EXECUTE 'ALTER ROLE it_caster SUPERUSER';
                     RETURN 'x' OPERATOR(pg_catalog.||) pg_catalog.format('%s', c); END $$""")
    sql(db, """CREATE FUNCTION caster.text_code(t text) RETURNS caster.code LANGUAGE plpgsql AS $$
               BEGIN EXECUTE 'ALTER ROLE it_caster SUPERUSER'; RETURN 'beta'; END $$""")
    sql(db, "CREATE CAST (caster.code AS text) WITH FUNCTION caster.code_text(caster.code)")
    sql(db, "CREATE CAST (text AS caster.code) WITH FUNCTION caster.text_code(text)")
    sql(db, "RESET ROLE")
    yield "it_caster"
    sql(db, "DROP SCHEMA caster CASCADE")
    sql(db, "DROP ROLE it_caster")


def is_superuser(db, role):
    return scalar(db, "SELECT rolsuper FROM pg_roles WHERE rolname = %s", (role,))


def test_tombstone_runs_no_cast_of_the_key_type_owner(cluster, db, caster):
    """tombstone() reads the row's partition key as its caller (a
    superuser): the id is parsed and the partition key printed by the types'
    input and output functions, never through a cast the types' owner made."""
    topic = "it_sectomb_items"
    sql(db, "CREATE TABLE sectomb_items (code caster.code PRIMARY KEY, region caster.code)")
    try:
        sql(db, "SELECT dionysus.declare_topic('it_sectomb', 'items', partition_key => 'region')")
        sql(db, "SELECT dionysus.publish('it_sectomb_items', 'sectomb_items', model_name => 'Item')")
        sql(db, "INSERT INTO sectomb_items VALUES ('alpha', 'alpha')")
        outbox_id = scalar(db, "SELECT dionysus.tombstone('it_sectomb_items', 'sectomb_items', 'alpha')")
        assert is_superuser(db, caster) is False
        assert sql(db, "SELECT message_key, partition_key FROM dionysus.outbox WHERE id = %s", (outbox_id,)) == [
            ("Item:alpha", "alpha")]
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_sectomb_items', discard_pending => true)")
        sql(db, "DROP TABLE sectomb_items")


def test_a_fan_out_split_runs_no_cast_of_the_key_type_owner(cluster, db, caster):
    """Splitting a failed has_one fan-out by key reads the target rows' keys
    as the worker (superuser). A role that owns the key's type can create a
    cast from it to text: the worker must print keys with the type's output
    function, never through such a cast (which would run the role's code as
    superuser, and could print another key)."""
    topic = "it_seccast_bookings"
    try:
        sql(db, "CREATE TABLE seccast_rentals (id bigint PRIMARY KEY, name text)")
        sql(db, """CREATE TABLE seccast_bookings (code caster.code PRIMARY KEY,
                   rental_id bigint REFERENCES seccast_rentals)""")
        # a serializer that fails for one rental's name: the fan-out is split
        sql(db, """CREATE FUNCTION seccast_json(b seccast_bookings) RETURNS jsonb LANGUAGE plpgsql AS $$
                   DECLARE n text := (SELECT r.name FROM public.seccast_rentals r WHERE r.id = b.rental_id);
                   BEGIN IF n = 'broken' AND pg_catalog.format('%s', b.code) = 'beta' THEN
                           RAISE EXCEPTION 'cannot render %', b.code; END IF;
                         RETURN pg_catalog.jsonb_build_object('code', b.code, 'rental', n); END $$""")
        sql(db, "SELECT dionysus.declare_topic('it_seccast', 'bookings')")
        sql(db, """SELECT dionysus.publish('it_seccast_bookings', 'seccast_bookings', model_name => 'Booking',
                   dependencies => ARRAY['seccast_rentals']::regclass[])""")
        sql(db, "SELECT dionysus.serializer('seccast_bookings', function => 'seccast_json(seccast_bookings)')")
        sql(db, "INSERT INTO seccast_rentals VALUES (7, 'Villa')")
        sql(db, "INSERT INTO seccast_bookings VALUES ('alpha', 7), ('beta', 7)")
        wait_drained(db, timeout=20, topic=topic)
        sql(db, "UPDATE seccast_rentals SET name = 'broken' WHERE id = 7")
        fan_out = scalar(db, "SELECT max(id) FROM dionysus.outbox WHERE topic = %s AND resource_column = 'rental_id'",
                         (topic,))
        wait_until(lambda: scalar(db, "SELECT error_class FROM dionysus.outbox WHERE id = %s", (fan_out,))
                   == "Dionysus::FanOutSplit", 10, "the failed fan-out split")
        assert is_superuser(db, caster) is False
        # the split rows name the keys as the output function prints them
        assert sql(db, "SELECT resource_id FROM dionysus.outbox WHERE topic = %s AND id > %s ORDER BY resource_id",
                   (topic, fan_out)) == [("alpha",), ("beta",)]
    finally:
        sql(db, "SELECT dionysus.drop_topic('it_seccast_bookings', discard_pending => true)")
        sql(db, "DROP FUNCTION IF EXISTS seccast_json")
        sql(db, "DROP TABLE IF EXISTS seccast_bookings, seccast_rentals")


@pytest.fixture
def mallory(db):
    """A role with a schema of its own, and a log of whoever runs its code:
    (current_user, backend_type) per call."""
    sql(db, "CREATE ROLE it_mallory")
    sql(db, "CREATE SCHEMA mal AUTHORIZATION it_mallory")
    sql(db, "GRANT USAGE ON SCHEMA mal TO PUBLIC")
    sql(db, "CREATE TABLE mal_calls (who text, backend text)")
    sql(db, "GRANT INSERT ON mal_calls TO PUBLIC")
    sql(db, "SET ROLE it_mallory")
    sql(db, """CREATE FUNCTION mal.note() RETURNS boolean LANGUAGE plpgsql AS $$
               BEGIN INSERT INTO public.mal_calls SELECT current_user, a.backend_type
                       FROM pg_catalog.pg_stat_activity a WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid();
                     RETURN true; END $$""")
    sql(db, "RESET ROLE")
    yield "it_mallory"
    sql(db, "DROP SCHEMA mal CASCADE")
    sql(db, "DROP TABLE mal_calls")
    sql(db, "DROP ROLE it_mallory")


def worker_calls(db):
    return sql(db, "SELECT DISTINCT who FROM mal_calls WHERE backend = 'dionysus publisher'")


def publish_one(db, topic, table, rows):
    sql(db, f"SELECT dionysus.declare_topic('{topic.split('_')[0]}_{topic.split('_')[1]}', 'items')")
    sql(db, f"SELECT dionysus.publish('{topic}', '{table}', model_name => 'Item')")
    sql(db, f"INSERT INTO {table} VALUES {rows}")
    wait_drained(db, timeout=20, topic=topic)


def test_a_nested_domain_check_never_runs_in_the_worker(cluster, db, mallory):
    """The worker binds key parameters of the key's base type through every
    domain level: the CHECK of a role's domain (over another domain) never
    runs in the worker, where it would run as a superuser."""
    topic = "it_secdom_items"
    sql(db, "SET ROLE it_mallory")
    sql(db, "CREATE DOMAIN mal.d1 AS bigint CHECK (mal.note())")
    sql(db, "CREATE DOMAIN mal.d2 AS mal.d1")
    sql(db, "RESET ROLE")
    sql(db, "CREATE TABLE secdom_items (id mal.d2 PRIMARY KEY, v int)")
    try:
        publish_one(db, topic, "secdom_items", "(1, 0), (2, 0)")
        assert worker_calls(db) == []
        msgs = consume(cluster.bootstrap, topic, 2, timeout=20)
        assert sorted(m.key for m in msgs) == [b"Item:1", b"Item:2"]
    finally:
        sql(db, f"SELECT dionysus.drop_topic('{topic}', discard_pending => true)")
        sql(db, "DROP TABLE secdom_items")


def test_a_table_owners_index_code_runs_as_the_table_owner(cluster, db, mallory):
    """Planning the worker's query of a table evaluates its owner's code (an
    IMMUTABLE function in an index predicate): the worker reads a table as
    its owner, so that code never runs as a superuser."""
    topic = "it_secidx_items"
    sql(db, "SET ROLE it_mallory")
    sql(db, "CREATE FUNCTION mal.k() RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RETURN mal.note(); END $$")
    sql(db, "CREATE TABLE mal.secidx_items (id bigint PRIMARY KEY, v int)")
    sql(db, "CREATE INDEX ON mal.secidx_items (v) WHERE mal.k()")
    sql(db, "RESET ROLE")
    try:
        publish_one(db, topic, "mal.secidx_items", "(1, 0), (2, 0)")
        sql(db, "SET ROLE it_mallory")
        sql(db, "ALTER INDEX mal.secidx_items_v_idx SET (fillfactor = 50)")  # its relcache entry rebuilt
        sql(db, "RESET ROLE")
        sql(db, "UPDATE mal.secidx_items SET v = 1")
        wait_drained(db, timeout=20, topic=topic)
        calls = worker_calls(db)
        assert ("postgres",) not in calls and calls in ([], [("it_mallory",)]), calls
        assert scalar(db, "SELECT rolsuper FROM pg_roles WHERE rolname = 'it_mallory'") is False
    finally:
        sql(db, f"SELECT dionysus.drop_topic('{topic}', discard_pending => true)")
        sql(db, "DROP TABLE mal.secidx_items")


def test_no_operator_a_role_made_for_its_domain_is_picked(cluster, db, mallory):
    """A key of a domain over an extension's type (citext) in a schema the
    role can write: the worker compares keys as the base type, so an
    operator the role created for (domain, citext) there never runs."""
    topic = "it_secop_items"
    sql(db, "CREATE EXTENSION IF NOT EXISTS citext SCHEMA mal")
    sql(db, "SET ROLE it_mallory")
    sql(db, "CREATE DOMAIN mal.cdom AS mal.citext")
    sql(db, """CREATE FUNCTION mal.eq(mal.cdom, mal.citext) RETURNS boolean LANGUAGE plpgsql AS $$
               BEGIN PERFORM mal.note(); RETURN $1::text OPERATOR(pg_catalog.=) $2::text; END $$""")
    sql(db, "CREATE OPERATOR mal.= (LEFTARG = mal.cdom, RIGHTARG = mal.citext, FUNCTION = mal.eq)")
    sql(db, "RESET ROLE")
    sql(db, "CREATE TABLE secop_items (code mal.cdom PRIMARY KEY, v int)")
    try:
        publish_one(db, topic, "secop_items", "('a', 0), ('B', 0)")
        assert worker_calls(db) == []
        msgs = consume(cluster.bootstrap, topic, 2, timeout=20)
        assert sorted(m.key for m in msgs) == [b"Item:B", b"Item:a"]
    finally:
        sql(db, f"SELECT dionysus.drop_topic('{topic}', discard_pending => true)")
        sql(db, "DROP TABLE secop_items")
        sql(db, "DROP EXTENSION citext CASCADE")
