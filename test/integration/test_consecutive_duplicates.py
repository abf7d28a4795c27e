"""dionysus.remove_consecutive_duplicates (dionysus-rb's
remove_consecutive_duplicates_before_publishing): consecutive outbox rows of a
batch with the same key and event are published once, with the row's latest
state; other events and other keys are untouched."""
import json

from conftest import sql, scalar, wait_drained, consume, worker_settings, header


def _events(msgs):
    return [(m.key, json.loads(m.value)["message"][0]["event"], json.loads(m.value)["message"][0]["data"][0]["n"])
            for m in msgs]


def _burst(db, table):
    # one transaction: the worker reads its rows in one batch
    sql(db, f"""DO $$ BEGIN
        INSERT INTO {table} VALUES (1, 0), (2, 0);
        UPDATE {table} SET n = 1 WHERE id = 1;
        UPDATE {table} SET n = 2 WHERE id = 1;
        UPDATE {table} SET n = 3 WHERE id = 2;
        UPDATE {table} SET n = 4 WHERE id = 1;
        UPDATE {table} SET n = 5 WHERE id = 1;
    END $$""")


def test_consecutive_duplicates_are_published_once(cluster, db):
    sql(db, "CREATE TABLE dup_items (id bigint PRIMARY KEY, n int)")
    topic = sql(db, "SELECT dionysus.declare_topic('it_dup', 'items')")[0][0]
    sql(db, f"SELECT dionysus.publish('{topic}', 'dup_items', model_name => 'Item')")
    try:
        with worker_settings(db, remove_consecutive_duplicates="on"):
            _burst(db, "dup_items")
            wait_drained(db, topic=topic)
        msgs = consume(cluster.bootstrap, topic, 5, idle=1.0)
        by_key = {}
        for k, event, n in _events(msgs):
            by_key.setdefault(k, []).append((event, n))
        # Item:1: created, updated (n=1, n=2 collapse), then after Item:2's
        # update, updated again (n=4, n=5 collapse) — every message renders
        # the row as published, so each carries the final n
        assert by_key[b"Item:1"] == [("item_created", 5), ("item_updated", 5), ("item_updated", 5)]
        assert by_key[b"Item:2"] == [("item_created", 3), ("item_updated", 3)]
        assert len(msgs) == 5
        # the collapsed rows are published too, nothing waits
        assert scalar(db, "SELECT count(*) FROM dionysus.outbox WHERE topic = %s AND published_at IS NOT NULL",
                      (topic,)) == 7
        ids = sorted(int(header(m, "outbox_id")) for m in msgs)
        assert len(set(ids)) == 5

        # off (the default): one message per outbox row
        sql(db, "DELETE FROM dup_items")
        wait_drained(db, topic=topic)
        _burst(db, "dup_items")
        wait_drained(db, topic=topic)
        assert len(consume(cluster.bootstrap, topic, 5 + 2 + 7, idle=1.0)) == 5 + 2 + 7
    finally:
        sql(db, f"SELECT dionysus.drop_topic('{topic}', discard_pending => true)")
        sql(db, "DROP TABLE dup_items")
