# shellcheck shell=bash
# scripts/cluster.sh — a throwaway PostgreSQL 15 cluster + dev Kafka broker.
#
# Source this file, then:
#   cluster_start DIR        initdb in DIR/data (as the postgres OS user: Postgres
#                            refuses to run as root), start dionysus-devbroker,
#                            configure dionysus and start Postgres on a free port of
#                            127.0.0.1. Exports PGHOST PGPORT PGUSER,
#                            DIONYSUS_BOOTSTRAP, DIONYSUS_BROKER_PID,
#                            DIONYSUS_CLUSTER_DIR.
#   cluster_stop DIR         stop Postgres (-m fast) and the broker, remove DIR.
#                            Safe to call twice, or from `trap ... EXIT`.
#   cluster_broker_down DIR  take every broker down (SIGUSR1), wait for STATE=down.
#   cluster_broker_up DIR    bring them back (SIGUSR2), wait for STATE=up.
#   cluster_restart DIR      pg_ctl restart -m fast.
#   cluster_psql DIR ARGS    psql against the cluster (ON_ERROR_STOP, quiet).
#   cluster_crashed DIR|LOG  exit 0 when a postgres log shows a server crash.
#
# Environment knobs (read by cluster_start):
#   DIONYSUS_DATABASE       dionysus.database (default dionysus_demo)
#   DIONYSUS_PRELOAD        1 (default): shared_preload_libraries='dionysus';
#                           0: plain cluster (no extension needed)
#   DIONYSUS_PG_EXTRA_CONF  extra postgresql.conf lines (newline separated)
#   DIONYSUS_BROKER_ARGS    extra dionysus-devbroker arguments (e.g. --topic t:6)
#   DIONYSUS_DEVBROKER      path of the dev broker binary (default: installed one,
#                           else tools/dionysus-devbroker of this repo)
#   DIONYSUS_LOG_DIR        when set, cluster_stop copies the logs there first
#   PG_CONFIG               pg_config of the PostgreSQL 15 to use

_CLUSTER_SH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DIONYSUS_REPO=${DIONYSUS_REPO:-$(cd "$_CLUSTER_SH_DIR/.." && pwd)}

_cluster_pg_config() {
  # shellcheck source=scripts/pg_config.sh
  source "$DIONYSUS_REPO/scripts/pg_config.sh"
  echo "$PG_CONFIG"
}

cluster_pgbin() { "$(_cluster_pg_config)" --bindir; }

cluster_devbroker() {
  if [ -n "${DIONYSUS_DEVBROKER:-}" ]; then echo "$DIONYSUS_DEVBROKER"; return; fi
  local installed
  installed="$(cluster_pgbin)/dionysus-devbroker"
  if [ -x "$installed" ]; then echo "$installed"
  elif [ -x "$DIONYSUS_REPO/tools/dionysus-devbroker" ]; then echo "$DIONYSUS_REPO/tools/dionysus-devbroker"
  else echo "cluster.sh: dionysus-devbroker not found (run make install)" >&2; return 1; fi
}

# Run a command as the postgres OS user (or as ourselves when not root).
_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_cluster_free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_cluster_wait_for_line() {  # FILE REGEX TIMEOUT_SECONDS
  local file=$1 re=$2 deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -f "$file" ] && grep -Eq "$re" "$file"; then return 0; fi
    sleep 0.1
  done
  return 1
}

cluster_start() {
  local dir=${1:?usage: cluster_start DIR}
  local db=${DIONYSUS_DATABASE:-dionysus_demo}
  local pgbin broker port boot
  pgbin=$(cluster_pgbin)
  broker=$(cluster_devbroker) || return 1

  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  chmod 0700 "$dir"
  if ! _as_pg test -w "$dir"; then
    echo "cluster.sh: the postgres user cannot write $dir (are its parent directories searchable?)" >&2
    return 1
  fi
  # The socket directory path must fit in sun_path (107 bytes with the file name).
  if [ ${#dir} -gt 80 ]; then
    echo "cluster.sh: $dir is too long for a unix socket directory" >&2; return 1
  fi

  # 1. the dev broker (runs as us; it never touches Postgres files)
  mkdir -p "$dir/broker"
  rm -f "$dir/broker/bootstrap"
  # shellcheck disable=SC2086
  "$broker" --brokers 1 ${DIONYSUS_BROKER_ARGS:-} \
      --bootstrap-file "$dir/broker/bootstrap" --pid-file "$dir/broker/pid" \
      >"$dir/broker/stdout" 2>"$dir/broker/stderr" </dev/null &
  echo $! >"$dir/broker/launcher.pid"
  if ! _cluster_wait_for_line "$dir/broker/bootstrap" '.' 15; then
    echo "cluster.sh: dev broker did not start; its stderr:" >&2
    cat "$dir/broker/stderr" >&2
    return 1
  fi
  boot=$(head -n1 "$dir/broker/bootstrap")
  _cluster_wait_for_line "$dir/broker/pid" '[0-9]' 5 || true

  # 2. Postgres
  if ! _as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync --no-instructions >"$dir/initdb.log" 2>&1; then
    echo "cluster.sh: initdb failed:" >&2; cat "$dir/initdb.log" >&2; return 1
  fi
  port=$(_cluster_free_port)
  {
    echo ""
    echo "# --- dionysus throwaway cluster (scripts/cluster.sh) ---"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$dir'"
    echo "fsync = off"
    echo "full_page_writes = off"
    echo "log_line_prefix = '%m [%p] %b '"
    echo "lc_messages = 'C'"
    if [ "${DIONYSUS_PRELOAD:-1}" = 1 ]; then
      echo "shared_preload_libraries = 'dionysus'"
      echo "dionysus.brokers = '$boot'"
      echo "dionysus.database = '$db'"
    fi
    if [ -n "${DIONYSUS_PG_EXTRA_CONF:-}" ]; then printf '%s\n' "$DIONYSUS_PG_EXTRA_CONF"; fi
  } >>"$dir/data/postgresql.conf"
  touch "$dir/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir/postgres.log"; fi
  if ! _as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >/dev/null; then
    echo "cluster.sh: postgres did not start; log:" >&2; tail -n 30 "$dir/postgres.log" >&2; return 1
  fi

  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
  export DIONYSUS_BOOTSTRAP=$boot
  DIONYSUS_BROKER_PID=$(cat "$dir/broker/pid" 2>/dev/null || cat "$dir/broker/launcher.pid")
  export DIONYSUS_BROKER_PID
  export DIONYSUS_CLUSTER_DIR=$dir
}

cluster_psql() {
  local dir=${1:?}; shift
  "$(cluster_pgbin)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
      -p "$(sed -n 's/^port = //p' "$dir/data/postgresql.conf" | tail -n1)" -U postgres "$@"
}

cluster_restart() {
  local dir=${1:?}
  _as_pg "$(cluster_pgbin)/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -m fast restart >/dev/null
}

_cluster_broker_signal() {  # DIR SIGNAL STATE
  local dir=$1 sig=$2 state=$3 pid current deadline
  pid=$(cat "$dir/broker/pid" 2>/dev/null) || { echo "cluster.sh: no broker pid in $dir" >&2; return 1; }
  # The broker starts up and prints STATE= only on an actual change.
  current=$(grep "^STATE=" "$dir/broker/stdout" 2>/dev/null | tail -n1 || true)
  current=${current#STATE=}
  kill -s "$sig" "$pid" || return 1
  [ "${current:-up}" = "$state" ] && return 0
  deadline=$(( $(date +%s) + 10 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    [ "$(grep "^STATE=" "$dir/broker/stdout" 2>/dev/null | tail -n1 || true)" = "STATE=$state" ] && return 0
    sleep 0.1
  done
  echo "cluster.sh: broker did not report STATE=$state" >&2
  return 1
}
cluster_broker_down() { _cluster_broker_signal "${1:?}" USR1 down; }
cluster_broker_up()   { _cluster_broker_signal "${1:?}" USR2 up; }

# A crash is a process killed by a signal other than SIGKILL (which only tests
# send on purpose), or a PANIC.
# The crash lines of a server log: a process killed by a signal other than
# SIGKILL (which tests send on purpose), or a PANIC — except between the
# lines "dionysus-test: expected crashes begin/end" that a test logs around
# crashes it causes and checks itself (test_crash_protection.py).
cluster_crash_lines() {
  local log=${1:?}
  [ -d "$log" ] && log="$log/postgres.log"
  [ -f "$log" ] || return 0
  awk '/dionysus-test: expected crashes begin/ { expected = 1 }
       /dionysus-test: expected crashes end/ { expected = 0 }
       !expected && ((/terminated by signal [0-9]+/ && !/terminated by signal 9(:|$)/) || /PANIC:/)' "$log"
}

cluster_crashed() {
  cluster_crash_lines "$1" | grep -q .
}

cluster_stop() {
  local dir=${1:-}
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  local pgbin pid f
  pgbin=$(cluster_pgbin)
  if [ -f "$dir/data/postmaster.pid" ]; then
    _as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -t 30 -m fast stop >/dev/null 2>&1 ||
      _as_pg "$pgbin/pg_ctl" -D "$dir/data" -w -t 10 -m immediate stop >/dev/null 2>&1 || true
  fi
  for f in "$dir/broker/pid" "$dir/broker/launcher.pid"; do
    pid=$(cat "$f" 2>/dev/null) || continue
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ -n "${DIONYSUS_LOG_DIR:-}" ]; then
    mkdir -p "$DIONYSUS_LOG_DIR"
    local tag
    tag="$(basename "$dir")-$$-$(date +%s%N)"
    cp "$dir/postgres.log" "$DIONYSUS_LOG_DIR/$tag.postgres.log" 2>/dev/null || true
    cp "$dir/broker/stderr" "$DIONYSUS_LOG_DIR/$tag.broker.log" 2>/dev/null || true
  fi
  rm -rf "$dir"
}
