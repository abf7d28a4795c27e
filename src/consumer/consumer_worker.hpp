// The consumer worker's loop (README "Consumer"), entered from its
// process's main function (bgworker/consumer_main.cpp) once connected to
// its database. One consumer per database serves every topic the database
// consumes (dionysus.consume).
#pragma once

#include <csignal>

namespace dionysus::consumer {

// Consumes until *stop_requested (set by the SIGTERM handler): the batch
// being applied is finished first. C++ exceptions escape: the caller is the
// crossing into Postgres.
void run(const volatile sig_atomic_t* stop_requested);

}  // namespace dionysus::consumer
