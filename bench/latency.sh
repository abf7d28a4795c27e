#!/usr/bin/env bash
# bench/latency.sh — commit-to-acknowledgement latency at a steady rate.
#
# pgbench --rate=BENCH_RATE -T BENCH_SECONDS -c 2 -j 2 of single-row INSERT
# transactions into a published table, publisher running as in production;
# then p50/p95/p99/max of (published_at - created_at) over those rows.
# created_at is now() of the autocommit INSERT, i.e. its transaction start,
# which for a single-row transaction is within its pgbench latency (~0.3 ms)
# of its commit; published_at is now() of the worker's marking transaction,
# which starts after the broker acknowledged the message.
# The dev broker sets TCP_NODELAY on its connections as a real Kafka broker
# does (librdkafka's mock cluster alone leaves Nagle on: responses to
# pipelined requests then wait ~40 ms for the client's delayed ACK).
# Environment: BENCH_RATE (500), BENCH_SECONDS (20)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6"
source "$(dirname "$0")/lib.sh"

RATE=${BENCH_RATE:-500}
SECS=${BENCH_SECONDS:-20}
T0=$(date +%s)
LABEL="dev broker"
bench_start_captured
q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, captured" >/dev/null
printf '%s\n' '\set a random(1, 10000)' \
  "INSERT INTO captured(account_id, name, price) VALUES (:a, 'name ' || :a, :a / 100.0);" >"$BENCH_CLUSTER/insert.sql"
chmod 0644 "$BENCH_CLUSTER/insert.sql"

echo "== latency [$LABEL]: pgbench --rate=$RATE -T $SECS -c 2 -j 2, single-row INSERTs into a published table =="
WPID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dionysus publisher' LIMIT 1")
w0=$(awk '{ print $14 + $15 }' "/proc/$WPID/stat")
PGB=$(pgbench -n -c 2 -j 2 --rate="$RATE" -T "$SECS" -f "$BENCH_CLUSTER/insert.sql" 2>&1)
w1=$(awk '{ print $14 + $15 }' "/proc/$WPID/stat")
for _ in $(seq 300); do
  [ "$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")" = 0 ] && break
  sleep 0.1
done

echo "pgbench: $(grep -E '^tps' <<<"$PGB" | sed 's/ (without.*//'), $(grep -E '^latency average' <<<"$PGB"), $(grep -E '^rate limit schedule lag' <<<"$PGB" | sed 's/rate limit //')"
q "WITH l AS (SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms, published_at FROM dionysus.outbox)
   SELECT format('commit->ack latency [$LABEL] over %s events (%s unpublished): p50 %s ms  p95 %s ms  p99 %s ms  max %s ms  (avg %s ms)',
          count(ms), count(*) - count(ms),
          round(percentile_cont(0.50) WITHIN GROUP (ORDER BY ms)::numeric, 2),
          round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2),
          round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2),
          round(max(ms)::numeric, 2), round(avg(ms)::numeric, 2))
   FROM l"
echo "  (created_at = now() of the autocommit single-row INSERT ~ its commit time; published_at = now() of the publisher's marking transaction after the broker ack)"
q "WITH l AS (SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM dionysus.outbox WHERE published_at IS NOT NULL)
   SELECT '  histogram: ' || string_agg(format('%s %s', b, n), ', ' ORDER BY o)
   FROM (SELECT o, b, count(ms) n FROM (VALUES (1,'<1ms',0,1),(2,'1-2',1,2),(3,'2-5',2,5),(4,'5-10',5,10),(5,'10-20',10,20),
                                                (6,'20-50',20,50),(7,'50-200',50,200),(8,'>=200',200,1e9)) v(o,b,lo,hi)
         LEFT JOIN l ON l.ms >= v.lo AND l.ms < v.hi GROUP BY o, b) h"
q "SELECT format('  %s marking transactions (distinct published_at) -> %s events each; events/s acknowledged over the run %s',
          count(DISTINCT published_at), round(count(*)::numeric / nullif(count(DISTINCT published_at), 0), 1),
          round(count(*) / nullif(extract(epoch FROM max(published_at) - min(published_at)), 0)))
   FROM dionysus.outbox"
q "SELECT format('  worst second: %s (p99 %s ms over %s events)', s, p99, n) FROM (
     SELECT date_trunc('second', created_at) s, count(*) n,
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM published_at - created_at) * 1000)::numeric, 2) p99
     FROM dionysus.outbox GROUP BY 1 ORDER BY 3 DESC LIMIT 1) w"
echo "  publisher CPU during the run: $(awk -v t=$(( w1 - w0 )) -v s="$SECS" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * t / hz / s }')% of a core"
echo "  pgstat of dionysus.outbox: $(q "SELECT 'n_tup_ins=' || n_tup_ins || ' n_tup_upd=' || n_tup_upd || ' n_dead_tup=' || n_dead_tup FROM pg_stat_user_tables WHERE relid = 'dionysus.outbox'::regclass")"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
publisher_error_sample 5 | sed 's/^/    /'
echo "  load avg $(cut -d' ' -f1-3 /proc/loadavg); elapsed $(( $(date +%s) - T0 )) s"
bench_stop
