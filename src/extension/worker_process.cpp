#include "pg/boundary.hpp"
#include "extension/worker_process.hpp"

extern "C" {
#include "miscadmin.h"
#include "storage/latch.h"
}

#include <cerrno>

namespace dionysus {

volatile sig_atomic_t got_sigterm = false;

void handle_sigterm(SIGNAL_ARGS) {
    int save_errno = errno;
    got_sigterm = true;
    SetLatch(MyLatch);
    errno = save_errno;
}

void fatal_after_failure(const char* who, const char* failure) {
    ereport(FATAL, (errmsg("%s: %s", who, failure)));
}

}  // namespace dionysus
