# dionysus — PostgreSQL extension (PGXS, C++17)
EXTENSION   = dionysus
# The version lives once, in dionysus.control.
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big  = dionysus

# Folders hold either pure C++ (no postgres.h: unit-tested without a server)
# or Postgres-facing C++ (every crossing through src/pg/boundary.hpp); the
# folder a file is in says which. See README "Code layout".
PURE_DIRS = src/util src/wire src/kafka src/recovery src/crypto src/metrics
PG_DIRS   = src/pg src/extension src/catalog src/api src/capture src/publisher src/consumer bgworker
objs_in   = $(patsubst %.cpp,%.o,$(sort $(foreach d,$(1),$(wildcard $(d)/*.cpp))))
PURE_OBJS = $(call objs_in,$(PURE_DIRS))
PG_OBJS   = $(call objs_in,$(PG_DIRS))

OBJS = $(PURE_OBJS) $(PG_OBJS)

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
# Released install scripts are kept as they shipped (CREATE EXTENSION …
# VERSION '<old>' must keep working), beside the upgrade scripts.
DATA       = $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql))
EXTRA_CLEAN = sql/$(EXTENSION)--$(EXTVERSION).sql tools/dionysus-devbroker tools/dionysus-healthcheck test/unit/run_unit_tests \
              test/results test/regression.diffs test/regression.out test/tmp_check

# pg_regress (make installcheck): the tests of test/schedule, in its order,
# against a temporary instance with the extension preloaded
# (test/regress.conf), as pg_cron and pg_duckdb do. PostgreSQL refuses to run
# as root: as root the inputs are staged in a directory the postgres OS user
# owns, and pg_regress runs as that user.
REGRESS      = $(shell sed -n 's/^test: *//p' test/schedule)
REGRESS_DIR  = test
ifeq ($(shell id -u),0)
ifneq ($(filter installcheck,$(MAKECMDGOALS)),)
# REGRESS_STAGE: where (default: a new /tmp/dionysus-regress.XXXXXX)
REGRESS_DIR := $(shell d="$(REGRESS_STAGE)"; [ -n "$$d" ] || d=$$(mktemp -d /tmp/dionysus-regress.XXXXXX); \
                 mkdir -p "$$d" && cp -r test/sql test/expected test/regress.conf "$$d" && \
                 chown -R postgres "$$d" && echo "$$d")
$(if $(REGRESS_DIR),,$(error could not stage the regression tests for the postgres OS user))
endif
endif
REGRESS_OPTS = --inputdir=$(REGRESS_DIR) --outputdir=$(REGRESS_DIR) --temp-instance=$(REGRESS_DIR)/tmp_check \
               --temp-config=$(REGRESS_DIR)/regress.conf

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -Wno-missing-field-initializers -fno-omit-frame-pointer
SHLIB_LINK  = -lrdkafka -lsimdjson -lcrypto -lstdc++
# Debian's PGXS would build LLVM bitcode with clang; the extension gains nothing from JIT inlining.
override with_llvm = no
# Rebuild objects when a header they include changes (.deps/*.Po).
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# (from the staging directory: the postgres user may not enter the source tree)
ifeq ($(shell id -u),0)
pg_regress_installcheck = cd '$(REGRESS_DIR)' && runuser -u postgres -- $(top_builddir)/src/test/regress/pg_regress \
    --inputdir=$(srcdir) --bindir='$(bindir)' $(pg_regress_locale_flags) $(EXTRA_REGRESS_OPTS)
endif

# The install script is built from the ordered parts people edit.
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) $(EXTENSION).control
	cat $(INSTALL_PARTS) > $@

# Dev broker: librdkafka's mock cluster behind a small CLI; the health probe.
all: tools/dionysus-devbroker tools/dionysus-healthcheck
tools/dionysus-healthcheck: tools/healthcheck.c
	$(CC) -O2 -Wall -Wextra -I$(shell $(PG_CONFIG) --includedir) -o $@ $< -L$(shell $(PG_CONFIG) --libdir) -lpq
tools/dionysus-devbroker: tools/devbroker.cpp
	$(CXX) -std=c++17 -O2 -Wall -Wextra -o $@ $< -lrdkafka -lpthread -ldl

install: install-tools
install-tools: tools/dionysus-devbroker tools/dionysus-healthcheck
	$(INSTALL_PROGRAM) tools/dionysus-devbroker '$(DESTDIR)$(bindir)/dionysus-devbroker'
	$(INSTALL_PROGRAM) tools/dionysus-healthcheck '$(DESTDIR)$(bindir)/dionysus-healthcheck'

# Pure C++ unit tests (GoogleTest), no server needed.
UNIT_SRCS = $(wildcard test/unit/*_test.cpp)
test/unit/run_unit_tests: $(UNIT_SRCS) $(PURE_OBJS)
	$(CXX) -std=c++17 -O1 -Wall -Wextra -I$(srcdir)/src -o $@ $(UNIT_SRCS) $(PURE_OBJS) \
	  -lgtest -lgtest_main -lrdkafka -lsimdjson -lcrypto -lpthread
unittest: test/unit/run_unit_tests
	test/unit/run_unit_tests

# The folder rules of README "Code layout" (pure vs Postgres-facing, includes with their folder).
check-layout:
	bash scripts/check_layout.sh

.PHONY: install-tools unittest check-layout
