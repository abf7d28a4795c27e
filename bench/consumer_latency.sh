#!/usr/bin/env bash
# bench/consumer_latency.sh — end-to-end latency through Kafka: producer
# commit -> consumer commit.
#
# Database "bench" publishes bookings with their fees (topic
# bench_bookings); database "replica" consumes them (the consumer worker).
# pgbench --rate=BENCH_RATE -T BENCH_SECONDS inserts a booking and two fees
# per transaction. With track_commit_timestamp = on, each booking's latency
# is the commit timestamp of the replica row's transaction minus the commit
# timestamp of the source row's (same server clock): what an application
# reading the replica waits, from its producer's COMMIT returning to the
# row being visible there.
# Environment: BENCH_RATE (200), BENCH_SECONDS (20)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6 --topic bench_bookings:6"
source "$(dirname "$0")/lib.sh"
RATE=${BENCH_RATE:-200}
SECS=${BENCH_SECONDS:-20}
bench_start "track_commit_timestamp = on"
createdb replica
set_guc dionysus.database 'bench,replica'
q "CREATE TABLE bookings (id bigserial PRIMARY KEY, account_id bigint, final_price numeric(10,2),
     created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
   CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, booking_id bigint REFERENCES bookings, name text,
     amount numeric(10,2));
   SELECT dionysus.declare_topic('bench', 'bookings', partition_key => 'account_id');
   SELECT dionysus.publish('bench_bookings', 'bookings', dependencies => '{bookings_fees}');" >/dev/null
PGDATABASE=replica q "CREATE EXTENSION dionysus;
   CREATE TABLE bookings (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_account_id bigint,
     synced_bookings_fee_ids bigint[], final_price numeric(10,2), synced_created_at timestamptz,
     synced_updated_at timestamptz);
   CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_booking_id bigint,
     name text, amount numeric(10,2));
   CREATE INDEX ON bookings_fees (synced_booking_id);
   SELECT dionysus.consume('bench', 'bookings');" >/dev/null
# warm up: one booking through (worker, consumer and assignment ready)
q "INSERT INTO bookings (account_id, final_price) VALUES (0, 1)" >/dev/null
for _ in $(seq 300); do
  [ "$(PGDATABASE=replica q "SELECT count(*) FROM bookings")" = 1 ] && break
  sleep 0.1
done
cat >"$BENCH_CLUSTER/booking.sql" <<'SQL'
\set a random(1, 1000)
BEGIN;
INSERT INTO bookings (account_id, final_price) VALUES (:a, :a * 1.5) RETURNING id \gset
INSERT INTO bookings_fees (booking_id, name, amount) VALUES (:id, 'Cleaning', 50), (:id, 'Linen', 25.5);
COMMIT;
SQL
chmod 0644 "$BENCH_CLUSTER/booking.sql"
echo "== consumer latency: pgbench --rate=$RATE -T $SECS -c 2 -j 2, a booking with 2 fees per transaction, published by database bench, consumed by database replica =="
PGB=$(pgbench -n -c 2 -j 2 --rate="$RATE" -T "$SECS" -f "$BENCH_CLUSTER/booking.sql" 2>&1)
echo "pgbench: $(grep -E '^tps' <<<"$PGB" | sed 's/ (without.*//'), $(grep -E '^latency average' <<<"$PGB")"
n=$(q "SELECT count(*) FROM bookings")
for _ in $(seq 300); do
  [ "$(PGDATABASE=replica q "SELECT count(*) FROM bookings_fees")" -ge $(( 2 * (n - 1) )) ] && break
  sleep 0.1
done
echo "  replica: $(PGDATABASE=replica q "SELECT count(*) FROM bookings") bookings, $(PGDATABASE=replica q "SELECT count(*) FROM bookings_fees") fees; consumer: $(PGDATABASE=replica q "SELECT state || ' ' || coalesce(last_error, '') FROM dionysus.workers WHERE role = 'consumer' AND database = 'replica'")"
# commit timestamps of both sides, by booking id (the replica's through dblink-free
# export: the source's are copied into the replica as a temporary table)
q "COPY (SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin)) FROM bookings WHERE account_id > 0) TO STDOUT" \
  >"$BENCH_CLUSTER/source_commits.tsv"
PGDATABASE=replica psql -X -q -v ON_ERROR_STOP=1 -At <<SQL
CREATE TEMP TABLE source_commits (id bigint, committed double precision);
\copy source_commits FROM '$BENCH_CLUSTER/source_commits.tsv'
WITH l AS (
  SELECT (extract(epoch FROM pg_xact_commit_timestamp(b.xmin)) - s.committed) * 1000 AS ms
    FROM bookings b JOIN source_commits s ON s.id = b.synced_id)
SELECT format('producer commit -> consumer commit over %s bookings (of %s): p50 %s ms  p95 %s ms  p99 %s ms  max %s ms',
       count(*), (SELECT count(*) FROM source_commits),
       round(percentile_cont(0.50) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       round(max(ms)::numeric, 1))
  FROM l;
WITH l AS (
  SELECT to_timestamp(s.committed) AS at, (extract(epoch FROM pg_xact_commit_timestamp(b.xmin)) - s.committed) * 1000 AS ms
    FROM bookings b JOIN source_commits s ON s.id = b.synced_id)
SELECT '  worst seconds: ' || string_agg(format('%s p99 %s ms (%s)', to_char(sec, 'HH24:MI:SS'), p99, n), ', ' ORDER BY p99 DESC)
  FROM (SELECT date_trunc('second', at) sec, count(*) n,
               round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1) p99
          FROM l GROUP BY 1 ORDER BY 3 DESC LIMIT 4) w;
SQL
q "WITH l AS (SELECT created_at, extract(epoch FROM published_at - created_at) * 1000 AS ms FROM dionysus.outbox
              WHERE published_at IS NOT NULL)
   SELECT format('  of which the publisher (commit -> broker ack, published_at - created_at): p50 %s ms  p99 %s ms  max %s ms',
          round(percentile_cont(0.50) WITHIN GROUP (ORDER BY ms)::numeric, 1),
          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1)) FROM l"
echo "  (the replica row of a booking is written by the consumer worker's batch transaction; both commit timestamps"
echo "   from track_commit_timestamp, same server clock; a booking's fees arrive in its booking_updated, later)"
