#!/usr/bin/env bash
# THE test command: install deps, build, install, then run the three suites
#   1. pure C++ unit tests (GoogleTest, `make unittest`, no server)
#   2. pg_regress (`make installcheck`: test/sql -> test/expected) against a
#      temporary instance with the extension preloaded
#   3. integration tests (pytest, test/integration) against a throwaway cluster
#      and the dev Kafka broker
# and print `dionysus: N passed, M failed`. Exits non-zero when anything failed,
# when no test ran, or when a server log shows a crash.
#
# Runs as root (CI) or as a user with sudo: the clusters run as the `postgres`
# OS user. Knobs: PG_CONFIG, DIONYSUS_NO_CLEAN=1 (skip `make clean`),
# DIONYSUS_SKIP_DEPS=1, DIONYSUS_KEEP_TMP=1, PYTEST_K (pytest -k expression),
# PYTEST_ARGS (extra pytest args, split on spaces).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
REPO=$(pwd)

PY=/usr/bin/python3
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)

TMP=$(mktemp -d /tmp/dionysus-test.XXXXXX)
chmod 0755 "$TMP"                   # the postgres user must reach clusters under it
export DIONYSUS_LOG_DIR=$TMP/logs   # every cluster copies its logs here when stopped
mkdir -p "$DIONYSUS_LOG_DIR"

# shellcheck source=scripts/cluster.sh
source "$REPO/scripts/cluster.sh"

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  if [ "${DIONYSUS_KEEP_TMP:-0}" = 1 ]; then echo "(kept $TMP)"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSED=0
FAILED=0
step() { echo "==> $*"; }
summary() {
  echo "dionysus: $PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ] || [ "$PASSED" -eq 0 ]; then exit 1; fi
  exit 0
}
fatal() {  # a step without which no test can run
  echo "$*" >&2
  FAILED=$((FAILED + 1))
  summary
}
num() { local v; v=$(grep -Eo "$1" <<<"$2" | tail -n1 | grep -Eo '[0-9]+' | head -n1); echo "${v:-0}"; }

# ---------------------------------------------------------------------------
step "[1/6] dependencies"
if [ "${DIONYSUS_SKIP_DEPS:-0}" != 1 ]; then
  bash "$REPO/scripts/install_deps.sh" || fatal "dependency installation failed"
fi

# shellcheck source=scripts/pg_config.sh
source "$REPO/scripts/pg_config.sh"

# ---------------------------------------------------------------------------
step "[2/6] build (make -j2) and install"
BUILD_LOG=$TMP/build.log
bash "$REPO/scripts/check_layout.sh" | sed 's/^/    /'
[ "${PIPESTATUS[0]}" -eq 0 ] || fatal "the code layout breaks its rules (README \"Code layout\")"
if [ "${DIONYSUS_NO_CLEAN:-0}" != 1 ]; then
  make clean PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || true
fi
if ! make -j2 PG_CONFIG="$PG_CONFIG" >"$BUILD_LOG" 2>&1; then
  tail -n 60 "$BUILD_LOG"
  fatal "build failed (make -j2)"
fi
if ! "${SUDO[@]}" make install PG_CONFIG="$PG_CONFIG" >>"$BUILD_LOG" 2>&1; then
  tail -n 30 "$BUILD_LOG"
  fatal "make install failed"
fi
echo "    built $(grep -c -E '(^| )(g\+\+|gcc|c\+\+) ' "$BUILD_LOG") objects, warnings: $(grep -c 'warning:' "$BUILD_LOG")"
PGBIN=$("$PG_CONFIG" --bindir)

# ---------------------------------------------------------------------------
step "[3/6] unit tests (GoogleTest)"
UNIT_LOG=$TMP/unit.log
if ls test/unit/*_test.cpp >/dev/null 2>&1; then
  make unittest PG_CONFIG="$PG_CONFIG" >"$UNIT_LOG" 2>&1
  rc=$?
  p=$(num '\[  PASSED  \] [0-9]+ test' "$(cat "$UNIT_LOG")")
  f=$(num '\[  FAILED  \] [0-9]+ test' "$(cat "$UNIT_LOG")")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # did not build, or crashed
  if [ "$rc" -ne 0 ]; then
    grep -E '^\[  FAILED  \]|error:|Failure|Segmentation|Abort' "$UNIT_LOG" | head -n 40
    [ "$p" -eq 0 ] && tail -n 20 "$UNIT_LOG"
  fi
  echo "    unit: $p passed, $f failed"
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
else
  echo "    no test/unit/*_test.cpp: skipped"
fi

# ---------------------------------------------------------------------------
step "[4/6] pg_regress (make installcheck: test/schedule against a temporary instance)"
REGRESS_DIR=$TMP/regress   # staged by the Makefile for the postgres OS user when we are root
make installcheck PG_CONFIG="$PG_CONFIG" REGRESS_STAGE="$REGRESS_DIR" >"$TMP/regress.out" 2>&1
rc=$?
[ "$(id -u)" -eq 0 ] || REGRESS_DIR=$REPO/test
out=$(cat "$TMP/regress.out")
grep -E '^(test |     |parallel| *[0-9]+ of| *All)' <<<"$out" | sed 's/^/    /'
if grep -Eq 'All [0-9]+ tests passed' <<<"$out"; then
  p=$(num 'All [0-9]+ tests passed' "$out"); f=0
elif grep -Eq '[0-9]+ of [0-9]+ tests (failed|passed)' <<<"$out"; then
  line=$(grep -Eo '[0-9]+ of [0-9]+ tests (failed|passed)[^.]*' <<<"$out" | head -n1)
  a=$(grep -Eo '[0-9]+' <<<"$line" | sed -n 1p); b=$(grep -Eo '[0-9]+' <<<"$line" | sed -n 2p)
  if grep -q failed <<<"$line"; then f=$a; p=$((b - a)); else p=$a; f=$((b - a)); fi
else
  p=0; f=1; tail -n 30 "$TMP/regress.out"   # did not run
fi
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; tail -n 20 "$TMP/regress.out"; fi
if [ -s "$REGRESS_DIR/regression.diffs" ]; then
  echo "    --- regression.diffs ---"
  cat "$REGRESS_DIR/regression.diffs"
fi
# the temporary instance's log joins the others for the crash check
[ -f "$REGRESS_DIR/log/postmaster.log" ] && cp "$REGRESS_DIR/log/postmaster.log" "$DIONYSUS_LOG_DIR/regress-postgres.log"
echo "    pg_regress: $p passed, $f failed"
PASSED=$((PASSED + p)); FAILED=$((FAILED + f))

# ---------------------------------------------------------------------------
step "[5/6] integration tests (pytest, dev broker)"
if ls test/integration/test_*.py >/dev/null 2>&1; then
  export DIONYSUS_PGBIN=$PGBIN PYTHONDONTWRITEBYTECODE=1
  if [ -x "$PGBIN/dionysus-devbroker" ]; then export DIONYSUS_DEVBROKER=$PGBIN/dionysus-devbroker; fi
  PYTEST=(-q -p no:cacheprovider -o console_output_style=classic -rfE)
  [ -n "${PYTEST_K:-}" ] && PYTEST+=(-k "$PYTEST_K")
  # shellcheck disable=SC2206
  PYTEST+=(${PYTEST_ARGS:-})
  # a hung test must not hold CI for its 90 minutes; the suite takes ~8 min
  timeout -s INT -k 30 720 "$PY" -m pytest "${PYTEST[@]}" test/integration 2>&1 | tee "$TMP/pytest.log" | sed 's/^/    /'
  rc=${PIPESTATUS[0]}
  last=$(grep -E '[0-9]+ (passed|failed|error)|no tests ran' "$TMP/pytest.log" | tail -n1)
  p=$(num '[0-9]+ passed' "$last")
  f=$(( $(num '[0-9]+ failed' "$last") + $(num '[0-9]+ errors?' "$last") ))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # collection error, timeout, ...
  [ "$rc" -eq 124 ] && echo "    pytest timed out"
  echo "    integration: $p passed, $f failed"
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
else
  echo "    no test/integration/test_*.py: skipped"
fi

# ---------------------------------------------------------------------------
step "[6/6] server logs"
crashed=0
for log in "$DIONYSUS_LOG_DIR"/*postgres.log; do
  [ -e "$log" ] || continue
  if cluster_crashed "$log"; then
    crashed=1
    echo "    crash in $(basename "$log"):"
    cluster_crash_lines "$log" | sed 's/^/      /'
    grep -B2 -A8 -E "terminated by signal|PANIC:" "$log" | tail -n 40 | sed 's/^/      | /'
  fi
done
if [ "$crashed" -eq 1 ]; then
  FAILED=$((FAILED + 1))
else
  echo "    no server crash"
fi

summary
