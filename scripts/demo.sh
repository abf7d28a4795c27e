#!/usr/bin/env bash
# THE demo: build and install dionysus, start a throwaway PostgreSQL 15 cluster
# (as the `postgres` OS user) with the dev Kafka broker, declare a small domain
# (accounts, rentals), run a real Kafka consumer (kcat) in the background and
# watch every change arrive on Kafka. Cleans everything up on exit.
#
# Knobs: PG_CONFIG, DIONYSUS_SKIP_BUILD=1 (use what is installed), DIONYSUS_SKIP_DEPS=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$(pwd)
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)

DEMO=$(mktemp -d /tmp/dionysus-demo.XXXXXX)
chmod 0755 "$DEMO"
CLUSTER=$DEMO/cluster
MESSAGES=$DEMO/messages.log
CONSUMER_PIDS=()

# shellcheck source=scripts/cluster.sh
source "$REPO/scripts/cluster.sh"

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  set +e
  for pid in "${CONSUMER_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${CONSUMER_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  if [ $rc -ne 0 ] && [ -f "$CLUSTER/postgres.log" ]; then
    echo "--- last lines of the postgres log ---"; tail -n 20 "$CLUSTER/postgres.log"
  fi
  cluster_stop "$CLUSTER" >/dev/null 2>&1
  rm -rf "$DEMO"
  echo "==> cleaned up"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo; echo "==> $*"; }

if [ "${DIONYSUS_SKIP_DEPS:-0}" != 1 ]; then
  say "dependencies"; bash "$REPO/scripts/install_deps.sh"
fi
# shellcheck source=scripts/pg_config.sh
source "$REPO/scripts/pg_config.sh"
if [ "${DIONYSUS_SKIP_BUILD:-0}" != 1 ]; then
  say "build and install (make -j2 && make install)"
  if ! { make -j2 PG_CONFIG="$PG_CONFIG" && "${SUDO[@]}" make install PG_CONFIG="$PG_CONFIG"; } \
        >"$DEMO/build.log" 2>&1; then
    tail -n 40 "$DEMO/build.log"; echo "build failed" >&2; exit 1
  fi
fi
PGBIN=$("$PG_CONFIG" --bindir)

say "start PostgreSQL 15 + dev Kafka broker (throwaway, in $CLUSTER)"
DIONYSUS_DATABASE=dionysus_demo,dionysus_replica \
DIONYSUS_BROKER_ARGS="--topic demo_rentals:3 --topic demo_accounts:3" \
  cluster_start "$CLUSTER"
echo "    postgres on 127.0.0.1:$PGPORT, Kafka bootstrap $DIONYSUS_BOOTSTRAP"

psql_demo() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d dionysus_demo "$@"; }
"$PGBIN/createdb" dionysus_demo

say "CREATE EXTENSION dionysus; declare the domain and publish it"
cat <<'TXT'
    CREATE TABLE accounts (id bigserial PRIMARY KEY, name text, created_at, updated_at timestamptz);
    CREATE TABLE rentals (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts,
                          name text, price numeric(10,2), created_at, updated_at, canceled_at timestamptz);
    SELECT dionysus.declare_topic('demo', 'rentals', partition_key => 'account_id');
    SELECT dionysus.publish('demo_rentals', 'rentals');
    SELECT dionysus.declare_topic('demo', 'accounts');
    SELECT dionysus.publish('demo_accounts', 'accounts');
    -- an aggregate: a booking with its fees (a fee's change republishes its booking)
    CREATE TABLE bookings (id bigserial PRIMARY KEY, account_id, rental_id bigint REFERENCES rentals, start_at);
    CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, booking_id bigint REFERENCES bookings, name, amount);
    SELECT dionysus.declare_topic('demo', 'bookings', partition_key => 'account_id');
    SELECT dionysus.publish('demo_bookings', 'bookings', dependencies => ARRAY['bookings_fees']::regclass[]);
TXT
psql_demo >/dev/null <<'SQL'
CREATE EXTENSION dionysus;
CREATE TABLE accounts (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE rentals (
  id          bigserial PRIMARY KEY,
  account_id  bigint REFERENCES accounts,
  name        text NOT NULL,
  price       numeric(10,2),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  canceled_at timestamptz
);
SELECT dionysus.declare_topic('demo', 'rentals', partition_key => 'account_id');
SELECT dionysus.publish('demo_rentals', 'rentals');
SELECT dionysus.declare_topic('demo', 'accounts');
SELECT dionysus.publish('demo_accounts', 'accounts');
CREATE TABLE bookings (
  id         bigserial PRIMARY KEY,
  account_id bigint REFERENCES accounts,
  rental_id  bigint REFERENCES rentals,
  start_at   timestamptz
);
CREATE TABLE bookings_fees (
  id         bigserial PRIMARY KEY,
  booking_id bigint REFERENCES bookings,
  name       text NOT NULL,
  amount     numeric(10,2) NOT NULL
);
SELECT dionysus.declare_topic('demo', 'bookings', partition_key => 'account_id');
SELECT dionysus.publish('demo_bookings', 'bookings', dependencies => ARRAY['bookings_fees']::regclass[]);
SQL

say "a second database consumes the three topics into its own tables (the consumer worker)"
psql_replica() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -d dionysus_replica "$@"; }
"$PGBIN/createdb" dionysus_replica
cat <<'TXT'
    CREATE TABLE accounts (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, name text, synced_data jsonb, synced_created_at, synced_updated_at timestamptz);
    CREATE TABLE rentals  (..., synced_id bigint UNIQUE, synced_account_id bigint, name text, price numeric(10,2), ..., synced_canceled_at timestamptz);
    CREATE TABLE bookings (..., synced_id bigint UNIQUE, synced_rental_id, synced_bookings_fee_ids bigint[], start_at, ...);
    CREATE TABLE bookings_fees (..., synced_id bigint UNIQUE, synced_booking_id bigint, name text, amount numeric(10,2));
    SELECT dionysus.consume('demo', 'accounts'); SELECT dionysus.consume('demo', 'rentals'); SELECT dionysus.consume('demo', 'bookings');
TXT
psql_replica >/dev/null <<'SQL'
CREATE EXTENSION dionysus;
CREATE TABLE accounts (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, name text, synced_data jsonb,
                       synced_created_at timestamptz, synced_updated_at timestamptz);
CREATE TABLE rentals (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_account_id bigint, name text,
                      price numeric(10,2), synced_created_at timestamptz, synced_updated_at timestamptz,
                      synced_canceled_at timestamptz);
CREATE TABLE bookings (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_account_id bigint,
                       synced_rental_id bigint, synced_bookings_fee_ids bigint[], start_at timestamptz);
CREATE TABLE bookings_fees (id bigserial PRIMARY KEY, synced_id bigint UNIQUE, synced_booking_id bigint,
                            name text, amount numeric(10,2));
SELECT dionysus.consume('demo', 'accounts');
SELECT dionysus.consume('demo', 'rentals');
SELECT dionysus.consume('demo', 'bookings');
SQL
# The replica's tables once its consumer applied `n` messages.
show_replica() {
  local n=$1 deadline=$(( $(date +%s) + 30 ))
  until [ "$(psql_replica -At -c 'SELECT coalesce(sum("offset"), 0) FROM dionysus.consumer_status')" -ge "$n" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "demo: the replica did not apply $n messages within 30 s" >&2
      psql_replica -c "SELECT * FROM dionysus.consumer_status" -c "SELECT role, state, last_error FROM dionysus.workers" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "    replica (dionysus_replica):"
  psql_replica -P footer=off -c "SELECT 'account' AS model, synced_id, name, NULL AS detail FROM accounts
      UNION ALL SELECT 'rental', synced_id, name, concat_ws(' ', price, CASE WHEN synced_canceled_at IS NOT NULL THEN '(canceled)' END) FROM rentals
      UNION ALL SELECT 'booking', synced_id, 'rental ' || synced_rental_id, 'fees ' || synced_bookings_fee_ids::text FROM bookings
      UNION ALL SELECT 'bookings_fee', synced_id, name, amount::text FROM bookings_fees ORDER BY 1, 2" | sed 's/^/    /'
}

say "start a Kafka consumer (kcat) on demo_accounts, demo_rentals and demo_bookings"
: >"$MESSAGES"
for topic in demo_accounts demo_rentals demo_bookings; do
  kcat -C -u -q -b "$DIONYSUS_BOOTSTRAP" -t "$topic" -o beginning \
       -f 'kafka> topic=%t partition=%p key=%k value=%s headers=%h\n' >>"$MESSAGES" 2>>"$DEMO/kcat.err" &
  CONSUMER_PIDS+=($!)
done
tail -n +1 -f "$MESSAGES" &
CONSUMER_PIDS+=($!)

EXPECTED=0
# step "description" expected-new-messages "SQL"
step() {
  local what=$1 n=$2 stmt=$3 deadline
  echo
  echo "--- $what"
  echo "    $stmt"
  psql_demo -c "$stmt" >/dev/null
  EXPECTED=$((EXPECTED + n))
  deadline=$(( $(date +%s) + 30 ))
  while [ "$(wc -l <"$MESSAGES")" -lt "$EXPECTED" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "demo: expected $EXPECTED messages, got $(wc -l <"$MESSAGES") after 30 s" >&2
      cat "$DEMO/kcat.err" >&2 || true
      psql_demo -c "SELECT id, event_name, attempts, error_class, error_message FROM dionysus.outbox WHERE published_at IS NULL ORDER BY id LIMIT 10" >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  [ "$n" -gt 0 ] || sleep 1   # give a message that should not come the time to show up
  show_replica "$EXPECTED"
}

step "insert an account (-> account_created)" 1 \
  "INSERT INTO accounts (name) VALUES ('Acme Rentals')"
step "insert two rentals (-> 2 x rental_created)" 2 \
  "INSERT INTO rentals (account_id, name, price) VALUES (1, 'Villa Azur', 120.50), (1, 'Loft Nord', 80)"
step "update a rental (-> rental_updated)" 1 \
  "UPDATE rentals SET price = 135.00, updated_at = now() WHERE id = 1"
step "no-op update (nothing is published)" 0 \
  "UPDATE rentals SET name = name WHERE id = 1"
step "soft delete: set canceled_at (-> rental_destroyed with the full snapshot)" 1 \
  "UPDATE rentals SET canceled_at = now() WHERE id = 2"
step "restore: clear canceled_at (-> rental_created)" 1 \
  "UPDATE rentals SET canceled_at = NULL WHERE id = 2"
step "delete a rental (-> rental_destroyed)" 1 \
  "DELETE FROM rentals WHERE id = 1"
step "book the restored rental (-> booking_created)" 1 \
  "INSERT INTO bookings (account_id, rental_id, start_at) VALUES (1, 2, '2024-07-01 16:00+00')"
step "add two fees in one statement (-> one booking_updated, the fees sideloaded)" 1 \
  "INSERT INTO bookings_fees (booking_id, name, amount) VALUES (1, 'Cleaning', 50), (1, 'Linen', 25.50)"
step "delete a fee on its own (-> booking_updated without it)" 1 \
  "DELETE FROM bookings_fees WHERE name = 'Linen'"

say "wait until the outbox is drained"
deadline=$(( $(date +%s) + 30 ))
until [ "$(psql_demo -At -c 'SELECT count(*) FROM dionysus.outbox WHERE published_at IS NULL')" = 0 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: outbox not drained after 30 s" >&2; exit 1; }
  sleep 0.2
done
sleep 1
got=$(wc -l <"$MESSAGES")
psql_demo -c "SELECT id, topic, event_name, resource_id, partition_key, attempts,
                     published_at IS NOT NULL AS published
                FROM dionysus.outbox ORDER BY id"
say "operations: status views and the health check"
psql_demo -c "SELECT topic, pending, failed, parked, published_last_minute FROM dionysus.outbox_status ORDER BY topic"
psql_demo -c "SELECT topic, published, minimum, maximum, average FROM dionysus.outbox_latency ORDER BY topic"
psql_demo -c "SELECT role, database, state, published, bytes, broker FROM dionysus.workers ORDER BY role, database"
psql_replica -c "SELECT topic, partition, \"offset\", lag, last_error FROM dionysus.consumer_status ORDER BY 1, 2"
"$PGBIN/dionysus-healthcheck" "host=127.0.0.1 port=$PGPORT dbname=dionysus_demo user=postgres"
echo "    dionysus-healthcheck: healthy (exit 0)"
if [ "$got" -ne "$EXPECTED" ]; then
  echo "demo: expected $EXPECTED messages on Kafka, got $got" >&2
  exit 1
fi
say "demo OK: $got messages on Kafka, outbox drained, all applied in dionysus_replica"
