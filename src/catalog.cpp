#include "pg/boundary.hpp"
#include "catalog.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "utils/lsyscache.h"
}

namespace dionysus {

Oid dionysus_relid(const char* name) {
    return pg::guard([&] {
        Oid nsp = get_namespace_oid("dionysus", true);
        return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
    });
}

}  // namespace dionysus
