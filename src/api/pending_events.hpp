// What happens to a model's (or a topic's) pending outbox rows when its
// declarations go (unpublish, drop_topic): nothing is dropped unasked.
#pragma once

extern "C" {
#include "postgres.h"
}

#include <optional>
#include <string>
#include <vector>

namespace dionysus::api {

// Before the declarations of a model (or, with no model, of a whole topic)
// go: its pending events could not be rendered any more, so 55006 while
// there are any, unless discard_pending, which drops them and the pending
// hand-built messages with them. Without discard_pending, hand-built
// messages stay and are delivered. Needs an SPI connection.
// `tables` (the model tables and their dependency tables) are locked first
// (SHARE ROW EXCLUSIVE, until commit): writers still in progress finish, and
// none adds events between the count and the commit.
void settle_pending(const std::string& topic, const std::optional<std::string>& model_name, bool discard_pending,
                    const std::vector<Oid>& tables);

}  // namespace dionysus::api
