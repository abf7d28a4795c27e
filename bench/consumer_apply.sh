#!/usr/bin/env bash
# bench/consumer_apply.sh — the consumer worker's apply rate.
#
# BENCH_EVENTS (200,000) booking_created events, then as many
# booking_updated events (new price, new fee amounts), each booking with 3
# sideloaded fees, in dionysus-rb's wire format, are produced to the dev
# broker first (topic bench_bookings, 96 partitions: under the mock
# cluster's 5 MiB per partition); then dionysus.consume() is declared and
# the time until every offset is committed is the apply time (events/s).
# Baseline in the same run: a client (psycopg2, execute_values, 1,000
# bookings per transaction as the consumer batches) writing the same rows
# with INSERT … ON CONFLICT (synced_id) DO UPDATE into identical tables.
# The consumer passes: one consumer worker with dionysus.consumer_notify on
# (the default) and off, then BENCH_CONSUMER_WORKERS consumer workers
# (dionysus.consumer_workers, default 2: one per core here) with notify on.
# Environment: BENCH_EVENTS (200000), BENCH_CONSUMER_BATCH (dionysus.consumer_batch_size, default 1000),
# BENCH_CONSUMER_WORKERS (2)
set -euo pipefail
export DIONYSUS_BROKER_ARGS="--topic bench_rows:6 --topic bench_bookings:96 --topic bench_bookings_quiet:96 --topic bench_bookings_spread:96"
source "$(dirname "$0")/lib.sh"
EVENTS=${BENCH_EVENTS:-200000}
WORKERS=${BENCH_CONSUMER_WORKERS:-2}
bench_start
[ -n "${BENCH_CONSUMER_BATCH:-}" ] && set_guc dionysus.consumer_batch_size "$BENCH_CONSUMER_BATCH"
cat >"$BENCH_CLUSTER/tables.sql" <<'SQL'
CREATE TABLE bookings (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_rental_id bigint,
  synced_account_id bigint, synced_bookings_fee_ids bigint[], start_at timestamptz, final_price numeric(10,2),
  synced_created_at timestamptz, synced_updated_at timestamptz, synced_canceled_at timestamptz);
CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_booking_id bigint,
  name text, amount numeric(10,2), synced_created_at timestamptz, synced_updated_at timestamptz);
-- the consumer finds a parent's local children through it (fees the parent no longer lists are deleted)
CREATE INDEX ON bookings_fees (synced_booking_id);
SQL
chmod 0644 "$BENCH_CLUSTER/tables.sql"
for schema in consumed baseline quiet spread; do
  q "CREATE SCHEMA $schema; SET search_path = $schema; $(cat "$BENCH_CLUSTER/tables.sql")" >/dev/null
done

echo "== consumer apply rate: $EVENTS booking_created then $EVENTS booking_updated events, 3 sideloaded fees each =="
/usr/bin/python3 - "$DIONYSUS_BOOTSTRAP" "$EVENTS" <<'PY'
import json, sys, time
from confluent_kafka import Producer
bootstrap, n = sys.argv[1], int(sys.argv[2])
p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000,
              "queue.buffering.max.messages": 1000000})
def booking(i, event, ts, price):
    fees = [{"id": i * 3 + k, "name": f"fee {k}", "amount": f"{price / 10 + k}", "created_at": "2024-01-01T00:00:00.000Z",
             "updated_at": ts, "links": {"booking": i}} for k in range(3)]
    rec = {"id": i, "start_at": "2024-07-01T16:00:00.000Z", "final_price": f"{price}", "created_at": "2024-01-01T00:00:00.000Z",
           "updated_at": ts, "canceled_at": None,
           "links": {"rental": i % 1000, "account": i % 100, "bookings_fees": [f["id"] for f in fees]}, "bookings_fees": fees}
    return json.dumps({"message": [{"event": event, "model_name": "Booking", "data": [rec]}]}, separators=(",", ":")).encode()
t0 = time.time()
for topic in ("bench_bookings", "bench_bookings_quiet", "bench_bookings_spread"):
    for event, ts, price in (("booking_created", "2024-01-01T00:00:00.000Z", 100.0), ("booking_updated", "2024-01-02T00:00:00.000Z", 120.0)):
        for i in range(1, n + 1):
            while True:
                try:
                    p.produce(topic, key=f"Booking:{i}".encode(), value=booking(i, event, ts, price), partition=i % 96)
                    break
                except BufferError:
                    p.poll(0.05)
        p.flush(120)
print(f"  produced {6 * n} messages in {time.time() - t0:.1f} s", flush=True)
PY

# Applied messages of a topic so far (the stored offsets).
applied() { q "SELECT coalesce(sum(\"offset\"), 0) FROM dionysus.consumer_status WHERE topic = '$1'"; }
# "SECONDS MESSAGES": from the first batch seen applied (worker start-up
# and assignment left out) until `target` messages of topic $1 are applied.
wait_applied() {  # TOPIC TARGET FROM
  local a0 t0 t1
  a0=$(applied "$1")
  while [ "$a0" -le "$3" ]; do sleep 0.02; a0=$(applied "$1"); done
  t0=$(date +%s.%N)
  while [ "$(applied "$1")" -lt "$2" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" -v n=$(( $2 - a0 )) 'BEGIN { printf "%.3f %d", b - a, n }'
}

run_consumer() {  # TOPIC-SUFFIX SCHEMA NOTIFY WORKERS
  set_guc dionysus.consumer_schema "$2"
  set_guc dionysus.consumer_notify "$3"
  set_guc dionysus.consumer_workers "$4"
  sleep 1
  # the consumer reads consumer_schema at connection start: restart them
  q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'dionysus consumer'" >/dev/null
  sleep 1.5
  while [ "$(q "SELECT count(*) FROM dionysus.workers WHERE role = 'consumer' AND database = 'bench' AND pid IS NOT NULL AND workers = $4")" -lt "$4" ]; do
    sleep 0.2
  done
  local tc nc tu nu
  q "SELECT dionysus.consume('bench', '$1')" >/dev/null
  read -r tc nc <<<"$(wait_applied "bench_$1" "$EVENTS" 0)"
  read -r tu nu <<<"$(wait_applied "bench_$1" $((2 * EVENTS)) "$EVENTS")"
  # events per second of each pass
  awk -v tc="$tc" -v nc="$nc" -v tu="$tu" -v nu="$nu" 'BEGIN { printf "%.0f %.0f", nc / tc, nu / tu }'
}

read -r C_ON U_ON <<<"$(run_consumer bookings consumed on 1)"
read -r C_OFF U_OFF <<<"$(run_consumer bookings_quiet quiet off 1)"
read -r C_W U_W <<<"$(run_consumer bookings_spread spread on "$WORKERS")"
check=$(q "SELECT count(*) FILTER (WHERE final_price = 120) || '/' || count(*) FROM consumed.bookings")
fees=$(q "SELECT count(*) FROM consumed.bookings_fees")
check_w=$(q "SELECT count(*) FILTER (WHERE final_price = 120) || '/' || count(*) FROM spread.bookings")
fees_w=$(q "SELECT count(*) FROM spread.bookings_fees")

# Baseline: the same rows from a client.
read -r B_C B_U <<<"$(/usr/bin/python3 - "$PGHOST" "$PGPORT" "$EVENTS" <<'PY'
import sys, time
import psycopg2
from psycopg2.extras import execute_values
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="bench")
cur = conn.cursor()
cur.execute("SET search_path = baseline")
def run(ts, price):
    t0 = time.time()
    for start in range(1, n + 1, 1000):
        ids = range(start, min(n, start + 999) + 1)
        execute_values(cur, """INSERT INTO bookings (synced_id, synced_rental_id, synced_account_id, synced_bookings_fee_ids,
            start_at, final_price, synced_created_at, synced_updated_at, synced_canceled_at) VALUES %s
            ON CONFLICT (synced_id) DO UPDATE SET synced_rental_id = EXCLUDED.synced_rental_id,
            synced_account_id = EXCLUDED.synced_account_id, synced_bookings_fee_ids = EXCLUDED.synced_bookings_fee_ids,
            start_at = EXCLUDED.start_at, final_price = EXCLUDED.final_price, synced_created_at = EXCLUDED.synced_created_at,
            synced_updated_at = EXCLUDED.synced_updated_at, synced_canceled_at = EXCLUDED.synced_canceled_at""",
            [(i, i % 1000, i % 100, [i * 3, i * 3 + 1, i * 3 + 2], "2024-07-01T16:00:00.000Z", price,
              "2024-01-01T00:00:00.000Z", ts, None) for i in ids], page_size=1000)
        execute_values(cur, """INSERT INTO bookings_fees (synced_id, synced_booking_id, name, amount, synced_created_at,
            synced_updated_at) VALUES %s ON CONFLICT (synced_id) DO UPDATE SET synced_booking_id = EXCLUDED.synced_booking_id,
            name = EXCLUDED.name, amount = EXCLUDED.amount, synced_created_at = EXCLUDED.synced_created_at,
            synced_updated_at = EXCLUDED.synced_updated_at""",
            [(i * 3 + k, i, f"fee {k}", price / 10 + k, "2024-01-01T00:00:00.000Z", ts) for i in ids for k in range(3)],
            page_size=3000)
        conn.commit()
    return time.time() - t0
c = run("2024-01-01T00:00:00.000Z", 100.0)
u = run("2024-01-02T00:00:00.000Z", 120.0)
print(f"{c:.2f} {u:.2f}")
PY
)"

per() { awk -v n="$EVENTS" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
BC=$(per "$B_C"); BU=$(per "$B_U")
echo "  checked: consumed.bookings with the updated price $check, consumed.bookings_fees $fees rows;"
echo "           spread.bookings $check_w, spread.bookings_fees $fees_w rows"
printf '  %-44s %10s %10s\n' "" "created/s" "updated/s"
printf '  %-44s %10s %10s\n' "baseline: client INSERT … ON CONFLICT" "$BC" "$BU"
printf '  %-44s %10s %10s   (ratio %s / %s)\n' "consumer worker, consumer_notify on" "$C_ON" "$U_ON" \
  "$(ratio "$C_ON" "$BC")" "$(ratio "$U_ON" "$BU")"
printf '  %-44s %10s %10s   (ratio %s / %s)\n' "consumer worker, consumer_notify off" "$C_OFF" "$U_OFF" \
  "$(ratio "$C_OFF" "$BC")" "$(ratio "$U_OFF" "$BU")"
printf '  %-44s %10s %10s   (ratio %s / %s)\n' "$WORKERS consumer workers, consumer_notify on" "$C_W" "$U_W" \
  "$(ratio "$C_W" "$BC")" "$(ratio "$U_W" "$BU")"
echo "  (events/s: one event is a booking with its 3 fees; the consumer counted from its first applied batch;"
echo "   ratio = consumer rate / baseline rate)"
