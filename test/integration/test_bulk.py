"""A 1000-row INSERT ... SELECT is delivered completely, on the right partitions."""
import json

from conftest import sql, scalar, wait_drained, consume, topic_partitions, crc32_partition, header


def test_bulk_insert_select_delivered_with_partitions(cluster, db):
    sql(db, "CREATE TABLE bulk_items (id bigint PRIMARY KEY, account_id bigint, v text)")
    sql(db, "SELECT dionysus.declare_topic('it_bulk', 'items')")
    sql(db, "SELECT dionysus.publish('it_bulk_items', 'bulk_items', model_name => 'Item')")
    sql(db, "INSERT INTO bulk_items SELECT g, g % 37, 'v' || g FROM generate_series(1, 1000) g")
    assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = 'it_bulk_items'") == 1000
    wait_drained(db, timeout=30)

    n = topic_partitions(cluster.bootstrap, "it_bulk_items")
    msgs = consume(cluster.bootstrap, "it_bulk_items", 1000, timeout=30, idle=1.0)
    assert len(msgs) == 1000
    ids = {r[0] for r in sql(db, "SELECT id FROM dionysus.outbox WHERE topic = 'it_bulk_items'")}
    assert {int(header(m, "outbox_id")) for m in msgs} == ids
    seen = set()
    for m in msgs:
        model, _, rid = m.key.decode().partition(":")
        assert model == "Item"
        rid = int(rid)
        seen.add(rid)
        # default partition key: the account_id column
        assert m.partition == crc32_partition(str(rid % 37), n), (m.key, m.partition)
        assert json.loads(m.value) == {"message": [{
            "event": "item_created", "model_name": "Item",
            "data": [{"id": rid, "account_id": rid % 37, "v": f"v{rid}", "links": {}}]}]}
        assert header(m, "event") == "item_created"
    assert seen == set(range(1, 1001))
