// Which consumer worker of a database reads a partition, when
// dionysus.consumer_workers spreads the consumed topics' partitions across
// several (README "Consumer"). Every worker computes the same answer with
// no coordination: the partitions of a topic are dealt round-robin, from a
// starting worker that depends on the topic's name, so that topics with a
// single partition do not all land on worker 0.
#pragma once

#include <cstdint>
#include <string_view>

namespace dionysus::kafka {

// 0 .. workers-1 (0 when workers <= 1).
int partition_share(std::string_view topic, int32_t partition, int workers);

}  // namespace dionysus::kafka
