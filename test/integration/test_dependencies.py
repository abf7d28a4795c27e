"""Dependencies (publish(..., dependencies => …)): a created, updated or deleted
dependency row becomes <parent>_updated of every parent row it belongs to, on
the parent's topic, with the parent's key and partition key; the parent record
sideloads its dependencies (has_many: array of records, has_one: record or
null). Exact bytes, keys and partitions, read back from the dev broker."""
import json

from conftest import sql, scalar, wait_drained, consume, crc32_partition, topic_partitions, header
from test_aggregates import BOOKING_EXAMPLE

TS = "'2024-01-01 12:03:00+00'"


def by_key(msgs):
    """key -> [(event, record or None)] in the order the key's partition holds them."""
    out = {}
    for m in msgs:
        value = json.loads(m.value) if m.value is not None else None
        event = value["message"][0]["event"] if value else None
        record = value["message"][0]["data"][0] if value else None
        out.setdefault(m.key.decode(), []).append((event, record))
    return out


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def message(event, model, record):
    """The exact bytes of a message value (dicts keep their key order)."""
    return compact({"message": [{"event": event, "model_name": model, "data": [record]}]})


def values_by_key(msgs):
    out = {}
    for m in msgs:
        out.setdefault(m.key.decode(), []).append(m.value)
    return out


def test_design_example_through_dependencies(cluster, db):
    """No serializer: dependencies become has_many links and sideloads named
    after the dependency tables, exactly dionysus-rb's Booking payload."""
    sql(db, "CREATE SCHEMA dep_design")
    sql(db, "CREATE TABLE dep_design.accounts (id bigint PRIMARY KEY)")
    sql(db, "CREATE TABLE dep_design.rentals (id bigint PRIMARY KEY)")
    sql(db, f"""CREATE TABLE dep_design.bookings (id bigint PRIMARY KEY,
               rental_id bigint REFERENCES dep_design.rentals, account_id bigint REFERENCES dep_design.accounts,
               start_at timestamptz, final_price numeric(10,2),
               created_at timestamptz DEFAULT {TS}, updated_at timestamptz DEFAULT {TS}, canceled_at timestamptz)""")
    sql(db, f"""CREATE TABLE dep_design.bookings_fees (id bigint PRIMARY KEY,
               booking_id bigint REFERENCES dep_design.bookings, name text, amount numeric(10,2),
               created_at timestamptz DEFAULT {TS}, updated_at timestamptz DEFAULT {TS})""")
    sql(db, f"""CREATE TABLE dep_design.bookings_taxes (id bigint PRIMARY KEY,
               booking_id bigint REFERENCES dep_design.bookings, amount numeric(10,2),
               created_at timestamptz DEFAULT {TS}, updated_at timestamptz DEFAULT {TS})""")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'design', partition_key => 'account_id')")
    sql(db, """SELECT dionysus.publish('it_dep_design', 'dep_design.bookings',
               dependencies => ARRAY['dep_design.bookings_fees', 'dep_design.bookings_taxes']::regclass[])""")
    sql(db, "INSERT INTO dep_design.accounts VALUES (1)")
    sql(db, "INSERT INTO dep_design.rentals VALUES (1)")
    sql(db, """BEGIN;
               INSERT INTO dep_design.bookings (id, rental_id, account_id, start_at, final_price)
                 VALUES (1, 1, 1, '2024-07-01 16:00:00+00', 1088.25);
               INSERT INTO dep_design.bookings_fees (id, booking_id, name, amount)
                 VALUES (2, 1, 'Linen', 25.50), (1, 1, 'Cleaning', 50.00);
               INSERT INTO dep_design.bookings_taxes (id, booking_id, amount) VALUES (1, 1, 12.75);
               COMMIT""")
    wait_drained(db, timeout=30)
    msgs = consume(cluster.bootstrap, "it_dep_design", 3, timeout=30, idle=1.0)
    # the booking's own event, then one per dependency statement; all show the
    # state at publish time
    assert [m.key for m in msgs] == [b"Booking:1"] * 3
    assert msgs[0].value == compact(BOOKING_EXAMPLE)
    updated = json.loads(json.dumps(BOOKING_EXAMPLE))
    updated["message"][0]["event"] = "booking_updated"
    assert [m.value for m in msgs[1:]] == [compact(updated)] * 2
    parts = topic_partitions(cluster.bootstrap, "it_dep_design")
    assert {m.partition for m in msgs} == {crc32_partition("1", parts)}
    assert [header(m, "event") for m in msgs] == ["booking_created", "booking_updated", "booking_updated"]


def _bookings_schema(db):
    sql(db, "CREATE TABLE depb_rentals (id bigint PRIMARY KEY, name text)")
    sql(db, """CREATE TABLE depb_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES depb_rentals,
               account_id bigint, canceled_at timestamptz)""")
    sql(db, """CREATE TABLE depb_fees (id bigint PRIMARY KEY,
               booking_id bigint REFERENCES depb_bookings ON DELETE CASCADE, name text, amount numeric(10,2))""")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'bookings', partition_key => 'account_id')")
    sql(db, """SELECT dionysus.publish('it_dep_bookings', 'depb_bookings', model_name => 'Booking',
               dependencies => ARRAY['depb_fees']::regclass[])""")


def test_child_changes_republish_the_parent(cluster, db):
    _bookings_schema(db)
    parts = topic_partitions(cluster.bootstrap, "it_dep_bookings")
    sql(db, "INSERT INTO depb_rentals VALUES (1, 'Villa')")
    sql(db, "INSERT INTO depb_bookings (id, rental_id, account_id) VALUES (1, 1, 101), (2, 1, 202), (3, 1, 303)")
    sql(db, "INSERT INTO depb_fees VALUES (1, 1, 'Cleaning', 50), (2, 1, 'Linen', 25.5), (3, 3, 'Towels', 5)")
    wait_drained(db, timeout=30)
    base = len(consume(cluster.bootstrap, "it_dep_bookings", 5, timeout=30, idle=0.5))
    assert base == 5  # 3 created + booking 1 and booking 3 updated (one per statement and booking)

    # 1. a fee updated: its booking, with the new amount
    sql(db, "UPDATE depb_fees SET amount = 60 WHERE id = 1")
    wait_drained(db, timeout=30)
    # 2. a fee moved from booking 1 to booking 2: both republished
    sql(db, "UPDATE depb_fees SET booking_id = 2 WHERE id = 2")
    wait_drained(db, timeout=30)
    # 3. a fee deleted on its own: its booking, without it (dionysus-rb loses this one)
    sql(db, "DELETE FROM depb_fees WHERE id = 1")
    wait_drained(db, timeout=30)
    # 4. a booking deleted with its fees (cascade): one _destroyed, no stray update
    sql(db, "DELETE FROM depb_bookings WHERE id = 3")
    wait_drained(db, timeout=30)
    # 5. a soft-deleted booking: its fees' changes publish nothing
    sql(db, "UPDATE depb_bookings SET canceled_at = '2024-05-01 10:00:00+00' WHERE id = 2")
    wait_drained(db, timeout=30)  # the soft delete's snapshot: before the rename
    sql(db, "UPDATE depb_fees SET name = 'Linen (canceled)' WHERE id = 2")
    wait_drained(db, timeout=30)
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_dep_bookings' "
                      "AND failed_at IS NOT NULL") == 0

    msgs = consume(cluster.bootstrap, "it_dep_bookings", base + 6, timeout=30, idle=1.5)
    assert len(msgs) == base + 6
    events = by_key(msgs)

    values = values_by_key(msgs)

    def fee(id, booking, name, amount):
        return {"id": id, "name": name, "amount": amount, "links": {"booking": booking}}

    def booking(id, account, fees, canceled_at=None):
        return {"id": id, "account_id": account, "canceled_at": canceled_at,
                "links": {"rental": 1, "depb_fees": [f["id"] for f in fees]}, "depb_fees": fees}

    one = events["Booking:1"]
    assert [e for e, _ in one] == ["booking_created", "booking_updated", "booking_updated",
                                   "booking_updated", "booking_updated"]
    # fees inserted; after the update: the new amount; after the move: without
    # fee 2; after the delete: no fee — exact bytes
    assert values["Booking:1"][1:] == [
        message("booking_updated", "Booking", booking(1, 101, [fee(1, 1, "Cleaning", "50.0"), fee(2, 1, "Linen", "25.5")])),
        message("booking_updated", "Booking", booking(1, 101, [fee(1, 1, "Cleaning", "60.0"), fee(2, 1, "Linen", "25.5")])),
        message("booking_updated", "Booking", booking(1, 101, [fee(1, 1, "Cleaning", "60.0")])),
        message("booking_updated", "Booking", booking(1, 101, [])),
    ]

    two = events["Booking:2"]
    assert [e for e, _ in two] == ["booking_created", "booking_updated", "booking_destroyed"]
    # the moved fee; then the soft delete (full snapshot) and nothing more
    assert values["Booking:2"][1:] == [
        message("booking_updated", "Booking", booking(2, 202, [fee(2, 2, "Linen", "25.5")])),
        message("booking_destroyed", "Booking",
                booking(2, 202, [fee(2, 2, "Linen", "25.5")], canceled_at="2024-05-01T10:00:00.000Z")),
    ]

    three = events["Booking:3"]
    assert [e for e, _ in three] == ["booking_created", "booking_updated", "booking_destroyed"]
    assert values["Booking:3"][1:] == [
        message("booking_updated", "Booking", booking(3, 303, [fee(3, 3, "Towels", "5.0")])),
        message("booking_destroyed", "Booking", {"links": {}, "id": 3}),
    ]

    # every message of a booking on the partition of its account_id (resolved
    # at publish time for dependency events)
    for m in msgs:
        account = {"Booking:1": "101", "Booking:2": "202", "Booking:3": "303"}[m.key.decode()]
        assert m.partition == crc32_partition(account, parts), m


def test_parent_deleted_with_its_children_in_one_transaction(cluster, db):
    sql(db, "CREATE TABLE depd_bookings (id bigint PRIMARY KEY, account_id bigint)")
    sql(db, "CREATE TABLE depd_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES depd_bookings, name text)")
    sql(db, "SELECT dionysus.declare_topic('it_depd', 'bookings')")
    sql(db, """SELECT dionysus.publish('it_depd_bookings', 'depd_bookings', model_name => 'Booking',
               dependencies => ARRAY['depd_fees']::regclass[])""")
    sql(db, """BEGIN;
               INSERT INTO depd_bookings VALUES (1, 1), (2, 1);
               INSERT INTO depd_fees VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c');
               COMMIT""")
    wait_drained(db, timeout=30)
    sql(db, """BEGIN;
               DELETE FROM depd_fees WHERE booking_id = 1;
               DELETE FROM depd_bookings WHERE id = 1;
               COMMIT""")
    wait_drained(db, timeout=30)
    msgs = consume(cluster.bootstrap, "it_depd_bookings", 5, timeout=30, idle=1.5)
    events = by_key(msgs)
    # booking 1: created, updated (fees inserted), then only its _destroyed —
    # the fee deletion's update names a booking that no longer exists
    assert [e for e, _ in events["Booking:1"]] == ["booking_created", "booking_updated", "booking_destroyed"]
    assert values_by_key(msgs)["Booking:1"][-1] == message("booking_destroyed", "Booking", {"links": {}, "id": 1})
    assert [e for e, _ in events["Booking:2"]] == ["booking_created", "booking_updated"]
    assert values_by_key(msgs)["Booking:2"][1] == message("booking_updated", "Booking", {
        "id": 2, "account_id": 1, "links": {"depd_fees": [3]},
        "depd_fees": [{"id": 3, "name": "c", "links": {"booking": 2}}]})


def test_dependency_shared_by_models_of_different_topics(cluster, db):
    sql(db, "CREATE TABLE deps_bookings (id bigint PRIMARY KEY, account_id bigint)")
    sql(db, "CREATE TABLE deps_invoices (id bigint PRIMARY KEY, account_id bigint)")
    sql(db, """CREATE TABLE deps_notes (id uuid PRIMARY KEY, booking_id bigint REFERENCES deps_bookings,
               invoice_id bigint REFERENCES deps_invoices, body text)""")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'shared')")
    sql(db, "SELECT dionysus.declare_topic('it_deps', 'invoices')")
    sql(db, """SELECT dionysus.publish('it_dep_shared', 'deps_bookings', model_name => 'Booking',
               dependencies => ARRAY['deps_notes']::regclass[])""")
    sql(db, """SELECT dionysus.publish('it_dep_shared', 'deps_invoices', model_name => 'Invoice',
               dependencies => ARRAY['deps_notes']::regclass[])""")
    sql(db, """SELECT dionysus.publish('it_deps_invoices', 'deps_invoices', model_name => 'Invoice',
               dependencies => ARRAY['deps_notes']::regclass[])""")
    sql(db, "INSERT INTO deps_bookings VALUES (1, 5)")
    sql(db, "INSERT INTO deps_invoices VALUES (1, 5), (2, 6)")
    wait_drained(db, timeout=30)
    sql(db, """INSERT INTO deps_notes VALUES ('00000000-0000-0000-0000-000000000001', 1, 1, 'both'),
                                             ('00000000-0000-0000-0000-000000000002', NULL, 2, 'invoice')""")
    wait_drained(db, timeout=30)
    shared = by_key(consume(cluster.bootstrap, "it_dep_shared", 5, timeout=30, idle=1.5))
    assert {k: [e for e, _ in v] for k, v in shared.items()} == {
        "Booking:1": ["booking_created", "booking_updated"],
        "Invoice:1": ["invoice_created", "invoice_updated"],
        "Invoice:2": ["invoice_created", "invoice_updated"],
    }
    note = {"id": "00000000-0000-0000-0000-000000000001", "body": "both",
            "links": {"booking": 1, "invoice": 1}}
    shared_values = values_by_key(consume(cluster.bootstrap, "it_dep_shared", 5, timeout=30))
    assert shared_values["Booking:1"][1] == message("booking_updated", "Booking", {
        "id": 1, "account_id": 5, "links": {"deps_notes": [note["id"]]}, "deps_notes": [note]})
    assert shared_values["Invoice:1"][1] == message("invoice_updated", "Invoice", {
        "id": 1, "account_id": 5, "links": {"deps_notes": [note["id"]]}, "deps_notes": [note]})
    assert shared_values["Invoice:2"][1] == message("invoice_updated", "Invoice", {
        "id": 2, "account_id": 6, "links": {"deps_notes": ["00000000-0000-0000-0000-000000000002"]},
        "deps_notes": [{"id": "00000000-0000-0000-0000-000000000002", "body": "invoice",
                        "links": {"booking": None, "invoice": 2}}]})
    other = by_key(consume(cluster.bootstrap, "it_deps_invoices", 4, timeout=30, idle=1.0))
    assert {k: [e for e, _ in v] for k, v in other.items()} == {
        "Invoice:1": ["invoice_created", "invoice_updated"],
        "Invoice:2": ["invoice_created", "invoice_updated"],
    }


def test_has_one_dependency(cluster, db):
    """The booking references its rental: a rental change republishes every
    booking of it; the rental is sideloaded as a record (null when none)."""
    sql(db, "CREATE TABLE depo_rentals (id bigint PRIMARY KEY, name text, secret text)")
    sql(db, """CREATE TABLE depo_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES depo_rentals,
               account_id bigint)""")
    sql(db, "SELECT dionysus.serializer('depo_rentals', \"except\" => ARRAY['secret'])")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'rentals', partition_key => 'account_id')")
    sql(db, """SELECT dionysus.publish('it_dep_rentals', 'depo_bookings', model_name => 'Booking',
               dependencies => ARRAY['depo_rentals']::regclass[])""")
    sql(db, "INSERT INTO depo_rentals VALUES (7, 'Villa', 's'), (8, 'Flat', 's')")
    sql(db, "INSERT INTO depo_bookings VALUES (1, 7, 11), (2, 7, 22), (3, NULL, 33), (4, 8, 44)")
    wait_drained(db, timeout=30)
    sql(db, "UPDATE depo_rentals SET name = 'Villa 2' WHERE id = 7")
    wait_drained(db, timeout=30)
    msgs = consume(cluster.bootstrap, "it_dep_rentals", 6, timeout=30, idle=1.5)
    events = by_key(msgs)
    assert {k: [e for e, _ in v] for k, v in events.items()} == {
        "Booking:1": ["booking_created", "booking_updated"],
        "Booking:2": ["booking_created", "booking_updated"],
        "Booking:3": ["booking_created"],
        "Booking:4": ["booking_created"],
    }
    one = [m for m in msgs if m.key == b"Booking:1"]
    assert one[1].value == compact({"message": [{"event": "booking_updated", "model_name": "Booking", "data": [
        {"id": 1, "account_id": 11, "links": {"rental": 7},
         "rental": {"id": 7, "name": "Villa 2", "links": {}}}]}]})
    values = values_by_key(msgs)
    assert values["Booking:2"][1] == message("booking_updated", "Booking", {
        "id": 2, "account_id": 22, "links": {"rental": 7}, "rental": {"id": 7, "name": "Villa 2", "links": {}}})
    assert values["Booking:3"] == [message("booking_created", "Booking", {
        "id": 3, "account_id": 33, "links": {"rental": None}, "rental": None})]
    assert values["Booking:4"] == [message("booking_created", "Booking", {
        "id": 4, "account_id": 44, "links": {"rental": 8}, "rental": {"id": 8, "name": "Flat", "links": {}}})]
    parts = topic_partitions(cluster.bootstrap, "it_dep_rentals")
    for m in msgs:
        account = {"Booking:1": "11", "Booking:2": "22", "Booking:3": "33", "Booking:4": "44"}[m.key.decode()]
        assert m.partition == crc32_partition(account, parts)


def test_partition_key_function_in_another_schema(cluster, db):
    """A model in its own schema, partitioned by a function of that schema:
    dependency events take the key from the function at publish time (the
    worker's search_path is not the application's)."""
    sql(db, "CREATE SCHEMA depk")
    sql(db, "CREATE TABLE depk.orders (id bigint PRIMARY KEY, region text)")
    sql(db, "CREATE TABLE depk.lines (id bigint PRIMARY KEY, order_id bigint REFERENCES depk.orders, qty int)")
    sql(db, "CREATE FUNCTION depk.order_region(o depk.orders) RETURNS text LANGUAGE sql IMMUTABLE "
            "AS $$ SELECT 'region-' || o.region $$")
    sql(db, "SET search_path = depk, public")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'schema', partition_key => 'order_region')")
    sql(db, "SELECT dionysus.publish('it_dep_schema', 'orders', dependencies => ARRAY['lines']::regclass[])")
    sql(db, "RESET search_path")
    assert scalar(db, "SELECT partition_key FROM dionysus.published_models WHERE topic = 'it_dep_schema'") == \
        "depk.order_region(depk.orders)"
    sql(db, "INSERT INTO depk.orders VALUES (1, 'north'), (2, 'south')")
    wait_drained(db, timeout=30)
    sql(db, "INSERT INTO depk.lines VALUES (1, 1, 3), (2, 2, 4)")
    wait_drained(db, timeout=30)
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_dep_schema' "
                      "AND failed_at IS NOT NULL") == 0
    msgs = consume(cluster.bootstrap, "it_dep_schema", 4, timeout=30, idle=1.0)
    parts = topic_partitions(cluster.bootstrap, "it_dep_schema")
    events = by_key(msgs)
    assert {k: [e for e, _ in v] for k, v in events.items()} == {
        "Order:1": ["order_created", "order_updated"], "Order:2": ["order_created", "order_updated"]}
    for m in msgs:
        region = {"Order:1": "region-north", "Order:2": "region-south"}[m.key.decode()]
        assert m.partition == crc32_partition(region, parts), m
    assert events["Order:1"][1][1]["lines"] == [{"id": 1, "qty": 3, "links": {"order": 1}}]


def test_dropped_and_altered_tables_do_not_block_the_topic(cluster, db):
    """A model table dropped while its dependency's events are pending, and a
    primary key whose type changed (the worker's cached statements follow)."""
    sql(db, "CREATE TABLE depx_gone (id bigint PRIMARY KEY)")
    sql(db, "CREATE TABLE depx_gone_notes (id bigint PRIMARY KEY, depx_gone_id bigint REFERENCES depx_gone)")
    sql(db, "CREATE TABLE depx_items (id integer PRIMARY KEY, name text)")
    sql(db, "SELECT dionysus.declare_topic('it_dep', 'drop')")
    sql(db, """SELECT dionysus.publish('it_dep_drop', 'depx_gone', model_name => 'Gone',
               dependencies => ARRAY['depx_gone_notes']::regclass[])""")
    sql(db, "SELECT dionysus.publish('it_dep_drop', 'depx_items', model_name => 'Item')")
    sql(db, "INSERT INTO depx_items VALUES (1, 'before')")
    wait_drained(db, timeout=30)

    # the model table goes while an event of its dependency is pending
    sql(db, "BEGIN; INSERT INTO depx_gone VALUES (1); INSERT INTO depx_gone_notes VALUES (1, 1); "
            "DROP TABLE depx_gone CASCADE; COMMIT")
    sql(db, "INSERT INTO depx_gone_notes VALUES (2, NULL)")   # capture still installed on the notes
    # the primary key's type changes under the worker's cached statements
    sql(db, "ALTER TABLE depx_items ALTER COLUMN id TYPE bigint")
    sql(db, "INSERT INTO depx_items VALUES (3000000000, 'after')")
    wait_drained(db, timeout=30)
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_dep_drop' "
                      "AND failed_at IS NOT NULL") == 0
    msgs = consume(cluster.bootstrap, "it_dep_drop", 2, timeout=30, idle=1.0)
    assert sorted(m.key for m in msgs) == [b"Item:1", b"Item:3000000000"]
    late = [m for m in msgs if m.key == b"Item:3000000000"][0]
    assert late.value == message("item_created", "Item", {"id": 3000000000, "name": "after", "links": {}})
