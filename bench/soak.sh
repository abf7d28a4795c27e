#!/usr/bin/env bash
# bench/soak.sh — hours of production in minutes: a steady write load with
# outbox retention and a flapping broker; prints, every 10 s, the outbox's
# row count and size, the publisher's RSS, pending rows and latency, and at
# the end whether anything was lost.
#
# Load: pgbench -R BENCH_SOAK_RATE (500) single-row INSERT transactions for
# BENCH_SOAK_SECONDS (600) into a table published on bench_rows (32
# partitions: the whole run fits the mock cluster's 5 MiB per partition, so
# every message can be read back). dionysus.outbox_retention = 30 s;
# autovacuum_naptime 10 s with the outbox vacuumed every 5,000 dead rows.
# The broker goes down for BENCH_SOAK_OUTAGE (20) s every BENCH_SOAK_FLAP
# (120) s. At the end: every committed row was published (pgbench's count =
# rows in the table = the publisher's published counter = distinct keys read
# back with kcat), nothing pending or parked.
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:32"
source "$(dirname "$0")/lib.sh"

SECONDS_TOTAL=${BENCH_SOAK_SECONDS:-600}
RATE=${BENCH_SOAK_RATE:-500}
FLAP=${BENCH_SOAK_FLAP:-120}
OUTAGE=${BENCH_SOAK_OUTAGE:-20}
bench_start "autovacuum_naptime = '10s'"
wait_worker_ready
q "$(bench_table_ddl captured)" >/dev/null
q "SELECT dionysus.publish('bench_rows','captured')" >/dev/null
q "ALTER TABLE dionysus.outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000)"
set_guc dionysus.outbox_retention 30s
bench_insert_scripts captured
BPID=$(cat "$BENCH_CLUSTER/broker/pid")
WPID=$(q "SELECT pid FROM dionysus.workers WHERE role = 'publisher' AND database = 'bench'")
# VmRSS grows with the shared buffers the publisher touches; RssAnon is its own memory.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$WPID/status" 2>/dev/null || echo 0; }
anon() { awk '/^RssAnon/ { print $2 }' "/proc/$WPID/status" 2>/dev/null || echo 0; }

echo "== soak: $RATE commits/s for $SECONDS_TOTAL s, retention 30 s, broker down $OUTAGE s every $FLAP s =="
PGOPTIONS="-c synchronous_commit=off" pgbench -n -c 2 -j 2 -R "$RATE" -T "$SECONDS_TOTAL" \
  -f "$BENCH_CLUSTER/pgbench/captured.sql" >"$BENCH_CLUSTER/pgbench.out" 2>&1 &
PGB=$!
(
  t=0
  while [ $t -lt "$SECONDS_TOTAL" ]; do
    sleep "$FLAP"; t=$((t + FLAP))
    [ $t -lt "$SECONDS_TOTAL" ] || break
    kill -USR1 "$BPID"; echo "  t=${t}s broker down"; sleep "$OUTAGE"; kill -USR2 "$BPID"; echo "  t=$((t + OUTAGE))s broker up"
    t=$((t + OUTAGE))
  done
) &
FLAPPER=$!
printf '  %6s %9s %10s %8s %9s %8s %10s %10s\n' "t(s)" "rows" "size(MB)" "RSS(MB)" "anon(kB)" "pending" "avg lat" "max lat"
start=$(date +%s)
declare -a ROWS SIZES RSSES ANONS
while kill -0 "$PGB" 2>/dev/null; do
  sleep 10
  read -r rows size pending avg max <<<"$(q "SELECT (SELECT count(*) FROM dionysus.outbox),
      round(pg_total_relation_size('dionysus.outbox') / 1048576.0, 1),
      (SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL),
      COALESCE(round(extract(epoch FROM (SELECT avg(average) FROM dionysus.outbox_latency))::numeric * 1000), 0),
      COALESCE(round(extract(epoch FROM (SELECT max(maximum) FROM dionysus.outbox_latency))::numeric * 1000), 0)" | tr '|' ' ')"
  r=$(( $(rss) / 1024 )); a=$(anon)
  ROWS+=("$rows"); SIZES+=("$size"); RSSES+=("$r"); ANONS+=("$a")
  printf '  %6s %9s %10s %8s %9s %8s %8sms %8sms\n' "$(( $(date +%s) - start ))" "$rows" "$size" "$r" "$a" "$pending" "$avg" "$max"
done
wait "$PGB" || true
kill "$FLAPPER" 2>/dev/null || true; kill -USR2 "$BPID" 2>/dev/null || true
for _ in $(seq 600); do [ "$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")" = 0 ] && break; sleep 0.1; done
committed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$BENCH_CLUSTER/pgbench.out")
read -r in_table published pending parked <<<"$(q "SELECT (SELECT count(*) FROM captured),
    (SELECT published FROM dionysus.workers WHERE role = 'publisher' AND database = 'bench'),
    (SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL AND parked_at IS NULL),
    (SELECT count(*) FROM dionysus.outbox WHERE parked_at IS NOT NULL)" | tr '|' ' ')"
kcat -C -b "$(head -n1 "$BENCH_CLUSTER/broker/bootstrap")" -t bench_rows -o beginning -e -q -f '%k\n' 2>/dev/null |
  grep '^Captured:' >"$BENCH_CLUSTER/keys" || true
keys=$(wc -l <"$BENCH_CLUSTER/keys")
distinct=$(sort -u "$BENCH_CLUSTER/keys" | wc -l)
half=$(( ${#ROWS[@]} / 2 ))
stat() {  # NAME values... -> "first-half max / second-half max"
  local name=$1; shift; local a=("$@") m1=0 m2=0 i
  for i in "${!a[@]}"; do
    if [ "$i" -lt "$half" ]; then m1=$(awk -v x="${a[$i]}" -v m="$m1" 'BEGIN { print (x > m ? x : m) }')
    else m2=$(awk -v x="${a[$i]}" -v m="$m2" 'BEGIN { print (x > m ? x : m) }'); fi
  done
  echo "$name max: first half $m1, second half $m2 (ratio $(ratio "$m2" "$m1"))"
}
echo "committed (pgbench) $committed; rows in the table $in_table; published by the worker $published;" \
     "pending $pending; parked $parked; messages read back $keys, distinct keys $distinct"
stat "outbox rows" "${ROWS[@]}"
stat "outbox size MB" "${SIZES[@]}"
stat "publisher RSS MB" "${RSSES[@]}"
stat "publisher RssAnon kB" "${ANONS[@]}"
if [ "$committed" = "$in_table" ] && [ "$in_table" = "$distinct" ] && [ "$pending" = 0 ] && [ "$parked" = 0 ]; then
  echo "nothing lost: every committed row was published and read back"
else
  echo "MISMATCH: rows were lost or left behind"
fi
echo "publisher errors/warnings in the log: $(publisher_errors)"
