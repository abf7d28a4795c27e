#!/usr/bin/env bash
# bench/drain.sh — how fast the dionysus publisher drains a backlog.
#
# Publishing is held (publishing_delay='1h'), a BENCH_BACKLOG-row backlog is
# inserted into a published table (topic bench_rows pre-created with 6
# partitions), then released (publishing_delay=0, pg_reload_conf()); we poll
# the unpublished count every 100 ms until it is 0 and print events/s
# acknowledged (server clock: release -> last poll seeing 0), plus the rate
# over max(published_at) - min(published_at). Done for each batch size of
# BENCH_BATCH_SIZES. While draining, the publisher's pg_stat_activity row is
# sampled on every poll.
# Environment: BENCH_BACKLOG (200000), BENCH_BATCH_SIZES ("100 1000"),
#              BENCH_DRAIN_TIMEOUT (60 s per round; a partial rate is printed)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6"
source "$(dirname "$0")/lib.sh"

N=${BENCH_BACKLOG:-200000}
SIZES=${BENCH_BATCH_SIZES:-"100 1000"}
TIMEOUT=${BENCH_DRAIN_TIMEOUT:-60}
T0=$(date +%s)
LABEL="dev broker"
bench_start_captured

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
pct() { awk -v t="$1" -v s="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (s > 0 ? 100 * t / hz / s : 0) }'; }

echo "== drain [$LABEL]: $N-row backlog released at once, topic bench_rows (6 partitions) =="
declare -a SUMMARY
for bs in $SIZES; do
  set_guc dionysus.batch_size "$bs"
  set_guc dionysus.publishing_delay 1h
  sleep 0.5   # let the worker pick the reload up before rows appear
  q "SET dionysus.capture = off; TRUNCATE dionysus.outbox, captured" >/dev/null
  ins_ms=$(qt "INSERT INTO captured(account_id, name, price)
               SELECT g % 1000, 'name ' || g, (g % 10000) / 100.0 FROM generate_series(1, $N) g")
  q "VACUUM ANALYZE dionysus.outbox" >/dev/null
  pending=$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")

  WPID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dionysus publisher' LIMIT 1")
  BPID=$(cat "$BENCH_CLUSTER/broker/pid")
  read -r w0 b0 m0 <<<"$(cpu_ticks "$WPID") $(cpu_ticks "$BPID") $(machine_busy)"
  SAMPLES=$BENCH_CLUSTER/samples.$bs
  : >"$SAMPLES"
  t_release=$(q "ALTER SYSTEM SET dionysus.publishing_delay = '0'" >/dev/null;
              q "SELECT extract(epoch FROM clock_timestamp()) FROM (SELECT pg_reload_conf()) r")
  deadline=$(( $(date +%s) + TIMEOUT ))
  left=$pending; t_end=$t_release
  while :; do
    row=$(q "SELECT (SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL),
                    extract(epoch FROM clock_timestamp()),
                    (SELECT string_agg(coalesce(state,'-') || '|' || coalesce(wait_event_type || ':' || wait_event, 'CPU') || '|' ||
                                       regexp_replace(left(query, 70), '\s+', ' ', 'g'), ' ## ')
                       FROM pg_stat_activity WHERE backend_type = 'dionysus publisher')")
    left=${row%%|*}; rest=${row#*|}; t_end=${rest%%|*}
    echo "${rest#*|}" >>"$SAMPLES"
    [ "$left" = 0 ] && break
    [ "$(date +%s)" -ge "$deadline" ] && break
    sleep 0.1
  done
  read -r w1 b1 m1 <<<"$(cpu_ticks "$WPID") $(cpu_ticks "$BPID") $(machine_busy)"
  done_n=$(( pending - left ))
  wall=$(awk -v a="$t_release" -v b="$t_end" 'BEGIN { printf "%.2f", b - a }')
  rate=$(awk -v n="$done_n" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
  read -r span prate first_ms batches <<<"$(q "SELECT round(extract(epoch FROM max(published_at) - min(published_at))::numeric, 2),
      round(count(*) / nullif(extract(epoch FROM max(published_at) - min(published_at)), 0)),
      round(((extract(epoch FROM min(published_at)) - $t_release) * 1000)::numeric),
      count(DISTINCT published_at)
      FROM dionysus.outbox WHERE published_at IS NOT NULL" | tr '|' ' ')"
  status="drained"; [ "$left" = 0 ] || status="NOT drained after ${TIMEOUT}s ($left left)"
  line=$(printf '[%s] batch_size %-5s %7s events/s acknowledged (%s events in %s s, %s)   published_at span %s s -> %s events/s' \
    "$LABEL" "$bs" "$rate" "$done_n" "$wall" "$status" "$span" "$prate")
  SUMMARY+=("$line")
  echo "$line"
  echo "  backlog insert: $N rows in $ins_ms ms; first ack $first_ms ms after release; $batches distinct published_at values (marking transactions) -> $(awk -v n="$done_n" -v b="$batches" 'BEGIN { printf "%.0f", (b > 0 ? n / b : 0) }') events each"
  echo "  CPU during the drain: publisher pid $WPID $(pct $(( w1 - w0 )) "$wall")% of a core, dev broker $(pct $(( b1 - b0 )) "$wall")%, whole machine busy $(pct $(( m1 - m0 )) "$wall")% of one core (2 cores = 200%)"
  echo "  publisher pg_stat_activity samples ($(wc -l <"$SAMPLES") polls, state|wait_event|query):"
  sort "$SAMPLES" | uniq -c | sort -rn | head -n 6 | sed 's/^/    /'
done
sleep 1.5
echo "  pgstat of dionysus.outbox after the runs (+1.5 s): $(q "SELECT 'n_tup_upd=' || n_tup_upd || ' n_dead_tup=' || n_dead_tup || ' autovacuum_count=' || autovacuum_count FROM pg_stat_user_tables WHERE relid = 'dionysus.outbox'::regclass")"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
publisher_error_sample 5 | sed 's/^/    /'
echo "  outbox size after the runs: $(q "SELECT pg_size_pretty(pg_total_relation_size('dionysus.outbox'))"); load avg $(cut -d' ' -f1-3 /proc/loadavg); elapsed $(( $(date +%s) - T0 )) s"
bench_stop
