// Models loaded once and kept across drain cycles: loading one costs a
// dozen catalog queries, a batch needs it at once. Dropped as a whole when a
// declaration changes (invalidation of the dionysus catalog tables) or a
// table a cached model renders changes (ALTER TABLE, …): relcache callbacks.
#pragma once

#include "publisher/model.hpp"

#include <optional>
#include <string>

namespace dionysus::publisher {

// At the start of each drain cycle, inside its transaction (invalidations
// arrive when a transaction starts): drop the cache if it went stale.
void reset_model_cache();
// After an error: reload everything at the next cycle.
void forget_model_cache();

// The model `model_name` published on `topic` (nullopt: no longer
// published), loaded at its first use since the cache was last dropped.
const std::optional<Model>& cached_model(const std::string& topic, const std::string& model_name);

}  // namespace dionysus::publisher
