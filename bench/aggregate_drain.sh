#!/usr/bin/env bash
# bench/aggregate_drain.sh — drain rate of aggregates against plain rows,
# side by side in one cluster: bookings with 3 fees and 2 taxes each
# (has_many sideloads, one query per relationship per batch) versus rows of
# a plain table. Each backlog is held (publishing_delay), released, and timed
# until acknowledged. Target: aggregate rate >= 0.5x the plain rate.
# Environment: BENCH_BACKLOG (100000 per table), BENCH_BATCH_SIZES ("100 1000")
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6"
source "$(dirname "$0")/lib.sh"

N=${BENCH_BACKLOG:-100000}
SIZES=${BENCH_BATCH_SIZES:-"100 1000"}

bench_start
wait_worker_ready
q "$(bench_table_ddl plain_rows)"
q "CREATE TABLE bookings (id bigint PRIMARY KEY, account_id bigint, start_at timestamptz,
     final_price numeric(10,2), created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now(),
     canceled_at timestamptz);
   CREATE TABLE bookings_fees (id bigint PRIMARY KEY, booking_id bigint, name text,
     amount numeric(10,2), created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
   CREATE INDEX ON bookings_fees (booking_id);
   CREATE TABLE bookings_taxes (id bigint PRIMARY KEY, booking_id bigint,
     amount numeric(10,2), created_at timestamptz DEFAULT now(), updated_at timestamptz DEFAULT now());
   CREATE INDEX ON bookings_taxes (booking_id);"
q "SELECT dionysus.publish('bench_rows', 'plain_rows');
   SELECT dionysus.publish('bench_rows', 'bookings');
   SELECT dionysus.serializer('bookings', has_many =>
     '{\"bookings_fees\": \"bookings_fees.booking_id\", \"bookings_taxes\": \"bookings_taxes.booking_id\"}')" >/dev/null

# children first (they are not published; no foreign keys needed for a
# declared has_many), so every booking event sideloads them
q "INSERT INTO bookings_fees SELECT f, (f - 1) / 3 + 1, 'fee ' || f, f % 100 FROM generate_series(1, 3 * $N) f;
   INSERT INTO bookings_taxes SELECT t, (t - 1) / 2 + 1, t % 50 FROM generate_series(1, 2 * $N) t;
   ANALYZE bookings_fees; ANALYZE bookings_taxes;" >/dev/null

drain() {  # TABLE INSERT_SQL -> events/s
  q "TRUNCATE dionysus.outbox" >/dev/null
  set_guc dionysus.publishing_delay 1h
  sleep 0.5
  q "$2" >/dev/null
  local t0 left
  q "ALTER SYSTEM SET dionysus.publishing_delay = '0'" >/dev/null
  t0=$(q "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT pg_reload_conf()) r")
  for _ in $(seq 1200); do
    left=$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  q "SELECT round($N / (extract(epoch FROM clock_timestamp()) - $t0))"
}

echo "== aggregate drain: $N bookings with 3 fees and 2 taxes each vs $N plain rows, topic bench_rows (6 partitions) =="
for bs in $SIZES; do
  set_guc dionysus.batch_size "$bs"
  q "SET dionysus.capture = off; TRUNCATE plain_rows" >/dev/null
  plain=$(drain plain_rows "INSERT INTO plain_rows(account_id, name, price)
                            SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $N) g")
  q "DELETE FROM bookings" >/dev/null 2>&1 || true
  agg=$(drain bookings "INSERT INTO bookings(id, account_id, start_at, final_price)
                        SELECT g, g % 1000, '2024-07-01 16:00:00+00', 1088.25 FROM generate_series(1, $N) g")
  printf 'batch_size %-5s plain %7s events/s   bookings+3 fees+2 taxes %7s events/s   ratio %.2f\n' \
    "$bs" "$plain" "$agg" "$(awk -v a="$agg" -v p="$plain" 'BEGIN { print (p > 0 ? a / p : 0) }')"
  q "TRUNCATE dionysus.outbox; DELETE FROM bookings" >/dev/null
done
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
bench_stop
