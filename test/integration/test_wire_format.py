"""Exact Kafka bytes: key, value, partition and headers (README "Wire format")."""
from conftest import (sql, scalar, wait_drained, consume, topic_partitions,
                      crc32_partition, header)


def rental_json(event, rid, name, price, created, updated, canceled, account):
    canceled_j = "null" if canceled is None else f'"{canceled}"'
    account_j = "null" if account is None else str(account)
    return ('{"message":[{"event":"%s","model_name":"Rental","data":[{"id":%d,"name":"%s",'
            '"price":"%s","created_at":"%s","updated_at":"%s","canceled_at":%s,'
            '"links":{"account":%s}}]}]}'
            % (event, rid, name, price, created, updated, canceled_j, account_j)).encode()


def outbox_ids(db, topic):
    return [r[0] for r in sql(db, "SELECT id FROM dionysus.outbox WHERE topic = %s ORDER BY id",
                              (topic,))]


def test_rental_created_updated_destroyed_exact_bytes(cluster, db):
    sql(db, """
        CREATE TABLE accounts (id bigserial PRIMARY KEY, name text,
                               created_at timestamptz DEFAULT now(),
                               updated_at timestamptz DEFAULT now());
        CREATE TABLE rentals (id bigserial PRIMARY KEY,
                              account_id bigint REFERENCES accounts,
                              name text, price numeric(10,2),
                              created_at timestamptz, updated_at timestamptz,
                              canceled_at timestamptz);
    """)
    assert scalar(db, "SELECT dionysus.declare_topic('it_exact', 'rentals', "
                      "partition_key => 'account_id')") == "it_exact_rentals"
    sql(db, "SELECT dionysus.publish('it_exact_rentals', 'rentals')")
    assert scalar(db, "SELECT dionysus.declare_topic('it_exact', 'accounts')") == "it_exact_accounts"
    sql(db, "SELECT dionysus.publish('it_exact_accounts', 'accounts')")

    sql(db, "INSERT INTO accounts (id, name, created_at, updated_at) VALUES "
            "(7, 'Acme', '2024-05-01 09:00:00+00', '2024-05-01 09:00:00.999999+00')")
    sql(db, "INSERT INTO rentals (id, account_id, name, price, created_at, updated_at) VALUES "
            "(1, 7, 'Villa \"Azur\"', 12.50, '2024-05-01 10:00:00.123456+00', "
            "'2024-05-01 10:00:00.123456+00')")
    sql(db, "INSERT INTO rentals (id, account_id, name, price, created_at, updated_at) VALUES "
            "(2, NULL, 'Loft', 0, '2024-05-01 12:00:00+02', '2024-05-01 12:00:00+02')")
    wait_drained(db)
    sql(db, "UPDATE rentals SET price = 100.00, updated_at = '2024-05-02 11:30:00.5+00' WHERE id = 1")
    wait_drained(db)
    sql(db, "DELETE FROM rentals WHERE id = 1")
    wait_drained(db)

    boot = cluster.bootstrap
    n = topic_partitions(boot, "it_exact_rentals")
    msgs = consume(boot, "it_exact_rentals", 4, idle=1.0)
    ids = outbox_ids(db, "it_exact_rentals")
    assert len(ids) == 4, ids

    by_key = {}
    for m in msgs:
        by_key.setdefault(m.key, []).append(m)
    assert sorted(by_key) == [b"Rental:1", b"Rental:2"]
    r1 = by_key[b"Rental:1"]
    r2 = by_key[b"Rental:2"]
    assert [m.value for m in r1] == [
        rental_json("rental_created", 1, 'Villa \\"Azur\\"', "12.5",
                    "2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123Z", None, 7),
        rental_json("rental_updated", 1, 'Villa \\"Azur\\"', "100.0",
                    "2024-05-01T10:00:00.123Z", "2024-05-02T11:30:00.500Z", None, 7),
        b'{"message":[{"event":"rental_destroyed","model_name":"Rental",'
        b'"data":[{"links":{},"id":1}]}]}',
    ]
    assert [m.value for m in r2] == [
        rental_json("rental_created", 2, "Loft", "0.0",
                    "2024-05-01T10:00:00.000Z", "2024-05-01T10:00:00.000Z", None, None),
    ]
    # partition: consistent_random over the partition key (account_id digits; NULL -> "0")
    assert {m.partition for m in r1} == {crc32_partition("7", n)}
    assert r2[0].partition == crc32_partition("0", n)
    # headers
    assert [(header(m, "event"), header(m, "model")) for m in r1] == [
        ("rental_created", "Rental"), ("rental_updated", "Rental"), ("rental_destroyed", "Rental")]
    assert header(r2[0], "event") == "rental_created"
    got_ids = sorted(int(header(m, "outbox_id")) for m in msgs)
    assert got_ids == ids
    # outbox rows record what was published
    rows = sql(db, "SELECT resource_class, resource_id, event_name, published_at IS NOT NULL, "
                   "attempts, failed_at FROM dionysus.outbox "
                   "WHERE topic = 'it_exact_rentals' ORDER BY id")
    assert rows == [
        ("Rental", "1", "rental_created", True, 0, None),
        ("Rental", "2", "rental_created", True, 0, None),
        ("Rental", "1", "rental_updated", True, 0, None),
        ("Rental", "1", "rental_destroyed", True, 0, None),
    ]
    assert {r[0] for r in sql(db, "SELECT partition_key FROM dionysus.outbox "
                                  "WHERE topic = 'it_exact_rentals' AND resource_id = '1'")} == {"7"}

    # accounts: no partition key declared and no account_id column -> the
    # configured partitioner (consistent_random) over the message key.
    acc = consume(boot, "it_exact_accounts", 1, idle=0.5)
    assert len(acc) == 1
    a = acc[0]
    assert a.key == b"Account:7"
    assert a.value == (b'{"message":[{"event":"account_created","model_name":"Account","data":'
                       b'[{"id":7,"name":"Acme","created_at":"2024-05-01T09:00:00.000Z",'
                       b'"updated_at":"2024-05-01T09:00:00.999Z","links":{}}]}]}')
    assert a.partition == crc32_partition("Account:7", topic_partitions(boot, "it_exact_accounts"))
    assert header(a, "event") == "account_created" and header(a, "model") == "Account"


def test_value_rendering_and_model_naming(cluster, db):
    """bookings_fees -> BookingsFee; numbers, booleans, NULLs, escaping."""
    sql(db, """
        CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, name text, amount numeric(12,3),
                                    qty integer, paid boolean, note text,
                                    created_at timestamptz, updated_at timestamptz);
    """)
    sql(db, "SELECT dionysus.declare_topic('it_naming', 'fees')")
    sql(db, "SELECT dionysus.publish('it_naming_fees', 'bookings_fees')")
    sql(db, "INSERT INTO bookings_fees VALUES (5, 'Line\\Two\t', 1088.250, 3, true, NULL, "
            "'2024-01-01 12:03:00+00', '2024-01-01 12:03:00.0009+00')")
    sql(db, "INSERT INTO bookings_fees VALUES (6, 'x', -25.500, -1, false, 'n', "
            "'2024-01-01 12:03:00+00', '2024-01-01 12:03:00+00')")
    wait_drained(db)
    msgs = consume(cluster.bootstrap, "it_naming_fees", 2, idle=0.5)
    by_key = {m.key: m for m in msgs}
    assert sorted(by_key) == [b"BookingsFee:5", b"BookingsFee:6"]
    assert by_key[b"BookingsFee:5"].value == (
        b'{"message":[{"event":"bookings_fee_created","model_name":"BookingsFee","data":'
        b'[{"id":5,"name":"Line\\\\Two\\t","amount":"1088.25","qty":3,"paid":true,"note":null,'
        b'"created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z",'
        b'"links":{}}]}]}')
    assert by_key[b"BookingsFee:6"].value == (
        b'{"message":[{"event":"bookings_fee_created","model_name":"BookingsFee","data":'
        b'[{"id":6,"name":"x","amount":"-25.5","qty":-1,"paid":false,"note":"n",'
        b'"created_at":"2024-01-01T12:03:00.000Z","updated_at":"2024-01-01T12:03:00.000Z",'
        b'"links":{}}]}]}')
    assert header(by_key[b"BookingsFee:5"], "model") == "BookingsFee"


def test_schema_qualified_table(cluster, db):
    """A table outside the search_path is captured and published like any other."""
    sql(db, """
        CREATE SCHEMA it_schema;
        CREATE TABLE it_schema.rentals (id bigserial PRIMARY KEY, account_id bigint, name text);
    """)
    sql(db, "SELECT dionysus.declare_topic('it_schema', 'rentals')")
    sql(db, "SELECT dionysus.publish('it_schema_rentals', 'it_schema.rentals')")
    sql(db, "INSERT INTO it_schema.rentals VALUES (3, 42, 'a')")
    wait_drained(db)
    msgs = consume(cluster.bootstrap, "it_schema_rentals", 1, idle=0.5)
    assert len(msgs) == 1
    m = msgs[0]
    assert m.key == b"Rental:3"
    # account_id is not a foreign key here: a plain attribute, and the default partition key
    assert m.value == (b'{"message":[{"event":"rental_created","model_name":"Rental","data":'
                       b'[{"id":3,"account_id":42,"name":"a","links":{}}]}]}')
    assert m.partition == crc32_partition("42", topic_partitions(cluster.bootstrap,
                                                                 "it_schema_rentals"))
