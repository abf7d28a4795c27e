// Where the extension's own relations are.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <string>

namespace dionysus {

// OID of relation `name` in schema dionysus; InvalidOid when the extension
// is not installed. Guarded: raises pg::Error instead of longjmp.
Oid dionysus_relid(const char* name);

// A function as regprocedure text qualified with schemas, its name and its
// argument types ("app.item_key(app.items)"), so that the catalog resolves
// it whatever the search_path of the session reading it (the publisher's
// is not the application's). Needs an SPI connection.
std::string qualified_function(Oid function);

}  // namespace dionysus
