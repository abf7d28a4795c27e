#include "pg/boundary.hpp"
#include "pg/spi.hpp"
#include "publisher/outbox_retention.hpp"

#include <string>

namespace dionysus::publisher {

uint64_t delete_expired_published(int retention_s, int limit) {
    // By ctid: the rows the index scan found, without a second lookup (the
    // outbox has no primary key). Rows only ever leave this set of
    // published rows by deletion, so nothing else competes for them.
    return pg::execute_cached(
        "DELETE FROM dionysus.outbox WHERE ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
        "SELECT o.ctid FROM dionysus.outbox o WHERE o.published_at IS NOT NULL "
        "AND o.published_at < pg_catalog.now() - pg_catalog.make_interval(secs => $1::pg_catalog.float8) "
        "ORDER BY o.published_at LIMIT $2::pg_catalog.int4))",
        {std::to_string(retention_s), std::to_string(limit)});
}

}  // namespace dionysus::publisher
