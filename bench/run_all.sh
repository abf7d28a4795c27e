#!/usr/bin/env bash
# bench/run_all.sh — run bench/write_path.sh, bench/drain.sh and
# bench/latency.sh one after the other (each starts and removes its own
# throwaway cluster) and print a summary block for the README.
# Full outputs are kept in BENCH_OUT (default: a fresh /tmp/dbench-out.XXXX).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_OUT:-$(mktemp -d /tmp/dbench-out.XXXX)}
mkdir -p "$OUT"
failed=0
declare -A RC
for s in write_path drain latency; do
  echo "### bench/$s.sh"
  start=$(date +%s)
  bash "$HERE/$s.sh" 2>&1 | tee "$OUT/$s.txt"
  RC[$s]=${PIPESTATUS[0]}
  echo "### bench/$s.sh: exit ${RC[$s]}, $(( $(date +%s) - start )) s"
  [ "${RC[$s]}" = 0 ] || failed=$((failed + 1))
  echo
done

echo "================================ summary (for the README) ================================"
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, $(sed -n 's/^PRETTY_NAME="\(.*\)"/\1/p' /etc/os-release), $(source "$HERE/../scripts/pg_config.sh" && "$("$PG_CONFIG" --bindir)/postgres" --version)"
cat "$OUT"/*.txt | sed -n 's/^# \(dionysus.so [^;]*\);.*/Build: \1/p' | sort -u
[ "$(cat "$OUT"/*.txt | sed -n 's/^# \(dionysus.so [^ ]*\).*/\1/p' | sort -u | wc -l)" -gt 1 ] &&
  echo "WARNING: dionysus.so changed between clusters during this run (see the '#' lines of each output)"
for s in write_path drain latency; do
  echo
  echo "\$ bench/$s.sh"
  # headline lines: not indented, not the cluster banner
  grep -v '^#' "$OUT/$s.txt" | grep -Ev '^  |^$' | sed 's/^/    /'
  [ "${RC[$s]}" = 0 ] || echo "    (exited ${RC[$s]}; see $OUT/$s.txt)"
done
echo
echo "Targets: single-row async >= 0.85x plain, bulk >= 0.5x plain; drain >= 50,000 events/s; latency p50 <= 5 ms, p99 <= 15 ms at 500 commits/s."
echo "Full outputs: $OUT"
exit "$failed"
