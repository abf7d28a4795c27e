#!/usr/bin/env bash
# bench/genesis.sh — dionysus.genesis of GENESIS_ROWS (1,000,000) rows:
#  1. its rate (rows acknowledged per second: rows_done over finished_at −
#     started_at) against the baseline of the same run, the drain of as many
#     plain outbox events (one UPDATE of every row);
#  2. live latency (published_at − created_at of single-row INSERT commits at
#     GENESIS_RATE (200) commits/s on the same topic, pgbench) idle, then while
#     a genesis of the same rows streams.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROWS=${GENESIS_ROWS:-1000000}
RATE=${GENESIS_RATE:-200}
SECS=${GENESIS_SECONDS:-10}
bench_start
wait_worker_ready
q "$(bench_table_ddl captured) $(bench_table_ddl live)
   SELECT dionysus.publish('bench_rows', 'captured'); SELECT dionysus.publish('bench_rows', 'live');" >/dev/null
q "SET dionysus.capture = off; INSERT INTO captured(account_id, name, price)
   SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $ROWS) g" >/dev/null
q "VACUUM ANALYZE captured"
now() { date +%s.%N; }
pending() { q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL"; }

echo "== genesis: $ROWS rows, 6 partitions, batch_size $(q 'SHOW dionysus.batch_size') =="
q "UPDATE captured SET price = price + 1" >/dev/null
t0=$(now)
while [ "$(pending)" != 0 ]; do sleep 0.05; done
plain_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }')
plain_rps=$(awk -v n="$ROWS" -v s="$plain_s" 'BEGIN { printf "%.0f", n / s }')
q "TRUNCATE dionysus.outbox" >/dev/null

wait_run() {
  while [ "$(q "SELECT state FROM dionysus.genesis_runs WHERE id = $1")" = running ]; do sleep 0.1; done
}
run=$(q "SELECT dionysus.genesis('bench_rows', 'captured')")
wait_run "$run"
read -r state done gen_s <<<"$(q "SELECT state, rows_done, round(extract(epoch FROM finished_at - started_at), 2)
                                 FROM dionysus.genesis_runs WHERE id = $run" | tr '|' ' ')"
gen_rps=$(awk -v n="$done" -v s="$gen_s" 'BEGIN { printf "%.0f", n / s }')
printf 'plain drain  %8d events in %6.2f s  %8d events/s\n' "$ROWS" "$plain_s" "$plain_rps"
printf 'genesis      %8d rows   in %6.2f s  %8d rows/s   (%s)   ratio %s\n' "$done" "$gen_s" "$gen_rps" "$state" \
  "$(ratio "$gen_rps" "$plain_rps")"

printf '%s\n' '\set a random(1, 10000)' \
  "INSERT INTO live(account_id, name, price) VALUES (:a, 'name ' || :a, :a / 100.0);" >"$BENCH_CLUSTER/live.sql"
chmod 0644 "$BENCH_CLUSTER/live.sql"
latency() {  # LABEL: pgbench at $RATE/s for $SECS s, then the latency of its rows
  q "TRUNCATE dionysus.outbox" >/dev/null
  pgbench -n -c 2 -j 2 --rate="$RATE" -T "$SECS" -f "$BENCH_CLUSTER/live.sql" >/dev/null 2>&1
  while [ "$(pending)" != 0 ]; do sleep 0.05; done
  q "WITH l AS (SELECT extract(epoch FROM published_at - created_at) * 1000 AS ms FROM dionysus.outbox)
     SELECT format('live latency %-16s over %s commits: p50 %s ms  p99 %s ms  max %s ms', '$1', count(*),
            round(percentile_cont(0.50) WITHIN GROUP (ORDER BY ms)::numeric, 2),
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), round(max(ms)::numeric, 2)) FROM l"
}
latency idle
run=$(q "SELECT dionysus.genesis('bench_rows', 'captured')")
sleep 0.5
latency "during genesis"
echo "  the genesis had done $(q "SELECT rows_done FROM dionysus.genesis_runs WHERE id = $run") of $ROWS rows when the live load ended ($(q "SELECT state FROM dionysus.genesis_runs WHERE id = $run"))"
wait_run "$run"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
