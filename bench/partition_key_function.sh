#!/usr/bin/env bash
# bench/partition_key_function.sh — capture cost of a partition-key function.
#
# A topic's partition key may be a function f(row) -> text; capture calls it
# for every captured row, as the function's owner (a role switch, a settings
# level with search_path pinned, and its undoing, per row: README "Security
# model"). Three identical tables in one cluster, publishing held:
#   plain              no capture
#   keyed_by_column    published on a topic whose partition key is the column account_id
#   keyed_by_function  published on a topic whose partition key is bench_key(row),
#                      a SQL function owned by the non-superuser role that owns the table
# (a) 100k-row INSERT ... SELECT and 100k-row UPDATE per table, best of 3;
# (b) single-row INSERT transactions, pgbench -c 2 -j 2, BENCH_SECONDS each,
#     best of BENCH_REPEATS.
# Prints rows/s and the ratios function/column and function/plain.
# Environment: BENCH_SECONDS (5), BENCH_REPEATS (2), BENCH_ROWS (100000).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SECS=${BENCH_SECONDS:-5}
REPS=${BENCH_REPEATS:-2}
ROWS=${BENCH_ROWS:-100000}
T0=$(date +%s)

bench_start
wait_worker_ready
set_guc dionysus.publishing_delay 1h

for t in plain keyed_by_column keyed_by_function; do q "$(bench_table_ddl $t)"; done
q "CREATE ROLE bench_key_owner;
   ALTER TABLE keyed_by_function OWNER TO bench_key_owner;
   CREATE FUNCTION bench_key(r keyed_by_function) RETURNS text LANGUAGE sql IMMUTABLE
     AS \$\$ SELECT (r.account_id % 100)::text \$\$;
   ALTER FUNCTION bench_key(keyed_by_function) OWNER TO bench_key_owner;
   SELECT dionysus.declare_topic('bench', 'by_column', partition_key => 'account_id');
   SELECT dionysus.declare_topic('bench', 'by_function', partition_key => 'bench_key');
   SELECT dionysus.publish('bench_by_column', 'keyed_by_column');
   SELECT dionysus.publish('bench_by_function', 'keyed_by_function');" >/dev/null

reset_tables() {
  q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, plain, keyed_by_column, keyed_by_function" >/dev/null
}
bulk_insert() { reset_tables; bench_bulk_insert "$1" "$ROWS"; }  # TABLE -> ms
bulk_update() { reset_tables; bench_bulk_update "$1" "$ROWS"; }  # TABLE -> ms

bench_insert_scripts plain keyed_by_column keyed_by_function
pgbench_tps() { reset_tables; bench_pgbench_tps "$1" off "$SECS"; }  # TABLE -> rows/s

echo "== partition_key_function: bulk $ROWS-row statements, publishing held, best of 3 =="
for op in insert update; do
  declare -A ms=()
  for r in 1 2 3; do
    for t in plain keyed_by_column keyed_by_function; do ms[$t]="${ms[$t]:-} $(bulk_$op $t)"; done
  done
  declare -A best=()
  for t in plain keyed_by_column keyed_by_function; do
    # shellcheck disable=SC2086
    best[$t]=$(rps "$(printf '%s\n' ${ms[$t]} | sort -g | head -n1)")
  done
  printf 'bulk %-6s  plain %7s rows/s  column key %7s  function key %7s  function/column %s  function/plain %s\n' \
    "$op" "${best[plain]}" "${best[keyed_by_column]}" "${best[keyed_by_function]}" \
    "$(ratio "${best[keyed_by_function]}" "${best[keyed_by_column]}")" "$(ratio "${best[keyed_by_function]}" "${best[plain]}")"
  for t in plain keyed_by_column keyed_by_function; do echo "  runs $op/$t (ms):${ms[$t]}"; done
  unset ms best
done

echo "== partition_key_function: single-row INSERT transactions, pgbench -c 2 -j 2 -T $SECS, best of $REPS =="
declare -A tps=()
for r in $(seq "$REPS"); do
  for t in plain keyed_by_column keyed_by_function; do tps[$t]="${tps[$t]:-} $(pgbench_tps "$t")"; done
done
declare -A top=()
for t in plain keyed_by_column keyed_by_function; do
  # shellcheck disable=SC2086
  top[$t]=$(printf '%s\n' ${tps[$t]} | sort -g | tail -n1)
done
printf 'single-row  plain %7s rows/s  column key %7s  function key %7s  function/column %s  function/plain %s\n' \
  "$(fmt "${top[plain]}")" "$(fmt "${top[keyed_by_column]}")" "$(fmt "${top[keyed_by_function]}")" \
  "$(ratio "${top[keyed_by_function]}" "${top[keyed_by_column]}")" "$(ratio "${top[keyed_by_function]}" "${top[plain]}")"
for t in plain keyed_by_column keyed_by_function; do echo "  runs single-row/$t (tps):${tps[$t]}"; done

# sanity: the function's keys reached the outbox
reset_tables
q "INSERT INTO keyed_by_function(account_id, name, price) VALUES (1234, 'x', 1)" >/dev/null
echo "  sanity: partition key of a function-keyed row: $(q "SELECT partition_key FROM dionysus.outbox WHERE topic = 'bench_by_function'") (expected 34)"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
echo "  elapsed $(( $(date +%s) - T0 )) s"
