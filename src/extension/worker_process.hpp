// What every dionysus background worker process shares (the launcher's and
// the publishers' main functions in bgworker/): the SIGTERM flag and
// handler, and the one crossing from their C frames into C++ — no exception
// escapes into Postgres, and a C++ failure ends the process with a FATAL
// raised after the catch block.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <csignal>
#include <exception>

namespace dionysus {

// Set by handle_sigterm (which also sets the process latch).
extern volatile sig_atomic_t got_sigterm;
void handle_sigterm(SIGNAL_ARGS);

// The message is copied into static space: nothing in a catch block may
// raise a Postgres error (palloc could), and the FATAL comes after it.
void fatal_after_failure(const char* who, const char* failure);

// Runs body(); a C++ exception becomes FATAL "<who>: <what>".
template <typename Body>
void run_or_fatal(const char* who, Body&& body) {
    static char failure[1024];
    bool failed = false;
    try {
        body();
    } catch (const std::exception& e) {
        strlcpy(failure, e.what(), sizeof failure);
        failed = true;
    } catch (...) {
        strlcpy(failure, "unknown C++ exception", sizeof failure);
        failed = true;
    }
    if (failed) fatal_after_failure(who, failure);
}

}  // namespace dionysus
