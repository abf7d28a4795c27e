#!/usr/bin/env bash
# bench/write_path.sh — write-path cost of dionysus capture, side by side.
#
# Three identical tables in one cluster:
#   plain     no capture
#   captured  dionysus.publish('bench_rows', 'captured') (C++ statement triggers)
#   plpgsql   hand-written PL/pgSQL row-level AFTER trigger inserting into
#             bench_outbox, a copy of dionysus.outbox (same columns, indexes)
# (a) pgbench single-row INSERT transactions, -c 2 -j 2, BENCH_SECONDS each,
#     tables alternated, best of BENCH_REPEATS, in three settings:
#     synchronous_commit=off with the publisher draining concurrently,
#     synchronous_commit=off with publishing held (publishing_delay='1h'),
#     synchronous_commit=on with the publisher draining concurrently.
# (b) 100k-row INSERT ... SELECT generate_series and 100k-row UPDATE per
#     table (publishing held), TRUNCATE between, best of 3.
# Environment: BENCH_SECONDS (7; 15 s per run takes ~5 min instead of < 3), BENCH_REPEATS (2), BENCH_ROWS (100000),
#              BENCH_FSYNC (on; the cluster library defaults to fsync=off, which
#              makes synchronous_commit=on meaningless).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECS=${BENCH_SECONDS:-7}
REPS=${BENCH_REPEATS:-2}
ROWS=${BENCH_ROWS:-100000}
FSYNC=${BENCH_FSYNC:-on}
T0=$(date +%s)

bench_start "fsync = $FSYNC"
wait_worker_ready

for t in plain captured plpgsql; do q "$(bench_table_ddl $t)"; done
q "SELECT dionysus.publish('bench_rows','captured')" >/dev/null
q "CREATE TABLE bench_outbox (LIKE dionysus.outbox INCLUDING ALL);
   CREATE SEQUENCE bench_outbox_id_seq OWNED BY bench_outbox.id;
   ALTER TABLE bench_outbox ALTER id SET DEFAULT nextval('bench_outbox_id_seq');
   CREATE FUNCTION bench_outbox_trg() RETURNS trigger LANGUAGE plpgsql AS \$\$
   BEGIN
     IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN RETURN NULL; END IF;
     INSERT INTO bench_outbox(resource_class, resource_id, event_name, topic, partition_key)
     VALUES ('Plpgsql', COALESCE(NEW.id, OLD.id)::text,
             'plpgsql_' || CASE TG_OP WHEN 'INSERT' THEN 'created'
                                      WHEN 'UPDATE' THEN 'updated' ELSE 'destroyed' END,
             'bench_rows', COALESCE(COALESCE(NEW.account_id, OLD.account_id)::text, '0'));
     RETURN NULL;
   END \$\$;
   CREATE TRIGGER plpgsql_outbox AFTER INSERT OR UPDATE OR DELETE ON plpgsql
     FOR EACH ROW EXECUTE FUNCTION bench_outbox_trg();"
q "SELECT string_agg(indexdef, '; ') FROM pg_indexes WHERE tablename='bench_outbox'" >/dev/null

bench_insert_scripts plain captured plpgsql

reset_tables() {
  # dionysus.outbox first: the publisher locks the outbox before the captured
  # table, taking the locks in the other order can deadlock with it
  q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, bench_outbox, plain, captured, plpgsql" >/dev/null
  q "VACUUM ANALYZE dionysus.outbox" >/dev/null 2>&1 || true
}

# pgbench_tps TABLE SYNC -> rows/s (one row per transaction)
pgbench_tps() { reset_tables; bench_pgbench_tps "$1" "$2" "$SECS"; }

best() { printf '%s\n' "$@" | sort -g | tail -n1; }

declare -A BEST
run_setting() {  # LABEL SYNC TABLES...
  local label=$1 sync=$2; shift 2
  local t r v backlog
  declare -A runs=()
  for r in $(seq "$REPS"); do
    for t in "$@"; do
      local w0 w1
      w0=$(awk '{ print $14 + $15 }' "/proc/$WPID/stat")
      v=$(pgbench_tps "$t" "$sync")
      w1=$(awk '{ print $14 + $15 }' "/proc/$WPID/stat")
      WCPU[$label/$t]="${WCPU[$label/$t]:-}${WCPU[$label/$t]:+ }$(awk -v t=$(( w1 - w0 )) -v s="$SECS" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f%%", 100 * t / hz / s }')"
      runs[$t]="${runs[$t]:-} $v"
      if [ "$t" = captured ]; then
        backlog=$(q "SELECT count(*) FILTER (WHERE published_at IS NULL) || '/' || count(*) FROM dionysus.outbox")
        BACKLOG[$label]="${BACKLOG[$label]:-}${BACKLOG[$label]:+ }$backlog"
      fi
    done
  done
  for t in "$@"; do
    # shellcheck disable=SC2086
    BEST[$label/$t]=$(best ${runs[$t]})
    RUNS[$label/$t]=${runs[$t]# }
  done
}
declare -A RUNS BACKLOG WCPU
WPID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dionysus publisher' LIMIT 1")

echo "== write_path: single-row INSERT transactions, pgbench -c 2 -j 2 -T $SECS, best of $REPS (fsync=$FSYNC) =="
run_setting async off plain captured plpgsql
set_guc dionysus.publishing_delay 1h
run_setting held off plain captured
set_guc dionysus.publishing_delay 0
run_setting sync on plain captured

p=${BEST[async/plain]}
printf 'single-row async (publisher draining)   plain %6s rows/s  captured %6s rows/s  ratio %s   plpgsql-trigger %6s rows/s  ratio %s\n' \
  "$(fmt "$p")" "$(fmt "${BEST[async/captured]}")" "$(ratio "${BEST[async/captured]}" "$p")" \
  "$(fmt "${BEST[async/plpgsql]}")" "$(ratio "${BEST[async/plpgsql]}" "$p")"
p=${BEST[held/plain]}
printf 'single-row async (publishing held, 1h)  plain %6s rows/s  captured %6s rows/s  ratio %s\n' \
  "$(fmt "$p")" "$(fmt "${BEST[held/captured]}")" "$(ratio "${BEST[held/captured]}" "$p")"
p=${BEST[sync/plain]}
printf 'single-row sync  (publisher draining)   plain %6s rows/s  captured %6s rows/s  ratio %s\n' \
  "$(fmt "$p")" "$(fmt "${BEST[sync/captured]}")" "$(ratio "${BEST[sync/captured]}" "$p")"
for k in async/plain async/captured async/plpgsql held/plain held/captured sync/plain sync/captured; do
  echo "  runs $k: ${RUNS[$k]}   (publisher CPU: ${WCPU[$k]})"
done
echo "  outbox unpublished/total at the end of each captured run: async [${BACKLOG[async]}] held [${BACKLOG[held]}] sync [${BACKLOG[sync]}]"

# ---------------------------------------------------------------- (b) bulk
set_guc dionysus.publishing_delay 1h
bulk_insert() { reset_tables; bench_bulk_insert "$1" "$ROWS"; }  # TABLE -> ms
bulk_update() { reset_tables; bench_bulk_update "$1" "$ROWS"; }  # TABLE -> ms
declare -A BULK
for op in insert update; do
  declare -A ms=()
  for r in 1 2 3; do
    for t in plain captured plpgsql; do
      ms[$t]="${ms[$t]:-} $(bulk_$op $t)"
    done
  done
  for t in plain captured plpgsql; do
    # shellcheck disable=SC2086
    BULK[$op/$t]=$(printf '%s\n' ${ms[$t]} | sort -g | head -n1)
    RUNS[bulk-$op/$t]=${ms[$t]# }
  done
done
# sanity: one outbox row per captured row
q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, captured" >/dev/null
q "INSERT INTO captured(account_id, name, price) SELECT g, 'x', 1 FROM generate_series(1, 1000) g" >/dev/null
OUTBOX_ROWS=$(q "SELECT count(*) FROM dionysus.outbox")
set_guc dionysus.publishing_delay 0

echo "== write_path: bulk $ROWS-row statements, publishing held, best of 3 =="
for op in insert update; do
  p=$(rps "${BULK[$op/plain]}"); c=$(rps "${BULK[$op/captured]}"); g=$(rps "${BULK[$op/plpgsql]}")
  printf 'bulk %-6s  plain %7s rows/s  captured %7s rows/s  ratio %s   plpgsql-trigger %7s rows/s  ratio %s\n' \
    "$op" "$p" "$c" "$(ratio "$c" "$p")" "$g" "$(ratio "$g" "$p")"
done
for k in bulk-insert/plain bulk-insert/captured bulk-insert/plpgsql bulk-update/plain bulk-update/captured bulk-update/plpgsql; do
  echo "  runs $k (ms): ${RUNS[$k]}"
done
echo "  sanity: 1000-row insert into captured wrote $OUTBOX_ROWS outbox rows"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
publisher_error_sample 3 | sed 's/^/    /'
echo "  elapsed $(( $(date +%s) - T0 )) s"
