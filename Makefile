# dionysus — PostgreSQL extension (PGXS, C++17)
EXTENSION   = dionysus
EXTVERSION  = 0.1.0
MODULE_big  = dionysus

# Pure C++ (no postgres.h): unit-tested without a server.
PURE_OBJS = src/naming.o src/json_render.o src/partitioning.o src/record_writer.o src/timestamp_text.o \
            bgworker/kafka_producer.o

# Postgres-facing C++: every crossing goes through src/pg/boundary.hpp.
PG_OBJS = src/pg/boundary.o src/pg/spi.o src/sql_arguments.o src/catalog.o src/foreign_keys.o src/extension.o src/guc.o src/shared_state.o src/outbox_writer.o \
          src/declarations.o src/serializer_declarations.o src/capture_trigger.o src/hand_built_messages.o \
          bgworker/publisher.o bgworker/outbox_batch.o

OBJS = $(PURE_OBJS) $(PG_OBJS)

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA       = $(wildcard sql/$(EXTENSION)--*--*.sql)
EXTRA_CLEAN = sql/$(EXTENSION)--$(EXTVERSION).sql tools/dionysus-devbroker test/unit/run_unit_tests

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/bgworker -isystem $(shell $(PG_CONFIG) --includedir-server)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-register -Wno-missing-field-initializers -fno-omit-frame-pointer
SHLIB_LINK  = -lrdkafka -lsimdjson -lstdc++
# Debian's PGXS would build LLVM bitcode with clang; the extension gains nothing from JIT inlining.
override with_llvm = no
# Rebuild objects when a header they include changes (.deps/*.Po).
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# The install script is built from the one file people edit.
sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# Dev broker: librdkafka's mock cluster behind a small CLI.
all: tools/dionysus-devbroker
tools/dionysus-devbroker: tools/devbroker.cpp
	$(CXX) -std=c++17 -O2 -Wall -Wextra -o $@ $< -lrdkafka -lpthread -ldl

install: install-tools
install-tools: tools/dionysus-devbroker
	$(INSTALL_PROGRAM) tools/dionysus-devbroker '$(DESTDIR)$(bindir)/dionysus-devbroker'

# Pure C++ unit tests (GoogleTest), no server needed.
UNIT_SRCS = $(wildcard test/unit/*_test.cpp)
test/unit/run_unit_tests: $(UNIT_SRCS) $(PURE_OBJS)
	$(CXX) -std=c++17 -O1 -Wall -Wextra -I$(srcdir)/src -I$(srcdir)/bgworker -o $@ $(UNIT_SRCS) $(PURE_OBJS) \
	  -lgtest -lgtest_main -lrdkafka -lsimdjson -lpthread
unittest: test/unit/run_unit_tests
	test/unit/run_unit_tests

.PHONY: install-tools unittest
