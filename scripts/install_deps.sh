#!/usr/bin/env bash
# Install the Debian packages dionysus needs to build, test and run its demo.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  build-essential g++ make
  postgresql-15 postgresql-client-15 postgresql-server-dev-15 postgresql-common
  librdkafka-dev libsimdjson-dev libssl-dev libgtest-dev libpq-dev
  kcat
  python3 python3-pytest python3-psycopg2 python3-confluent-kafka
  libipc-run-perl
  procps util-linux
)
# Note: postgresql-contrib-15 is a virtual package provided by postgresql-15.

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "==> deps: all ${#PACKAGES[@]} Debian packages present"
  exit 0
fi

echo "==> deps: installing ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp /tmp/dionysus-deps.XXXXXX.log)
if ! { "${SUDO[@]}" apt-get update -qq &&
       "${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
         -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
         "${missing[@]}"; } >"$log" 2>&1; then
  echo "deps: apt-get failed; log follows" >&2
  tail -n 50 "$log" >&2
  exit 1
fi
rm -f "$log"
echo "==> deps: installed ${#missing[@]} package(s)"
