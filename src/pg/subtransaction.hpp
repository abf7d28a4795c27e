// A piece of work in its own subtransaction, as PL/pgSQL's exception blocks
// do: the consumer applies a message, and a failure rolls back that message
// only. On an exception the subtransaction is rolled back and the
// exception rethrown.
#pragma once

#include "pg/boundary.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

namespace dionysus::pg {

template <typename Body>
void in_subtransaction(Body&& body) {
    MemoryContext context = CurrentMemoryContext;
    ResourceOwner owner = CurrentResourceOwner;
    guard([&] {
        BeginInternalSubTransaction(nullptr);
        MemoryContextSwitchTo(context);
    });
    try {
        body();
        guard([&] {
            ReleaseCurrentSubTransaction();
            MemoryContextSwitchTo(context);
            CurrentResourceOwner = owner;
        });
    } catch (...) {
        guard([&] {
            RollbackAndReleaseCurrentSubTransaction();
            MemoryContextSwitchTo(context);
            CurrentResourceOwner = owner;
        });
        throw;
    }
}

}  // namespace dionysus::pg
