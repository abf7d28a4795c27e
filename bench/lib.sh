# shellcheck shell=bash
# bench/lib.sh — helpers shared by the bench/*.sh scripts (sourced, not run).
#
#   bench_start [EXTRA_CONF]   throwaway cluster + dev broker in a fresh
#                              /tmp/dbench.XXXX, database "bench" with the
#                              extension and topic bench_rows; cleanup on EXIT.
#   q SQL                      run SQL in the bench database, unaligned output
#   qt SQL                     same, but print the statement's elapsed ms only
#   bench_stop                 stop the current cluster (bench_start may follow)
#   set_guc NAME VALUE         ALTER SYSTEM SET + pg_reload_conf()
#   wait_worker_ready          wait until the publisher acknowledges a probe row
#   publisher_errors           count of ERROR/WARNING/FATAL lines of the worker
#   bench_bulk_insert T N      ms of one N-row INSERT … SELECT into table T (bench_table_ddl)
#   bench_bulk_update T N      preload N rows into T without triggers, then ms of one UPDATE of them
#   bench_insert_scripts T...  pgbench scripts $BENCH_CLUSTER/pgbench/T.sql: one single-row INSERT into T
#   bench_pgbench_tps T SYNC S rows/s of T.sql, pgbench -c 2 -j 2 -T S, synchronous_commit=SYNC
#   bench_release_backlog S    release a held backlog, wait until drained (or S s): "LEFT T_RELEASE T_END"
#   ratio A B, fmt X, rps MS   A/B (2 decimals), X rounded, $ROWS rows in MS ms per second

set -euo pipefail

BENCH_DIR_SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_REPO=$(cd "$BENCH_DIR_SELF/.." && pwd)
# shellcheck source=../scripts/pg_config.sh
source "$BENCH_REPO/scripts/pg_config.sh"
BENCH_PGBIN=$("$PG_CONFIG" --bindir)
export PATH="$BENCH_PGBIN:$PATH"

# shellcheck source=../scripts/cluster.sh
source "$BENCH_REPO/scripts/cluster.sh"

BENCH_CLUSTER=""
_bench_cleanup() {
  local rc=$?
  if [ -n "${BENCH_KEEP_LOG:-}" ] && [ -n "$BENCH_CLUSTER" ] && [ -f "$BENCH_CLUSTER/postgres.log" ]; then
    cp "$BENCH_CLUSTER/postgres.log" "$BENCH_KEEP_LOG" 2>/dev/null || true
  fi
  [ -n "$BENCH_CLUSTER" ] && cluster_stop "$BENCH_CLUSTER" >/dev/null 2>&1 || true
  # background jobs we started (samplers, pgbench) — by pid only
  local p
  for p in $(jobs -p 2>/dev/null); do kill "$p" 2>/dev/null || true; done
  exit "$rc"
}

bench_stop() {
  [ -n "$BENCH_CLUSTER" ] && cluster_stop "$BENCH_CLUSTER" >/dev/null 2>&1 || true
  BENCH_CLUSTER=""
}

bench_start() {
  local extra=${1:-}
  trap _bench_cleanup EXIT
  trap 'exit 130' INT TERM
  BENCH_CLUSTER=$(mktemp -d /tmp/dbench.XXXX)
  export DIONYSUS_DATABASE=bench
  export DIONYSUS_BROKER_ARGS=${DIONYSUS_BROKER_ARGS:-"--topic bench_rows:6"}
  export DIONYSUS_PG_EXTRA_CONF="shared_buffers = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
${extra}"
  local so
  so="$("$(cluster_pgbin)/pg_config" --pkglibdir)/dionysus.so"
  BENCH_SO_ID="dionysus.so $(md5sum "$so" | cut -c1-10) built $(date -u -r "$so" '+%F %T')Z, git $(git -C "$BENCH_REPO" rev-parse --short HEAD 2>/dev/null)$(git -C "$BENCH_REPO" diff --quiet 2>/dev/null || echo '+dirty')"
  cluster_start "$BENCH_CLUSTER" >/dev/null
  echo "# $BENCH_SO_ID; dionysus-devbroker; $(nproc) cores; load avg $(cut -d' ' -f1-3 /proc/loadavg); other postgres clusters running: $(( $(pgrep -x postgres -P 1 | wc -l) - 1 ))"
  export PGDATABASE=bench
  createdb bench
  q "CREATE EXTENSION dionysus; SELECT dionysus.declare_topic('bench','rows');" >/dev/null
}

q()  { psql -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }

# elapsed milliseconds of one statement (psql \timing, client side)
qt() {
  psql -X -q -v ON_ERROR_STOP=1 -At -c '\timing on' -c "$1" |
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n1
}

set_guc() {
  q "ALTER SYSTEM SET $1 = '$2'" && q "SELECT pg_reload_conf()" >/dev/null
}

# The publisher starts within a second of database "bench" being created;
# wait until it acknowledges a probe row (in a throwaway table).
wait_worker_ready() {
  q "CREATE TABLE IF NOT EXISTS bench_probe(id bigserial primary key, account_id bigint);
     SELECT dionysus.publish('bench_rows','bench_probe');" >/dev/null
  q "INSERT INTO bench_probe(account_id) VALUES (1)"
  local i
  for i in $(seq 300); do
    if [ "$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")" = 0 ]; then
      q "SELECT dionysus.unpublish('bench_rows','bench_probe'); DROP TABLE bench_probe; TRUNCATE dionysus.outbox" >/dev/null
      return 0
    fi
    sleep 0.1
  done
  echo "bench: the dionysus publisher did not acknowledge a probe row within 30 s" >&2
  tail -n 20 "$BENCH_CLUSTER/postgres.log" >&2
  return 1
}

publisher_errors() {
  grep -E 'dionysus (publisher|worker)[^ ]* (ERROR|WARNING|FATAL|PANIC)' "$BENCH_CLUSTER/postgres.log" |
    grep -v 'database "bench" does not exist' | wc -l || true
}

publisher_error_sample() {
  grep -E 'dionysus (publisher|worker)[^ ]* (ERROR|WARNING|FATAL|PANIC)' "$BENCH_CLUSTER/postgres.log" |
    grep -v 'database "bench" does not exist' | sed 's/^[^]]*] //' | sort | uniq -c | sort -rn | head -n "${1:-5}" || true
}

# A cluster whose table "captured" is published on bench_rows, worker ready.
bench_start_captured() {
  bench_start
  wait_worker_ready
  q "$(bench_table_ddl captured)"
  q "SELECT dionysus.publish('bench_rows','captured')" >/dev/null
}

# the sample table definition of the brief
bench_table_ddl() {  # NAME
  echo "CREATE TABLE $1(id bigserial primary key, account_id bigint, name text,
        price numeric(10,2), created_at timestamptz default now(),
        updated_at timestamptz default now());"
}

# One N-row INSERT ... SELECT into a bench_table_ddl table: elapsed ms.
bench_bulk_insert() {  # TABLE ROWS
  qt "INSERT INTO $1(account_id, name, price)
      SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $2) g"
}

# N rows preloaded without triggers (untimed), then one UPDATE of them all: elapsed ms.
bench_bulk_update() {  # TABLE ROWS
  q "SET session_replication_role = replica;
     INSERT INTO $1(account_id, name, price)
     SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $2) g" >/dev/null
  q "VACUUM ANALYZE $1" >/dev/null
  qt "UPDATE $1 SET price = price + 1, updated_at = now()"
}

# One pgbench script per bench_table_ddl table: a single-row INSERT.
bench_insert_scripts() {  # TABLE...
  local dir=$BENCH_CLUSTER/pgbench t
  mkdir -p "$dir" && chmod 0777 "$dir"
  for t in "$@"; do
    cat >"$dir/$t.sql" <<SQL
\set a random(1, 10000)
INSERT INTO $t(account_id, name, price) VALUES (:a, 'name ' || :a, :a / 100.0);
SQL
  done
}

# rows/s of a bench_insert_scripts script (one row per transaction), after a checkpoint.
bench_pgbench_tps() {  # TABLE SYNC SECONDS
  q "CHECKPOINT" >/dev/null
  PGOPTIONS="-c synchronous_commit=$2" pgbench -n -c 2 -j 2 -T "$3" -f "$BENCH_CLUSTER/pgbench/$1.sql" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\) .*without initial connection time.*/\1/p'
}

# Releases a backlog held with dionysus.publishing_delay = '1h' (set to 0,
# reloaded) and polls every 100 ms until no row is pending, or TIMEOUT
# seconds (0: no limit). Prints "LEFT T_RELEASE T_END" (server clock, epoch s).
bench_release_backlog() {  # TIMEOUT
  local timeout=$1 t0 t1 left deadline
  t0=$(q "ALTER SYSTEM SET dionysus.publishing_delay = '0'" >/dev/null;
       q "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT pg_reload_conf()) r")
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    read -r left t1 <<<"$(q "SELECT count(*), extract(epoch FROM clock_timestamp()) FROM dionysus.outbox WHERE published_at IS NULL" | tr '|' ' ')"
    [ "$left" = 0 ] && break
    [ "$timeout" -gt 0 ] && [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
  done
  echo "$left $t0 $t1"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
fmt() { awk -v a="$1" 'BEGIN { printf "%.0f", a }'; }
rps() { awk -v ms="$1" -v n="$ROWS" 'BEGIN { printf "%.0f", n / (ms / 1000) }'; }
