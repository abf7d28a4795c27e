#!/usr/bin/env bash
# bench/workers.sh — drain rate of 2 publishers (dionysus.workers = 2) on 2
# topics against 1 publisher, measured in the same run.
#
# Publishing is held (publishing_delay='1h'), a backlog of BENCH_BACKLOG rows
# per topic is inserted into two tables published on bench_a and bench_b
# (6 partitions each), then released; we poll until nothing is pending and
# print events/s (release -> drained). 2 cores here: the two publishers, the
# dev broker and Postgres share them.
# Environment: BENCH_BACKLOG (100000 per topic), BENCH_DRAIN_TIMEOUT (120 s)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6 --topic bench_a:6 --topic bench_b:6"
source "$(dirname "$0")/lib.sh"

N=${BENCH_BACKLOG:-100000}
TIMEOUT=${BENCH_DRAIN_TIMEOUT:-120}
bench_start
wait_worker_ready
q "$(bench_table_ddl table_a) $(bench_table_ddl table_b)
   SELECT dionysus.declare_topic('bench', 'a'), dionysus.declare_topic('bench', 'b');
   SELECT dionysus.publish('bench_a', 'table_a'), dionysus.publish('bench_b', 'table_b');" >/dev/null
set_guc dionysus.batch_size 1000

publishers() { q "SELECT count(*) FROM dionysus.workers WHERE role = 'publisher' AND database = 'bench' AND pid IS NOT NULL"; }

drain_round() {  # WORKERS -> prints events/s
  local workers=$1 i
  set_guc dionysus.workers "$workers"
  set_guc dionysus.publishing_delay 1h
  for i in $(seq 100); do [ "$(publishers)" = "$workers" ] && break; sleep 0.1; done
  sleep 1
  q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, table_a, table_b" >/dev/null
  q "INSERT INTO table_a(account_id, name, price) SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $N) g;
     INSERT INTO table_b(account_id, name, price) SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $N) g" >/dev/null
  q "VACUUM ANALYZE dionysus.outbox" >/dev/null
  local pending t0 t1 left
  pending=$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")
  read -r left t0 t1 <<<"$(bench_release_backlog "$TIMEOUT")"
  local holders
  holders=$(q "SELECT count(DISTINCT pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 7")
  awk -v n="$(( pending - left ))" -v a="$t0" -v b="$t1" -v w="$workers" -v h="$holders" -v l="$left" \
    'BEGIN { printf "%.0f %s\n", n / (b - a), "(" n " events in " sprintf("%.2f", b - a) " s, " w " publisher(s), topics held by " h " process(es)" (l > 0 ? ", NOT drained: " l " left" : "") ")" }'
}

echo "== workers: $N-row backlog on each of bench_a and bench_b (6 partitions), batch_size 1000 =="
read -r one one_note <<<"$(drain_round 1)"
echo "[1 publisher ] $one events/s $one_note"
read -r two two_note <<<"$(drain_round 2)"
echo "[2 publishers] $two events/s $two_note"
echo "ratio 2 publishers / 1 publisher: $(ratio "$two" "$one")x"
echo "publisher errors/warnings in the log: $(publisher_errors)"
