// Where the extension's own relations are.
#pragma once

extern "C" {
#include "postgres.h"
}

namespace dionysus {

// OID of relation `name` in schema dionysus; InvalidOid when the extension
// is not installed. Guarded: raises pg::Error instead of longjmp.
Oid dionysus_relid(const char* name);

}  // namespace dionysus
