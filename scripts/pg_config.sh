# shellcheck shell=bash
# The PostgreSQL that the scripts build against and run (sourced): PG_CONFIG
# when set, else Debian's PostgreSQL 15, else the pg_config on the PATH.
# Source it after the packages are installed (scripts/install_deps.sh).
if [ -z "${PG_CONFIG:-}" ]; then
  if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
  else PG_CONFIG=pg_config; fi
fi
export PG_CONFIG
