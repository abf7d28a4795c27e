// dionysus-rb's RemoveDuplicatesStrategy (consume(dedupe => true)): in a
// batch where every message holds exactly one event of exactly one record,
// messages with the same event name and record id collapse to the one with
// the newest updated_at (a record without one counts as newest; on a tie
// the first), placed where the first of them was. Otherwise the batch is
// left as it is.
#pragma once

#include "wire/message_reader.hpp"

#include <cstddef>
#include <vector>

namespace dionysus::wire {

// `batch[i]`: the events of message i. Returns the indexes of the messages
// to apply, in order.
std::vector<size_t> remove_duplicates(const std::vector<std::vector<ConsumedEvent>>& batch);

}  // namespace dionysus::wire
