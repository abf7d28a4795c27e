"""Aggregates: has_many relations render ids in links and sideload the children
(dionysus-rb's Booking with two fees and a tax, byte for byte)."""
import json

from conftest import sql, wait_drained, consume

BOOKING_EXAMPLE = {
    "message": [{
        "event": "booking_created", "model_name": "Booking",
        "data": [{
            "id": 1, "start_at": "2024-07-01T16:00:00.000Z", "final_price": "1088.25",
            "created_at": "2024-01-01T12:03:00.000Z", "updated_at": "2024-01-01T12:03:00.000Z",
            "canceled_at": None,
            "links": {"rental": 1, "account": 1, "bookings_fees": [1, 2], "bookings_taxes": [1]},
            "bookings_fees": [
                {"id": 1, "name": "Cleaning", "amount": "50.0", "created_at": "2024-01-01T12:03:00.000Z",
                 "updated_at": "2024-01-01T12:03:00.000Z", "links": {"booking": 1}},
                {"id": 2, "name": "Linen", "amount": "25.5", "created_at": "2024-01-01T12:03:00.000Z",
                 "updated_at": "2024-01-01T12:03:00.000Z", "links": {"booking": 1}}],
            "bookings_taxes": [
                {"id": 1, "amount": "12.75", "created_at": "2024-01-01T12:03:00.000Z",
                 "updated_at": "2024-01-01T12:03:00.000Z", "links": {"booking": 1}}],
        }],
    }],
}


def test_design_example_booking_with_fees_and_taxes(cluster, db):
    ts = "'2024-01-01 12:03:00+00'"
    sql(db, "CREATE TABLE agg_accounts (id bigint PRIMARY KEY)")
    sql(db, "CREATE TABLE agg_rentals (id bigint PRIMARY KEY)")
    sql(db, f"""CREATE TABLE agg_bookings (id bigint PRIMARY KEY, rental_id bigint REFERENCES agg_rentals,
               account_id bigint REFERENCES agg_accounts, start_at timestamptz, final_price numeric(10,2),
               created_at timestamptz DEFAULT {ts}, updated_at timestamptz DEFAULT {ts}, canceled_at timestamptz)""")
    sql(db, f"""CREATE TABLE agg_bookings_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES agg_bookings,
               name text, amount numeric(10,2), created_at timestamptz DEFAULT {ts}, updated_at timestamptz DEFAULT {ts})""")
    sql(db, f"""CREATE TABLE agg_bookings_taxes (id bigint PRIMARY KEY, booking_id bigint REFERENCES agg_bookings,
               amount numeric(10,2), created_at timestamptz DEFAULT {ts}, updated_at timestamptz DEFAULT {ts})""")
    sql(db, "SELECT dionysus.declare_topic('it_agg', 'bookings', partition_key => 'account_id')")
    sql(db, "SELECT dionysus.publish('it_agg_bookings', 'agg_bookings', model_name => 'Booking')")
    # relation names (links and sideload keys) are the has_many keys
    sql(db, """SELECT dionysus.serializer('agg_bookings', has_many =>
               '{"bookings_fees": "agg_bookings_fees.booking_id", "bookings_taxes": "agg_bookings_taxes.booking_id"}')""")
    sql(db, "INSERT INTO agg_accounts VALUES (1)")
    sql(db, "INSERT INTO agg_rentals VALUES (1)")
    # one transaction: the booking and its children are all there when it is published
    sql(db, """BEGIN;
               INSERT INTO agg_bookings (id, rental_id, account_id, start_at, final_price)
                 VALUES (1, 1, 1, '2024-07-01 16:00:00+00', 1088.25);
               INSERT INTO agg_bookings_fees (id, booking_id, name, amount) VALUES (2, 1, 'Linen', 25.50), (1, 1, 'Cleaning', 50.00);
               INSERT INTO agg_bookings_taxes (id, booking_id, amount) VALUES (1, 1, 12.75);
               COMMIT""")
    wait_drained(db, timeout=30)
    msgs = consume(cluster.bootstrap, "it_agg_bookings", 1, timeout=30, idle=1.0)
    assert len(msgs) == 1
    assert msgs[0].key == b"Booking:1"
    # exact bytes: dionysus-rb's example without whitespace
    assert msgs[0].value == json.dumps(BOOKING_EXAMPLE, separators=(",", ":")).encode()


def test_parent_with_10000_children_publishes(cluster, db):
    sql(db, "CREATE TABLE big_bookings (id bigint PRIMARY KEY, name text)")
    sql(db, """CREATE TABLE big_fees (id bigint PRIMARY KEY, booking_id bigint REFERENCES big_bookings,
               name text, amount numeric(10,2))""")
    sql(db, "SELECT dionysus.declare_topic('it_big', 'bookings')")
    sql(db, "SELECT dionysus.publish('it_big_bookings', 'big_bookings', model_name => 'Booking')")
    sql(db, """SELECT dionysus.serializer('big_bookings', has_many => '{"fees": "big_fees.booking_id"}')""")
    sql(db, """BEGIN;
               INSERT INTO big_bookings VALUES (1, 'big');
               INSERT INTO big_fees SELECT g, 1, 'fee ' || g, g / 4.0 FROM generate_series(10000, 1, -1) g;
               COMMIT""")
    wait_drained(db, timeout=60)
    msgs = consume(cluster.bootstrap, "it_big_bookings", 1, timeout=30, idle=1.0)
    assert len(msgs) == 1 and msgs[0].key == b"Booking:1"
    assert len(msgs[0].value) > 700_000
    record = json.loads(msgs[0].value)["message"][0]["data"][0]
    assert record["links"]["fees"] == list(range(1, 10001))  # ordered by primary key
    assert len(record["fees"]) == 10000
    assert record["fees"][0] == {"id": 1, "name": "fee 1", "amount": "0.25", "links": {"booking": 1}}
    assert record["fees"][-1] == {"id": 10000, "name": "fee 10000", "amount": "2500.0", "links": {"booking": 1}}
