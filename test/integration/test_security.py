"""Trust boundaries of the worker (README "Security model"): what a role
without privileges on schema dionysus can make the superuser worker run."""
from conftest import sql, scalar, wait_drained, consume


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
