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
