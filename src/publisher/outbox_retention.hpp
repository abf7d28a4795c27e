// dionysus.outbox_retention: published outbox rows older than the
// retention are deleted by the publisher (publisher 0 of a database), a
// bounded batch at a time through the publish-time index, so that neither
// the drain nor the writers wait on it; autovacuum then reuses the space.
#pragma once

#include <cstdint>

namespace dionysus::publisher {

// Deletes up to `limit` published rows older than `retention_s` seconds,
// oldest first; returns how many. Needs an SPI connection.
uint64_t delete_expired_published(int retention_s, int limit);

}  // namespace dionysus::publisher
