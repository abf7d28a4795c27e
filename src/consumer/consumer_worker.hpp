// The consumer worker's loop (README "Consumer"), entered from its
// process's main function (bgworker/consumer_main.cpp) once connected to
// its database. The database's consumers (dionysus.consumer_workers) serve
// every topic it consumes (dionysus.consume), each the partitions of its
// share (kafka/partition_share.hpp).
#pragma once

#include <csignal>

namespace dionysus::consumer {

// Consumes, as worker `index` of `count`, until *stop_requested (set by
// the SIGTERM handler): the batch being applied is finished first. C++
// exceptions escape: the caller is the crossing into Postgres.
void run(const volatile sig_atomic_t* stop_requested, int index, int count);

}  // namespace dionysus::consumer
