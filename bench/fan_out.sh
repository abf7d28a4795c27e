#!/usr/bin/env bash
# bench/fan_out.sh — a large observed fan-out: an account with FAN_OUT_ROWS
# (200000) rentals whose observed attribute changes. Prints the publisher's
# private memory (RssAnon) before and at its peak, the time until every rental_updated was
# acknowledged, and, as the baseline measured in the same run, the drain of
# the same number of plain rental_updated events (one UPDATE of every row).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROWS=${FAN_OUT_ROWS:-200000}
DIONYSUS_BROKER_ARGS="--topic bench_rows:6" bench_start
wait_worker_ready
q "CREATE TABLE accounts (id bigint PRIMARY KEY, plan text);
   CREATE TABLE rentals (id bigint PRIMARY KEY, account_id bigint REFERENCES accounts, name text);
   SELECT dionysus.publish('bench_rows', 'rentals');
   SELECT dionysus.observe('bench_rows', 'rentals', 'accounts', ARRAY['plan'], 'account_id');
   SET dionysus.capture = off;
   INSERT INTO accounts VALUES (1, 'basic');
   INSERT INTO rentals SELECT g, 1, 'rental ' || g FROM generate_series(1, $ROWS) g;" >/dev/null
WPID=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'dionysus publisher' LIMIT 1")
# RssAnon: private memory (VmRSS also counts the shared buffers the worker touched)
rss() { awk '/RssAnon/ { print $2 }' "/proc/$WPID/status"; }
drain() {  # SQL -> seconds until nothing is pending, and the peak RSS (kB)
  local start peak=0 r
  start=$(date +%s.%N)
  q "$1" >/dev/null
  while [ "$(q "SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL")" != 0 ]; do
    r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.05
  done
  echo "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }') $peak"
}
before=$(rss)
read -r fan_s fan_peak <<<"$(drain "UPDATE accounts SET plan = 'pro'")"
read -r plain_s plain_peak <<<"$(drain "UPDATE rentals SET name = name || '!'")"
echo "== fan_out: $ROWS rentals of one account, observed attribute changed =="
printf 'observed fan-out  %6.2f s  %8.0f events/s   publisher RssAnon %d kB before, peak %d kB\n' "$fan_s" \
  "$(awk -v n="$ROWS" -v s="$fan_s" 'BEGIN { print n / s }')" "$before" "$fan_peak"
printf 'plain updates     %6.2f s  %8.0f events/s   publisher RssAnon peak %d kB   ratio %.2f\n' "$plain_s" \
  "$(awk -v n="$ROWS" -v s="$plain_s" 'BEGIN { print n / s }')" "$plain_peak" \
  "$(awk -v a="$fan_s" -v b="$plain_s" 'BEGIN { print b / a }')"
echo "  publisher ERROR/WARNING lines in postgres.log: $(publisher_errors)"
