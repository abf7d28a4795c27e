// The publisher worker's loop, entered from its process's main function
// (bgworker/publisher_main.cpp) once connected to its database.
#pragma once

#include <csignal>

namespace dionysus::publisher {

// Drains the outbox until *stop_requested (set by the SIGTERM handler),
// then serves what is in flight for a bounded time and returns. C++
// exceptions escape: the caller is the crossing into Postgres.
// `index` of `count`: which share of the database's topics it prefers
// (topic_ownership.hpp).
void run(const volatile sig_atomic_t* stop_requested, int index, int count);

// The file descriptor of the worker's crash marker (-1: none), for the
// SIGQUIT handler: a worker told to quit (another process crashed, an
// immediate shutdown) clears it, so the rows it was rendering are not blamed.
int rendering_marker_fd();

}  // namespace dionysus::publisher
