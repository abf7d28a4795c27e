// The capture triggers on published tables, their dependencies and observed
// tables: installed by publish and observe, removed when no declaration uses the table any more. DDL text
// comes from format('%I', regclass), so identifiers are always quoted.
// Needs an SPI connection.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace dionysus::api {

// AFTER INSERT/UPDATE/DELETE … FOR EACH STATEMENT triggers with transition
// tables, calling dionysus.capture(); those already there are kept.
void install_capture(Oid relid);

// Drops the triggers unless a model, dependency or observer declaration
// still names the table (nothing to do for a table dropped since).
void remove_capture_if_unused(Oid relid);

}  // namespace dionysus::api
