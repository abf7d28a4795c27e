#!/usr/bin/env bash
# The layout rules of README "Code layout", checked (make check-layout; run
# by scripts/test.sh before the build):
#   - C++ sources live in a folder of src/ (or bgworker/), never in src/ itself;
#   - a pure folder's files never include a Postgres header or a
#     Postgres-facing folder, and every pure .cpp ends its includes with
#     util/cpp_only_file.hpp (which fails the build if postgres.h slipped in);
#   - project includes are written with their folder ("wire/naming.hpp");
#   - .cpp basenames are unique (PGXS keeps dependency files in one .deps/).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
PURE_DIRS="src/util src/wire src/kafka src/recovery src/crypto src/metrics"
PG_DIRS="src/pg src/extension src/catalog src/api src/capture src/publisher src/consumer bgworker"
found=$(mktemp)
trap 'rm -f "$found"' EXIT
bad() { echo "layout: $*" | tee -a "$found" >&2; }  # also from subshells (pipes)

for f in src/*.cpp src/*.hpp; do [ -e "$f" ] && bad "$f is not in a folder"; done
for d in src/*/; do
  d=${d%/}
  case " $PURE_DIRS $PG_DIRS " in *" $d "*) ;; *) bad "$d is neither a pure nor a Postgres folder (Makefile PURE_DIRS/PG_DIRS)";; esac
done
for d in $PURE_DIRS; do
  for f in "$d"/*.cpp "$d"/*.hpp; do
    [ -e "$f" ] || continue
    grep -nE '#include +"(postgres|fmgr|utils/|catalog/[a-z_]+\.h|access/|executor/|nodes/|storage/)' "$f" |
      while read -r line; do bad "$f includes a Postgres header: $line"; done
    grep -nE '#include +"(pg|extension|catalog|api|capture|publisher)/' "$f" |
      while read -r line; do bad "$f (pure) includes a Postgres-facing folder: $line"; done
    if [[ $f == *.cpp ]] && ! grep -q '#include "util/cpp_only_file.hpp"' "$f"; then
      bad "$f (pure) does not include util/cpp_only_file.hpp"
    fi
  done
done
files=$(ls src/*/*.cpp src/*/*.hpp bgworker/*.cpp test/unit/*.cpp 2>/dev/null)
for f in $files; do
  # a project header is one that exists under src/; it must be named with its folder
  grep -oE '#include +"[^"]+\.hpp"' "$f" | sed -E 's/#include +"([^"]+)"/\1/' | while read -r inc; do
    [ -f "src/$inc" ] || bad "$f: #include \"$inc\" is not a path under src/"
  done
done
dups=$(for f in src/*/*.cpp bgworker/*.cpp; do basename "$f"; done | sort | uniq -d)
[ -z "$dups" ] || bad "duplicate .cpp basenames: $dups"

n=$(echo "$files" | wc -w)
problems=$(wc -l <"$found")
if [ "$problems" -gt 0 ]; then echo "layout: $problems problem(s)" >&2; exit 1; fi
echo "layout: $n files follow the rules"
