#!/usr/bin/env bash
# bench/publish_index.sh — what the publish-time index (outbox_published,
# for retention and the status views) costs the drain: the same backlog
# drained with the index and with it dropped, in one run, alternating.
# Environment: BENCH_BACKLOG (200000), BENCH_BATCH_SIZE (100), BENCH_REPEATS (2)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6"
source "$(dirname "$0")/lib.sh"

N=${BENCH_BACKLOG:-200000}
REPEATS=${BENCH_REPEATS:-2}
bench_start_captured
set_guc dionysus.batch_size "${BENCH_BATCH_SIZE:-100}"
set_guc dionysus.outbox_retention 0

drain() {  # -> events/s
  set_guc dionysus.publishing_delay 1h
  sleep 0.5
  q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, captured" >/dev/null
  q "INSERT INTO captured(account_id, name, price) SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $N) g" >/dev/null
  q "VACUUM ANALYZE dionysus.outbox" >/dev/null
  local t0 t1 left
  read -r left t0 t1 <<<"$(bench_release_backlog 0)"
  awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

echo "== publish-time index: $N-row backlog, batch_size ${BENCH_BATCH_SIZE:-100}, with and without outbox_published =="
with=0; without=0
for r in $(seq "$REPEATS"); do
  q "CREATE INDEX IF NOT EXISTS outbox_published ON dionysus.outbox (published_at) WHERE published_at IS NOT NULL" >/dev/null
  a=$(drain); echo "  round $r with the index:    $a events/s"
  q "DROP INDEX dionysus.outbox_published" >/dev/null
  b=$(drain); echo "  round $r without the index: $b events/s"
  with=$((with + a)); without=$((without + b))
done
q "CREATE INDEX IF NOT EXISTS outbox_published ON dionysus.outbox (published_at) WHERE published_at IS NOT NULL" >/dev/null
echo "drain with / without the publish-time index: $(ratio "$with" "$without")x"
